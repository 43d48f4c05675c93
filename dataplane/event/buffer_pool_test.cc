#include "dataplane/event/buffer_pool.h"

#include <string>
#include <thread>

#include "dataplane/event/buffer.h"
#include "gtest/gtest.h"

namespace portico::dataplane::event {
namespace {

TEST(BufferPoolTest, ReusesGivenBlocks) {
  BufferPool pool;
  char* a = pool.Take();
  char* b = pool.Take();
  EXPECT_NE(a, b);
  EXPECT_EQ(pool.outstanding(), 2);
  pool.Give(a);
  EXPECT_EQ(pool.free_blocks(), 1u);
  EXPECT_EQ(pool.Take(), a);  // the warm block comes back first
  pool.Give(a);
  pool.Give(b);
  EXPECT_EQ(pool.outstanding(), 0);
  EXPECT_EQ(pool.free_blocks(), 2u);
}

TEST(BufferPoolTest, KeepsAtMostTheCap) {
  BufferPool pool;
  std::vector<char*> blocks;
  for (size_t i = 0; i < BufferPool::kMaxFreeBlocks + 10; ++i) blocks.push_back(pool.Take());
  for (char* block : blocks) pool.Give(block);
  EXPECT_EQ(pool.free_blocks(), BufferPool::kMaxFreeBlocks);
  EXPECT_EQ(pool.outstanding(), 0);
}

TEST(BufferPoolTest, EmptiedBufferGivesItsBlockBack) {
  BufferPool& pool = *BufferPool::ThisThread();
  const long before = pool.outstanding();
  Buffer b;
  EXPECT_EQ(b.capacity(), 0u);  // nothing until the first byte
  b.Append("GET / HTTP/1.1\r\n\r\n");
  EXPECT_EQ(b.capacity(), BufferPool::kBlockSize);
  EXPECT_EQ(pool.outstanding(), before + 1);
  b.ShrinkIfIdle();  // not empty: kept
  EXPECT_EQ(b.capacity(), BufferPool::kBlockSize);
  b.Consume(b.size());
  b.ShrinkIfIdle();
  EXPECT_EQ(b.capacity(), 0u);
  EXPECT_EQ(pool.outstanding(), before);
  // The next use takes the same block again.
  const size_t free_before = pool.free_blocks();
  b.Append("x");
  EXPECT_EQ(pool.free_blocks(), free_before - 1);
  EXPECT_EQ(b.view(), "x");
}

TEST(BufferPoolTest, GrowingPastABlockReturnsIt) {
  BufferPool& pool = *BufferPool::ThisThread();
  const long before = pool.outstanding();
  Buffer b;
  b.Append("head");
  std::string big(3 * BufferPool::kBlockSize, 'y');
  b.Append(big);
  EXPECT_GT(b.capacity(), BufferPool::kBlockSize);
  EXPECT_EQ(pool.outstanding(), before);  // the block went back when the buffer grew
  EXPECT_EQ(b.view(), "head" + big);
  b.Consume(b.size());
  b.ShrinkIfIdle();  // a large buffer goes back to malloc, not to the pool
  EXPECT_EQ(b.capacity(), 0u);
  EXPECT_EQ(pool.outstanding(), before);
}

TEST(BufferPoolTest, MoveKeepsTheBlock) {
  BufferPool& pool = *BufferPool::ThisThread();
  const long before = pool.outstanding();
  {
    Buffer a;
    a.Append("abc");
    Buffer b(std::move(a));
    EXPECT_EQ(b.view(), "abc");
    EXPECT_EQ(a.capacity(), 0u);  // NOLINT(bugprone-use-after-move): moved-from is empty
    Buffer c;
    c.Append("zz");
    c = std::move(b);  // c's own block goes back
    EXPECT_EQ(c.view(), "abc");
    EXPECT_EQ(pool.outstanding(), before + 1);
  }
  EXPECT_EQ(pool.outstanding(), before);
}

TEST(BufferPoolTest, BlocksCrossThreads) {
  // A buffer filled on one thread and destroyed on another: the block joins
  // the other thread's pool, and a thread's exit frees its pool.
  auto* b = new Buffer();
  b->Append("from the main thread");
  std::thread other([b] {
    delete b;
    EXPECT_EQ(BufferPool::ThisThread()->free_blocks(), 1u);
    Buffer local;
    local.Append("taken on this thread");
  });
  other.join();
}

}  // namespace
}  // namespace portico::dataplane::event
