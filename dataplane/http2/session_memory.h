#pragma once
// The allocator an nghttp2 session of a downstream connection uses. nghttp2
// allocates a 16 KiB frame buffer when the session is created (where each
// outgoing frame is serialised) and keeps it for the session's life. Taken
// from malloc it is recycled heap memory, all of it resident; mapped on its
// own, only the pages frames were written into become resident, and
// ReleaseIdlePages() gives those back while the connection is idle. Every
// other allocation comes from the thread's header pool (http/header_pool.h),
// behind a 16-byte prefix that holds its size (nghttp2_mem's free is not
// told): the stream, the outgoing HEADERS and DATA items and the copied
// header fields of each request would otherwise be 3-4 mallocs per request.
//
// Threading: owned by one connection, on its worker's thread.

#include <nghttp2/nghttp2.h>

#include <cstddef>

namespace portico::dataplane::http2 {

class SessionMemory {
 public:
  SessionMemory();
  ~SessionMemory();
  SessionMemory(const SessionMemory&) = delete;
  SessionMemory& operator=(const SessionMemory&) = delete;

  // For nghttp2_session_server_new3; valid as long as this object.
  nghttp2_mem* mem() { return &mem_; }
  // Brackets the session's creation: only the frame buffer allocated then is
  // mapped (a later allocation of the same size may be live data, such as a
  // large header in the HPACK table, which ReleaseIdlePages must not touch).
  void BeginSessionNew() { in_session_new_ = true; }
  void EndSessionNew() { in_session_new_ = false; }
  // A frame larger than a page went out: the frame buffer has dirty pages.
  void MarkDirty() { dirty_ = true; }
  // Call only when no frame is being serialised (the session has nothing to
  // send): the frame buffer's pages past the first go back to the kernel.
  void ReleaseIdlePages();

 private:
  static void* Malloc(size_t size, void* self);
  static void Free(void* ptr, void* self);
  static void* Calloc(size_t n, size_t size, void* self);
  static void* Realloc(void* ptr, size_t size, void* self);
  void* Allocate(size_t size);
  void Release(void* ptr);
  // What a pooled block holds (not the frame buffer).
  static size_t UsableSize(void* ptr);

  nghttp2_mem mem_;
  void* frame_buffer_ = nullptr;  // mapped, or null
  size_t frame_buffer_size_ = 0;  // bytes mapped
  bool in_session_new_ = false;
  bool dirty_ = false;
};

}  // namespace portico::dataplane::http2
