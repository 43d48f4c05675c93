#pragma once
// A request's claim on the endpoint it is sent to: counted in the endpoint's
// active requests (least-request balancing) from Take until Release (which
// records the outcome for outlier ejection) or Drop (a cancelled request
// records nothing). The owner keeps the ClusterRuntime alive while the lease
// is held; the endpoint index stays readable after the lease ends.

#include <cstddef>

#include "dataplane/upstream/cluster_runtime.h"

namespace portico::dataplane::upstream {

class EndpointLease {
 public:
  EndpointLease() = default;
  EndpointLease(const EndpointLease&) = delete;
  EndpointLease& operator=(const EndpointLease&) = delete;
  ~EndpointLease() { Drop(); }

  // Ends any lease held, then claims `endpoint` of `cluster`.
  void Take(ClusterRuntime& cluster, size_t endpoint) {
    Drop();
    cluster_ = &cluster;
    endpoint_ = endpoint;
    ++cluster.endpoint(endpoint).active_requests;
  }

  // Ends the lease and records how the endpoint did. No-op when none is held.
  void Release(bool success) {
    ClusterRuntime* cluster = End();
    if (cluster == nullptr) return;
    if (success) {
      cluster->RecordSuccess(endpoint_);
    } else {
      cluster->RecordFailure(endpoint_, Clock::now());
    }
  }

  // Ends the lease without a verdict. No-op when none is held.
  void Drop() { End(); }

  bool held() const { return cluster_ != nullptr; }
  // The endpoint of the last lease taken (0 before any).
  size_t endpoint() const { return endpoint_; }

 private:
  ClusterRuntime* End() {
    ClusterRuntime* cluster = cluster_;
    if (cluster == nullptr) return nullptr;
    cluster_ = nullptr;
    EndpointState& state = cluster->endpoint(endpoint_);
    if (state.active_requests > 0) --state.active_requests;
    return cluster;
  }

  ClusterRuntime* cluster_ = nullptr;
  size_t endpoint_ = 0;
};

}  // namespace portico::dataplane::upstream
