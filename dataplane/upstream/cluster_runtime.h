#pragma once
// A worker's mutable view of one cluster: endpoint states (active requests,
// outlier ejection) and the load balancer. Rebuilt by the worker when the
// config changes, carrying endpoint state over by endpoint identity.

#include <memory>
#include <optional>
#include <random>
#include <vector>

#include "absl/types/span.h"
#include "dataplane/upstream/cluster_config.h"
#include "dataplane/upstream/load_balancer.h"

namespace portico::dataplane::upstream {

class ClusterRuntime {
 public:
  // `previous` (may be null) is the runtime this one replaces.
  ClusterRuntime(std::shared_ptr<const ClusterConfig> config, std::mt19937_64& rng,
                 const ClusterRuntime* previous);

  const ClusterConfig& config() const { return *config_; }
  const std::shared_ptr<const ClusterConfig>& config_ptr() const { return config_; }
  // Any endpoint that is ready and not terminating (ejected ones count: the
  // cluster is up, its endpoints are just failing).
  bool HasReadyEndpoint() const;
  // Some endpoint outside `exclude` could be picked now (available: ready,
  // not terminating, not ejected). Does not move the balancer.
  bool HasUntried(Clock::time_point now, absl::Span<const size_t> exclude) const;
  std::optional<size_t> Pick(Clock::time_point now, absl::Span<const size_t> exclude);
  // With a request's preferences: `sticky` (an affinity cookie's endpoint)
  // while it can serve (`persistent`: ready is enough, ejection ignored),
  // else the Maglev slot of `hash` (the next slots' owners when that endpoint
  // is unavailable or excluded), else the balancer.
  std::optional<size_t> Pick(Clock::time_point now, absl::Span<const size_t> exclude,
                             const PickHints& hints);
  EndpointState& endpoint(size_t index) { return endpoints_[index]; }
  const EndpointConfig& endpoint_config(size_t index) const { return *endpoints_[index].config; }

  void RecordSuccess(size_t index);
  void RecordFailure(size_t index, Clock::time_point now);

 private:
  std::shared_ptr<const ClusterConfig> config_;
  std::vector<EndpointState> endpoints_;
  std::unique_ptr<LoadBalancer> lb_;
};

}  // namespace portico::dataplane::upstream
