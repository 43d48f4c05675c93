#include "dataplane/upstream/load_balancer.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace portico::dataplane::upstream {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;

// A fixed, arbitrary "now": far from the clock's epoch so that default
// ejected_until values are in the past.
const Clock::time_point kT0 = Clock::time_point{} + std::chrono::hours(1000);

// Endpoints "a", "b", "c"... with the given weights. Configs live in a vector
// that is never resized after the states point into it.
class Cluster {
 public:
  explicit Cluster(std::vector<uint32_t> weights) : configs_(weights.size()) {
    for (size_t i = 0; i < weights.size(); ++i) {
      configs_[i].weight = weights[i];
      configs_[i].key = std::string(1, static_cast<char>('a' + i));
    }
    for (const EndpointConfig& config : configs_) states_.push_back(EndpointState{&config});
  }

  EndpointConfig& config(size_t i) { return configs_[i]; }
  EndpointState& state(size_t i) { return states_[i]; }
  absl::Span<EndpointState> span() { return absl::MakeSpan(states_); }

  // The keys of `n` picks, "-" for none.
  std::string Sequence(LoadBalancer& lb, int n, absl::Span<const size_t> exclude = {},
                       Clock::time_point now = kT0) {
    std::string out;
    for (int i = 0; i < n; ++i) {
      std::optional<size_t> pick = lb.Pick(span(), now, exclude);
      out += pick ? configs_[*pick].key : "-";
    }
    return out;
  }

  // How many of `n` picks went to each endpoint.
  std::vector<int> Counts(LoadBalancer& lb, int n, absl::Span<const size_t> exclude = {},
                          Clock::time_point now = kT0) {
    std::vector<int> counts(configs_.size());
    for (int i = 0; i < n; ++i) {
      std::optional<size_t> pick = lb.Pick(span(), now, exclude);
      EXPECT_TRUE(pick.has_value());
      if (pick) ++counts[*pick];
    }
    return counts;
  }

 private:
  std::vector<EndpointConfig> configs_;
  std::vector<EndpointState> states_;
};

class LoadBalancerTest : public testing::Test {
 protected:
  std::unique_ptr<LoadBalancer> Make(LbPolicy policy) { return MakeLoadBalancer(policy, rng_); }

  std::mt19937_64 rng_{20240611};
};

// --- Available ----------------------------------------------------------------

TEST(AvailableTest, ReadyNotTerminatingNotEjected) {
  Cluster c({1});
  EXPECT_TRUE(Available(c.state(0), kT0));
  c.config(0).ready = false;
  EXPECT_FALSE(Available(c.state(0), kT0));
  c.config(0).ready = true;
  c.config(0).terminating = true;
  EXPECT_FALSE(Available(c.state(0), kT0));
  c.config(0).terminating = false;
  c.state(0).ejected_until = kT0 + seconds(1);
  EXPECT_FALSE(Available(c.state(0), kT0));
  EXPECT_FALSE(Available(c.state(0), kT0 + milliseconds(999)));
  EXPECT_TRUE(Available(c.state(0), kT0 + seconds(1)));
}

TEST(AvailableTest, WeightZeroAndMissingConfigAreUnavailable) {
  Cluster c({0});
  EXPECT_FALSE(Available(c.state(0), kT0));
  EXPECT_FALSE(Available(EndpointState{}, kT0));
}

// --- Smooth weighted round robin ------------------------------------------------

TEST_F(LoadBalancerTest, RoundRobinEqualWeightsRotate) {
  Cluster c({1, 1, 1});
  auto lb = Make(LbPolicy::kRoundRobin);
  EXPECT_EQ(c.Sequence(*lb, 9), "abcabcabc");
}

TEST_F(LoadBalancerTest, RoundRobinSmoothWeightsMatchNginx) {
  Cluster c({5, 1, 1});
  auto lb = Make(LbPolicy::kRoundRobin);
  EXPECT_EQ(c.Sequence(*lb, 7), "aabacaa");
  EXPECT_EQ(c.Sequence(*lb, 7), "aabacaa");
  // A full cycle brings every current weight back to zero.
  for (size_t i = 0; i < 3; ++i) EXPECT_EQ(c.state(i).current_weight, 0) << i;
}

