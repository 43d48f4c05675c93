#pragma once
// Fixed-size blocks for the storage of small Buffers, kept on a free list per
// thread. Every connection's read and write buffers start at one block; a
// connection that parks (nothing pending) gives its blocks back, and the next
// read or response takes one again. An idle keep-alive connection then holds
// no buffer memory, and a worker's busy connections reuse the same few warm
// blocks instead of each keeping its own.
//
// Blocks are pages of anonymous memory mapped by the pool in runs, never
// malloc's: a burst of busy connections (a thousand new keep-alive clients
// arriving at once) leaves blocks behind that glibc would keep resident
// between longer-lived allocations. The pool keeps every block it mapped;
// Trim() (the worker calls it every second) gives the pages of the free
// blocks beyond kMaxFreeBlocks back to the kernel (madvise MADV_DONTNEED)
// when they were not needed since the previous Trim(), and keeps their
// addresses for the next burst, which gets zeroed pages again.
//
// Threading: one pool per thread (workers are threads, so one per worker);
// ThisThread() is the calling thread's. A block given back on another thread
// than the one it came from simply joins that thread's list. Any pool's
// blocks may be given to any other: they are plain mapped pages.

#include <cstddef>
#include <vector>

namespace portico::dataplane::event {

class BufferPool {
 public:
  static constexpr size_t kBlockSize = 4096;
  // Free blocks kept resident per thread after a whole Trim() interval
  // without use (128 KiB). Give() never hands a block to malloc any more, so
  // this no longer bounds reuse: a worker's busy connections take and give
  // back their blocks in waves (64 keep-alive clients answered in one loop
  // iteration free ~4 blocks each, then take them again), and a block used
  // within the interval stays warm whatever this cap (it was 256 for the
  // waves while Give freed beyond it; 4 KiB mallocs are large-bin ones that
  // consolidate glibc's fast bins).
  static constexpr size_t kMaxFreeBlocks = 32;
  // Blocks mapped at a time.
  static constexpr size_t kRunBlocks = 16;

  BufferPool() = default;
  ~BufferPool();
  BufferPool(const BufferPool&) = delete;
  BufferPool& operator=(const BufferPool&) = delete;

  // The calling thread's pool; null while the thread exits, after its pool
  // was destroyed.
  static BufferPool* ThisThread();
  // Take or Give on the calling thread's pool (a page mapped or unmapped on
  // its own once the thread's pool is gone).
  static char* TakeBlock();
  static void GiveBlock(char* block);

  // A block of kBlockSize bytes, uninitialised.
  char* Take();
  // Gives back a block of kBlockSize bytes from any pool's Take().
  void Give(char* block);

  // Releases the pages of the free blocks beyond kMaxFreeBlocks that stayed
  // free since the previous Trim(); returns how many.
  size_t Trim();

  // Free blocks with resident pages, and with their pages given back.
  size_t free_blocks() const { return free_.size(); }
  size_t released_blocks() const { return released_.size(); }
  // Blocks handed out and not given back to this pool (negative when this
  // thread received blocks another one took).
  long outstanding() const { return outstanding_; }

 private:
  char* MapBlock();

  std::vector<char*> free_;      // a stack: the back is the warmest
  std::vector<char*> released_;  // pages given back; reused after free_
  size_t low_water_ = 0;         // fewest free_ blocks since the last Trim()
  char* run_ = nullptr;          // the run being carved
  size_t run_left_ = 0;          // blocks of it not handed out yet
  long outstanding_ = 0;
};

}  // namespace portico::dataplane::event
