#include "dataplane/event/buffer_pool.h"

namespace portico::dataplane::event {
namespace {
// Set once this thread's pool is destroyed (thread exit): a Buffer destroyed
// later in the exit sequence then frees its block directly. A plain bool has
// no destructor, so it stays readable until the thread is gone.
thread_local bool pool_gone = false;

BufferPool& Pool() {
  thread_local BufferPool pool;
  return pool;
}
}  // namespace

BufferPool::~BufferPool() {
  for (char* block : free_) delete[] block;
  free_.clear();
  if (this == &Pool()) pool_gone = true;
}

BufferPool* BufferPool::ThisThread() { return pool_gone ? nullptr : &Pool(); }

char* BufferPool::TakeBlock() {
  BufferPool* pool = ThisThread();
  return pool != nullptr ? pool->Take() : new char[kBlockSize];
}

void BufferPool::GiveBlock(char* block) {
  if (BufferPool* pool = ThisThread()) {
    pool->Give(block);
  } else {
    delete[] block;
  }
}

char* BufferPool::Take() {
  ++outstanding_;
  if (free_.empty()) return new char[kBlockSize];  // deliberately uninitialised
  char* block = free_.back();
  free_.pop_back();
  return block;
}

void BufferPool::Give(char* block) {
  --outstanding_;
  if (free_.size() >= kMaxFreeBlocks) {
    delete[] block;
    return;
  }
  if (free_.capacity() == 0) free_.reserve(kMaxFreeBlocks);
  free_.push_back(block);
}

}  // namespace portico::dataplane::event
