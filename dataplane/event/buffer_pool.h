#pragma once
// Fixed-size blocks for the storage of small Buffers, kept on a free list per
// thread. Every connection's read and write buffers start at one block; a
// connection that parks (nothing pending) gives its blocks back, and the next
// read or response takes one again. An idle keep-alive connection then holds
// no buffer memory, and a worker's busy connections reuse the same few warm
// blocks instead of each keeping its own.
//
// Threading: one pool per thread (workers are threads, so one per worker);
// ThisThread() is the calling thread's. A block given back on another thread
// than the one it came from simply joins that thread's list. Any pool's
// blocks may be given to any other: they are plain new[] memory.

#include <cstddef>
#include <vector>

namespace portico::dataplane::event {

class BufferPool {
 public:
  static constexpr size_t kBlockSize = 4096;
  // Free blocks kept per thread (1 MiB): a worker's busy connections take and
  // give back their blocks in waves (64 keep-alive clients answered in one
  // loop iteration free ~4 blocks each, then take them again); with a cap
  // below the wave (it was 32) most of them went back to malloc, whose 4 KiB
  // requests are large-bin ones that consolidate its fast bins (~0.7 malloc
  // of 4 KiB per proxied request). Freed blocks stayed resident in malloc's
  // heap anyway, so the cap bounds reuse, not RSS. More go to malloc.
  static constexpr size_t kMaxFreeBlocks = 256;

  BufferPool() = default;
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // The calling thread's pool; null while the thread exits, after its pool
  // was destroyed.
  static BufferPool* ThisThread();
  // Take or Give on the calling thread's pool (plain new[]/delete[] once the
  // thread's pool is gone).
  static char* TakeBlock();
  static void GiveBlock(char* block);

  // A block of kBlockSize bytes, uninitialised.
  char* Take();
  // Gives back a block of kBlockSize bytes from any pool's Take().
  void Give(char* block);

  size_t free_blocks() const { return free_.size(); }
  // Blocks handed out and not given back to this pool (negative when this
  // thread received blocks another one took).
  long outstanding() const { return outstanding_; }

 private:
  std::vector<char*> free_;
  long outstanding_ = 0;
};

}  // namespace portico::dataplane::event
