#pragma once
// libev watchers that call a member function of their owner, for objects that
// exist once per connection. IoWatcher and Timer (event_loop.h) each hold a
// std::function and an EventLoop reference (88-96 bytes); these hold only the
// libev watcher (48 bytes), the owner in its `data` field, and take the loop
// on every call from an owner that keeps it anyway. An idle HTTP/1.1
// connection thus carries 88 bytes less (docs/benchmarks.md, item 3).
//
// Same semantics as IoWatcher::Watch and Timer::Start/Stop. Threading: the
// loop's thread only. The callbacks may destroy the owner (deferred deletion
// as usual), but the watcher must be stopped or destroyed before the owner's
// memory goes away: the destructors take the loop for that reason.

#include <ev.h>

#include "dataplane/event/event_loop.h"

namespace portico::dataplane::event {

// Readiness of one descriptor (not owned): calls (owner->*OnIo)(revents).
template <typename T, void (T::*OnIo)(int)>
class MemberIoWatcher {
 public:
  MemberIoWatcher(T* owner, int fd) {
    ev_io_init(&io_, &MemberIoWatcher::Trampoline, fd, 0);
    io_.data = owner;
  }
  MemberIoWatcher(const MemberIoWatcher&) = delete;
  MemberIoWatcher& operator=(const MemberIoWatcher&) = delete;

  // Watches for the given events (EV_READ | EV_WRITE); 0 stops.
  void Watch(EventLoop& loop, int events) {
    if (events == this->events()) return;
    ev_io_stop(loop.raw(), &io_);
    if (events == 0) return;
    ev_io_set(&io_, io_.fd, events);
    ev_io_start(loop.raw(), &io_);
  }
  int events() const { return ev_is_active(&io_) ? io_.events & (EV_READ | EV_WRITE) : 0; }
  // Call before the owner goes away (IoWatcher does it in its destructor).
  void Stop(EventLoop& loop) { ev_io_stop(loop.raw(), &io_); }

 private:
  static void Trampoline(struct ev_loop*, ev_io* w, int revents) {
    (static_cast<T*>(w->data)->*OnIo)(revents);
  }
  ev_io io_;
};

// One-shot timer: calls (owner->*OnTimer)().
template <typename T, void (T::*OnTimer)()>
class MemberTimer {
 public:
  explicit MemberTimer(T* owner) {
    ev_init(&timer_, &MemberTimer::Trampoline);
    timer_.data = owner;
  }
  MemberTimer(const MemberTimer&) = delete;
  MemberTimer& operator=(const MemberTimer&) = delete;

  // (Re)arms the timer to fire once after `seconds` (ev_timer_again, as Timer).
  void Start(EventLoop& loop, double seconds) {
    timer_.repeat = seconds > 0 ? seconds : 0.000001;
    ev_timer_again(loop.raw(), &timer_);
  }
  void Stop(EventLoop& loop) { ev_timer_stop(loop.raw(), &timer_); }
  bool active() const { return ev_is_active(&timer_); }

 private:
  static void Trampoline(struct ev_loop* loop, ev_timer* w, int) {
    ev_timer_stop(loop, w);
    (static_cast<T*>(w->data)->*OnTimer)();
  }
  ev_timer timer_;
};

// A one-shot timer for a deadline that moves on every request (an HTTP/1.1
// connection's header, body and keep-alive timeouts): Start and Disarm touch
// libev's timer heap only when the deadline comes sooner than the armed one.
// A later deadline is remembered and the armed timer, when it fires early,
// waits the rest; a disarmed one fires into nothing. A keep-alive request
// thus costs no ev_timer_again/ev_timer_stop (the eager MemberTimer paid one
// of each per request: docs/benchmarks.md, item 7).
//
// The wanted deadline (ev_now time; 0: disarmed) is kept in the watcher's
// `repeat` field, which libev reads only when the timer fires (ev_timer_again
// is never called), so the watcher is still the bare 48 bytes. When it fires
// with a non-zero `repeat` libev re-arms it far in the future before calling
// us, and the trampoline stops or re-arms it at once.
template <typename T, void (T::*OnTimer)()>
class LazyMemberTimer {
 public:
  explicit LazyMemberTimer(T* owner) {
    ev_init(&timer_, &LazyMemberTimer::Trampoline);
    timer_.data = owner;
  }
  LazyMemberTimer(const LazyMemberTimer&) = delete;
  LazyMemberTimer& operator=(const LazyMemberTimer&) = delete;

  // Fires once after `seconds`, replacing any earlier deadline.
  void Start(EventLoop& loop, double seconds) {
    if (seconds <= 0) seconds = 0.000001;
    const double deadline = loop.Now() + seconds;
    if (ev_is_active(&timer_) && ev_timer_remaining(loop.raw(), &timer_) <= seconds) {
      timer_.repeat = deadline;  // the armed timer fires first and waits the rest
      return;
    }
    Arm(loop.raw(), seconds, deadline);
  }
  // Cancels the deadline; the libev timer may stay armed and fire into nothing.
  void Disarm() { timer_.repeat = 0; }
  // Cancels and leaves libev's heap (before the owner goes away).
  void Stop(EventLoop& loop) {
    timer_.repeat = 0;
    ev_timer_stop(loop.raw(), &timer_);
  }
  bool active() const { return ev_is_active(&timer_) && timer_.repeat != 0; }

 private:
  static void Arm(struct ev_loop* loop, ev_timer* w, double seconds, double deadline) {
    ev_timer_stop(loop, w);
    ev_timer_set(w, seconds, deadline);
    ev_timer_start(loop, w);
  }
  void Arm(struct ev_loop* loop, double seconds, double deadline) {
    Arm(loop, &timer_, seconds, deadline);
  }
  static void Trampoline(struct ev_loop* loop, ev_timer* w, int) {
    const double deadline = w->repeat;
    if (deadline == 0) {  // disarmed: libev stopped it already (no repeat)
      ev_timer_stop(loop, w);
      return;
    }
    const double left = deadline - ev_now(loop);
    if (left > 0.001) {  // a later deadline was set after arming: wait the rest
      Arm(loop, w, left, deadline);
      return;
    }
    w->repeat = 0;
    ev_timer_stop(loop, w);
    (static_cast<T*>(w->data)->*OnTimer)();
  }
  ev_timer timer_;
};

}  // namespace portico::dataplane::event
