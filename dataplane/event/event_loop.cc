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

Timer::~Timer() { Stop(); }

void Timer::Start(double seconds) {
  // ev_timer_again on a repeating timer is cheaper than stop+start when a
  // connection re-arms its timeout on every read.
  timer_.repeat = seconds > 0 ? seconds : 0.000001;
  ev_timer_again(loop_.raw(), &timer_);
}

void Timer::Stop() { ev_timer_stop(loop_.raw(), &timer_); }

void Timer::OnTimer(struct ev_loop* loop, ev_timer* w, int) {
  auto* self = static_cast<Timer*>(w->data);
  ev_timer_stop(loop, w);
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