TEST_F(LoadBalancerTest, RoundRobinOtherWeights) {
  Cluster c({3, 2, 1});
  auto lb = Make(LbPolicy::kRoundRobin);
  EXPECT_EQ(c.Sequence(*lb, 6), "abacba");

  Cluster d({2, 1});
  lb = Make(LbPolicy::kRoundRobin);
  EXPECT_EQ(d.Sequence(*lb, 6), "abaaba");
}

TEST_F(LoadBalancerTest, RoundRobinExactCountsOverManyPicks) {
  Cluster c({5, 1, 1});
  auto lb = Make(LbPolicy::kRoundRobin);
  EXPECT_THAT(c.Counts(*lb, 7000), ElementsAre(5000, 1000, 1000));

  Cluster d({1, 2, 3, 4});
  lb = Make(LbPolicy::kRoundRobin);
  EXPECT_THAT(d.Counts(*lb, 7000), ElementsAre(700, 1400, 2100, 2800));

  Cluster e({1, 1, 1, 1, 1, 1, 1});
  lb = Make(LbPolicy::kRoundRobin);
  EXPECT_THAT(e.Counts(*lb, 7000), ElementsAre(1000, 1000, 1000, 1000, 1000, 1000, 1000));
}

TEST_F(LoadBalancerTest, RoundRobinLargeWeightsDoNotBurst) {
  // 100:1 still spreads b's share instead of running a 100 times in a row first.
  Cluster c({100, 1});
  auto lb = Make(LbPolicy::kRoundRobin);
  std::string seq = c.Sequence(*lb, 101);
  EXPECT_EQ(std::count(seq.begin(), seq.end(), 'b'), 1);
  EXPECT_EQ(std::count(seq.begin(), seq.end(), 'a'), 100);
  EXPECT_LT(seq.find('b'), 100u);
}

TEST_F(LoadBalancerTest, RoundRobinSkipsUnavailable) {
  Cluster c({1, 1, 1, 1, 1, 1});
  c.config(1).ready = false;
  c.config(2).terminating = true;
  c.state(3).ejected_until = kT0 + seconds(10);
  c.config(4).weight = 0;
  auto lb = Make(LbPolicy::kRoundRobin);
  EXPECT_EQ(c.Sequence(*lb, 4), "afaf");
  // Skipped endpoints keep their state untouched.
  EXPECT_EQ(c.state(1).current_weight, 0);
  EXPECT_EQ(c.state(3).current_weight, 0);
}

TEST_F(LoadBalancerTest, RoundRobinEjectedEndpointReturns) {
  Cluster c({1, 1});
  c.state(0).ejected_until = kT0 + seconds(10);
  auto lb = Make(LbPolicy::kRoundRobin);
  EXPECT_EQ(c.Sequence(*lb, 3, {}, kT0), "bbb");
  EXPECT_EQ(c.Sequence(*lb, 4, {}, kT0 + seconds(10)), "abab");
}

TEST_F(LoadBalancerTest, RoundRobinExclude) {
  Cluster c({1, 1, 1});
  auto lb = Make(LbPolicy::kRoundRobin);
  const size_t tried[] = {0};
  EXPECT_EQ(c.Sequence(*lb, 4, tried), "bcbc");
  const size_t all[] = {2, 0, 1};
  EXPECT_EQ(c.Sequence(*lb, 2, all), "--");
}

TEST_F(LoadBalancerTest, RoundRobinRetryPicksAnotherEndpoint) {
  // A retry excludes the endpoints already tried for this request.
  Cluster c({5, 1, 1});
  auto lb = Make(LbPolicy::kRoundRobin);
  std::vector<size_t> tried;
  for (int attempt = 0; attempt < 3; ++attempt) {
    std::optional<size_t> pick = lb->Pick(c.span(), kT0, tried);
    ASSERT_TRUE(pick.has_value());
    EXPECT_EQ(std::count(tried.begin(), tried.end(), *pick), 0);
    tried.push_back(*pick);
  }
  EXPECT_FALSE(lb->Pick(c.span(), kT0, tried).has_value());
}

