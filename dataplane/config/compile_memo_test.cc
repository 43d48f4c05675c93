// Compile with a previous Config: what it lends (unchanged virtual hosts
// and clusters), and what the subscription's names of changed resources
// spare it.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "common/strings.h"
#include "dataplane/config/config.h"
#include "dataplane/config/config_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace portico::dataplane::config {
namespace {

using testing::FromJson;
using ::testing::HasSubstr;

// --- Sharing with the previous Config -------------------------------------------

constexpr char kTwoHosts[] = R"json({
  "clusters": [{"name": "a"}, {"name": "b"}],
  "endpoints": [{"cluster": "a", "endpoints": [{"address": "10.0.0.1", "port": 80, "ready": true}]},
                {"cluster": "b", "endpoints": [{"address": "10.0.0.2", "port": 80, "ready": true}]}],
  "credentials": [{"name": "ns/team", "users": [
    {"user": "alice", "hash": "{SHA}/vNB+F2HQ559kaLUZbmHHvZrXpg="}]}],
  "virtualHosts": [
    {"name": "one", "hostnames": ["one.example"], "routes": [
      {"name": "r", "match": {"path": "/"}, "action": {"cluster": "a"}}]},
    {"name": "two", "hostnames": ["two.example"], "routes": [
      {"name": "r", "match": {"path": "/"}, "action": {"cluster": "b"}}]},
    {"name": "auth", "hostnames": ["auth.example"], "routes": [
      {"name": "r", "match": {"path": "/"}, "action": {"cluster": "a"},
       "basicAuth": {"realm": "T", "credentials": "ns/team"}}]}]})json";

std::shared_ptr<const Config> CompileAfter(const v1::Snapshot& snapshot, const Config* previous,
                                           const ChangedNames* changed = nullptr) {
  absl::StatusOr<std::shared_ptr<const Config>> config =
      Compile(snapshot, net::CidrSet(), nullptr, previous, changed);
  EXPECT_TRUE(config.ok()) << config.status();
  return config.ok() ? *config : nullptr;
}

const router::Route* RouteOf(const Config& config, std::string_view host) {
  return config.routes->Match(host, "/").route;
}

TEST(CompileSharingTest, UnchangedVirtualHostsAndClustersAreShared) {
  v1::Snapshot snapshot = FromJson(kTwoHosts);
  std::shared_ptr<const Config> before = CompileAfter(snapshot, nullptr);
  ASSERT_NE(before, nullptr);

  snapshot.mutable_virtual_hosts(1)->mutable_routes(0)->mutable_action()->set_cluster("a");
  snapshot.mutable_endpoints(1)->mutable_endpoints(0)->set_address("10.0.0.3");
  std::shared_ptr<const Config> after = CompileAfter(snapshot, before.get());
  ASSERT_NE(after, nullptr);
  // Same objects for what did not change...
  EXPECT_EQ(RouteOf(*after, "one.example"), RouteOf(*before, "one.example"));
  EXPECT_EQ(RouteOf(*after, "auth.example"), RouteOf(*before, "auth.example"));
  EXPECT_EQ(after->FindCluster("a"), before->FindCluster("a"));
  // ...and rebuilt ones for what did.
  ASSERT_NE(RouteOf(*after, "two.example"), nullptr);
  EXPECT_NE(RouteOf(*after, "two.example"), RouteOf(*before, "two.example"));
  EXPECT_EQ(RouteOf(*after, "two.example")->action.clusters[0].cluster, "a");
  EXPECT_EQ(RouteOf(*before, "two.example")->action.clusters[0].cluster, "b");
  EXPECT_NE(after->FindCluster("b"), before->FindCluster("b"));
  EXPECT_EQ(after->FindCluster("b")->endpoints[0].key, "10.0.0.3:80");

  // Without a previous Config, everything is compiled again.
  std::shared_ptr<const Config> fresh = CompileAfter(snapshot, nullptr);
  ASSERT_NE(fresh, nullptr);
  EXPECT_NE(RouteOf(*fresh, "one.example"), RouteOf(*after, "one.example"));
  EXPECT_NE(fresh->FindCluster("a"), after->FindCluster("a"));
}

