#include "controller/push/node_registry.h"

#include <gtest/gtest.h>

#include <string>

namespace portico::controller::push {
namespace {

TEST(NodeRegistryTest, TracksSentAckedAndNacked) {
  NodeRegistry r;
  r.Connected("dp-1", "ipv4:127.0.0.1:1", "portico-dataplane");
  v1::ServerMessage full;
  full.set_version(1);
  full.mutable_full();
  r.Sent("dp-1", full);
  r.Acked("dp-1", 1);
  v1::ServerMessage delta;
  delta.set_version(2);
  delta.mutable_delta()->set_base_version(1);
  r.Sent("dp-1", delta);
  r.Nacked("dp-1", 2, "bad route");

  NodeState s = r.Node("dp-1");
  EXPECT_TRUE(s.connected);
  EXPECT_EQ(s.identity, "portico-dataplane");
  EXPECT_EQ(s.sent_version, 2u);
  EXPECT_EQ(s.acked_version, 1u);
  EXPECT_EQ(s.nacks, 1u);
  EXPECT_EQ(s.last_nack_version, 2u);
  EXPECT_EQ(s.last_nack_error, "bad route");
  EXPECT_EQ(s.full_sent, 1u);
  EXPECT_EQ(s.deltas_sent, 1u);
}

TEST(NodeRegistryTest, ConnectedUntilTheLastStreamCloses) {
  NodeRegistry r;
  r.Connected("dp-1", "a", "");
  r.Connected("dp-1", "b", "");  // a reconnect racing the old stream's end
  r.Disconnected("dp-1");
  EXPECT_TRUE(r.Node("dp-1").connected);
  r.Disconnected("dp-1");
  EXPECT_FALSE(r.Node("dp-1").connected);
  EXPECT_EQ(r.Node("dp-1").node_id, "dp-1");  // kept for metrics
}

TEST(NodeRegistryTest, ForgetsTheOldestDisconnectedBeyondTheCap) {
  NodeRegistry r;
  r.Connected("live", "", "");
  for (size_t i = 0; i < NodeRegistry::kMaxDisconnected + 5; ++i) {
    std::string id = "gone-" + std::to_string(i);
    r.Connected(id, "", "");
    r.Disconnected(id);
  }
  EXPECT_EQ(r.Nodes().size(), NodeRegistry::kMaxDisconnected + 1);
  EXPECT_EQ(r.Node("gone-0").node_id, "");
  EXPECT_EQ(r.Node("gone-5").node_id, "gone-5");
  EXPECT_TRUE(r.Node("live").connected);
}

}  // namespace
}  // namespace portico::controller::push