TEST_F(LoadBalancerTest, RoundRobinNothingAvailable) {
  Cluster empty({});
  auto lb = Make(LbPolicy::kRoundRobin);
  EXPECT_FALSE(lb->Pick(empty.span(), kT0, {}).has_value());
  Cluster c({1, 1});
  c.config(0).ready = false;
  c.config(1).terminating = true;
  EXPECT_FALSE(lb->Pick(c.span(), kT0, {}).has_value());
}

TEST_F(LoadBalancerTest, RoundRobinAdaptsWhenEndpointLeaves) {
  Cluster c({1, 1, 1});
  auto lb = Make(LbPolicy::kRoundRobin);
  EXPECT_EQ(c.Sequence(*lb, 3), "abc");
  c.config(1).ready = false;
  EXPECT_THAT(c.Counts(*lb, 1000), ElementsAre(500, 0, 500));
}

// --- Least request (power of two choices) -----------------------------------------

TEST_F(LoadBalancerTest, LeastRequestSingleOrNone) {
  auto lb = Make(LbPolicy::kLeastRequest);
  Cluster empty({});
  EXPECT_FALSE(lb->Pick(empty.span(), kT0, {}).has_value());

  Cluster one({1});
  one.state(0).active_requests = 1000;
  EXPECT_EQ(one.Sequence(*lb, 5), "aaaaa");

  Cluster c({1, 1, 1});
  c.config(0).ready = false;
  c.state(2).ejected_until = kT0 + seconds(1);
  c.state(1).active_requests = 50;
  EXPECT_EQ(c.Sequence(*lb, 5), "bbbbb");
  const size_t tried[] = {1};
  EXPECT_EQ(c.Sequence(*lb, 2, tried), "--");
}

TEST_F(LoadBalancerTest, LeastRequestPrefersLessLoaded) {
  auto lb = Make(LbPolicy::kLeastRequest);
  Cluster two({1, 1});
  two.state(0).active_requests = 5;
  EXPECT_THAT(two.Counts(*lb, 1000), ElementsAre(0, 1000));

  // Any pair that contains the busy endpoint picks the other one.
  Cluster c({1, 1, 1});
  c.state(1).active_requests = 10;
  std::vector<int> counts = c.Counts(*lb, 3000);
  EXPECT_EQ(counts[1], 0);
  EXPECT_NEAR(counts[0], 1500, 150);
  EXPECT_NEAR(counts[2], 1500, 150);
}

TEST_F(LoadBalancerTest, LeastRequestEqualLoadIsUniform) {
  auto lb = Make(LbPolicy::kLeastRequest);
  Cluster c({1, 1, 1, 1});
  for (int count : c.Counts(*lb, 8000)) EXPECT_NEAR(count, 2000, 200);

  Cluster two({1, 1});
  for (int count : two.Counts(*lb, 8000)) EXPECT_NEAR(count, 4000, 250);
}

TEST_F(LoadBalancerTest, LeastRequestWeighsLoad) {
  auto lb = Make(LbPolicy::kLeastRequest);
  Cluster c({3, 1});
  // Idle: the heavier endpoint wins (1/3 < 1/1).
  EXPECT_THAT(c.Counts(*lb, 100), ElementsAre(100, 0));
  // 2/3 < 1/1: still the heavier one.
  c.state(0).active_requests = 1;
  EXPECT_THAT(c.Counts(*lb, 100), ElementsAre(100, 0));
  // 3/3 == 1/1: a tie, broken at random.
  c.state(0).active_requests = 2;
  std::vector<int> counts = c.Counts(*lb, 2000);
  EXPECT_NEAR(counts[0], 1000, 150);
  // 4/3 > 1/1: the lighter one.
  c.state(0).active_requests = 3;
  EXPECT_THAT(c.Counts(*lb, 100), ElementsAre(0, 100));
}

