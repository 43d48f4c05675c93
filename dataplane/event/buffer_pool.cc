#include "dataplane/event/buffer_pool.h"

#include <sys/mman.h>

#include <algorithm>
#include <new>

namespace portico::dataplane::event {
namespace {
// Set once this thread's pool is destroyed (thread exit): a Buffer destroyed
// later in the exit sequence then unmaps its block directly. A plain bool has
// no destructor, so it stays readable until the thread is gone.
thread_local bool pool_gone = false;

BufferPool& Pool() {
  thread_local BufferPool pool;
  return pool;
}

char* Map(size_t bytes) {
  void* p = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) throw std::bad_alloc();
  return static_cast<char*>(p);
}

// Any block can be unmapped on its own: it is whole pages of a mapping.
void Unmap(char* block) { munmap(block, BufferPool::kBlockSize); }
}  // namespace

static_assert(BufferPool::kBlockSize % 4096 == 0, "blocks are whole pages");

BufferPool::~BufferPool() {
  for (char* block : free_) Unmap(block);
  for (char* block : released_) Unmap(block);
  free_.clear();
  released_.clear();
  // The uncarved rest of the current run.
  for (; run_left_ > 0; --run_left_, run_ += kBlockSize) Unmap(run_);
  if (this == &Pool()) pool_gone = true;
}

BufferPool* BufferPool::ThisThread() { return pool_gone ? nullptr : &Pool(); }

char* BufferPool::TakeBlock() {
  BufferPool* pool = ThisThread();
  return pool != nullptr ? pool->Take() : Map(kBlockSize);
}

void BufferPool::GiveBlock(char* block) {
  if (BufferPool* pool = ThisThread()) {
    pool->Give(block);
  } else {
    Unmap(block);
  }
}

char* BufferPool::MapBlock() {
  if (run_left_ == 0) {
    // Pages of a fresh run become resident only as blocks are written.
    run_ = Map(kRunBlocks * kBlockSize);
    run_left_ = kRunBlocks;
  }
  char* block = run_;
  run_ += kBlockSize;
  --run_left_;
  return block;
}

char* BufferPool::Take() {
  ++outstanding_;
  if (!free_.empty()) {
    char* block = free_.back();
    free_.pop_back();
    low_water_ = std::min(low_water_, free_.size());
    return block;
  }
  low_water_ = 0;
  if (!released_.empty()) {
    char* block = released_.back();
    released_.pop_back();
    return block;
  }
  return MapBlock();  // deliberately uninitialised (zeroed pages, in fact)
}

void BufferPool::Give(char* block) {
  --outstanding_;
  if (free_.capacity() == 0) free_.reserve(kMaxFreeBlocks);
  free_.push_back(block);
}

size_t BufferPool::Trim() {
  // Blocks free all along since the last Trim() were not needed: the
  // coldest ones (the bottom of the stack) beyond the cap give their pages back.
  const size_t unused = std::min(low_water_, free_.size());
  const size_t release = unused > kMaxFreeBlocks ? unused - kMaxFreeBlocks : 0;
  for (size_t i = 0; i < release; ++i) {
    madvise(free_[i], kBlockSize, MADV_DONTNEED);
    released_.push_back(free_[i]);
  }
  free_.erase(free_.begin(), free_.begin() + static_cast<std::ptrdiff_t>(release));
  low_water_ = free_.size();
  return release;
}

}  // namespace portico::dataplane::event
