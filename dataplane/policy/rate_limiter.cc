#include "dataplane/policy/rate_limiter.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "absl/hash/hash.h"

namespace portico::dataplane::policy {
namespace {

constexpr uint8_t kOffender = 0x80;
// Entries with slots in use are passed over by eviction this many times at
// most per insertion, so that a flood of new clients cannot make an insertion
// walk the whole shard.
constexpr int kMaxEvictionSkips = 8;

double Seconds(RateLimiter::Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// Refills a bucket of `capacity` tokens at `per_second` since its last refill.
void Refill(double& tokens, double capacity, double per_second, double elapsed) {
  if (tokens < 0) {
    tokens = capacity;
    return;
  }
  tokens = std::min(capacity, tokens + elapsed * per_second);
}

}  // namespace

uint32_t RetryAfterSeconds(double seconds) {
  if (!(seconds > 1)) return 1;
  if (seconds > 86400.0 * 365) return 86400 * 365;
  return static_cast<uint32_t>(std::ceil(seconds));
}

RateLimiter::Slot& RateLimiter::Slot::operator=(Slot&& other) noexcept {
  if (this != &other) {
    Reset();
    limiter_ = other.limiter_;
    key_ = other.key_;
    generation_ = other.generation_;
    other.limiter_ = nullptr;
  }
  return *this;
}

void RateLimiter::Slot::Reset() {
  if (limiter_ != nullptr) limiter_->Release(key_, generation_);
  limiter_ = nullptr;
}

RateLimiter::Key RateLimiter::MakeKey(uint64_t zone, const net::IpAddress& client, bool offender) {
  Key key;
  key.zone = offender ? 0 : zone;
  key.ip = client.bytes();
  key.kind = static_cast<uint8_t>((client.is_v4() ? 4 : 6) | (offender ? kOffender : 0));
  return key;
}

RateLimiter::Shard& RateLimiter::ShardFor(const Key& key) {
  return shards_[absl::Hash<Key>{}(key) % kShards];
}

RateLimiter::Entry& RateLimiter::Touch(Shard& shard, const Key& key,
                                       const RateLimitOptions& options) {
  auto it = shard.index.find(key);
  if (it != shard.index.end()) {
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
    return *it->second;
  }
  const size_t capacity = std::max<size_t>(1, options.max_clients / kShards);
  int skips = 0;
  while (shard.lru.size() >= capacity) {
    auto victim = std::prev(shard.lru.end());
    if (victim->active > 0 && skips < kMaxEvictionSkips && shard.lru.size() > 1) {
      ++skips;
      shard.lru.splice(shard.lru.begin(), shard.lru, victim);
      continue;
    }
    shard.index.erase(victim->key);
    shard.lru.erase(victim);
  }
  shard.lru.emplace_front();
  Entry& entry = shard.lru.front();
  entry.key = key;
  entry.generation = ++shard.generations;
  shard.index.emplace(key, shard.lru.begin());
  return entry;
}

RateLimiter::Decision RateLimiter::CheckBlocked(const RateLimitOptions& options,
                                                const net::IpAddress& client,
                                                Clock::time_point now) {
  if (options.block_after == 0 || !client.valid()) return {};
  if (now.time_since_epoch().count() >= blocks_end_.load(std::memory_order_relaxed)) return {};
  Key key = MakeKey(0, client, /*offender=*/true);
  Shard& shard = ShardFor(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.index.find(key);
  if (it == shard.index.end() || it->second->blocked_until <= now) return {};
  return {Verdict::kBlocked, RetryAfterSeconds(Seconds(it->second->blocked_until - now))};
}

RateLimiter::Decision RateLimiter::Admit(const router::RateLimitRule& rule,
                                         const RateLimitOptions& options,
                                         const net::IpAddress& client, Clock::time_point now) {
  if ((rule.rps == 0 && rule.rpm == 0) || !client.valid()) return {};
  const double multiplier = std::max<uint32_t>(1, rule.burst_multiplier);
  Key key = MakeKey(absl::Hash<std::string>{}(rule.zone), client, /*offender=*/false);
  Shard& shard = ShardFor(key);
  double wait = 0;
  {
    std::lock_guard<std::mutex> lock(shard.mu);
    Entry& entry = Touch(shard, key, options);
    const double elapsed = entry.rps_tokens < 0 && entry.rpm_tokens < 0
                               ? 0
                               : std::max(0.0, Seconds(now - entry.refilled));
    entry.refilled = now;
    struct Bucket {
      double* tokens;
      double per_second;
      double capacity;
    };
    Bucket buckets[2];
    int n = 0;
    if (rule.rps != 0) buckets[n++] = {&entry.rps_tokens, double(rule.rps), rule.rps * multiplier};
    if (rule.rpm != 0) {
      buckets[n++] = {&entry.rpm_tokens, rule.rpm / 60.0, rule.rpm * multiplier};
    }
    for (int i = 0; i < n; ++i) {
      Refill(*buckets[i].tokens, buckets[i].capacity, buckets[i].per_second, elapsed);
      if (*buckets[i].tokens < 1) {
        wait = std::max(wait, (1 - *buckets[i].tokens) / buckets[i].per_second);
      }
    }
    if (wait == 0) {
      for (int i = 0; i < n; ++i) *buckets[i].tokens -= 1;
      return {};
    }
  }
  RecordViolation(options, client, now);
  return {Verdict::kLimited, RetryAfterSeconds(wait)};
}

void RateLimiter::RecordViolation(const RateLimitOptions& options, const net::IpAddress& client,
                                  Clock::time_point now) {
  if (options.block_after == 0) return;
  Key key = MakeKey(0, client, /*offender=*/true);
  Shard& shard = ShardFor(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  Entry& entry = Touch(shard, key, options);
  if (entry.violations == 0 || now - entry.window_start > options.block_window) {
    entry.violations = 0;
    entry.window_start = now;
  }
  if (++entry.violations < options.block_after) return;
  entry.violations = 0;
  entry.blocked_until = now + options.block_duration;
  int64_t end = entry.blocked_until.time_since_epoch().count();
  int64_t current = blocks_end_.load(std::memory_order_relaxed);
  while (current < end &&
         !blocks_end_.compare_exchange_weak(current, end, std::memory_order_relaxed)) {
  }
}

std::optional<RateLimiter::Slot> RateLimiter::Acquire(const router::RateLimitRule& rule,
                                                      const RateLimitOptions& options,
                                                      const net::IpAddress& client) {
  if (rule.connections == 0 || !client.valid()) return Slot();
  Key key = MakeKey(absl::Hash<std::string>{}(rule.zone), client, /*offender=*/false);
  Shard& shard = ShardFor(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  Entry& entry = Touch(shard, key, options);
  if (entry.active >= rule.connections) return std::nullopt;
  ++entry.active;
  return Slot(this, key, entry.generation);
}

void RateLimiter::Release(const Key& key, uint64_t generation) {
  Shard& shard = ShardFor(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.index.find(key);
  if (it != shard.index.end() && it->second->generation == generation && it->second->active > 0) {
    --it->second->active;
  }
}

size_t RateLimiter::size() const {
  size_t total = 0;
  for (const Shard& shard : shards_) {
    std::lock_guard<std::mutex> lock(shard.mu);
    total += shard.lru.size();
  }
  return total;
}

}  // namespace portico::dataplane::policy