TEST_F(LoadBalancerTest, LeastRequestBalancesGrowingLoad) {
  // Requests that never finish: P2C keeps the spread tight.
  auto lb = Make(LbPolicy::kLeastRequest);
  Cluster c({1, 1, 1, 1, 1});
  for (int i = 0; i < 5000; ++i) {
    std::optional<size_t> pick = lb->Pick(c.span(), kT0, {});
    ASSERT_TRUE(pick.has_value());
    ++c.state(*pick).active_requests;
  }
  uint32_t lo = UINT32_MAX, hi = 0;
  for (size_t i = 0; i < 5; ++i) {
    lo = std::min(lo, c.state(i).active_requests);
    hi = std::max(hi, c.state(i).active_requests);
  }
  EXPECT_LE(hi - lo, 4u);

  // With weights, concurrency follows the weights.
  Cluster w({3, 1});
  for (int i = 0; i < 4000; ++i) {
    std::optional<size_t> pick = lb->Pick(w.span(), kT0, {});
    ASSERT_TRUE(pick.has_value());
    ++w.state(*pick).active_requests;
  }
  EXPECT_NEAR(w.state(0).active_requests, 3000, 3);
  EXPECT_NEAR(w.state(1).active_requests, 1000, 3);
}

TEST_F(LoadBalancerTest, LeastRequestSkipsUnavailableAndExcluded) {
  auto lb = Make(LbPolicy::kLeastRequest);
  Cluster c({1, 1, 1, 1, 1, 1});
  c.config(0).ready = false;
  c.config(1).terminating = true;
  c.state(2).ejected_until = kT0 + seconds(5);
  c.config(3).weight = 0;
  const size_t tried[] = {4};
  // Only f remains, however loaded.
  c.state(5).active_requests = 99;
  EXPECT_THAT(c.Counts(*lb, 500, tried), ElementsAre(0, 0, 0, 0, 0, 500));
  // Without the exclusion, e and f compete and e is idle.
  EXPECT_THAT(c.Counts(*lb, 500), ElementsAre(0, 0, 0, 0, 500, 0));
}

// --- Random -----------------------------------------------------------------------

TEST_F(LoadBalancerTest, RandomFollowsWeights) {
  auto lb = Make(LbPolicy::kRandom);
  Cluster c({5, 1, 1});
  // 70000 draws; one standard deviation is about 120 for a and 93 for b, c.
  std::vector<int> counts = c.Counts(*lb, 70000);
  EXPECT_NEAR(counts[0], 50000, 600);
  EXPECT_NEAR(counts[1], 10000, 500);
  EXPECT_NEAR(counts[2], 10000, 500);

  Cluster equal({1, 1, 1, 1});
  for (int count : equal.Counts(*lb, 8000)) EXPECT_NEAR(count, 2000, 200);
}

TEST_F(LoadBalancerTest, RandomSkipsUnavailableAndExcluded) {
  auto lb = Make(LbPolicy::kRandom);
  Cluster c({1, 1, 1, 1, 1, 1});
  c.config(0).ready = false;
  c.config(1).terminating = true;
  c.state(2).ejected_until = kT0 + seconds(5);
  c.config(3).weight = 0;
  const size_t tried[] = {4};
  EXPECT_THAT(c.Counts(*lb, 500, tried), ElementsAre(0, 0, 0, 0, 0, 500));
  std::vector<int> counts = c.Counts(*lb, 2000);
  EXPECT_THAT(std::vector<int>(counts.begin(), counts.begin() + 4), ElementsAre(0, 0, 0, 0));
  EXPECT_NEAR(counts[4], 1000, 150);

  const size_t both[] = {5, 4};
  EXPECT_FALSE(lb->Pick(c.span(), kT0, both).has_value());
  Cluster empty({});
  EXPECT_FALSE(lb->Pick(empty.span(), kT0, {}).has_value());
}

TEST_F(LoadBalancerTest, SameSeedSameChoices) {
  std::mt19937_64 rng1(7), rng2(7);
  auto lb1 = MakeLoadBalancer(LbPolicy::kRandom, rng1);
  auto lb2 = MakeLoadBalancer(LbPolicy::kRandom, rng2);
  Cluster c1({1, 2, 3}), c2({1, 2, 3});
  EXPECT_EQ(c1.Sequence(*lb1, 50), c2.Sequence(*lb2, 50));
}

