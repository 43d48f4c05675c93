#pragma once
// Storage for the short-lived pieces of every request and response head: the
// header vector and the names and values longer than std::string's 15 bytes
// of inline room (x-forwarded-proto, a date, a user agent...). Each comes
// from a per-thread free list of fixed-size slots (dataplane/event/
// object_slab.h), one per size class, instead of glibc's malloc: with 512
// requests in flight on one worker, bursts of same-sized allocations overflow
// glibc's per-thread cache (7 per size) and fall through to its bins
// (`unlink_chunk`, `malloc_consolidate` in the profile). Slots are kept for
// the next requests: the memory is bounded by the peak number of heads a
// worker held at once. Larger requests go to operator new.
//
// Threading: a thread allocates from its own free lists; a block freed on
// another thread joins that thread's lists (a slot is plain memory of the
// right size), as ObjectSlab does.

#include <cstddef>
#include <string>
#include <string_view>

namespace portico::dataplane::http {

// The size classes, in bytes. 768 is a 12-entry header vector (HeaderMap's
// initial capacity) of 64-byte headers.
inline constexpr size_t kHeaderPoolClasses[] = {32, 64, 128, 256, 512, 768};

// `bytes` rounded up to its class, or 0 for a size that goes to operator new.
constexpr size_t HeaderPoolClassSize(size_t bytes) {
  for (size_t size : kHeaderPoolClasses) {
    if (bytes <= size) return size;
  }
  return 0;
}

void* HeaderPoolAllocate(size_t bytes);
// `bytes` must be what HeaderPoolAllocate was given.
void HeaderPoolFree(void* p, size_t bytes);
// Free slots of `bytes`' class on the calling thread (tests).
size_t HeaderPoolFreeSlots(size_t bytes);

// A stateless allocator over the pool, for std containers and strings.
template <typename T>
struct HeaderPoolAllocator {
  using value_type = T;
  HeaderPoolAllocator() = default;
  template <typename U>
  HeaderPoolAllocator(const HeaderPoolAllocator<U>&) {}  // NOLINT: rebinding is implicit
  T* allocate(size_t n) { return static_cast<T*>(HeaderPoolAllocate(n * sizeof(T))); }
  void deallocate(T* p, size_t n) { HeaderPoolFree(p, n * sizeof(T)); }
  template <typename U>
  bool operator==(const HeaderPoolAllocator<U>&) const {
    return true;
  }
};

// A header name or value: a std::string whose heap part comes from the pool.
// Converts to std::string_view; build a std::string explicitly where one is needed.
using HeaderString = std::basic_string<char, std::char_traits<char>, HeaderPoolAllocator<char>>;

// Compares with a std::string (found by argument-dependent lookup; C++20
// also derives the reversed form and !=).
inline bool operator==(const HeaderString& a, const std::string& b) {
  return std::string_view(a) == std::string_view(b);
}

}  // namespace portico::dataplane::http
