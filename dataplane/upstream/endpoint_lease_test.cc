#include "dataplane/upstream/endpoint_lease.h"

#include <memory>
#include <random>

#include "gtest/gtest.h"

namespace portico::dataplane::upstream {
namespace {

class EndpointLeaseTest : public ::testing::Test {
 protected:
  EndpointLeaseTest() {
    auto config = std::make_shared<ClusterConfig>();
    config->endpoints.resize(2);
    config->endpoints[0].key = "10.0.0.1:80";
    config->endpoints[1].key = "10.0.0.2:80";
    cluster_ = std::make_unique<ClusterRuntime>(config, rng_, nullptr);
  }
  uint32_t Active(size_t i) { return cluster_->endpoint(i).active_requests; }
  uint32_t Failures(size_t i) { return cluster_->endpoint(i).consecutive_failures; }

  std::mt19937_64 rng_{1};
  std::unique_ptr<ClusterRuntime> cluster_;
};

TEST_F(EndpointLeaseTest, CountsWhileHeldAndRecordsTheVerdictOnce) {
  EndpointLease lease;
  EXPECT_FALSE(lease.held());
  lease.Take(*cluster_, 1);
  EXPECT_TRUE(lease.held());
  EXPECT_EQ(Active(1), 1u);
  lease.Release(false);
  EXPECT_FALSE(lease.held());
  EXPECT_EQ(Active(1), 0u);
  EXPECT_EQ(Failures(1), 1u);
  lease.Release(false);  // nothing held: no second failure
  EXPECT_EQ(Failures(1), 1u);
  EXPECT_EQ(lease.endpoint(), 1u);  // still known, for a retry at the same endpoint
  lease.Take(*cluster_, 1);
  lease.Release(true);
  EXPECT_EQ(Failures(1), 0u);
}

TEST_F(EndpointLeaseTest, DropAndDestructionRecordNothing) {
  {
    EndpointLease lease;
    lease.Take(*cluster_, 0);
    cluster_->RecordFailure(0, Clock::now());
    lease.Drop();
    EXPECT_EQ(Active(0), 0u);
    lease.Take(*cluster_, 0);
    lease.Take(*cluster_, 1);  // a second Take ends the first lease
    EXPECT_EQ(Active(0), 0u);
    EXPECT_EQ(Active(1), 1u);
  }
  EXPECT_EQ(Active(1), 0u);
  EXPECT_EQ(Failures(0), 1u);
  EXPECT_EQ(Failures(1), 0u);
}

}  // namespace
}  // namespace portico::dataplane::upstream