// --- Outlier detection --------------------------------------------------------------

OutlierConfig Outlier(uint32_t failures = 3, uint32_t max_percent = 50) {
  OutlierConfig config;
  config.consecutive_failures = failures;
  config.base_ejection_time = seconds(30);
  config.max_ejection_percent = max_percent;
  return config;
}

void FailTimes(const OutlierConfig& config, Cluster& c, size_t index, int n,
               Clock::time_point now) {
  for (int i = 0; i < n; ++i) RecordFailure(config, c.span(), index, now);
}

TEST(OutlierTest, EjectsAfterConsecutiveFailures) {
  Cluster c({1, 1, 1, 1});
  OutlierConfig config = Outlier(3);
  FailTimes(config, c, 0, 2, kT0);
  EXPECT_EQ(c.state(0).consecutive_failures, 2u);
  EXPECT_FALSE(c.state(0).Ejected(kT0));
  RecordFailure(config, c.span(), 0, kT0);
  EXPECT_TRUE(c.state(0).Ejected(kT0));
  EXPECT_FALSE(Available(c.state(0), kT0));
  EXPECT_EQ(c.state(0).times_ejected, 1u);
  EXPECT_EQ(c.state(0).ejected_until, kT0 + seconds(30));
  EXPECT_EQ(c.state(0).consecutive_failures, 0u);
  EXPECT_TRUE(Available(c.state(0), kT0 + seconds(30)));
  // Neighbours are untouched.
  EXPECT_TRUE(Available(c.state(1), kT0));
}

TEST(OutlierTest, SuccessResetsTheStreak) {
  Cluster c({1, 1});
  OutlierConfig config = Outlier(3);
  FailTimes(config, c, 0, 2, kT0);
  RecordSuccess(c.state(0));
  EXPECT_EQ(c.state(0).consecutive_failures, 0u);
  FailTimes(config, c, 0, 2, kT0);
  EXPECT_FALSE(c.state(0).Ejected(kT0));
  RecordFailure(config, c.span(), 0, kT0);
  EXPECT_TRUE(c.state(0).Ejected(kT0));
}

TEST(OutlierTest, EjectionTimeGrowsAndIsCapped) {
  Cluster c({1, 1});
  OutlierConfig config = Outlier(1, 100);
  Clock::time_point now = kT0;
  for (uint32_t round = 1; round <= 13; ++round) {
    RecordFailure(config, c.span(), 0, now);
    const uint32_t multiplier = std::min(round, 10u);
    EXPECT_EQ(c.state(0).times_ejected, multiplier) << round;
    EXPECT_EQ(c.state(0).ejected_until, now + seconds(30) * multiplier) << round;
    // Fails again as soon as it is back.
    now = c.state(0).ejected_until;
  }
}

TEST(OutlierTest, MultiplierDecaysWhileHealthy) {
  Cluster c({1, 1});
  OutlierConfig config = Outlier(1, 100);
  RecordFailure(config, c.span(), 0, kT0);  // 30 s
  Clock::time_point back = c.state(0).ejected_until;
  RecordFailure(config, c.span(), 0, back);  // 60 s
  RecordFailure(config, c.span(), 0, c.state(0).ejected_until);
  EXPECT_EQ(c.state(0).times_ejected, 3u);

  // Healthy for two base periods after returning: two steps off, then one on.
  back = c.state(0).ejected_until;
  RecordFailure(config, c.span(), 0, back + seconds(60) + milliseconds(1));
  EXPECT_EQ(c.state(0).times_ejected, 2u);

  // A long healthy spell forgets everything.
  back = c.state(0).ejected_until;
  RecordFailure(config, c.span(), 0, back + std::chrono::hours(24));
  EXPECT_EQ(c.state(0).times_ejected, 1u);
  EXPECT_EQ(c.state(0).ejected_until, back + std::chrono::hours(24) + seconds(30));
}

