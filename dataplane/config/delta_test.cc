#include "dataplane/config/delta.h"

#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace portico::dataplane::config {
namespace {

template <typename T>
T Parse(const std::string& text) {
  T msg;
  EXPECT_TRUE(google::protobuf::TextFormat::ParseFromString(text, &msg)) << text;
  return msg;
}

MATCHER_P(EqualsProto, expected, "") {
  std::string diff;
  google::protobuf::util::MessageDifferencer d;
  d.ReportDifferencesToString(&diff);
  if (d.Compare(arg, expected)) return true;
  *result_listener << diff;
  return false;
}

v1::Snapshot Base() {
  return Parse<v1::Snapshot>(R"pb(
    version: 3
    settings { max_request_headers: 50 }
    virtual_hosts { name: "a" hostnames: "a.example.com" }
    virtual_hosts { name: "b" hostnames: "b.example.com" }
    clusters { name: "c1" }
    clusters { name: "c2" }
    endpoints {
      cluster: "c1"
      endpoints { address: "10.0.0.1" port: 80 ready: true }
    }
    endpoints {
      cluster: "c2"
      endpoints { address: "10.0.0.2" port: 80 ready: true }
    }
    secrets { name: "s1" certificate_chain: "old" }
  )pb");
}

TEST(ApplyDeltaTest, EmptyDeltaChangesNothing) {
  v1::Snapshot state = Base();
  ASSERT_TRUE(ApplyDelta(state, Parse<v1::Delta>("base_version: 3")).ok());
  EXPECT_THAT(state, EqualsProto(Base()));
}

TEST(ApplyDeltaTest, UpsertsReplaceByNameAndAddNewOnesSorted) {
  v1::Snapshot state = Base();
  auto delta = Parse<v1::Delta>(R"pb(
    base_version: 3
    endpoints {
      cluster: "c1"
      endpoints { address: "10.0.0.9" port: 8080 ready: true }
    }
    clusters { name: "c0" lb_policy: LB_POLICY_RANDOM }
    secrets { name: "s1" certificate_chain: "new" }
  )pb");
  ASSERT_TRUE(ApplyDelta(state, delta).ok());

  v1::Snapshot want = Base();
  want.mutable_endpoints(0)->mutable_endpoints(0)->set_address("10.0.0.9");
  want.mutable_endpoints(0)->mutable_endpoints(0)->set_port(8080);
  want.clear_clusters();
  *want.add_clusters() = Parse<v1::Cluster>(R"pb(name: "c0" lb_policy: LB_POLICY_RANDOM)pb");
  want.add_clusters()->set_name("c1");
  want.add_clusters()->set_name("c2");
  want.mutable_secrets(0)->set_certificate_chain("new");
  EXPECT_THAT(state, EqualsProto(want));
}

TEST(ApplyDeltaTest, RemovalsDeleteByNameAndIgnoreUnknownNames) {
  v1::Snapshot state = Base();
  auto delta = Parse<v1::Delta>(R"pb(
    base_version: 3
    removed_virtual_hosts: "a"
    removed_clusters: "c2"
    removed_endpoints: "c2"
    removed_secrets: "s1"
    removed_secrets: "never-existed"
  )pb");
  ASSERT_TRUE(ApplyDelta(state, delta).ok());
  ASSERT_EQ(state.virtual_hosts_size(), 1);
  EXPECT_EQ(state.virtual_hosts(0).name(), "b");
  ASSERT_EQ(state.clusters_size(), 1);
  EXPECT_EQ(state.clusters(0).name(), "c1");
  ASSERT_EQ(state.endpoints_size(), 1);
  EXPECT_EQ(state.endpoints(0).cluster(), "c1");
  EXPECT_EQ(state.secrets_size(), 0);
}

TEST(ApplyDeltaTest, CredentialsAreUpsertedAndRemovedByName) {
  v1::Snapshot state = Base();
  state.add_credentials()->set_name("ns/a");
  state.add_credentials()->set_name("ns/b");
  auto delta = Parse<v1::Delta>(R"pb(
    base_version: 3
    credentials {
      name: "ns/a"
      users { user: "alice" hash: "{SHA}x" }
    }
    credentials { name: "ns/c" }
    removed_credentials: "ns/b"
  )pb");
  ASSERT_TRUE(ApplyDelta(state, delta).ok());
  ASSERT_EQ(state.credentials_size(), 2);
  EXPECT_EQ(state.credentials(0).name(), "ns/a");
  ASSERT_EQ(state.credentials(0).users_size(), 1);
  EXPECT_EQ(state.credentials(0).users(0).user(), "alice");
  EXPECT_EQ(state.credentials(1).name(), "ns/c");
  EXPECT_FALSE(ApplyDelta(state, Parse<v1::Delta>("base_version: 3 credentials {}")).ok());
}

TEST(ApplyDeltaTest, RemoveThenUpsertSameNameKeepsTheUpsert) {
  v1::Snapshot state = Base();
  auto delta = Parse<v1::Delta>(R"pb(
    base_version: 3
    removed_clusters: "c1"
    clusters { name: "c1" max_connections: 7 }
  )pb");
  ASSERT_TRUE(ApplyDelta(state, delta).ok());
  ASSERT_EQ(state.clusters_size(), 2);
  EXPECT_EQ(state.clusters(0).max_connections(), 7u);
}

TEST(ApplyDeltaTest, SettingsAndDefaultActionOnlyWhenFlagged) {
  v1::Snapshot state = Base();
  // Unflagged fields are ignored even when present.
  ASSERT_TRUE(ApplyDelta(state, Parse<v1::Delta>(R"pb(
                           base_version: 3
                           settings { max_request_headers: 1 }
                         )pb"))
                  .ok());
  EXPECT_EQ(state.settings().max_request_headers(), 50u);

  ASSERT_TRUE(ApplyDelta(state, Parse<v1::Delta>(R"pb(
                           base_version: 3
                           settings { max_request_headers: 1 }
                           settings_changed: true
                           default_action { cluster: "c2" }
                           default_action_changed: true
                         )pb"))
                  .ok());
  EXPECT_EQ(state.settings().max_request_headers(), 1u);
  EXPECT_EQ(state.default_action().cluster(), "c2");

  // Flagged and absent: cleared.
  ASSERT_TRUE(ApplyDelta(state, Parse<v1::Delta>(R"pb(
                           base_version: 3
                           settings_changed: true
                           default_action_changed: true
                         )pb"))
                  .ok());
  EXPECT_FALSE(state.has_settings());
  EXPECT_FALSE(state.has_default_action());
}

TEST(ApplyDeltaTest, WrongBaseVersionIsRejectedAndStateUnchanged) {
  v1::Snapshot state = Base();
  absl::Status s = ApplyDelta(state, Parse<v1::Delta>(R"pb(
                                base_version: 2 removed_clusters: "c1"
                              )pb"));
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(state, EqualsProto(Base()));
}

TEST(ApplyDeltaTest, UnnamedResourceIsRejectedAndStateUnchanged) {
  v1::Snapshot state = Base();
  absl::Status s = ApplyDelta(state, Parse<v1::Delta>(R"pb(
                                base_version: 3
                                removed_clusters: "c1"
                                endpoints { endpoints { address: "10.0.0.1" } }
                              )pb"));
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(state, EqualsProto(Base()));
}

// A sorted state is merged in one pass; any other goes through a map. Both
// must give the same result, sorted by name.
TEST(ApplyDeltaTest, SortedAndUnsortedStatesMergeAlike) {
  v1::Snapshot sorted;
  for (int i = 10; i < 60; i += 2) {
    v1::VirtualHost* vh = sorted.add_virtual_hosts();
    vh->set_name("vh" + std::to_string(i));
    vh->add_hostnames("old");
  }
  v1::Snapshot unsorted = sorted;
  std::reverse(unsorted.mutable_virtual_hosts()->pointer_begin(),
               unsorted.mutable_virtual_hosts()->pointer_end());
  auto delta = Parse<v1::Delta>(R"pb(
    virtual_hosts { name: "vh00" hostnames: "first" }
    virtual_hosts { name: "vh99" hostnames: "last" }
    virtual_hosts { name: "vh33" hostnames: "between" }
    virtual_hosts { name: "vh20" hostnames: "replaced" }
    virtual_hosts { name: "vh34" hostnames: "upserted twice, first" }
    virtual_hosts { name: "vh34" hostnames: "upserted twice, last" }
    virtual_hosts { name: "vh40" hostnames: "removed and upserted" }
    removed_virtual_hosts: "vh10"
    removed_virtual_hosts: "vh58"
    removed_virtual_hosts: "vh40"
    removed_virtual_hosts: "vh41"
  )pb");
  ASSERT_TRUE(ApplyDelta(sorted, delta).ok());
  ASSERT_TRUE(ApplyDelta(unsorted, delta).ok());
  EXPECT_THAT(sorted, EqualsProto(unsorted));
  ASSERT_EQ(sorted.virtual_hosts_size(), 25 + 3 - 2);  // vh00, vh33, vh99 new; vh10, vh58 gone
  EXPECT_EQ(sorted.virtual_hosts(0).hostnames(0), "first");
  EXPECT_EQ(sorted.virtual_hosts(1).name(), "vh12");
  EXPECT_EQ(sorted.virtual_hosts(sorted.virtual_hosts_size() - 1).hostnames(0), "last");
  for (int i = 1; i < sorted.virtual_hosts_size(); ++i) {
    EXPECT_LT(sorted.virtual_hosts(i - 1).name(), sorted.virtual_hosts(i).name());
  }
  auto hostname_of = [&](const std::string& name) {
    for (const v1::VirtualHost& vh : sorted.virtual_hosts()) {
      if (vh.name() == name) return vh.hostnames(0);
    }
    return std::string("absent");
  };
  EXPECT_EQ(hostname_of("vh20"), "replaced");
  EXPECT_EQ(hostname_of("vh33"), "between");
  EXPECT_EQ(hostname_of("vh34"), "upserted twice, last");
  EXPECT_EQ(hostname_of("vh40"), "removed and upserted");
  EXPECT_EQ(hostname_of("vh22"), "old");
  EXPECT_EQ(hostname_of("vh10"), "absent");
  EXPECT_EQ(hostname_of("vh58"), "absent");
}

TEST(ApplyDeltaTest, ReportsTheNamesItUpsertedOrRemoved) {
  v1::Snapshot state = Base();
  ChangedNames changed;
  changed.virtual_hosts.insert("earlier");  // accumulates
  ASSERT_TRUE(ApplyDelta(state, Parse<v1::Delta>(R"pb(
                           base_version: 3
                           virtual_hosts { name: "b" hostnames: "b2.example.com" }
                           removed_virtual_hosts: "a"
                           clusters { name: "c3" }
                           removed_endpoints: "c2"
                           secrets { name: "s1" certificate_chain: "new" }
                         )pb"),
                         &changed)
                  .ok());
  EXPECT_FALSE(changed.everything);
  EXPECT_THAT(changed.virtual_hosts, ::testing::UnorderedElementsAre("earlier", "a", "b"));
  EXPECT_THAT(changed.clusters, ::testing::UnorderedElementsAre("c3"));
  EXPECT_THAT(changed.endpoints, ::testing::UnorderedElementsAre("c2"));
}

TEST(ApplyDeltaTest, AnUnsortedStateMeansEverythingMayHaveChanged) {
  const v1::Delta add_z = Parse<v1::Delta>(R"pb(
    base_version: 3
    virtual_hosts { name: "z" }
  )pb");
  // Merging reorders (and collapses duplicates of) names the delta does not name.
  v1::Snapshot state = Base();
  *state.add_virtual_hosts() = state.virtual_hosts(0);
  ChangedNames changed;
  ASSERT_TRUE(ApplyDelta(state, add_z, &changed).ok());
  EXPECT_TRUE(changed.everything);
  EXPECT_EQ(state.virtual_hosts_size(), 3);

  // A kind the delta does not touch is left alone, whatever its order.
  state = Base();
  *state.add_clusters() = state.clusters(0);
  changed = ChangedNames();
  ASSERT_TRUE(ApplyDelta(state, add_z, &changed).ok());
  EXPECT_FALSE(changed.everything);
  EXPECT_EQ(state.clusters_size(), 3);
}

}  // namespace
}  // namespace portico::dataplane::config
