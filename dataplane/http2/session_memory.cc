#include "dataplane/http2/session_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>

#include "dataplane/http/header_pool.h"

namespace portico::dataplane::http2 {
namespace {
// NGHTTP2_FRAMEBUF_CHUNKLEN in nghttp2's sources: the frame header, one pad
// length byte and the largest default payload.
constexpr size_t kFrameBufferSize = 9 + 1 + 16384;
// Before every pooled block: its size, keeping nghttp2's data max-aligned.
constexpr size_t kPrefix = alignof(std::max_align_t);

size_t PageSize() {
  static const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

SessionMemory* Self(void* self) { return static_cast<SessionMemory*>(self); }
}  // namespace

SessionMemory::SessionMemory() {
  mem_.mem_user_data = this;
  mem_.malloc = Malloc;
  mem_.free = Free;
  mem_.calloc = Calloc;
  mem_.realloc = Realloc;
}

SessionMemory::~SessionMemory() {
  // nghttp2_session_del freed it already; this covers a session never deleted.
  if (frame_buffer_ != nullptr) munmap(frame_buffer_, frame_buffer_size_);
}

void* SessionMemory::Allocate(size_t size) {
  if (in_session_new_ && size == kFrameBufferSize && frame_buffer_ == nullptr) {
    const size_t page = PageSize();
    const size_t mapped = (size + page - 1) / page * page;
    void* p = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p != MAP_FAILED) {
      frame_buffer_ = p;
      frame_buffer_size_ = mapped;
      return p;
    }
    // No mapping (vm.max_map_count reached): malloc serves.
  }
  if (size > static_cast<size_t>(-1) - kPrefix) return nullptr;
  char* block = static_cast<char*>(http::HeaderPoolAllocate(size + kPrefix));
  *reinterpret_cast<size_t*>(block) = size + kPrefix;
  return block + kPrefix;
}

size_t SessionMemory::UsableSize(void* ptr) {
  return *reinterpret_cast<size_t*>(static_cast<char*>(ptr) - kPrefix) - kPrefix;
}

void SessionMemory::Release(void* ptr) {
  if (ptr != nullptr && ptr == frame_buffer_) {
    munmap(frame_buffer_, frame_buffer_size_);
    frame_buffer_ = nullptr;
    frame_buffer_size_ = 0;
    return;
  }
  if (ptr == nullptr) return;
  char* block = static_cast<char*>(ptr) - kPrefix;
  http::HeaderPoolFree(block, *reinterpret_cast<size_t*>(block));
}

void* SessionMemory::Malloc(size_t size, void* self) { return Self(self)->Allocate(size); }

void SessionMemory::Free(void* ptr, void* self) { Self(self)->Release(ptr); }

void* SessionMemory::Calloc(size_t n, size_t size, void* self) {
  if (size != 0 && n > static_cast<size_t>(-1) / size) return nullptr;
  void* p = Self(self)->Allocate(n * size);
  // A fresh mapping is zero already; only malloc's memory needs clearing.
  if (p != nullptr && p != Self(self)->frame_buffer_) memset(p, 0, n * size);
  return p;
}

void* SessionMemory::Realloc(void* ptr, size_t size, void* self) {
  SessionMemory* memory = Self(self);
  if (ptr == nullptr) return memory->Allocate(size);
  // (nghttp2 does not grow its frame buffer, but the contract allows it.)
  const size_t old_size =
      ptr == memory->frame_buffer_ ? memory->frame_buffer_size_ : UsableSize(ptr);
  if (ptr != memory->frame_buffer_ &&
      http::HeaderPoolClassSize(size + kPrefix) == http::HeaderPoolClassSize(old_size + kPrefix) &&
      http::HeaderPoolClassSize(size + kPrefix) != 0) {
    // The same slot fits: grow or shrink in place, keeping the prefix honest.
    *reinterpret_cast<size_t*>(static_cast<char*>(ptr) - kPrefix) = size + kPrefix;
    return ptr;
  }
  void* grown = memory->Allocate(size);
  if (grown == nullptr) return nullptr;
  memcpy(grown, ptr, size < old_size ? size : old_size);
  memory->Release(ptr);
  return grown;
}

void SessionMemory::ReleaseIdlePages() {
  if (!dirty_ || frame_buffer_ == nullptr) return;
  dirty_ = false;
  // The first page stays: every frame's header is written there.
  const size_t page = PageSize();
  if (frame_buffer_size_ > page) {
    madvise(static_cast<char*>(frame_buffer_) + page, frame_buffer_size_ - page, MADV_DONTNEED);
  }
}

}  // namespace portico::dataplane::http2