TEST(OutlierTest, FailuresWhileEjectedAreIgnored) {
  Cluster c({1, 1});
  OutlierConfig config = Outlier(2, 100);
  FailTimes(config, c, 0, 2, kT0);
  ASSERT_TRUE(c.state(0).Ejected(kT0));
  const Clock::time_point until = c.state(0).ejected_until;
  // Late answers from requests sent before the ejection.
  FailTimes(config, c, 0, 5, kT0 + seconds(1));
  EXPECT_EQ(c.state(0).ejected_until, until);
  EXPECT_EQ(c.state(0).times_ejected, 1u);
  EXPECT_EQ(c.state(0).consecutive_failures, 0u);
  // Back in service, it takes a full streak again.
  RecordFailure(config, c.span(), 0, until);
  EXPECT_FALSE(c.state(0).Ejected(until));
}

TEST(OutlierTest, DisabledNeverEjects) {
  Cluster c({1, 1});
  OutlierConfig config = Outlier(1, 100);
  config.enabled = false;
  FailTimes(config, c, 0, 100, kT0);
  EXPECT_FALSE(c.state(0).Ejected(kT0));
  EXPECT_EQ(c.state(0).times_ejected, 0u);

  config.enabled = true;
  config.consecutive_failures = 0;  // no threshold: treated as off, not "always"
  FailTimes(config, c, 1, 100, kT0);
  EXPECT_FALSE(c.state(1).Ejected(kT0));
}

TEST(OutlierTest, MaxEjectionPercent) {
  Cluster c({1, 1, 1, 1});
  OutlierConfig config = Outlier(1, 50);
  RecordFailure(config, c.span(), 0, kT0);
  RecordFailure(config, c.span(), 1, kT0);
  EXPECT_TRUE(c.state(0).Ejected(kT0));
  EXPECT_TRUE(c.state(1).Ejected(kT0));
  // A third would be 75%.
  RecordFailure(config, c.span(), 2, kT0);
  EXPECT_FALSE(c.state(2).Ejected(kT0));
  EXPECT_EQ(c.state(2).times_ejected, 0u);
  // The streak is kept: once room frees up, its next failure ejects it.
  EXPECT_EQ(c.state(2).consecutive_failures, 1u);
  const Clock::time_point later = kT0 + seconds(30);
  RecordFailure(config, c.span(), 2, later);
  EXPECT_TRUE(c.state(2).Ejected(later));
}

TEST(OutlierTest, MaxEjectionPercentRoundsDown) {
  // 50% of 3 is 1.5: one endpoint may be out, not two.
  Cluster c({1, 1, 1});
  OutlierConfig config = Outlier(1, 50);
  RecordFailure(config, c.span(), 0, kT0);
  RecordFailure(config, c.span(), 1, kT0);
  EXPECT_TRUE(c.state(0).Ejected(kT0));
  EXPECT_FALSE(c.state(1).Ejected(kT0));

  // A single endpoint is never ejected below 100%: something beats nothing.
  Cluster one({1});
  RecordFailure(config, one.span(), 0, kT0);
  EXPECT_FALSE(one.state(0).Ejected(kT0));
  config.max_ejection_percent = 100;
  RecordFailure(config, one.span(), 0, kT0);
  EXPECT_TRUE(one.state(0).Ejected(kT0));

  config.max_ejection_percent = 0;
  Cluster many({1, 1, 1, 1, 1, 1, 1, 1, 1, 1});
  RecordFailure(config, many.span(), 3, kT0);
  EXPECT_FALSE(many.state(3).Ejected(kT0));
}

TEST_F(LoadBalancerTest, EjectedEndpointLeavesAndRejoinsRotation) {
  Cluster c({1, 1, 1});
  auto lb = Make(LbPolicy::kRoundRobin);
  OutlierConfig config = Outlier(2, 50);
  FailTimes(config, c, 1, 2, kT0);
  EXPECT_EQ(c.Sequence(*lb, 4, {}, kT0 + seconds(29)), "acac");
  EXPECT_THAT(c.Counts(*lb, 300, {}, kT0 + seconds(30)), ElementsAre(100, 100, 100));
}

}  // namespace
}  // namespace portico::dataplane::upstream
