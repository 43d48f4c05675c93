#include "controller/push/snapshot_store.h"

#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace portico::controller::push {
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

v1::Snapshot Sample() {
  return Parse<v1::Snapshot>(R"pb(
    settings { max_request_headers: 50 }
    virtual_hosts { name: "web" hostnames: "web.example.com" }
    virtual_hosts { name: "api" hostnames: "api.example.com" }
    clusters { name: "default/web:80" }
    clusters { name: "default/api:80" }
    endpoints {
      cluster: "default/web:80"
      endpoints { address: "10.0.0.1" port: 8080 ready: true }
    }
    endpoints {
      cluster: "default/api:80"
      endpoints { address: "10.0.0.2" port: 9090 ready: true }
    }
    secrets { name: "default/tls" certificate_chain: "cert" private_key: "key" }
  )pb");
}

TEST(SnapshotStoreTest, EmptyUntilTheFirstUpdate) {
  SnapshotStore store;
  EXPECT_EQ(store.version(), 0u);
  EXPECT_EQ(store.MessageFor(0, ""), nullptr);
  EXPECT_EQ(store.Update(v1::Snapshot()), 1u);  // even an empty snapshot is a version
}

TEST(SnapshotStoreTest, VersionsOnlyMoveWhenTheContentChanges) {
  SnapshotStore store;
  EXPECT_EQ(store.Update(Sample()), 1u);
  EXPECT_EQ(store.Update(Sample()), 1u);

  // Order and the input's version field are not content.
  v1::Snapshot reordered = Sample();
  reordered.mutable_clusters()->SwapElements(0, 1);
  reordered.set_version(99);
  EXPECT_EQ(store.Update(reordered), 1u);

  v1::Snapshot changed = Sample();
  changed.mutable_settings()->set_max_request_headers(51);
  EXPECT_EQ(store.Update(changed), 2u);
  EXPECT_EQ(store.Update(Sample()), 3u);  // back to the first content is still new
  EXPECT_EQ(store.version(), 3u);
}

TEST(SnapshotStoreTest, UnknownBaseGetsTheFullSortedSnapshot) {
  SnapshotStore store;
  store.Update(Sample());
  for (auto [version, instance] : {std::pair<uint64_t, std::string>{0, store.instance()},
                                   {7, store.instance()},
                                   {1, "another-controller"}}) {
    auto msg = store.MessageFor(version, instance);
    ASSERT_NE(msg, nullptr);
    ASSERT_TRUE(msg->has_full()) << version << " " << instance;
    EXPECT_EQ(msg->version(), 1u);
    EXPECT_EQ(msg->controller_instance(), store.instance());
    EXPECT_EQ(msg->full().version(), 1u);
    EXPECT_EQ(msg->full().clusters(0).name(), "default/api:80");
    EXPECT_EQ(msg->full().virtual_hosts(0).name(), "api");
    EXPECT_EQ(msg->full().secrets(0).private_key(), "key");
  }
  EXPECT_FALSE(store.instance().empty());
}

TEST(SnapshotStoreTest, LatestVersionGetsAnEmptyDelta) {
  SnapshotStore store;
  store.Update(Sample());
  auto msg = store.MessageFor(1, store.instance());
  ASSERT_TRUE(msg->has_delta());
  EXPECT_THAT(msg->delta(), EqualsProto(Parse<v1::Delta>("base_version: 1")));
}

