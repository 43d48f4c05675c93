#pragma once
// Load balancing over one cluster's endpoints, per worker: every object here is
// owned by one worker thread and never shared.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "absl/types/span.h"
#include "dataplane/upstream/cluster_config.h"

namespace portico::dataplane::upstream {

using Clock = std::chrono::steady_clock;

// Mutable per-worker view of one endpoint.
struct EndpointState {
  const EndpointConfig* config = nullptr;
  uint32_t active_requests = 0;
  uint32_t consecutive_failures = 0;
  uint32_t times_ejected = 0;
  Clock::time_point ejected_until{};
  int64_t current_weight = 0;  // smooth weighted round robin state

  bool Ejected(Clock::time_point now) const { return now < ejected_until; }
};

// A request's endpoint preferences (ClusterRuntime::Pick).
struct PickHints {
  std::optional<size_t> sticky;
  bool persistent = false;
  std::optional<uint64_t> hash;
};

// Picks the index of an endpoint that can take a new request: ready, not
// terminating, not ejected and not in `exclude` (endpoints already tried for
// this request). Returns nullopt when none qualifies.
class LoadBalancer {
 public:
  virtual ~LoadBalancer() = default;
  virtual std::optional<size_t> Pick(absl::Span<EndpointState> endpoints, Clock::time_point now,
                                     absl::Span<const size_t> exclude) = 0;
};

// rng: the worker's generator, borrowed; must outlive the balancer.
std::unique_ptr<LoadBalancer> MakeLoadBalancer(LbPolicy policy, std::mt19937_64& rng);

// Passive outlier detection: call after each attempt on an endpoint.
// A success resets the failure streak; `consecutive_failures` failures in a row
// eject the endpoint for base_ejection_time * times_ejected (capped at 10x),
// unless that would eject more than max_ejection_percent of the endpoints.
void RecordSuccess(EndpointState& endpoint);
void RecordFailure(const OutlierConfig& config, absl::Span<EndpointState> endpoints, size_t index,
                   Clock::time_point now);

// True when the endpoint may receive a new request at `now`.
bool Available(const EndpointState& endpoint, Clock::time_point now);

}  // namespace portico::dataplane::upstream
