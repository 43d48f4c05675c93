#pragma once
// A libev loop owned by one thread. Every method except Post() and Wakeup()
// must be called on the owning thread.

#include <ev.h>

#include <functional>
#include <memory>
#include <mutex>
#include <vector>

namespace portico::dataplane::event {

// Base for objects destroyed at the end of the current loop iteration, so that
// an object can finish a callback that decided to delete it.
class Deferrable {
 public:
  virtual ~Deferrable() = default;
};

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  struct ev_loop* raw() const {
    return loop_;
  }
  // Runs until Stop() or until no watchers remain.
  void Run();
  void Stop();
  // Cached loop time, seconds.
  double Now() const { return ev_now(loop_); }

  // Thread-safe: runs `task` on the loop thread soon.
  void Post(std::function<void()> task);
  // Destroys `object` once the current callback has returned.
  void DeferDelete(std::unique_ptr<Deferrable> object);
  // Destroys everything DeferDelete'd so far; for shutdown, once Run returned.
  void DestroyDeferred() { DrainDeferred(); }
  // Runs `task` before the loop next blocks (same thread only).
  void RunBeforeBlocking(std::function<void()> task);

 private:
  static void OnAsync(struct ev_loop* loop, ev_async* w, int revents);
  static void OnPrepare(struct ev_loop* loop, ev_prepare* w, int revents);
  void DrainPosted();
  void DrainDeferred();

  struct ev_loop* loop_;
  ev_async async_;
  ev_prepare prepare_;
  std::mutex mu_;
  std::vector<std::function<void()>> posted_;  // guarded by mu_
  std::vector<std::unique_ptr<Deferrable>> deferred_;
  std::vector<std::function<void()>> before_blocking_;
};

// One-shot timer. The callback may destroy the Timer's owner.
//
// Connections re-arm and stop their timeouts several times per request
// (header, response, keep-alive, idle), and each libev start/stop is a heap
// operation. So Start and Stop are lazy, as libev's documentation suggests
// for activity timeouts: a later deadline leaves the libev timer where it is
// and records how much longer to wait once it fires; Stop leaves it armed
// (unreferenced, so it keeps no loop running) and its firing is ignored. Only
// an earlier deadline moves it. At most one extra wakeup per timeout period.
class Timer {
 public:
  Timer(EventLoop& loop, std::function<void()> callback);
  ~Timer();
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // (Re)arms the timer to fire once after `seconds`.
  void Start(double seconds);
  void Stop();
  bool active() const { return armed_; }

 private:
  static void OnTimer(struct ev_loop* loop, ev_timer* w, int revents);
  // The libev timer keeps the loop alive again (it was left armed by Stop).
  void Ref();
  EventLoop& loop_;
  std::function<void()> callback_;
  ev_timer timer_;
  bool armed_ = false;   // started and neither stopped nor fired
  bool unrefd_ = false;  // ev_unref'd while stopped but still in libev's heap
  double extra_ = 0;     // seconds still to wait after timer_ fires
};

// Readiness of one file descriptor. Does not own the fd.
class IoWatcher {
 public:
  IoWatcher(EventLoop& loop, int fd, std::function<void(int revents)> callback);
  ~IoWatcher();
  IoWatcher(const IoWatcher&) = delete;
  IoWatcher& operator=(const IoWatcher&) = delete;

  // Watches for the given events (EV_READ | EV_WRITE); 0 stops.
  void Watch(int events);
  int events() const { return events_; }

 private:
  static void OnIo(struct ev_loop* loop, ev_io* w, int revents);
  EventLoop& loop_;
  std::function<void(int)> callback_;
  ev_io io_;
  int events_ = 0;
};

}  // namespace portico::dataplane::event