TEST(SnapshotStoreTest, EndpointChangeSendsOnlyThatClustersEndpoints) {
  SnapshotStore store;
  store.Update(Sample());
  v1::Snapshot next = Sample();
  next.mutable_endpoints(0)->mutable_endpoints(0)->set_ready(false);
  next.mutable_endpoints(0)->add_endpoints()->set_address("10.0.0.3");
  ASSERT_EQ(store.Update(next), 2u);

  auto msg = store.MessageFor(1, store.instance());
  ASSERT_TRUE(msg->has_delta());
  EXPECT_EQ(msg->version(), 2u);
  EXPECT_THAT(msg->delta(), EqualsProto(Parse<v1::Delta>(R"pb(
                base_version: 1
                endpoints {
                  cluster: "default/web:80"
                  endpoints { address: "10.0.0.1" port: 8080 ready: false }
                  endpoints { address: "10.0.0.3" }
                }
              )pb")));
}

// The translator's virtual hosts, shared: the sample's two, sorted by name.
std::vector<std::shared_ptr<const v1::VirtualHost>> SharedHosts(v1::Snapshot& snapshot) {
  std::vector<std::shared_ptr<const v1::VirtualHost>> hosts;
  for (v1::VirtualHost& vh : *snapshot.mutable_virtual_hosts()) {
    hosts.push_back(std::make_shared<const v1::VirtualHost>(vh));
  }
  snapshot.clear_virtual_hosts();
  std::sort(hosts.begin(), hosts.end(),
            [](const auto& a, const auto& b) { return a->name() < b->name(); });
  return hosts;
}

TEST(SnapshotStoreTest, SharedVirtualHostsAreTheSameContentAsOwnedOnes) {
  SnapshotStore owned;
  SnapshotStore shared;
  owned.Update(Sample());
  v1::Snapshot sample = Sample();
  auto hosts = SharedHosts(sample);
  shared.Update(sample, hosts);
  EXPECT_THAT(shared.MessageFor(0, "")->full(), EqualsProto(owned.MessageFor(0, "")->full()));

  // The same objects, or equal copies: no new version.
  EXPECT_EQ(shared.Update(sample, hosts), 1u);
  v1::Snapshot again = Sample();
  EXPECT_EQ(shared.Update(again, SharedHosts(again)), 1u);

  // One host changed: a delta with it alone.
  auto next = hosts;
  auto web = std::make_shared<v1::VirtualHost>(*next[1]);
  web->add_hostnames("www.example.com");
  next[1] = web;
  ASSERT_EQ(shared.Update(sample, next), 2u);
  EXPECT_THAT(
      shared.MessageFor(1, shared.instance())->delta(), EqualsProto(Parse<v1::Delta>(R"pb(
        base_version: 1
        virtual_hosts { name: "web" hostnames: "web.example.com" hostnames: "www.example.com" }
      )pb")));
}

TEST(SnapshotStoreTest, DeltaCarriesRemovalsAndTheChangeFlags) {
  SnapshotStore store;
  store.Update(Sample());
  v1::Snapshot next = Sample();
  next.mutable_virtual_hosts()->RemoveLast();  // "api"
  next.mutable_clusters()->RemoveLast();
  next.mutable_endpoints()->RemoveLast();
  next.clear_secrets();
  next.clear_settings();
  next.mutable_default_action()->set_cluster("default/web:80");
  ASSERT_EQ(store.Update(next), 2u);

  auto msg = store.MessageFor(1, store.instance());
  ASSERT_TRUE(msg->has_delta());
  EXPECT_THAT(msg->delta(), EqualsProto(Parse<v1::Delta>(R"pb(
                base_version: 1
                removed_virtual_hosts: "api"
                removed_clusters: "default/api:80"
                removed_endpoints: "default/api:80"
                removed_secrets: "default/tls"
                settings_changed: true
                default_action { cluster: "default/web:80" }
                default_action_changed: true
              )pb")));
}

TEST(SnapshotStoreTest, CredentialsAreDiffedByNameAndSentInFull) {
  SnapshotStore store;
  v1::Snapshot v1 = Sample();
  *v1.add_credentials() = Parse<v1::Credentials>(R"pb(
    name: "default/team"
    users { user: "alice" hash: "{SHA}a" }
  )pb");
  v1.add_credentials()->set_name("default/old");
  store.Update(v1);
  auto full = store.MessageFor(0, store.instance());
  ASSERT_EQ(full->full().credentials_size(), 2);
  EXPECT_EQ(full->full().credentials(1).users(0).hash(), "{SHA}a");

  v1::Snapshot v2 = v1;
  v2.mutable_credentials(0)->mutable_users(0)->set_hash("{SHA}b");  // "default/team"
  v2.mutable_credentials()->RemoveLast();                           // "default/old"
  ASSERT_EQ(v2.credentials_size(), 1);
  ASSERT_EQ(store.Update(v2), 2u);
  auto msg = store.MessageFor(1, store.instance());
  EXPECT_THAT(msg->delta(), EqualsProto(Parse<v1::Delta>(R"pb(
                base_version: 1
                credentials {
                  name: "default/team"
                  users { user: "alice" hash: "{SHA}b" }
                }
                removed_credentials: "default/old"
              )pb")));
  EXPECT_EQ(store.Update(v2), 2u);  // unchanged: no new version
}

TEST(SnapshotStoreTest, DeltaSpansSeveralVersionsAndSkipsWhatChangedBack) {
  SnapshotStore store;
  store.Update(Sample());  // 1
  v1::Snapshot v2 = Sample();
  v2.mutable_secrets(0)->set_certificate_chain("rotated");
  v2.mutable_clusters(0)->set_max_connections(10);
  store.Update(v2);  // 2
  v1::Snapshot v3 = Sample();
  v3.mutable_clusters(0)->set_max_connections(10);
  store.Update(v3);  // 3: the secret is back to version 1's

  auto msg = store.MessageFor(1, store.instance());
  ASSERT_TRUE(msg->has_delta());
  ASSERT_EQ(msg->delta().clusters_size(), 1);
  EXPECT_EQ(msg->delta().clusters(0).name(), "default/web:80");
  EXPECT_EQ(msg->delta().secrets_size(), 0);

  auto from2 = store.MessageFor(2, store.instance());
  ASSERT_EQ(from2->delta().secrets_size(), 1);
  EXPECT_EQ(from2->delta().secrets(0).certificate_chain(), "cert");
  EXPECT_EQ(from2->delta().clusters_size(), 0);
}

TEST(SnapshotStoreTest, VersionsOlderThanTheHistoryGetAFullSnapshot) {
  SnapshotStore store(/*history=*/3);
  for (uint32_t i = 1; i <= 5; ++i) {
    v1::Snapshot s = Sample();
    s.mutable_settings()->set_max_request_headers(i);
    ASSERT_EQ(store.Update(s), i);
  }
  EXPECT_TRUE(store.MessageFor(2, store.instance())->has_full());
  EXPECT_TRUE(store.MessageFor(3, store.instance())->has_delta());
  EXPECT_TRUE(store.MessageFor(6, store.instance())->has_full());  // from the future
}

TEST(SnapshotStoreTest, StreamsAtTheSameVersionShareTheMessage) {
  SnapshotStore store;
  store.Update(Sample());
  EXPECT_EQ(store.MessageFor(0, ""), store.MessageFor(0, "other"));
  EXPECT_EQ(store.MessageFor(1, store.instance()), store.MessageFor(1, store.instance()));
}

TEST(SnapshotStoreTest, ListenersHearNewVersionsOnlyUntilRemoved) {
  SnapshotStore store;
  std::vector<uint64_t> heard;
  int id = store.AddListener([&](uint64_t v) { heard.push_back(v); });
  store.Update(Sample());
  store.Update(Sample());  // unchanged: no notification
  v1::Snapshot next = Sample();
  next.clear_secrets();
  store.Update(next);
  store.RemoveListener(id);
  store.Update(Sample());
  EXPECT_EQ(heard, (std::vector<uint64_t>{1, 2}));
}

TEST(SnapshotStoreTest, DuplicateNamesKeepTheFirst) {
  SnapshotStore store;
  v1::Snapshot s = Sample();
  *s.add_clusters() = Parse<v1::Cluster>(R"pb(name: "default/web:80" max_connections: 3)pb");
  store.Update(s);
  auto msg = store.MessageFor(0, "");
  ASSERT_EQ(msg->full().clusters_size(), 2);
  EXPECT_EQ(msg->full().clusters(1).max_connections(), 0u);
}

TEST(SnapshotStoreTest, DuplicatesInUnsortedInputKeepTheFirstInInputOrder) {
  SnapshotStore store;
  v1::Snapshot s;
  for (auto [name, max] :
       {std::pair<const char*, uint32_t>{"b", 1}, {"a", 2}, {"c", 3}, {"a", 4}, {"b", 5}}) {
    v1::Cluster* c = s.add_clusters();
    c->set_name(name);
    c->set_max_connections(max);
  }
  // Sorted but for an adjacent duplicate.
  s.add_virtual_hosts()->set_name("x");
  s.add_virtual_hosts()->set_name("x");
  s.mutable_virtual_hosts(1)->add_hostnames("second.example.com");
  store.Update(s);
  auto msg = store.MessageFor(0, "");
  EXPECT_THAT(msg->full(), EqualsProto(Parse<v1::Snapshot>(R"pb(
                version: 1
                virtual_hosts { name: "x" }
                clusters { name: "a" max_connections: 2 }
                clusters { name: "b" max_connections: 1 }
                clusters { name: "c" max_connections: 3 }
              )pb")));
}

TEST(SnapshotStoreTest, UnsortedInputIsTheSameContentAsSorted) {
  SnapshotStore store;
  v1::Snapshot sorted;
  for (const char* name : {"a", "b", "c", "d"}) sorted.add_virtual_hosts()->set_name(name);
  v1::Snapshot reversed;
  for (const char* name : {"d", "c", "b", "a"}) reversed.add_virtual_hosts()->set_name(name);
  ASSERT_EQ(store.Update(reversed), 1u);
  auto full = store.MessageFor(0, "");
  ASSERT_EQ(full->full().virtual_hosts_size(), 4);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(full->full().virtual_hosts(i).name(), std::string(1, static_cast<char>('a' + i)));
  }
  EXPECT_EQ(store.Update(sorted), 1u);

  // A change in unsorted input is still found against the right resource.
  reversed.mutable_virtual_hosts(1)->add_hostnames("c.example.com");  // "c"
  ASSERT_EQ(store.Update(reversed), 2u);
  EXPECT_THAT(store.MessageFor(1, store.instance())->delta(), EqualsProto(Parse<v1::Delta>(R"pb(
                base_version: 1
                virtual_hosts { name: "c" hostnames: "c.example.com" }
              )pb")));
}

TEST(SnapshotStoreTest, ChangeOfTheSameSerializedSizeIsAChange) {
  SnapshotStore store;
  store.Update(Sample());
  v1::Snapshot next = Sample();
  next.mutable_virtual_hosts(0)->set_hostnames(0, "wex.example.com");  // "web"
  next.mutable_endpoints(1)->mutable_endpoints(0)->set_port(9091);     // "default/api:80"
  ASSERT_EQ(store.Update(next), 2u);
  EXPECT_THAT(store.MessageFor(1, store.instance())->delta(), EqualsProto(Parse<v1::Delta>(R"pb(
                base_version: 1
                virtual_hosts { name: "web" hostnames: "wex.example.com" }
                endpoints {
                  cluster: "default/api:80"
                  endpoints { address: "10.0.0.2" port: 9091 ready: true }
                }
              )pb")));
}

TEST(SnapshotStoreTest, AddingOrRemovingOnlyANameIsAChange) {
  SnapshotStore store;
  v1::Snapshot s;
  for (const char* name : {"b", "d"}) s.add_secrets()->set_name(name);
  ASSERT_EQ(store.Update(s), 1u);
  uint64_t version = 1;
  for (const char* name : {"a", "c", "e"}) {  // before, between and after the others
    v1::Snapshot more = s;
    more.add_secrets()->set_name(name);  // nothing but the name
    ASSERT_EQ(store.Update(more), ++version) << name;
    ASSERT_EQ(store.Update(s), ++version) << name;
    auto msg = store.MessageFor(version - 1, store.instance());
    ASSERT_EQ(msg->delta().removed_secrets_size(), 1) << name;
    EXPECT_EQ(msg->delta().removed_secrets(0), name);
  }
  EXPECT_EQ(store.version(), 7u);
  v1::Snapshot fewer;
  fewer.add_secrets()->set_name("d");
  ASSERT_EQ(store.Update(fewer), 8u);
  EXPECT_THAT(store.MessageFor(7, store.instance())->delta(),
              EqualsProto(Parse<v1::Delta>(R"pb(base_version: 7 removed_secrets: "b")pb")));
  ASSERT_EQ(store.Update(v1::Snapshot()), 9u);
  EXPECT_THAT(store.MessageFor(7, store.instance())->delta(),
              EqualsProto(Parse<v1::Delta>(R"pb(base_version: 7
                                                removed_secrets: "b"
                                                removed_secrets: "d")pb")));
}

TEST(SnapshotStoreTest, DeltaFromEveryRetainedVersion) {
  SnapshotStore store(/*history=*/4);
  v1::Snapshot s = Sample();
  store.Update(s);  // 1
  s.add_virtual_hosts()->set_name("new");
  store.Update(s);                                               // 2
  s.mutable_virtual_hosts(0)->add_hostnames("www.example.com");  // "web"
  store.Update(s);                                               // 3
  s.mutable_virtual_hosts()->DeleteSubrange(1, 1);               // "api"
  s.mutable_settings()->set_max_request_headers(60);
  ASSERT_EQ(store.Update(s), 4u);  // 4; clusters, endpoints and secrets never changed

  EXPECT_THAT(
      store.MessageFor(1, store.instance())->delta(), EqualsProto(Parse<v1::Delta>(R"pb(
        base_version: 1
        virtual_hosts { name: "new" }
        virtual_hosts { name: "web" hostnames: "web.example.com" hostnames: "www.example.com" }
        removed_virtual_hosts: "api"
        settings { max_request_headers: 60 }
        settings_changed: true
      )pb")));
  EXPECT_THAT(
      store.MessageFor(2, store.instance())->delta(), EqualsProto(Parse<v1::Delta>(R"pb(
        base_version: 2
        virtual_hosts { name: "web" hostnames: "web.example.com" hostnames: "www.example.com" }
        removed_virtual_hosts: "api"
        settings { max_request_headers: 60 }
        settings_changed: true
      )pb")));
  EXPECT_THAT(store.MessageFor(3, store.instance())->delta(), EqualsProto(Parse<v1::Delta>(R"pb(
                base_version: 3
                removed_virtual_hosts: "api"
                settings { max_request_headers: 60 }
                settings_changed: true
              )pb")));

  // Version 1 leaves the history; what is shared with it stays intact.
  s.clear_settings();
  ASSERT_EQ(store.Update(s), 5u);
  EXPECT_TRUE(store.MessageFor(1, store.instance())->has_full());
  auto full = store.MessageFor(0, "");
  EXPECT_EQ(full->full().clusters_size(), 2);
  EXPECT_EQ(full->full().endpoints(1).endpoints(0).address(), "10.0.0.1");
  EXPECT_EQ(full->full().secrets(0).private_key(), "key");
  EXPECT_THAT(store.MessageFor(4, store.instance())->delta(),
              EqualsProto(Parse<v1::Delta>("base_version: 4 settings_changed: true")));
}

// Leftovers and evicted versions are destroyed by the reaper thread (or by
// Update when it is behind); neither may touch what the store still serves.
TEST(SnapshotStoreTest, RetiredVersionsDoNotAffectTheServedOnes) {
  auto store = std::make_unique<SnapshotStore>(/*history=*/1);
  v1::Snapshot s = Sample();
  for (uint32_t i = 1; i <= 50; ++i) {
    s.mutable_settings()->set_max_request_headers(i);
    if (i % 10 == 0) s.add_virtual_hosts()->set_name("vh" + std::to_string(i));
    ASSERT_EQ(store->Update(s), i);
    ASSERT_EQ(store->Update(s), i);  // unchanged: the whole snapshot is left over
  }
  auto full = store->MessageFor(0, "");
  store.reset();  // joins the reaper; the message stays valid
  ASSERT_EQ(full->full().virtual_hosts_size(), 7);
  EXPECT_EQ(full->full().virtual_hosts(0).name(), "api");
  EXPECT_EQ(full->full().settings().max_request_headers(), 50u);
  EXPECT_EQ(full->full().endpoints(1).endpoints(0).address(), "10.0.0.1");
}

}  // namespace
}  // namespace portico::controller::push