TEST(CompileSharingTest, WhatAVirtualHostReadsElsewhereDecidesToo) {
  v1::Snapshot snapshot = FromJson(kTwoHosts);
  std::shared_ptr<const Config> before = CompileAfter(snapshot, nullptr);
  ASSERT_NE(before, nullptr);

  // The Credentials a route names change: its virtual host is rebuilt with them.
  snapshot.mutable_credentials(0)->mutable_users(0)->set_user("bob");
  std::shared_ptr<const Config> after = CompileAfter(snapshot, before.get());
  ASSERT_NE(after, nullptr);
  EXPECT_NE(RouteOf(*after, "auth.example"), RouteOf(*before, "auth.example"));
  EXPECT_TRUE(RouteOf(*after, "auth.example")->basic_auth.users->contains("bob"));
  EXPECT_EQ(RouteOf(*after, "one.example"), RouteOf(*before, "one.example"));

  // A cluster a unchanged virtual host routes to disappears: refused, as
  // without a previous Config.
  v1::Snapshot without_a = snapshot;
  without_a.mutable_clusters()->DeleteSubrange(0, 1);
  without_a.mutable_endpoints()->DeleteSubrange(0, 1);
  absl::StatusOr<std::shared_ptr<const Config>> rejected =
      Compile(without_a, net::CidrSet(), nullptr, after.get());
  ASSERT_FALSE(rejected.ok());
  EXPECT_THAT(std::string(rejected.status().message()),
              HasSubstr("virtual host \"one\" route \"r\": unknown cluster \"a\""));

  // Two virtual hosts of the same name claiming the same hostname: still refused.
  v1::Snapshot twice = snapshot;
  *twice.add_virtual_hosts() = twice.virtual_hosts(0);
  rejected = Compile(twice, net::CidrSet(), nullptr, after.get());
  ASSERT_FALSE(rejected.ok());
  EXPECT_THAT(std::string(rejected.status().message()), HasSubstr("is already claimed"));
}

// --- What the subscription says changed -------------------------------------

ChangedNames Changed(const Config& previous, std::vector<std::string> virtual_hosts,
                     std::vector<std::string> clusters = {},
                     std::vector<std::string> endpoints = {}) {
  ChangedNames changed;
  changed.since_version = previous.version;
  changed.virtual_hosts.insert(virtual_hosts.begin(), virtual_hosts.end());
  changed.clusters.insert(clusters.begin(), clusters.end());
  changed.endpoints.insert(endpoints.begin(), endpoints.end());
  return changed;
}

// The same compiled contents: what each virtual host and cluster was compiled
// from, and what requests to `hosts` are routed to.
void ExpectSameContents(const Config& a, const Config& b, const std::vector<std::string>& hosts) {
  ASSERT_EQ(a.memo->virtual_hosts.size(), b.memo->virtual_hosts.size());
  for (const auto& [name, inputs] : a.memo->virtual_hosts) {
    auto other = b.memo->virtual_hosts.find(name);
    ASSERT_NE(other, b.memo->virtual_hosts.end()) << name;
    EXPECT_EQ(inputs->source, other->second->source) << name;
    EXPECT_EQ(inputs->clusters, other->second->clusters) << name;
    EXPECT_EQ(inputs->credentials, other->second->credentials) << name;
  }
  ASSERT_EQ(a.memo->clusters.size(), b.memo->clusters.size());
  for (const auto& [name, inputs] : a.memo->clusters) {
    auto other = b.memo->clusters.find(name);
    ASSERT_NE(other, b.memo->clusters.end()) << name;
    EXPECT_EQ(inputs->source, other->second->source) << name;
    EXPECT_EQ(inputs->has_endpoints, other->second->has_endpoints) << name;
    EXPECT_EQ(inputs->endpoints, other->second->endpoints) << name;
  }
  ASSERT_EQ(a.clusters.size(), b.clusters.size());
  for (const auto& [name, cluster] : a.clusters) {
    const upstream::ClusterConfig* other = b.FindCluster(name);
    ASSERT_NE(other, nullptr) << name;
    ASSERT_EQ(cluster->endpoints.size(), other->endpoints.size()) << name;
    for (size_t i = 0; i < cluster->endpoints.size(); ++i) {
      EXPECT_EQ(cluster->endpoints[i].key, other->endpoints[i].key) << name;
    }
  }
  for (const std::string& host : hosts) {
    const router::Route* ra = RouteOf(a, host);
    const router::Route* rb = RouteOf(b, host);
    ASSERT_EQ(ra == nullptr, rb == nullptr) << host;
    if (ra == nullptr) continue;
    EXPECT_EQ(ra->action.clusters[0].cluster, rb->action.clusters[0].cluster) << host;
    EXPECT_EQ(ra->basic_auth.users == nullptr, rb->basic_auth.users == nullptr) << host;
    if (ra->basic_auth.users != nullptr) {
      EXPECT_EQ(*ra->basic_auth.users, *rb->basic_auth.users) << host;
    }
  }
}

const std::vector<std::string> kHosts = {"one.example", "two.example", "auth.example",
                                         "three.example"};

