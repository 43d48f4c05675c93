// Token bucket math with an injected clock, concurrent-request slots, repeat
// offender blocking, and the memory bound under a million distinct clients.
#include "dataplane/policy/rate_limiter.h"

#include <atomic>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace portico::dataplane::policy {
namespace {

using Clock = RateLimiter::Clock;
using Verdict = RateLimiter::Verdict;
using std::chrono::milliseconds;
using std::chrono::seconds;

net::IpAddress Ip(std::string_view text) { return *net::IpAddress::Parse(text); }

router::RateLimitRule Rule(uint32_t rps, uint32_t rpm, uint32_t multiplier = 5,
                           std::string zone = "default/web") {
  router::RateLimitRule rule;
  rule.rps = rps;
  rule.rpm = rpm;
  rule.burst_multiplier = multiplier;
  rule.zone = std::move(zone);
  return rule;
}

// How many requests pass back to back at `now`.
int Burst(RateLimiter& limiter, const router::RateLimitRule& rule, const RateLimitOptions& options,
          const net::IpAddress& client, Clock::time_point now, int max = 100000) {
  int passed = 0;
  while (passed < max && limiter.Admit(rule, options, client, now).verdict == Verdict::kAllowed) {
    ++passed;
  }
  return passed;
}

const Clock::time_point kT0 = Clock::time_point() + seconds(1000);

TEST(RateLimiterTest, BurstIsRateTimesMultiplierThenRefillsAtTheRate) {
  RateLimiter limiter;
  RateLimitOptions options;
  auto rule = Rule(2, 0, 5);
  net::IpAddress client = Ip("192.0.2.1");
  EXPECT_EQ(Burst(limiter, rule, options, client, kT0), 10);
  RateLimiter::Decision limited = limiter.Admit(rule, options, client, kT0);
  EXPECT_EQ(limited.verdict, Verdict::kLimited);
  EXPECT_EQ(limited.retry_after_seconds, 1u);  // one token in 0.5 s, rounded up
  // Half a second later one token is back, and only one.
  EXPECT_EQ(Burst(limiter, rule, options, client, kT0 + milliseconds(500)), 1);
  EXPECT_EQ(Burst(limiter, rule, options, client, kT0 + milliseconds(1500)), 2);
  // Long idle: a full bucket, never more.
  EXPECT_EQ(Burst(limiter, rule, options, client, kT0 + seconds(3600)), 10);
}

TEST(RateLimiterTest, PerMinuteBucketAndRetryAfter) {
  RateLimiter limiter;
  RateLimitOptions options;
  auto rule = Rule(0, 6, 1);  // one token every 10 s, bucket of 6
  net::IpAddress client = Ip("2001:db8::1");
  EXPECT_EQ(Burst(limiter, rule, options, client, kT0), 6);
  EXPECT_EQ(limiter.Admit(rule, options, client, kT0).retry_after_seconds, 10u);
  EXPECT_EQ(limiter.Admit(rule, options, client, kT0 + seconds(4)).retry_after_seconds, 6u);
  EXPECT_EQ(Burst(limiter, rule, options, client, kT0 + seconds(10)), 1);
}

TEST(RateLimiterTest, BothBucketsMustHaveATokenAndOnlyPassingRequestsTakeThem) {
  RateLimiter limiter;
  RateLimitOptions options;
  auto rule = Rule(100, 5, 1);
  net::IpAddress client = Ip("192.0.2.1");
  EXPECT_EQ(Burst(limiter, rule, options, client, kT0), 5);  // the minute bucket runs out
  // A second later the per-second bucket is full again but the minute one
  // has only refilled 1/12 of a token: refused requests took nothing.
  EXPECT_EQ(Burst(limiter, rule, options, client, kT0 + seconds(1)), 0);
  EXPECT_EQ(Burst(limiter, rule, options, client, kT0 + seconds(12)), 1);
}

TEST(RateLimiterTest, ClientsAndZonesHaveTheirOwnBuckets) {
  RateLimiter limiter;
  RateLimitOptions options;
  EXPECT_EQ(Burst(limiter, Rule(1, 0, 3), options, Ip("192.0.2.1"), kT0), 3);
  EXPECT_EQ(Burst(limiter, Rule(1, 0, 3), options, Ip("192.0.2.2"), kT0), 3);
  EXPECT_EQ(Burst(limiter, Rule(1, 0, 3, "other/ingress"), options, Ip("192.0.2.1"), kT0), 3);
  // An IPv4-mapped IPv6 peer is the same client as its IPv4 address.
  EXPECT_EQ(Burst(limiter, Rule(1, 0, 3), options, Ip("::ffff:192.0.2.1"), kT0), 0);
}

TEST(RateLimiterTest, ConcurrentSlotsAreHeldUntilReleased) {
  RateLimiter limiter;
  RateLimitOptions options;
  router::RateLimitRule rule = Rule(0, 0);
  rule.connections = 2;
  net::IpAddress client = Ip("192.0.2.1");
  std::optional<RateLimiter::Slot> a = limiter.Acquire(rule, options, client);
  std::optional<RateLimiter::Slot> b = limiter.Acquire(rule, options, client);
  ASSERT_TRUE(a && a->held());
  ASSERT_TRUE(b && b->held());
  EXPECT_FALSE(limiter.Acquire(rule, options, client).has_value());
  EXPECT_TRUE(limiter.Acquire(rule, options, Ip("192.0.2.2")).has_value());
  RateLimiter::Slot moved = std::move(*a);
  a.reset();  // the moved-from slot gives nothing back
  EXPECT_FALSE(limiter.Acquire(rule, options, client).has_value());
  moved.Reset();
  std::optional<RateLimiter::Slot> c = limiter.Acquire(rule, options, client);
  EXPECT_TRUE(c.has_value());
  EXPECT_FALSE(limiter.Acquire(rule, options, client).has_value());
}

TEST(RateLimiterTest, ASlotOfAnEvictedEntryDoesNotFreeItsSuccessor) {
  RateLimiter limiter;
  RateLimitOptions options;
  options.max_clients = RateLimiter::kShards;  // one entry per shard
  router::RateLimitRule rule = Rule(0, 0);
  rule.connections = 1;
  net::IpAddress client = Ip("192.0.2.1");
  std::optional<RateLimiter::Slot> stale = limiter.Acquire(rule, options, client);
  ASSERT_TRUE(stale && stale->held());
  // Other clients evict it (each shard holds one entry).
  for (int i = 0; i < 256; ++i) {
    limiter.Acquire(rule, options, Ip("198.51.100." + std::to_string(i)));
  }
  // Forgotten: the client starts again with a free slot, and takes it.
  std::optional<RateLimiter::Slot> current = limiter.Acquire(rule, options, client);
  ASSERT_TRUE(current && current->held());
  // Giving back the old slot must not free the new entry's.
  stale.reset();
  EXPECT_FALSE(limiter.Acquire(rule, options, client).has_value());
  current.reset();
  EXPECT_TRUE(limiter.Acquire(rule, options, client).has_value());
}

TEST(RateLimiterTest, RepeatOffendersAreBlockedForTheCoolDown) {
  RateLimiter limiter;
  RateLimitOptions options;
  options.block_after = 3;
  options.block_window = seconds(60);
  options.block_duration = seconds(300);
  auto rule = Rule(1, 0, 1);
  net::IpAddress client = Ip("192.0.2.1");
  EXPECT_EQ(limiter.CheckBlocked(options, client, kT0).verdict, Verdict::kAllowed);
  EXPECT_EQ(Burst(limiter, rule, options, client, kT0), 1);  // plus one limited
  // Violations spread beyond the window do not add up.
  EXPECT_EQ(Burst(limiter, rule, options, client, kT0 + seconds(70)), 1);
  EXPECT_EQ(limiter.CheckBlocked(options, client, kT0 + seconds(70)).verdict, Verdict::kAllowed);
  // Two more within the window: blocked.
  EXPECT_EQ(limiter.Admit(rule, options, client, kT0 + seconds(70)).verdict, Verdict::kLimited);
  EXPECT_EQ(limiter.Admit(rule, options, client, kT0 + seconds(70)).verdict, Verdict::kLimited);
  RateLimiter::Decision blocked = limiter.CheckBlocked(options, client, kT0 + seconds(100));
  EXPECT_EQ(blocked.verdict, Verdict::kBlocked);
  EXPECT_EQ(blocked.retry_after_seconds, 270u);
  EXPECT_EQ(limiter.CheckBlocked(options, Ip("192.0.2.2"), kT0 + seconds(100)).verdict,
            Verdict::kAllowed);
  EXPECT_EQ(limiter.CheckBlocked(options, client, kT0 + seconds(370)).verdict, Verdict::kAllowed);
  // Blocking off: never blocked.
  options.block_after = 0;
  EXPECT_EQ(limiter.CheckBlocked(options, client, kT0 + seconds(100)).verdict, Verdict::kAllowed);
}

TEST(RateLimiterTest, MemoryStaysBoundedUnderAMillionDistinctClients) {
  RateLimiter limiter;
  RateLimitOptions options;
  options.max_clients = 4096;
  options.block_after = 1;  // every limited request also creates an offender entry
  auto rule = Rule(1, 0, 1);
  for (uint32_t i = 0; i < 1000000; ++i) {
    char text[64];
    std::snprintf(text, sizeof(text), "2001:db8::%x:%x", i >> 16, i & 0xffff);
    net::IpAddress client = Ip(text);
    limiter.Admit(rule, options, client, kT0);
    limiter.Admit(rule, options, client, kT0);  // limited: an offender entry too
    ASSERT_LE(limiter.size(), options.max_clients) << "after " << i + 1 << " clients";
  }
  EXPECT_GE(limiter.size(), options.max_clients - RateLimiter::kShards * 64);
  // The most recent client is still tracked (its bucket is empty); the first
  // one was evicted and starts again with a full bucket.
  EXPECT_EQ(Burst(limiter, rule, options, Ip("2001:db8::f:423f"), kT0), 0);
  EXPECT_EQ(Burst(limiter, rule, options, Ip("2001:db8::0:0"), kT0), 1);
}

TEST(RateLimiterTest, WorkersShareOneLimit) {
  RateLimiter limiter;
  RateLimitOptions options;
  auto rule = Rule(1, 0, 1000);  // 1000 tokens, no refill within the test's instant
  net::IpAddress client = Ip("192.0.2.1");
  std::atomic<int> passed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 1000; ++i) {
        if (limiter.Admit(rule, options, client, kT0).verdict == Verdict::kAllowed) ++passed;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(passed.load(), 1000);
}

TEST(RateLimiterTest, RetryAfterRoundsUpToWholeSeconds) {
  EXPECT_EQ(RetryAfterSeconds(0), 1u);
  EXPECT_EQ(RetryAfterSeconds(0.01), 1u);
  EXPECT_EQ(RetryAfterSeconds(1.2), 2u);
  EXPECT_EQ(RetryAfterSeconds(59.0), 59u);
}

}  // namespace
}  // namespace portico::dataplane::policy
