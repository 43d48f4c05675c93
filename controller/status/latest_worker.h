#pragma once
// A background thread that processes the latest submitted value: submitting
// while it works replaces what is pending (only the newest state matters, as
// for status and Events), and a round that fails is retried after a delay
// unless a newer value arrives first.
//
// Threading: Submit() and Stop() from any thread; the handler runs on the
// worker's own thread.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

namespace portico::controller::status {

template <typename T>
class LatestWorker {
 public:
  // handler returns false to have the same value retried after retry_delay.
  LatestWorker(std::function<bool(const T&)> handler, std::chrono::milliseconds retry_delay)
      : handler_(std::move(handler)), retry_delay_(retry_delay) {
    thread_ = std::thread([this] { Run(); });
  }
  ~LatestWorker() { Stop(); }

  void Submit(T value) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      pending_ = std::move(value);
    }
    wake_.notify_all();
  }

  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Run() {
    std::unique_lock<std::mutex> lock(mu_);
    std::optional<T> retry;
    while (!stopping_) {
      if (retry) {
        wake_.wait_for(lock, retry_delay_, [this] { return stopping_ || pending_.has_value(); });
      } else {
        wake_.wait(lock, [this] { return stopping_ || pending_.has_value(); });
      }
      if (stopping_) break;
      T value = pending_ ? std::move(*pending_) : std::move(*retry);
      pending_.reset();
      retry.reset();
      lock.unlock();
      bool done = handler_(value);
      lock.lock();
      if (!done && !pending_) retry = std::move(value);
    }
  }

  const std::function<bool(const T&)> handler_;
  const std::chrono::milliseconds retry_delay_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::optional<T> pending_;  // guarded by mu_
  bool stopping_ = false;     // guarded by mu_
  std::thread thread_;
};

}  // namespace portico::controller::status
