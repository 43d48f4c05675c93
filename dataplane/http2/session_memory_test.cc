#include "dataplane/http2/session_memory.h"

#include <nghttp2/nghttp2.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "gtest/gtest.h"

namespace portico::dataplane::http2 {
namespace {

ssize_t Drain(nghttp2_session* session, std::string& out) {
  ssize_t total = 0;
  for (;;) {
    const uint8_t* data = nullptr;
    ssize_t n = nghttp2_session_mem_send(session, &data);
    if (n <= 0) return n < 0 ? n : total;
    out.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    total += n;
  }
}

// A real server session on SessionMemory: frames go out before and after the
// idle pages are released, and deleting the session unmaps the frame buffer.
TEST(SessionMemoryTest, SessionWorksAcrossReleases) {
  SessionMemory memory;
  nghttp2_session_callbacks* callbacks = nullptr;
  ASSERT_EQ(nghttp2_session_callbacks_new(&callbacks), 0);
  nghttp2_session* session = nullptr;
  memory.BeginSessionNew();
  ASSERT_EQ(nghttp2_session_server_new3(&session, callbacks, nullptr, nullptr, memory.mem()), 0);
  memory.EndSessionNew();
  ASSERT_EQ(nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, nullptr, 0), 0);
  std::string out;
  EXPECT_GT(Drain(session, out), 0);
  for (int round = 0; round < 3; ++round) {
    memory.MarkDirty();
    memory.ReleaseIdlePages();
    const uint8_t opaque[8] = {1, 2, 3, 4, 5, 6, 7, static_cast<uint8_t>(round)};
    ASSERT_EQ(nghttp2_submit_ping(session, NGHTTP2_FLAG_NONE, opaque), 0);
    out.clear();
    ASSERT_EQ(Drain(session, out), 17);  // a PING frame: 9 + 8 bytes
    EXPECT_EQ(static_cast<uint8_t>(out.back()), round);
  }
  nghttp2_session_del(session);
  nghttp2_session_callbacks_del(callbacks);
}

TEST(SessionMemoryTest, CallocAndReallocFollowTheContract) {
  SessionMemory memory;
  nghttp2_mem* mem = memory.mem();
  auto* zeros = static_cast<unsigned char*>(mem->calloc(16, 4, mem->mem_user_data));
  ASSERT_NE(zeros, nullptr);
  for (int i = 0; i < 64; ++i) EXPECT_EQ(zeros[i], 0);
  auto* grown = static_cast<unsigned char*>(mem->realloc(zeros, 4096, mem->mem_user_data));
  ASSERT_NE(grown, nullptr);
  EXPECT_EQ(grown[63], 0);
  mem->free(grown, mem->mem_user_data);
  mem->free(nullptr, mem->mem_user_data);
}

// Small blocks come from the header pool and keep their contents when
// realloc moves them within a class, to another class or to operator new.
TEST(SessionMemoryTest, PooledBlocksKeepTheirBytesAcrossRealloc) {
  SessionMemory memory;
  nghttp2_mem* mem = memory.mem();
  void* user = mem->mem_user_data;
  auto* p = static_cast<unsigned char*>(mem->malloc(10, user));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % alignof(std::max_align_t), 0u);
  for (int i = 0; i < 10; ++i) p[i] = static_cast<unsigned char>(i);
  p = static_cast<unsigned char*>(mem->realloc(p, 14, user));  // same 32-byte slot
  for (int i = 0; i < 10; ++i) EXPECT_EQ(p[i], i);
  p = static_cast<unsigned char*>(mem->realloc(p, 300, user));  // the 512 class
  for (int i = 0; i < 10; ++i) EXPECT_EQ(p[i], i);
  p = static_cast<unsigned char*>(mem->realloc(p, 10000, user));  // operator new
  for (int i = 0; i < 10; ++i) EXPECT_EQ(p[i], i);
  p[9999] = 1;
  p = static_cast<unsigned char*>(mem->realloc(p, 5, user));  // back to a slot
  for (int i = 0; i < 5; ++i) EXPECT_EQ(p[i], i);
  mem->free(p, user);
}

}  // namespace
}  // namespace portico::dataplane::http2
