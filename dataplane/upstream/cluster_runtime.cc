#include "dataplane/upstream/cluster_runtime.h"

#include <string_view>

#include <algorithm>

#include "absl/container/flat_hash_map.h"
#include "dataplane/upstream/maglev.h"

namespace portico::dataplane::upstream {

ClusterRuntime::ClusterRuntime(std::shared_ptr<const ClusterConfig> config, std::mt19937_64& rng,
                               const ClusterRuntime* previous)
    : config_(std::move(config)), lb_(MakeLoadBalancer(config_->lb_policy, rng)) {
  absl::flat_hash_map<std::string_view, const EndpointState*> old;
  if (previous != nullptr) {
    for (const EndpointState& s : previous->endpoints_) old[s.config->key] = &s;
  }
  endpoints_.reserve(config_->endpoints.size());
  for (const EndpointConfig& ep : config_->endpoints) {
    EndpointState state;
    if (auto it = old.find(ep.key); it != old.end()) {
      // Ejections and failure streaks survive a config change; in-flight
      // counts stay with the runtime their requests started on.
      state.consecutive_failures = it->second->consecutive_failures;
      state.times_ejected = it->second->times_ejected;
      state.ejected_until = it->second->ejected_until;
    }
    state.config = &ep;
    endpoints_.push_back(state);
  }
}

bool ClusterRuntime::HasReadyEndpoint() const {
  for (const EndpointState& s : endpoints_) {
    if (s.config->ready && !s.config->terminating) return true;
  }
  return false;
}

bool ClusterRuntime::HasUntried(Clock::time_point now, absl::Span<const size_t> exclude) const {
  for (size_t i = 0; i < endpoints_.size(); ++i) {
    if (std::find(exclude.begin(), exclude.end(), i) == exclude.end() &&
        Available(endpoints_[i], now)) {
      return true;
    }
  }
  return false;
}

std::optional<size_t> ClusterRuntime::Pick(Clock::time_point now,
                                           absl::Span<const size_t> exclude) {
  return lb_->Pick(absl::MakeSpan(endpoints_), now, exclude);
}

std::optional<size_t> ClusterRuntime::Pick(Clock::time_point now, absl::Span<const size_t> exclude,
                                           const PickHints& hints) {
  auto excluded = [&](size_t i) {
    return std::find(exclude.begin(), exclude.end(), i) != exclude.end();
  };
  if (hints.sticky && *hints.sticky < endpoints_.size() && !excluded(*hints.sticky)) {
    const EndpointState& s = endpoints_[*hints.sticky];
    const bool usable =
        hints.persistent ? s.config->ready && !s.config->terminating : Available(s, now);
    if (usable) return hints.sticky;
  }
  if (hints.hash && config_->maglev != nullptr && !config_->maglev->empty()) {
    // Envoy's way past an unavailable owner: rehash a bounded number of times,
    // so the displaced keys spread over the others instead of piling on one.
    uint64_t h = *hints.hash;
    for (int attempt = 0; attempt < 16; ++attempt) {
      const size_t i = config_->maglev->Lookup(h);
      if (i < endpoints_.size() && Available(endpoints_[i], now) && !excluded(i)) return i;
      h = StableHash(std::string_view(reinterpret_cast<const char*>(&h), sizeof(h)));
    }
  }
  return Pick(now, exclude);
}

void ClusterRuntime::RecordSuccess(size_t index) { upstream::RecordSuccess(endpoints_[index]); }

void ClusterRuntime::RecordFailure(size_t index, Clock::time_point now) {
  upstream::RecordFailure(config_->outlier, absl::MakeSpan(endpoints_), index, now);
}

}  // namespace portico::dataplane::upstream