TEST(CompileHintTest, SameConfigWithAndWithoutTheHint) {
  v1::Snapshot snapshot = FromJson(kTwoHosts);
  snapshot.set_version(4);
  std::shared_ptr<const Config> before = CompileAfter(snapshot, nullptr, nullptr);
  ASSERT_NE(before, nullptr);

  // Virtual host "two" changes, "auth" goes, "three" comes, b's endpoints change.
  snapshot.set_version(5);
  snapshot.mutable_virtual_hosts(1)->mutable_routes(0)->mutable_action()->set_cluster("a");
  snapshot.mutable_virtual_hosts()->DeleteSubrange(2, 1);
  v1::VirtualHost* three = snapshot.add_virtual_hosts();
  three->set_name("three");
  three->add_hostnames("three.example");
  v1::Route* route = three->add_routes();
  route->set_name("r");
  route->mutable_match()->set_path("/");
  route->mutable_action()->set_cluster("b");
  snapshot.mutable_endpoints(1)->mutable_endpoints(0)->set_address("10.0.0.3");
  ChangedNames changed = Changed(*before, {"two", "auth", "three"}, {}, {"b"});

  std::shared_ptr<const Config> hinted = CompileAfter(snapshot, before.get(), &changed);
  std::shared_ptr<const Config> compared = CompileAfter(snapshot, before.get(), nullptr);
  std::shared_ptr<const Config> fresh = CompileAfter(snapshot, nullptr, nullptr);
  ASSERT_NE(hinted, nullptr);
  ASSERT_NE(compared, nullptr);
  ASSERT_NE(fresh, nullptr);
  ExpectSameContents(*hinted, *fresh, kHosts);
  ExpectSameContents(*hinted, *compared, kHosts);
  // The same sharing as by comparing bytes.
  EXPECT_EQ(RouteOf(*hinted, "one.example"), RouteOf(*before, "one.example"));
  EXPECT_EQ(hinted->FindCluster("a"), before->FindCluster("a"));
  EXPECT_NE(RouteOf(*hinted, "two.example"), RouteOf(*before, "two.example"));
  EXPECT_EQ(RouteOf(*hinted, "two.example")->action.clusters[0].cluster, "a");
  EXPECT_NE(hinted->FindCluster("b"), before->FindCluster("b"));
  EXPECT_EQ(hinted->FindCluster("b")->endpoints[0].key, "10.0.0.3:80");
  EXPECT_EQ(RouteOf(*hinted, "auth.example"), nullptr);

  // A named resource that turns out unchanged is still shared.
  snapshot.set_version(6);
  ChangedNames again = Changed(*hinted, {"one", "two"}, {"a"}, {"a"});
  std::shared_ptr<const Config> same = CompileAfter(snapshot, hinted.get(), &again);
  ASSERT_NE(same, nullptr);
  EXPECT_EQ(RouteOf(*same, "one.example"), RouteOf(*hinted, "one.example"));
  EXPECT_EQ(RouteOf(*same, "two.example"), RouteOf(*hinted, "two.example"));
  EXPECT_EQ(same->FindCluster("a"), hinted->FindCluster("a"));
}

TEST(CompileHintTest, WhatAnUnnamedVirtualHostReadsIsStillChecked) {
  v1::Snapshot snapshot = FromJson(kTwoHosts);
  std::shared_ptr<const Config> before = CompileAfter(snapshot, nullptr, nullptr);
  ASSERT_NE(before, nullptr);

  // Only the Credentials change (the hint never lists them).
  snapshot.mutable_credentials(0)->mutable_users(0)->set_user("bob");
  ChangedNames none = Changed(*before, {});
  std::shared_ptr<const Config> after = CompileAfter(snapshot, before.get(), &none);
  ASSERT_NE(after, nullptr);
  EXPECT_NE(RouteOf(*after, "auth.example"), RouteOf(*before, "auth.example"));
  EXPECT_TRUE(RouteOf(*after, "auth.example")->basic_auth.users->contains("bob"));
  EXPECT_EQ(RouteOf(*after, "one.example"), RouteOf(*before, "one.example"));

  // The cluster an unnamed virtual host routes to goes: refused.
  v1::Snapshot without_a = snapshot;
  without_a.mutable_clusters()->DeleteSubrange(0, 1);
  without_a.mutable_endpoints()->DeleteSubrange(0, 1);
  ChangedNames removed = Changed(*after, {}, {"a"}, {"a"});
  absl::StatusOr<std::shared_ptr<const Config>> rejected =
      Compile(without_a, net::CidrSet(), nullptr, after.get(), &removed);
  ASSERT_FALSE(rejected.ok());
  EXPECT_THAT(std::string(rejected.status().message()),
              HasSubstr("virtual host \"one\" route \"r\": unknown cluster \"a\""));
}

