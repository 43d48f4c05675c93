#include "dataplane/upstream/load_balancer.h"

#include <algorithm>
#include <cassert>

namespace portico::dataplane::upstream {
namespace {

// An endpoint ejected again and again waits at most this many base times.
constexpr uint32_t kMaxEjectionMultiplier = 10;

bool Excluded(absl::Span<const size_t> exclude, size_t index) {
  // A handful of retries at most: a linear scan is the fastest lookup.
  return std::find(exclude.begin(), exclude.end(), index) != exclude.end();
}

bool Eligible(const EndpointState& endpoint, size_t index, Clock::time_point now,
              absl::Span<const size_t> exclude) {
  return Available(endpoint, now) && !Excluded(exclude, index);
}

// nginx's smooth weighted round robin (ngx_http_upstream_get_peer): every pick
// raises each candidate's current weight by its weight, takes the highest
// (the first on a tie) and lowers the winner by the total. Picks interleave
// (5,1,1 gives a a b a c a a) instead of bursting, and equal weights rotate.
// The state lives in EndpointState, so the balancer itself is stateless.
class RoundRobinBalancer : public LoadBalancer {
 public:
  std::optional<size_t> Pick(absl::Span<EndpointState> endpoints, Clock::time_point now,
                             absl::Span<const size_t> exclude) override {
    std::optional<size_t> best;
    int64_t total = 0;
    for (size_t i = 0; i < endpoints.size(); ++i) {
      EndpointState& endpoint = endpoints[i];
      // Skipped endpoints keep their current weight, as in nginx.
      if (!Eligible(endpoint, i, now, exclude)) continue;
      const int64_t weight = endpoint.config->weight;
      endpoint.current_weight += weight;
      total += weight;
      if (!best || endpoint.current_weight > endpoints[*best].current_weight) best = i;
    }
    if (best) endpoints[*best].current_weight -= total;
    return best;
  }
};

// Power of two choices: two distinct random candidates, the less loaded wins.
// Load is (active + 1) / weight, so a heavier endpoint takes proportionally
// more concurrent requests and, when both are idle, is preferred; the +1 keeps
// the weight meaningful at zero load. Ties go to the first draw, i.e. random.
class LeastRequestBalancer : public LoadBalancer {
 public:
  explicit LeastRequestBalancer(std::mt19937_64& rng) : rng_(rng) {}

  std::optional<size_t> Pick(absl::Span<EndpointState> endpoints, Clock::time_point now,
                             absl::Span<const size_t> exclude) override {
    candidates_.clear();
    for (size_t i = 0; i < endpoints.size(); ++i) {
      if (Eligible(endpoints[i], i, now, exclude)) candidates_.push_back(i);
    }
    if (candidates_.empty()) return std::nullopt;
    if (candidates_.size() == 1) return candidates_[0];

    const size_t n = candidates_.size();
    const size_t first = std::uniform_int_distribution<size_t>(0, n - 1)(rng_);
    size_t second = std::uniform_int_distribution<size_t>(0, n - 2)(rng_);
    if (second >= first) ++second;  // distinct, and uniform over the others
    const size_t a = candidates_[first];
    const size_t b = candidates_[second];
    // (active_a + 1) / weight_a <= (active_b + 1) / weight_b, cross-multiplied.
    const uint64_t load_a =
        (uint64_t{endpoints[a].active_requests} + 1) * endpoints[b].config->weight;
    const uint64_t load_b =
        (uint64_t{endpoints[b].active_requests} + 1) * endpoints[a].config->weight;
    return load_b < load_a ? b : a;
  }

 private:
  std::mt19937_64& rng_;
  std::vector<size_t> candidates_;  // reused so that Pick does not allocate
};

// Random in proportion to weight.
class RandomBalancer : public LoadBalancer {
 public:
  explicit RandomBalancer(std::mt19937_64& rng) : rng_(rng) {}

  std::optional<size_t> Pick(absl::Span<EndpointState> endpoints, Clock::time_point now,
                             absl::Span<const size_t> exclude) override {
    uint64_t total = 0;
    for (size_t i = 0; i < endpoints.size(); ++i) {
      if (Eligible(endpoints[i], i, now, exclude)) total += endpoints[i].config->weight;
    }
    if (total == 0) return std::nullopt;
    uint64_t ticket = std::uniform_int_distribution<uint64_t>(0, total - 1)(rng_);
    for (size_t i = 0; i < endpoints.size(); ++i) {
      if (!Eligible(endpoints[i], i, now, exclude)) continue;
      const uint64_t weight = endpoints[i].config->weight;
      if (ticket < weight) return i;
      ticket -= weight;
    }
    assert(false && "ticket beyond the total weight");
    return std::nullopt;
  }

 private:
  std::mt19937_64& rng_;
};

}  // namespace

std::unique_ptr<LoadBalancer> MakeLoadBalancer(LbPolicy policy, std::mt19937_64& rng) {
  switch (policy) {
    case LbPolicy::kRoundRobin:
      return std::make_unique<RoundRobinBalancer>();
    case LbPolicy::kLeastRequest:
      return std::make_unique<LeastRequestBalancer>(rng);
    case LbPolicy::kRandom:
      return std::make_unique<RandomBalancer>(rng);
  }
  return std::make_unique<RoundRobinBalancer>();
}

bool Available(const EndpointState& endpoint, Clock::time_point now) {
  const EndpointConfig* config = endpoint.config;
  // Weight 0 means "no new traffic" (a drained canary), never "weight 1".
  return config != nullptr && config->ready && !config->terminating && config->weight > 0 &&
         !endpoint.Ejected(now);
}

void RecordSuccess(EndpointState& endpoint) { endpoint.consecutive_failures = 0; }

void RecordFailure(const OutlierConfig& config, absl::Span<EndpointState> endpoints, size_t index,
                   Clock::time_point now) {
  assert(index < endpoints.size());
  if (index >= endpoints.size()) return;
  EndpointState& endpoint = endpoints[index];
  // Answers to requests sent before the ejection say nothing new; counting
  // them would re-eject the endpoint the moment it comes back.
  if (endpoint.Ejected(now)) return;
  if (endpoint.consecutive_failures < UINT32_MAX) ++endpoint.consecutive_failures;
  if (!config.enabled || config.consecutive_failures == 0 ||
      endpoint.consecutive_failures < config.consecutive_failures) {
    return;
  }

  const size_t ejected = std::count_if(endpoints.begin(), endpoints.end(),
                                       [now](const EndpointState& e) { return e.Ejected(now); });
  // Keep the streak: the endpoint is ejected on its next failure once there is room.
  if ((ejected + 1) * 100 > uint64_t{config.max_ejection_percent} * endpoints.size()) return;

  // The multiplier decays by one for every base ejection time the endpoint
  // stayed in service since its last ejection ended (as Envoy's does per
  // interval), so one bad day does not mean long ejections forever after.
  const auto base = config.base_ejection_time;
  if (endpoint.times_ejected > 0 && base.count() > 0 && now > endpoint.ejected_until) {
    const auto healthy_periods = static_cast<uint64_t>((now - endpoint.ejected_until) / base);
    endpoint.times_ejected -=
        static_cast<uint32_t>(std::min<uint64_t>(endpoint.times_ejected, healthy_periods));
  }
  endpoint.times_ejected = std::min(endpoint.times_ejected + 1, kMaxEjectionMultiplier);
  endpoint.ejected_until = now + base * endpoint.times_ejected;
  endpoint.consecutive_failures = 0;
}

}  // namespace portico::dataplane::upstream
