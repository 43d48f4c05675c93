#include "dataplane/http2/session_memory.h"

#include <nghttp2/nghttp2.h>

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

}  // namespace
}  // namespace portico::dataplane::http2
