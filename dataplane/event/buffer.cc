#include "dataplane/event/buffer.h"

#include <algorithm>

#include "dataplane/event/buffer_pool.h"

namespace portico::dataplane::event {
namespace {
constexpr size_t kMinCapacity = BufferPool::kBlockSize;

char* NewStorage(size_t capacity) {
  if (capacity == BufferPool::kBlockSize) return BufferPool::TakeBlock();
  return new char[capacity];  // deliberately uninitialised
}
}  // namespace

Buffer& Buffer::operator=(Buffer&& other) noexcept {
  if (this == &other) return *this;
  ReleaseStorage();
  storage_ = std::exchange(other.storage_, nullptr);
  capacity_ = std::exchange(other.capacity_, 0);
  start_ = std::exchange(other.start_, 0);
  end_ = std::exchange(other.end_, 0);
  return *this;
}

void Buffer::ReleaseStorage() {
  if (storage_ == nullptr) return;
  if (capacity_ == BufferPool::kBlockSize) {
    BufferPool::GiveBlock(storage_);
  } else {
    delete[] storage_;
  }
  storage_ = nullptr;
  capacity_ = 0;
}

void Buffer::Consume(size_t n) {
  start_ += n;
  if (start_ >= end_) start_ = end_ = 0;
}

void Buffer::EnsureTail(size_t n) {
  if (capacity_ - end_ >= n) return;
  const size_t live = size();
  // Slide the live bytes to the front when that makes room and costs no more
  // than the bytes already consumed (amortised O(1) per byte).
  if (start_ > 0 && capacity_ - live >= n && live <= start_) {
    memmove(storage_, storage_ + start_, live);
    start_ = 0;
    end_ = live;
    return;
  }
  size_t capacity = std::max({capacity_ * 2, live + n, kMinCapacity});
  char* grown = NewStorage(capacity);
  if (live > 0) memcpy(grown, storage_ + start_, live);
  ReleaseStorage();
  storage_ = grown;
  capacity_ = capacity;
  start_ = 0;
  end_ = live;
}

void Buffer::ShrinkIfIdle() {
  if (!empty()) return;
  ReleaseStorage();
  start_ = end_ = 0;
}

}  // namespace portico::dataplane::event
