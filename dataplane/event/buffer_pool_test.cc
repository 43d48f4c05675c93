#include "dataplane/event/buffer_pool.h"

#include <sys/mman.h>

#include <cstring>
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

bool Resident(const char* block) {
  unsigned char vec = 0;
  EXPECT_EQ(mincore(const_cast<char*>(block), BufferPool::kBlockSize, &vec), 0);
  return (vec & 1) != 0;
}

TEST(BufferPoolTest, TrimReleasesTheBlocksBeyondTheCapThatStayedFree) {
  BufferPool pool;
  std::vector<char*> blocks;
  for (size_t i = 0; i < BufferPool::kMaxFreeBlocks + 10; ++i) {
    blocks.push_back(pool.Take());
    memset(blocks.back(), 'x', BufferPool::kBlockSize);  // resident now
  }
  EXPECT_EQ(reinterpret_cast<uintptr_t>(blocks[0]) % 4096, 0u);  // whole pages
  for (char* block : blocks) pool.Give(block);
  EXPECT_EQ(pool.free_blocks(), BufferPool::kMaxFreeBlocks + 10);
  EXPECT_EQ(pool.outstanding(), 0);
  // They were all in use since the last Trim (there was none): kept.
  EXPECT_EQ(pool.Trim(), 0u);
  // A second later nobody needed them: the 10 coldest give their pages back.
  EXPECT_EQ(pool.Trim(), 10u);
  EXPECT_EQ(pool.free_blocks(), BufferPool::kMaxFreeBlocks);
  EXPECT_EQ(pool.released_blocks(), 10u);
  EXPECT_FALSE(Resident(blocks[0]));  // given first: the bottom of the stack
  EXPECT_TRUE(Resident(blocks.back()));
  EXPECT_EQ(pool.Trim(), 0u);  // at the cap

  // Warm blocks come back first, then the released ones (zeroed again).
  std::vector<char*> again;
  for (size_t i = 0; i < BufferPool::kMaxFreeBlocks + 1; ++i) again.push_back(pool.Take());
  EXPECT_EQ(pool.free_blocks(), 0u);
  EXPECT_EQ(pool.released_blocks(), 9u);
  EXPECT_EQ(again.back()[0], 0);
  again.back()[0] = 'y';
  for (char* block : again) pool.Give(block);
  // Used since the last Trim: nothing goes.
  EXPECT_EQ(pool.Trim(), 0u);
  EXPECT_EQ(pool.Trim(), 1u);
}

TEST(BufferPoolTest, BlocksBusyAtTheLowWaterMarkStay) {
  BufferPool pool;
  std::vector<char*> blocks;
  for (size_t i = 0; i < BufferPool::kMaxFreeBlocks + 20; ++i) blocks.push_back(pool.Take());
  for (char* block : blocks) pool.Give(block);
  pool.Trim();  // the interval starts with 52 free blocks
  // During the next interval at most 45 stayed free at any time.
  std::vector<char*> busy;
  for (int i = 0; i < 7; ++i) busy.push_back(pool.Take());
  for (char* block : busy) pool.Give(block);
  EXPECT_EQ(pool.Trim(), 13u);  // 45 - 32
  EXPECT_EQ(pool.free_blocks(), BufferPool::kMaxFreeBlocks + 7);
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
