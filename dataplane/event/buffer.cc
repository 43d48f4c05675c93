#include "dataplane/event/buffer.h"

namespace portico::dataplane::event {

void Buffer::Consume(size_t n) {
  start_ += n;
  if (start_ >= data_.size()) {
    data_.clear();
    start_ = 0;
  } else if (start_ > 65536 && start_ * 2 > data_.size()) {
    // Compact once the consumed prefix dominates, keeping appends amortised O(1).
    data_.erase(0, start_);
    start_ = 0;
  }
}

char* Buffer::Reserve(size_t n) {
  if (start_ > 0 && start_ == data_.size()) Clear();
  reserved_at_ = data_.size();
  data_.resize(reserved_at_ + n);
  return data_.data() + reserved_at_;
}

void Buffer::ShrinkIfIdle() {
  if (empty() && data_.capacity() > 262144) {
    std::string().swap(data_);
    start_ = 0;
  }
}

}  // namespace portico::dataplane::event
