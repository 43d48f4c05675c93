#pragma once
// Rate limiting per client IP: token buckets (limit-rps, limit-rpm with
// limit-burst-multiplier), concurrent requests (limit-connections) and the
// blocking of repeat offenders (settings ConfigMap limit-block-*).
//
// One RateLimiter serves the whole data plane: every worker calls it, so a
// limit is the data plane's limit rather than a per-worker share of it. It is
// thread-safe: entries live in kShards shards, each behind its own mutex,
// picked by the key's hash, so workers rarely contend (a lock is held for a
// hash lookup and a few arithmetic operations).
//
// Memory is bounded whatever the number of distinct clients: at most
// max_clients entries are held (one per (zone, client) pair, plus one per
// client counted toward or serving a block), evicting the least recently
// used. An evicted client simply starts again with a full bucket; an evicted
// entry that still had requests in flight forgets them (its count restarts at
// zero, and their slots, given back later, leave the new entry alone), which
// only happens when more than max_clients clients are active.

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <optional>

#include "absl/container/flat_hash_map.h"
#include "common/net/ip_address.h"
#include "dataplane/router/route_table.h"

namespace portico::dataplane::policy {

struct RateLimitOptions {
  uint32_t max_clients = 65536;  // entries held at most (limit-max-clients)
  uint32_t block_after = 0;      // limited requests before a block; 0: never block
  std::chrono::milliseconds block_window{60000};
  std::chrono::milliseconds block_duration{300000};
  int status_code = 429;              // limit-req-status-code
  int connections_status_code = 503;  // limit-conn-status-code
};

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr size_t kShards = 16;

  enum class Verdict { kAllowed, kLimited, kBlocked };
  struct Decision {
    Verdict verdict = Verdict::kAllowed;
    uint32_t retry_after_seconds = 0;  // when not allowed: at least 1
  };

  struct Key {
    uint64_t zone = 0;
    std::array<uint8_t, 16> ip{};
    uint8_t kind = 0;  // IP family, plus kOffender for the blocking entry
    friend bool operator==(const Key& a, const Key& b) {
      return a.zone == b.zone && a.ip == b.ip && a.kind == b.kind;
    }
    template <typename H>
    friend H AbslHashValue(H h, const Key& k) {
      return H::combine(std::move(h), k.zone, k.ip, k.kind);
    }
  };

  // A concurrent-request slot, given back when destroyed. Move-only.
  class Slot {
   public:
    Slot() = default;
    Slot(RateLimiter* limiter, const Key& key, uint64_t generation)
        : limiter_(limiter), key_(key), generation_(generation) {}
    Slot(Slot&& other) noexcept
        : limiter_(other.limiter_), key_(other.key_), generation_(other.generation_) {
      other.limiter_ = nullptr;
    }
    Slot& operator=(Slot&& other) noexcept;
    Slot(const Slot&) = delete;
    Slot& operator=(const Slot&) = delete;
    ~Slot() { Reset(); }
    void Reset();
    bool held() const { return limiter_ != nullptr; }

   private:
    RateLimiter* limiter_ = nullptr;
    Key key_;
    uint64_t generation_ = 0;  // of the entry it was taken from
  };

  // Whether `client` serves a block (refused on every route). Lock-free while
  // nobody is blocked.
  Decision CheckBlocked(const RateLimitOptions& options, const net::IpAddress& client,
                        Clock::time_point now);

  // One request under `rule`'s rps and rpm buckets (each must have a token; both
  // are then taken). A limited request counts toward blocking the client.
  Decision Admit(const router::RateLimitRule& rule, const RateLimitOptions& options,
                 const net::IpAddress& client, Clock::time_point now);

  // A slot under `rule.connections`, or nullopt when the client holds them all.
  std::optional<Slot> Acquire(const router::RateLimitRule& rule, const RateLimitOptions& options,
                              const net::IpAddress& client);

  // Entries held, over all shards (for tests and the memory bound).
  size_t size() const;

 private:
  struct Entry {
    Key key;
    double rps_tokens = -1;  // < 0: not yet used (a full bucket)
    double rpm_tokens = -1;
    Clock::time_point refilled;
    uint32_t active = 0;  // slots held
    uint32_t violations = 0;
    Clock::time_point window_start;
    Clock::time_point blocked_until;
    // Unique within the shard: a slot of an evicted entry must not give back
    // a slot of the entry that later took its key.
    uint64_t generation = 0;
  };
  struct Shard {
    mutable std::mutex mu;
    std::list<Entry> lru;  // most recently used first
    absl::flat_hash_map<Key, std::list<Entry>::iterator> index;
    uint64_t generations = 0;
  };

  static Key MakeKey(uint64_t zone, const net::IpAddress& client, bool offender);
  Shard& ShardFor(const Key& key);
  // Finds or creates the entry (most recently used now), evicting beyond the
  // shard's share of max_clients. Called with the shard's mutex held.
  Entry& Touch(Shard& shard, const Key& key, const RateLimitOptions& options);
  void RecordViolation(const RateLimitOptions& options, const net::IpAddress& client,
                       Clock::time_point now);
  void Release(const Key& key, uint64_t generation);

  std::array<Shard, kShards> shards_;
  // The latest end of any block, in Clock ticks: before it nobody needs a lookup.
  std::atomic<int64_t> blocks_end_{0};
};

// ceil(seconds), at least 1: the Retry-After value for a wait.
uint32_t RetryAfterSeconds(double seconds);

}  // namespace portico::dataplane::policy
