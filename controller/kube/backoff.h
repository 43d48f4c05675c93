#pragma once
// Jittered exponential backoff for reconnects: each failure doubles the wait
// up to a cap, and every wait is drawn from [base * (1 - jitter), base], so
// controllers that lost the same API server do not come back in lockstep.
//
// Threading: not thread-safe; one owner.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <random>

namespace portico::controller::kube {

struct BackoffPolicy {
  std::chrono::milliseconds initial{500};
  std::chrono::milliseconds max{30000};
  double jitter = 0.5;  // fraction of the wait that is random
};

class Backoff {
 public:
  explicit Backoff(BackoffPolicy policy = {}, uint64_t seed = std::random_device{}())
      : policy_(policy), rng_(seed), base_(policy.initial) {}

  // The wait before the next attempt; grows with each call.
  std::chrono::milliseconds Next() {
    std::uniform_real_distribution<double> draw(1.0 - policy_.jitter, 1.0);
    auto wait = std::chrono::milliseconds(static_cast<int64_t>(base_.count() * draw(rng_)));
    base_ = std::min(policy_.max, base_ * 2);
    return wait;
  }

  // After a success the next failure waits `initial` again.
  void Reset() { base_ = policy_.initial; }

 private:
  BackoffPolicy policy_;
  std::mt19937_64 rng_;
  std::chrono::milliseconds base_;
};

}  // namespace portico::controller::kube
