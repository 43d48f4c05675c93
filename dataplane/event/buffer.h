#pragma once
// A byte queue: append at the back, consume from the front. Contiguous so a
// single write(2) or parser call sees everything pending. Storage is left
// uninitialised: Reserve() before a read(2) costs no memset.

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>

namespace portico::dataplane::event {

class Buffer {
 public:
  void Append(std::string_view data) { Append(data.data(), data.size()); }
  void Append(const char* data, size_t n) {
    if (n == 0) return;
    EnsureTail(n);
    memcpy(storage_.get() + end_, data, n);
    end_ += n;
  }
  const char* data() const { return storage_.get() + start_; }
  size_t size() const { return end_ - start_; }
  bool empty() const { return end_ == start_; }
  std::string_view view() const { return {data(), size()}; }
  void Consume(size_t n);
  void Clear() { start_ = end_ = 0; }
  // Room for a read(2) of up to `n` bytes at the back; Commit what was read.
  char* Reserve(size_t n) {
    EnsureTail(n);
    return storage_.get() + end_;
  }
  void Commit(size_t n) { end_ += n; }
  // Releases memory held by a once-large buffer that is now empty.
  void ShrinkIfIdle();

 private:
  void EnsureTail(size_t n);

  std::unique_ptr<char[]> storage_;
  size_t capacity_ = 0;
  size_t start_ = 0;  // first unconsumed byte
  size_t end_ = 0;    // one past the last byte
};

}  // namespace portico::dataplane::event
