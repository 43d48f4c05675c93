#pragma once
// Small adapters between nghttp2's C types and ours, shared by the server and
// client sessions. Threading: the read buffer is per thread.

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "dataplane/event/buffer.h"

namespace portico::dataplane::http2 {

inline constexpr size_t kReadSize = 65536;

// Reads land here and go straight into nghttp2, so an idle connection holds
// no read buffer of its own.
inline char* ReadScratch() {
  thread_local char scratch[kReadSize];
  return scratch;
}

inline std::string_view View(const uint8_t* data, size_t len) {
  return {reinterpret_cast<const char*>(data), len};
}

// A header for nghttp2_submit_*; nghttp2 copies it (no NO_COPY flags).
inline nghttp2_nv Nv(std::string_view name, std::string_view value) {
  return {reinterpret_cast<uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), name.size(), value.size(),
          NGHTTP2_NV_FLAG_NONE};
}

// Appends the session's pending frames to `out` until it holds `watermark`
// bytes or nothing is pending. False on a session error.
inline bool ProduceOutput(nghttp2_session* session, event::Buffer& out, size_t watermark) {
  while (out.size() < watermark) {
    const uint8_t* data = nullptr;
    ssize_t n = nghttp2_session_mem_send(session, &data);
    if (n < 0) return false;
    if (n == 0) break;
    out.Append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
  }
  return true;
}

}  // namespace portico::dataplane::http2
