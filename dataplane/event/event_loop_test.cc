#include "dataplane/event/event_loop.h"

#include <thread>

#include "dataplane/event/buffer.h"
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
