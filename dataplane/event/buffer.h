#pragma once
// A byte queue: append at the back, consume from the front. Contiguous so a
// single write(2) or parser call sees everything pending.

#include <cstddef>
#include <string>
#include <string_view>

namespace portico::dataplane::event {

class Buffer {
 public:
  void Append(std::string_view data) { data_.append(data); }
  void Append(const char* data, size_t n) { data_.append(data, n); }
  const char* data() const { return data_.data() + start_; }
  size_t size() const { return data_.size() - start_; }
  bool empty() const { return size() == 0; }
  std::string_view view() const { return {data(), size()}; }
  void Consume(size_t n);
  void Clear() {
    data_.clear();
    start_ = 0;
  }
  // Room for a read(2) of up to `n` bytes at the back; Commit what was read.
  char* Reserve(size_t n);
  void Commit(size_t n) { data_.resize(reserved_at_ + n); }
  // Releases memory held by a once-large buffer that is now empty.
  void ShrinkIfIdle();

 private:
  std::string data_;
  size_t start_ = 0;
  size_t reserved_at_ = 0;
};

}  // namespace portico::dataplane::event
