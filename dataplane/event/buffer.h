#pragma once
// A byte queue: append at the back, consume from the front. Contiguous so a
// single write(2) or parser call sees everything pending. Storage is left
// uninitialised: Reserve() before a read(2) costs no memset. Small storage is a
// BufferPool block, so an emptied buffer can give it back cheaply.

#include <cstddef>
#include <cstring>
#include <string_view>
#include <utility>

namespace portico::dataplane::event {

class Buffer {
 public:
  Buffer() = default;
  ~Buffer() { ReleaseStorage(); }
  Buffer(Buffer&& other) noexcept { *this = std::move(other); }
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;

  void Append(std::string_view data) { Append(data.data(), data.size()); }
  void Append(const char* data, size_t n) {
    if (n == 0) return;
    EnsureTail(n);
    memcpy(storage_ + end_, data, n);
    end_ += n;
  }
  const char* data() const { return storage_ + start_; }
  size_t size() const { return end_ - start_; }
  bool empty() const { return end_ == start_; }
  std::string_view view() const { return {data(), size()}; }
  void Consume(size_t n);
  void Clear() { start_ = end_ = 0; }
  // Room for a read(2) of up to `n` bytes at the back; Commit what was read.
  char* Reserve(size_t n) {
    EnsureTail(n);
    return storage_ + end_;
  }
  void Commit(size_t n) { end_ += n; }
  // An empty buffer gives its storage back (a pool block to this thread's
  // BufferPool, a larger one to malloc); the next Append or Reserve takes a
  // block again. Call it where a connection parks, so an idle one holds none.
  void ShrinkIfIdle();
  size_t capacity() const { return capacity_; }

 private:
  void EnsureTail(size_t n);
  void ReleaseStorage();

  char* storage_ = nullptr;  // a BufferPool block when capacity_ is its size, else new[]
  size_t capacity_ = 0;
  size_t start_ = 0;  // first unconsumed byte
  size_t end_ = 0;    // one past the last byte
};

}  // namespace portico::dataplane::event
