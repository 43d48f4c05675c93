#include "controller/status/status_writer.h"

#include <gtest/gtest.h>

namespace portico::controller::status {
namespace {

using nlohmann::json;

TEST(ServiceAddresses, LoadBalancerThenExternalIpsThenClusterIp) {
  json service = json::parse(R"({
    "spec": {"clusterIP": "10.0.0.5", "externalIPs": ["192.0.2.7"]},
    "status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.1"}, {"hostname": "lb.example"}]}}})");
  EXPECT_EQ(ServiceAddresses(service),
            json::parse(R"([{"ip":"203.0.113.1"},{"hostname":"lb.example"}])"));
  service["status"] = json::object();
  EXPECT_EQ(ServiceAddresses(service), json::parse(R"([{"ip":"192.0.2.7"}])"));
  service["spec"].erase("externalIPs");
  EXPECT_EQ(ServiceAddresses(service), json::parse(R"([{"ip":"10.0.0.5"}])"));
  service["spec"]["clusterIP"] = "None";
  EXPECT_EQ(ServiceAddresses(service), json::array());
}

TEST(LiteralAddresses, IpsAndHostnames) {
  EXPECT_EQ(LiteralAddresses({"192.0.2.1", "2001:db8::1", "lb.example.com", ""}),
            json::parse(R"([{"ip":"192.0.2.1"},{"ip":"2001:db8::1"},
                            {"hostname":"lb.example.com"}])"));
}

TEST(PlanStatus, SetsServedClearsWhatLeftAndLeavesOthersAlone) {
  json ours = json::parse(R"([{"ip":"192.0.2.1"}])");
  StatusRound round;
  round.served = {{"a", "new"}, {"a", "same"}, {"a", "not-cached-yet"}};
  round.current = {{"a/new", nullptr},
                   {"a/same", ours},
                   {"a/left", ours},
                   {"a/other-class", json::parse(R"([{"ip":"198.51.100.9"}])")}};
  std::set<std::string> owned = {"a/left", "a/gone"};
  std::vector<StatusPatch> patches = PlanStatus(round, ours, owned);
  ASSERT_EQ(patches.size(), 2u);
  EXPECT_EQ(patches[0].name, "new");
  EXPECT_EQ(patches[0].ingress, ours);
  EXPECT_EQ(patches[1].name, "left");
  EXPECT_TRUE(patches[1].ingress.is_null());
  EXPECT_EQ(owned, (std::set<std::string>{"a/new", "a/same"}));

  // Converged: nothing to do, and order of addresses does not matter.
  round.current["a/new"] = ours;
  EXPECT_TRUE(PlanStatus(round, ours, owned).empty());
  json two = json::parse(R"([{"ip":"192.0.2.1"},{"ip":"192.0.2.2"}])");
  round.current = {{"a/new", json::parse(R"([{"ip":"192.0.2.2"},{"ip":"192.0.2.1"}])")}};
  round.served = {{"a", "new"}};
  EXPECT_TRUE(PlanStatus(round, two, owned).empty());
}

}  // namespace
}  // namespace portico::controller::status
