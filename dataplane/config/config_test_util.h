#pragma once
// Helpers shared by the Compile tests (config_test.cc, route_config_test.cc):
// snapshots from JSON, compiling them, and table-driven rejections.

#include <memory>
#include <ostream>
#include <string>
#include <string_view>

#include "common/strings.h"
#include "dataplane/config/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace portico::dataplane::config::testing {

inline v1::Snapshot FromJson(std::string_view json) {
  absl::StatusOr<v1::Snapshot> snapshot = ParseSnapshotJson(json);
  EXPECT_TRUE(snapshot.ok()) << snapshot.status();
  return snapshot.ok() ? *snapshot : v1::Snapshot();
}

inline std::shared_ptr<const Config> MustCompile(const v1::Snapshot& snapshot,
                                                 const net::CidrSet& extra = net::CidrSet()) {
  absl::StatusOr<std::shared_ptr<const Config>> config = Compile(snapshot, extra);
  EXPECT_TRUE(config.ok()) << config.status();
  return config.ok() ? *config : nullptr;
}

// A snapshot Compile must refuse, with `want` in its message.
struct ErrorCase {
  std::string label;
  std::string json;
  std::string want;  // substring of the message
};

inline std::ostream& operator<<(std::ostream& os, const ErrorCase& c) { return os << c.label; }

inline void ExpectRejected(const ErrorCase& c) {
  absl::StatusOr<v1::Snapshot> snapshot = ParseSnapshotJson(c.json);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  absl::StatusOr<std::shared_ptr<const Config>> config = Compile(*snapshot, net::CidrSet());
  ASSERT_FALSE(config.ok());
  EXPECT_EQ(config.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(config.status().message()), ::testing::HasSubstr(c.want));
}

// A valid cluster "c", plus `extra` top-level fields.
inline std::string WithCluster(std::string_view extra) {
  return portico::StrCat(R"json({"clusters": [{"name": "c"}], )json", extra, "}");
}

// One virtual host "vh" with one route "r" whose match and action are given.
inline std::string WithRoute(std::string_view match, std::string_view action) {
  return WithCluster(portico::StrCat(
      R"json("virtualHosts": [{"name": "vh", "routes": [{"name": "r", "match": )json", match,
      R"json(, "action": )json", action, "}]}]"));
}

}  // namespace portico::dataplane::config::testing