TEST(CompileHintTest, IgnoredUnlessRelativeToThePreviousConfig) {
  v1::Snapshot snapshot = FromJson(kTwoHosts);
  snapshot.set_version(7);
  std::shared_ptr<const Config> before = CompileAfter(snapshot, nullptr, nullptr);
  ASSERT_NE(before, nullptr);
  snapshot.set_version(8);
  snapshot.mutable_virtual_hosts(1)->mutable_routes(0)->mutable_action()->set_cluster("a");

  // Names relative to another version, or "everything": bytes are compared.
  ChangedNames stale = Changed(*before, {});
  stale.since_version = 6;
  ChangedNames everything = Changed(*before, {});
  everything.everything = true;
  for (const ChangedNames* changed : {&stale, &everything}) {
    std::shared_ptr<const Config> after = CompileAfter(snapshot, before.get(), changed);
    ASSERT_NE(after, nullptr);
    EXPECT_EQ(RouteOf(*after, "two.example")->action.clusters[0].cluster, "a");
    EXPECT_EQ(RouteOf(*after, "one.example"), RouteOf(*before, "one.example"));
  }
}

TEST(CompileHintTest, TlsClustersAreCompiledAgainEvenWhenUnnamed) {
  v1::Snapshot snapshot = FromJson(kTwoHosts);
  snapshot.mutable_clusters(0)->set_protocol(v1::Cluster::PROTOCOL_HTTPS);
  absl::StatusOr<std::shared_ptr<const Config>> before =
      Compile(snapshot, net::CidrSet(), nullptr, nullptr);
  if (!before.ok()) GTEST_SKIP() << before.status();
  ChangedNames none = Changed(**before, {});
  std::shared_ptr<const Config> after = CompileAfter(snapshot, before->get(), &none);
  ASSERT_NE(after, nullptr);
  EXPECT_NE(after->FindCluster("a"), (*before)->FindCluster("a"));
  EXPECT_EQ(after->FindCluster("b"), (*before)->FindCluster("b"));
}

// A one-virtual-host change in a 10,000-virtual-host snapshot, as
// bench/run.sh config-propagation makes it, compiled with and without the
// names of what changed. A measurement, not a check: run with
// PORTICO_COMPILE_BENCH=1 (it prints the median milliseconds).
TEST(CompileHintTest, OneChangeInTenThousandVirtualHosts) {
  if (std::getenv("PORTICO_COMPILE_BENCH") == nullptr) GTEST_SKIP() << "PORTICO_COMPILE_BENCH";
  v1::Snapshot snapshot;
  for (const char* name : {"default/svc-a/80", "default/svc-b/80"}) {
    snapshot.add_clusters()->set_name(name);
    v1::ClusterEndpoints* ce = snapshot.add_endpoints();
    ce->set_cluster(name);
    v1::Endpoint* ep = ce->add_endpoints();
    ep->set_address("127.0.0.1");
    ep->set_port(8080);
    ep->set_ready(true);
  }
  for (int i = 0; i < 10000; ++i) {
    v1::VirtualHost* vh = snapshot.add_virtual_hosts();
    vh->set_name(portico::StrCat("h", 10000 + i, ".bench.test"));
    vh->add_hostnames(vh->name());
    v1::Route* r = vh->add_routes();
    r->set_name(portico::StrCat("default/ing-", i, "/0"));
    r->mutable_match()->set_path("/");
    r->mutable_action()->set_cluster("default/svc-a/80");
  }
  for (bool hinted : {false, true, false, true}) {
    std::shared_ptr<const Config> served = CompileAfter(snapshot, nullptr, nullptr);
    ASSERT_NE(served, nullptr);
    std::vector<double> compile_ms, free_ms;
    for (int n = 0; n < 30; ++n) {
      v1::VirtualHost* vh = snapshot.mutable_virtual_hosts(n * 331 % 10000);
      v1::RouteAction* action = vh->mutable_routes(0)->mutable_action();
      action->set_cluster(action->cluster() == "default/svc-a/80" ? "default/svc-b/80"
                                                                  : "default/svc-a/80");
      snapshot.set_version(snapshot.version() + 1);
      ChangedNames changed = Changed(*served, {vh->name()});
      auto t0 = std::chrono::steady_clock::now();
      std::shared_ptr<const Config> next =
          CompileAfter(snapshot, served.get(), hinted ? &changed : nullptr);
      auto t1 = std::chrono::steady_clock::now();
      ASSERT_NE(next, nullptr);
      served = std::move(next);  // frees the previous one
      auto t2 = std::chrono::steady_clock::now();
      compile_ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      free_ms.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
    }
    std::sort(compile_ms.begin(), compile_ms.end());
    std::sort(free_ms.begin(), free_ms.end());
    std::printf("%s: Compile median %.2f ms (p90 %.2f), freeing the previous Config %.2f ms\n",
                hinted ? "with names" : "bytes    ", compile_ms[15], compile_ms[27], free_ms[15]);
  }
}

}  // namespace
}  // namespace portico::dataplane::config
