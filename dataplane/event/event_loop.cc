#include "dataplane/event/event_loop.h"

#include <cstdlib>

namespace portico::dataplane::event {

EventLoop::EventLoop() : loop_(ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK)) {
  if (loop_ == nullptr) abort();  // only fails when the kernel has no usable backend
  ev_async_init(&async_, &EventLoop::OnAsync);
  async_.data = this;
  ev_async_start(loop_, &async_);
  ev_unref(loop_);  // the async watcher alone must not keep Run() alive
  ev_prepare_init(&prepare_, &EventLoop::OnPrepare);
  prepare_.data = this;
  ev_prepare_start(loop_, &prepare_);
  ev_unref(loop_);
}

EventLoop::~EventLoop() {
  DrainDeferred();
  ev_ref(loop_);
  ev_async_stop(loop_, &async_);
  ev_ref(loop_);
  ev_prepare_stop(loop_, &prepare_);
  ev_loop_destroy(loop_);
}

void EventLoop::Run() { ev_run(loop_, 0); }

void EventLoop::Stop() { ev_break(loop_, EVBREAK_ALL); }

void EventLoop::Post(std::function<void()> task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    posted_.push_back(std::move(task));
  }
  ev_async_send(loop_, &async_);
}

void EventLoop::DeferDelete(std::unique_ptr<Deferrable> object) {
  deferred_.push_back(std::move(object));
}

void EventLoop::RunBeforeBlocking(std::function<void()> task) {
  before_blocking_.push_back(std::move(task));
}

void EventLoop::OnAsync(struct ev_loop*, ev_async* w, int) {
  static_cast<EventLoop*>(w->data)->DrainPosted();
}

void EventLoop::OnPrepare(struct ev_loop*, ev_prepare* w, int) {
  auto* self = static_cast<EventLoop*>(w->data);
  // Tasks may defer more work; bounded rounds keep a buggy cycle from spinning.
  for (int round = 0; round < 8 && !self->before_blocking_.empty(); ++round) {
    std::vector<std::function<void()>> tasks;
    tasks.swap(self->before_blocking_);
    for (auto& task : tasks) task();
  }
  self->DrainDeferred();
}

void EventLoop::DrainPosted() {
  std::vector<std::function<void()>> tasks;
  {
    std::lock_guard<std::mutex> lock(mu_);
    tasks.swap(posted_);
  }
  for (auto& task : tasks) task();
}

void EventLoop::DrainDeferred() {
  while (!deferred_.empty()) {
    std::vector<std::unique_ptr<Deferrable>> batch;
    batch.swap(deferred_);
    batch.clear();  // destructors may defer more
  }
}

Timer::Timer(EventLoop& loop, std::function<void()> callback)
    : loop_(loop), callback_(std::move(callback)) {
  ev_init(&timer_, &Timer::OnTimer);
  timer_.data = this;
}

Timer::~Timer() {
  Ref();
  ev_timer_stop(loop_.raw(), &timer_);
}

void Timer::Ref() {
  if (!unrefd_) return;
  unrefd_ = false;
  ev_ref(loop_.raw());
}

void Timer::Start(double seconds) {
  if (seconds <= 0) seconds = 0.000001;
  armed_ = true;
  Ref();
  // Fired in this iteration, callback not run yet: that firing is stale now.
  if (ev_is_pending(&timer_)) ev_clear_pending(loop_.raw(), &timer_);
  if (ev_is_active(&timer_)) {
    // Both sides count from libev's cached monotonic time, as ev_timer_start does.
    const double remaining = ev_timer_remaining(loop_.raw(), &timer_);
    if (remaining <= seconds) {
      extra_ = seconds - remaining;
      return;
    }
    ev_timer_stop(loop_.raw(), &timer_);
  }
  extra_ = 0;
  ev_timer_set(&timer_, seconds, 0.);
  ev_timer_start(loop_.raw(), &timer_);
}

void Timer::Stop() {
  if (!armed_) return;
  armed_ = false;
  // Left in libev's heap; it must not keep Run() going meanwhile.
  if (ev_is_active(&timer_) && !unrefd_) {
    unrefd_ = true;
    ev_unref(loop_.raw());
  }
}

void Timer::OnTimer(struct ev_loop* loop, ev_timer* w, int) {
  auto* self = static_cast<Timer*>(w->data);
  // libev stopped the one-shot timer (and dropped its reference) before this
  // callback: the reference Stop gave up is owed back now.
  self->Ref();
  if (!self->armed_) return;
  // Deadlines within a millisecond count as reached (no wakeup for the rest).
  if (self->extra_ > 0.001) {
    ev_timer_set(w, self->extra_, 0.);
    self->extra_ = 0;
    ev_timer_start(loop, w);
    return;
  }
  self->armed_ = false;
  self->callback_();
}

IoWatcher::IoWatcher(EventLoop& loop, int fd, std::function<void(int)> callback)
    : loop_(loop), callback_(std::move(callback)) {
  ev_io_init(&io_, &IoWatcher::OnIo, fd, 0);
  io_.data = this;
}

IoWatcher::~IoWatcher() { ev_io_stop(loop_.raw(), &io_); }

void IoWatcher::Watch(int events) {
  if (events == events_) return;
  ev_io_stop(loop_.raw(), &io_);
  events_ = events;
  if (events == 0) return;
  ev_io_set(&io_, io_.fd, events);
  ev_io_start(loop_.raw(), &io_);
}

void IoWatcher::OnIo(struct ev_loop*, ev_io* w, int revents) {
  static_cast<IoWatcher*>(w->data)->callback_(revents);
}

}  // namespace portico::dataplane::event
