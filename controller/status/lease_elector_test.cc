#include "controller/status/lease_elector.h"

#include <gtest/gtest.h>

#include <regex>

namespace portico::controller::status {
namespace {

TEST(LeaseRecord, RoundTripsThroughTheLeaseSpec) {
  LeaseRecord record{"replica-1", 15, "2026-01-02T03:04:05.000001Z", "2026-01-02T03:04:06.5Z", 3};
  nlohmann::json lease = {{"spec", record.ToSpec()}};
  EXPECT_EQ(LeaseRecord::FromLease(lease), record);
  EXPECT_EQ(LeaseRecord::FromLease(nlohmann::json::object()), LeaseRecord{});
  // A released lease keeps an explicit empty holder, as client-go writes it.
  LeaseRecord released{"", 1, "", "", 3};
  EXPECT_EQ(released.ToSpec()["holderIdentity"], "");
}

TEST(MicroTimeNow, IsKubernetesMicroTime) {
  EXPECT_TRUE(
      std::regex_match(MicroTimeNow(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)")))
      << MicroTimeNow();
}

}  // namespace
}  // namespace portico::controller::status
