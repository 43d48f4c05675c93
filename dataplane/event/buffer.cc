#include "dataplane/event/buffer.h"

#include <algorithm>

namespace portico::dataplane::event {
namespace {
constexpr size_t kMinCapacity = 4096;
constexpr size_t kIdleLimit = 16 * 1024;
}  // namespace

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
    memmove(storage_.get(), storage_.get() + start_, live);
    start_ = 0;
    end_ = live;
    return;
  }
  size_t capacity = std::max({capacity_ * 2, live + n, kMinCapacity});
  std::unique_ptr<char[]> grown(new char[capacity]);  // deliberately uninitialised
  if (live > 0) memcpy(grown.get(), storage_.get() + start_, live);
  storage_ = std::move(grown);
  capacity_ = capacity;
  start_ = 0;
  end_ = live;
}

void Buffer::ShrinkIfIdle() {
  if (empty() && capacity_ > kIdleLimit) {
    storage_.reset();
    capacity_ = 0;
    start_ = end_ = 0;
  }
}

}  // namespace portico::dataplane::event
