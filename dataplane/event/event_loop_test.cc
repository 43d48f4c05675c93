#include "dataplane/event/event_loop.h"

#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "dataplane/event/buffer.h"
#include "dataplane/event/member_watchers.h"
#include "dataplane/event/socket.h"
#include "gtest/gtest.h"

namespace portico::dataplane::event {
namespace {

TEST(EventLoopTest, PostFromAnotherThreadRunsOnLoop) {
  EventLoop loop;
  int ran = 0;
  Timer guard(loop, [&] { loop.Stop(); });  // deadline: the test never hangs
  guard.Start(5);
  std::thread other([&] {
    loop.Post([&] {
      ++ran;
      loop.Stop();
    });
  });
  loop.Run();
  other.join();
  EXPECT_EQ(ran, 1);
}

struct Tracked : Deferrable {
  explicit Tracked(int* d) : deleted(d) {}
  ~Tracked() override { ++*deleted; }
  int* deleted;
};

TEST(EventLoopTest, DeferDeleteWaitsForCallbackToReturn) {
  EventLoop loop;
  int deleted = 0;
  Timer t(loop, [&] {
    loop.DeferDelete(std::make_unique<Tracked>(&deleted));
    EXPECT_EQ(deleted, 0);
  });
  t.Start(0.001);
  Timer stop(loop, [&] { loop.Stop(); });
  stop.Start(0.05);
  loop.Run();
  EXPECT_EQ(deleted, 1);
}

// Owner of the compact watchers an HTTP/1.1 connection uses.
struct WatcherOwner {
  explicit WatcherOwner(EventLoop& l, int fd) : loop(l), io(this, fd), timer(this) {}
  ~WatcherOwner() {
    io.Stop(loop);
    timer.Stop(loop);
  }
  void OnIo(int revents) {
    last_revents = revents;
    ++io_calls;
    char c;
    if (read(fd_to_drain, &c, 1) == 1) loop.Stop();
  }
  void OnTimer() {
    ++timer_calls;
    if (timer_calls == 1) {
      timer.Start(loop, 0.001);  // re-armed from its own callback
    } else {
      loop.Stop();
    }
  }
  EventLoop& loop;
  int fd_to_drain = -1;
  int last_revents = 0;
  int io_calls = 0;
  int timer_calls = 0;
  MemberIoWatcher<WatcherOwner, &WatcherOwner::OnIo> io;
  MemberTimer<WatcherOwner, &WatcherOwner::OnTimer> timer;
};

TEST(MemberWatchersTest, IoAndTimerCallTheirOwner) {
  static_assert(sizeof(MemberIoWatcher<WatcherOwner, &WatcherOwner::OnIo>) == sizeof(ev_io));
  static_assert(sizeof(MemberTimer<WatcherOwner, &WatcherOwner::OnTimer>) == sizeof(ev_timer));
  int fds[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
  EventLoop loop;
  Timer guard(loop, [&] { loop.Stop(); });  // deadline: the test never hangs
  guard.Start(5);
  WatcherOwner owner(loop, fds[0]);
  owner.fd_to_drain = fds[0];

  // Timer: fires once, may re-arm itself, Stop cancels.
  owner.timer.Start(loop, 0.001);
  EXPECT_TRUE(owner.timer.active());
  loop.Run();
  EXPECT_EQ(owner.timer_calls, 2);
  EXPECT_FALSE(owner.timer.active());
  owner.timer.Start(loop, 0.001);
  owner.timer.Stop(loop);
  EXPECT_FALSE(owner.timer.active());

  // Io: events() reflects what is watched; a write on the peer wakes it.
  EXPECT_EQ(owner.io.events(), 0);
  owner.io.Watch(loop, EV_READ | EV_WRITE);
  EXPECT_EQ(owner.io.events(), EV_READ | EV_WRITE);
  owner.io.Watch(loop, EV_READ);
  EXPECT_EQ(owner.io.events(), EV_READ);
  ASSERT_EQ(write(fds[1], "x", 1), 1);
  loop.Run();
  EXPECT_EQ(owner.io_calls, 1);
  EXPECT_EQ(owner.last_revents & EV_READ, EV_READ);
  owner.io.Watch(loop, 0);
  EXPECT_EQ(owner.io.events(), 0);
  EXPECT_EQ(owner.timer_calls, 2);  // the stopped timer never fired
  close(fds[0]);
  close(fds[1]);
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

struct LazyOwner {
  explicit LazyOwner(EventLoop& l) : loop(l) {}
  ~LazyOwner() { timer.Stop(loop); }  // out of libev's heap before the memory goes
  void OnTimer() {
    ++calls;
    at = Seconds(start);
  }
  EventLoop& loop;
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();
  int calls = 0;
  double at = 0;
  LazyMemberTimer<LazyOwner, &LazyOwner::OnTimer> timer{this};
};

TEST(LazyMemberTimerTest, LaterDeadlinesWaitTheRestSoonerOnesRearm) {
  static_assert(sizeof(LazyMemberTimer<LazyOwner, &LazyOwner::OnTimer>) == sizeof(ev_timer));
  EventLoop loop;
  Timer stop(loop, [&] { loop.Stop(); });
  {  // Pushed back: fires once, at the later deadline.
    LazyOwner owner(loop);
    owner.timer.Start(loop, 0.02);
    owner.timer.Start(loop, 0.08);
    EXPECT_TRUE(owner.timer.active());
    stop.Start(0.3);
    loop.Run();
    EXPECT_EQ(owner.calls, 1);
    EXPECT_GE(owner.at, 0.075);
    EXPECT_FALSE(owner.timer.active());
  }
  {  // Brought forward: fires at the sooner deadline.
    LazyOwner owner(loop);
    owner.timer.Start(loop, 5);
    owner.timer.Start(loop, 0.02);
    stop.Start(0.3);
    loop.Run();
    EXPECT_EQ(owner.calls, 1);
    EXPECT_LT(owner.at, 0.25);
  }
  {  // Disarmed: the armed libev timer fires into nothing; a later Start works.
    LazyOwner owner(loop);
    owner.timer.Start(loop, 0.02);
    owner.timer.Disarm();
    EXPECT_FALSE(owner.timer.active());
    stop.Start(0.1);
    loop.Run();
    EXPECT_EQ(owner.calls, 0);
    owner.timer.Start(loop, 0.01);
    stop.Start(0.2);
    loop.Run();
    EXPECT_EQ(owner.calls, 1);
  }
  {  // Disarmed, then armed later than the pending one: fires once, late.
    LazyOwner owner(loop);
    owner.timer.Start(loop, 0.02);
    owner.timer.Disarm();
    owner.timer.Start(loop, 0.06);
    stop.Start(0.3);
    loop.Run();
    EXPECT_EQ(owner.calls, 1);
    EXPECT_GE(owner.at, 0.055);
  }
  {  // Stopped: never fires.
    LazyOwner owner(loop);
    owner.timer.Start(loop, 0.01);
    owner.timer.Stop(loop);
    EXPECT_FALSE(owner.timer.active());
    stop.Start(0.1);
    loop.Run();
    EXPECT_EQ(owner.calls, 0);
  }
}

TEST(TimerTest, LaterDeadlineFiresOnceAtTheLaterTime) {
  EventLoop loop;
  int fired = 0;
  double at = 0;
  const auto start = std::chrono::steady_clock::now();
  Timer t(loop, [&] {
    ++fired;
    at = Seconds(start);
  });
  t.Start(0.02);
  t.Start(0.08);  // pushed back: the libev timer stays, the rest is waited after it
  EXPECT_TRUE(t.active());
  Timer stop(loop, [&] { loop.Stop(); });
  stop.Start(0.3);
  loop.Run();
  EXPECT_EQ(fired, 1);
  EXPECT_GE(at, 0.075);
  EXPECT_FALSE(t.active());
}

TEST(TimerTest, EarlierDeadlineMovesTheTimer) {
  EventLoop loop;
  double at = -1;
  const auto start = std::chrono::steady_clock::now();
  Timer t(loop, [&] {
    at = Seconds(start);
    loop.Stop();
  });
  t.Start(5);
  t.Start(0.01);
  Timer guard(loop, [&] { loop.Stop(); });
  guard.Start(2);
  loop.Run();
  EXPECT_GE(at, 0.0);
  EXPECT_LT(at, 1.0);
}

TEST(TimerTest, StoppedTimerNeitherFiresNorKeepsTheLoopRunning) {
  EventLoop loop;
  int fired = 0;
  Timer t(loop, [&] { ++fired; });
  t.Start(0.01);
  t.Stop();
  EXPECT_FALSE(t.active());
  Timer later(loop, [&] {});
  later.Start(0.05);  // the loop runs past t's original deadline
  const auto start = std::chrono::steady_clock::now();
  loop.Run();  // returns once `later` fired: the stopped timer holds no reference
  EXPECT_EQ(fired, 0);
  EXPECT_LT(Seconds(start), 1.0);

  Timer idle(loop, [&] { ++fired; });
  idle.Start(5);
  idle.Stop();
  const auto again = std::chrono::steady_clock::now();
  loop.Run();  // nothing active: returns at once, not after 5 s
  EXPECT_LT(Seconds(again), 1.0);
  EXPECT_EQ(fired, 0);
}

TEST(TimerTest, StopThenStartAgainFiresOnceAtTheNewDeadline) {
  EventLoop loop;
  int fired = 0;
  double at = 0;
  const auto start = std::chrono::steady_clock::now();
  Timer t(loop, [&] {
    ++fired;
    at = Seconds(start);
    if (fired == 1) t.Start(0.01);  // re-armed from its own callback
  });
  t.Start(0.01);
  t.Stop();
  t.Start(0.04);
  Timer stop(loop, [&] { loop.Stop(); });
  stop.Start(0.3);
  loop.Run();
  EXPECT_EQ(fired, 2);
  EXPECT_GE(at, 0.045);
}

TEST(BufferTest, AppendConsumeReserve) {
  Buffer b;
  b.Append("hello ");
  char* p = b.Reserve(16);
  memcpy(p, "world", 5);
  b.Commit(5);
  EXPECT_EQ(b.view(), "hello world");
  b.Consume(6);
  EXPECT_EQ(b.view(), "world");
  b.Consume(5);
  EXPECT_TRUE(b.empty());
}

TEST(SocketTest, ParseAddresses) {
  auto v4 = ParseSocketAddress("127.0.0.1:8080");
  ASSERT_TRUE(v4.ok());
  EXPECT_EQ(v4->ToString(), "127.0.0.1:8080");
  auto v6 = ParseSocketAddress("[::1]:443");
  ASSERT_TRUE(v6.ok());
  EXPECT_EQ(v6->ToString(), "[::1]:443");
  EXPECT_FALSE(ParseSocketAddress("localhost:80").ok());
  EXPECT_FALSE(ParseSocketAddress("127.0.0.1").ok());
  EXPECT_FALSE(ParseSocketAddress("127.0.0.1:99999").ok());
}

}  // namespace
}  // namespace portico::dataplane::event
