#include "dataplane/http2/flood_guard.h"

#include <gtest/gtest.h>
#include <nghttp2/nghttp2.h>

namespace portico::dataplane::http2 {
namespace {

TEST(TokenBucketTest, BurstThenRate) {
  TokenBucket bucket(/*rate=*/10, /*burst=*/3);
  EXPECT_TRUE(bucket.Take(0));
  EXPECT_TRUE(bucket.Take(0));
  EXPECT_TRUE(bucket.Take(0));
  EXPECT_FALSE(bucket.Take(0));
  EXPECT_FALSE(bucket.Take(0.05));  // half a token back
  EXPECT_TRUE(bucket.Take(0.2));
  EXPECT_TRUE(bucket.Take(100));  // refills to the burst, not beyond
  EXPECT_TRUE(bucket.Take(100));
  EXPECT_TRUE(bucket.Take(100));
  EXPECT_FALSE(bucket.Take(100));
}

TEST(FloodGuardTest, RapidResetTripsAfterTheBurst) {
  FloodLimits limits;
  limits.reset_burst = 5;
  limits.reset_rate = 1;
  FloodGuard guard(limits);
  Flood kind;
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(guard.OnFrame(NGHTTP2_RST_STREAM, 0, 4, 0, &kind));
  ASSERT_TRUE(guard.OnFrame(NGHTTP2_RST_STREAM, 0, 4, 0, &kind));
  EXPECT_EQ(kind, Flood::kRapidReset);
  EXPECT_STREQ(FloodName(kind), "rapid_reset");
}

TEST(FloodGuardTest, ContinuationsCountPerHeaderBlock) {
  FloodLimits limits;
  limits.max_continuations = 2;
  FloodGuard guard(limits);
  Flood kind;
  EXPECT_FALSE(guard.OnFrame(NGHTTP2_HEADERS, 0, 10, 0, &kind));
  EXPECT_FALSE(guard.OnFrame(NGHTTP2_CONTINUATION, 0, 10, 0, &kind));
  EXPECT_FALSE(guard.OnFrame(NGHTTP2_CONTINUATION, 0, 10, 0, &kind));
  ASSERT_TRUE(guard.OnFrame(NGHTTP2_CONTINUATION, 0, 10, 0, &kind));
  EXPECT_EQ(kind, Flood::kContinuation);
  // A new block starts the count again.
  EXPECT_FALSE(guard.OnFrame(NGHTTP2_HEADERS, 0, 10, 0, &kind));
  EXPECT_FALSE(guard.OnFrame(NGHTTP2_CONTINUATION, 0, 10, 0, &kind));
}

TEST(FloodGuardTest, ControlFramesAndEmptyData) {
  FloodLimits limits;
  limits.control_burst = 2;
  limits.empty_data_burst = 1;
  limits.priority_burst = 1;
  FloodGuard guard(limits);
  Flood kind;
  EXPECT_FALSE(guard.OnFrame(NGHTTP2_SETTINGS, 0, 6, 0, &kind));
  EXPECT_FALSE(guard.OnFrame(NGHTTP2_SETTINGS, 0, 6, 0, &kind));
  ASSERT_TRUE(guard.OnFrame(NGHTTP2_SETTINGS, 0, 6, 0, &kind));
  EXPECT_EQ(kind, Flood::kSettings);
  // PING has its own bucket.
  EXPECT_FALSE(guard.OnFrame(NGHTTP2_PING, 0, 8, 0, &kind));
  EXPECT_FALSE(guard.OnFrame(NGHTTP2_PING, 0, 8, 0, &kind));
  ASSERT_TRUE(guard.OnFrame(NGHTTP2_PING, 0, 8, 0, &kind));
  EXPECT_EQ(kind, Flood::kPing);
  EXPECT_FALSE(guard.OnFrame(NGHTTP2_PRIORITY, 0, 5, 0, &kind));
  ASSERT_TRUE(guard.OnFrame(NGHTTP2_PRIORITY, 0, 5, 0, &kind));
  EXPECT_EQ(kind, Flood::kPriority);
  // Data with a payload, or ending the stream, is never "empty".
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(guard.OnFrame(NGHTTP2_DATA, 0, 100, 0, &kind));
    EXPECT_FALSE(guard.OnFrame(NGHTTP2_DATA, NGHTTP2_FLAG_END_STREAM, 0, 0, &kind));
  }
  EXPECT_FALSE(guard.OnFrame(NGHTTP2_DATA, 0, 0, 0, &kind));
  ASSERT_TRUE(guard.OnFrame(NGHTTP2_DATA, 0, 0, 0, &kind));
  EXPECT_EQ(kind, Flood::kEmptyData);
}

}  // namespace
}  // namespace portico::dataplane::http2
