// The subscription client against a scripted controller on loopback, for the
// protocol edges the real controller never produces.

#include "dataplane/config/subscription.h"

#include <gmock/gmock.h>
#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/strings.h"
#include "dataplane/config/config.h"
#include "portico/v1/snapshot_service.grpc.pb.h"

namespace portico::dataplane::config {
namespace {

bool WaitFor(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

v1::ServerMessage Full(uint64_t version, const std::string& cluster) {
  v1::ServerMessage m;
  m.set_version(version);
  m.set_controller_instance("scripted");
  m.mutable_full()->set_version(version);
  m.mutable_full()->add_clusters()->set_name(cluster);
  return m;
}

// A delta from the version before.
v1::ServerMessage Delta(uint64_t version) {
  v1::ServerMessage m;
  m.set_version(version);
  m.set_controller_instance("scripted");
  m.mutable_delta()->set_base_version(version - 1);
  return m;
}

// Starts `controller` on a loopback port of the system's choosing.
std::unique_ptr<grpc::Server> Serve(v1::Snapshots::Service& controller, int* port) {
  grpc::ServerBuilder builder;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), port);
  builder.RegisterService(&controller);
  return builder.BuildAndStart();
}

// First stream: a full snapshot, then a delta from a version the client does
// not have. Later streams: a full snapshot. Records every Hello.
class ScriptedController final : public v1::Snapshots::Service {
 public:
  grpc::Status Stream(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<v1::ServerMessage, v1::ClientMessage>* stream) override {
    v1::ClientMessage msg;
    if (!stream->Read(&msg) || !msg.has_hello()) return grpc::Status::CANCELLED;
    int n;
    {
      std::lock_guard lock(mu_);
      hellos_.push_back(msg.hello());
      n = static_cast<int>(hellos_.size());
    }
    if (n == 1) {
      stream->Write(Full(1, "one"));
      if (!stream->Read(&msg) || !msg.has_ack()) return grpc::Status::CANCELLED;
      v1::ServerMessage bad = Delta(6);  // from 5
      bad.mutable_delta()->add_clusters()->set_name("six");
      stream->Write(bad);
    } else {
      stream->Write(Full(7, "seven"));
    }
    // Until the client goes away.
    while (stream->Read(&msg)) {
    }
    return grpc::Status::OK;
  }

  std::vector<v1::Hello> hellos() const {
    std::lock_guard lock(mu_);
    return hellos_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<v1::Hello> hellos_;
};

TEST(SubscriptionTest, DeltaThatDoesNotFitResynchronizesWithAFullSnapshot) {
  ScriptedController controller;
  int port = 0;
  std::unique_ptr<grpc::Server> server = Serve(controller, &port);
  ASSERT_NE(server, nullptr);

  std::mutex mu;
  std::vector<v1::Snapshot> applied;
  SubscriptionOptions options;
  options.controllers = {StrCat("127.0.0.1:", port)};
  options.node_id = "dp";
  options.insecure = true;
  Subscription sub(options, [&](const v1::Snapshot& s, const ChangedNames*) {
    std::lock_guard lock(mu);
    applied.push_back(s);
    return absl::OkStatus();
  });
  sub.Start();

  ASSERT_TRUE(WaitFor([&] { return sub.status().applied_version == 7; }));
  sub.Stop();
  server->Shutdown(std::chrono::system_clock::now());

  std::vector<v1::Hello> hellos = controller.hellos();
  ASSERT_EQ(hellos.size(), 2u);
  EXPECT_EQ(hellos[0].last_applied_version(), 0u);
  EXPECT_EQ(hellos[0].node_id(), "dp");
  // Version 1 is held, but the client asks for everything after the bad delta.
  EXPECT_EQ(hellos[1].last_applied_version(), 0u);
  EXPECT_EQ(hellos[1].controller_instance(), "");

  std::lock_guard lock(mu);
  ASSERT_EQ(applied.size(), 2u);  // never the unmergeable version 6
  EXPECT_EQ(applied[0].version(), 1u);
  EXPECT_EQ(applied[1].version(), 7u);
  ASSERT_EQ(applied[1].clusters_size(), 1);
  EXPECT_EQ(applied[1].clusters(0).name(), "seven");
}

TEST(SubscriptionTest, WithoutCertificatesItNeverConnectsAndStopsPromptly) {
  SubscriptionOptions options;
  options.controllers = {"127.0.0.1:1"};
  options.tls_ca = "/nonexistent/ca.pem";
  Subscription sub(options,
                   [](const v1::Snapshot&, const ChangedNames*) { return absl::OkStatus(); });
  sub.Start();
  ASSERT_TRUE(WaitFor([&] { return !sub.status().controller.empty(); }));  // it tried
  const auto before = std::chrono::steady_clock::now();
  sub.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(1));
  EXPECT_FALSE(sub.status().connected);
  EXPECT_EQ(sub.status().applied_version, 0u);
}

v1::VirtualHost Host(const std::string& name, const std::string& cluster) {
  v1::VirtualHost vh;
  vh.set_name(name);
  vh.add_hostnames(name + ".example");
  v1::Route* r = vh.add_routes();
  r->set_name("r");
  r->mutable_match()->set_path("/");
  r->mutable_action()->set_cluster(cluster);
  return vh;
}

// A full snapshot, a delta the client NACKs, a delta that makes it valid
// without naming what the first changed, then a full snapshot.
class NackingController final : public v1::Snapshots::Service {
 public:
  grpc::Status Stream(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<v1::ServerMessage, v1::ClientMessage>* stream) override {
    v1::ClientMessage msg;
    if (!stream->Read(&msg) || !msg.has_hello()) return grpc::Status::CANCELLED;
    std::vector<v1::ServerMessage> script;
    v1::ServerMessage full = Full(1, "a");
    full.mutable_full()->add_clusters()->set_name("b");
    *full.mutable_full()->add_virtual_hosts() = Host("one", "a");
    *full.mutable_full()->add_virtual_hosts() = Host("two", "a");
    script.push_back(full);
    v1::ServerMessage broken = Delta(2);  // "two" routes to a cluster yet to come
    *broken.mutable_delta()->add_virtual_hosts() = Host("two", "c");
    script.push_back(broken);
    v1::ServerMessage fixed = Delta(3);
    fixed.mutable_delta()->add_clusters()->set_name("c");
    *fixed.mutable_delta()->add_virtual_hosts() = Host("one", "b");
    script.push_back(fixed);
    v1::ServerMessage again = Full(4, "a");
    *again.mutable_full()->add_virtual_hosts() = Host("one", "a");
    script.push_back(again);
    for (const v1::ServerMessage& m : script) {
      if (!stream->Write(m) || !stream->Read(&msg)) return grpc::Status::CANCELLED;
    }
    while (stream->Read(&msg)) {
    }
    return grpc::Status::OK;
  }
};

TEST(SubscriptionTest, ChangedNamesAccumulateAcrossNacksUntilAFullSnapshot) {
  NackingController controller;
  int port = 0;
  std::unique_ptr<grpc::Server> server = Serve(controller, &port);
  ASSERT_NE(server, nullptr);

  struct Applied {
    uint64_t version;
    bool hinted;
    ChangedNames changed;
    bool ok;
    std::string two;  // the cluster two.example routes to
  };
  std::mutex mu;
  std::vector<Applied> applied;
  std::shared_ptr<const Config> served;  // as the data plane does
  SubscriptionOptions options;
  options.controllers = {StrCat("127.0.0.1:", port)};
  options.insecure = true;
  Subscription sub(options, [&](const v1::Snapshot& s, const ChangedNames* changed) {
    absl::StatusOr<std::shared_ptr<const Config>> config =
        Compile(s, net::CidrSet(), nullptr, served.get(), changed);
    absl::StatusOr<std::shared_ptr<const Config>> fresh = Compile(s, net::CidrSet());
    EXPECT_EQ(config.ok(), fresh.ok()) << s.version();
    std::lock_guard lock(mu);
    Applied a{s.version(), changed != nullptr, changed ? *changed : ChangedNames(), config.ok(),
              ""};
    if (config.ok()) {
      for (const auto& c : {*config, *fresh}) {
        const router::Route* r = c->routes->Match("two.example", "/").route;
        std::string cluster = r == nullptr ? "none" : r->action.clusters[0].cluster;
        if (c == *config) a.two = cluster;
        EXPECT_EQ(cluster, a.two) << "version " << s.version();
      }
      served = *config;
    }
    applied.push_back(a);
    return config.ok() ? absl::OkStatus() : config.status();
  });
  sub.Start();
  ASSERT_TRUE(WaitFor([&] { return sub.status().applied_version == 4; }));
  sub.Stop();
  server->Shutdown(std::chrono::system_clock::now());

  std::lock_guard lock(mu);
  ASSERT_EQ(applied.size(), 4u);
  EXPECT_FALSE(applied[0].hinted);  // a full snapshot: anything may have changed
  EXPECT_TRUE(applied[0].ok);
  ASSERT_TRUE(applied[1].hinted);
  EXPECT_EQ(applied[1].changed.since_version, 1u);
  EXPECT_THAT(applied[1].changed.virtual_hosts, ::testing::UnorderedElementsAre("two"));
  EXPECT_FALSE(applied[1].ok);  // NACKed: unknown cluster "c"
  // The NACKed version's names still count: "two" is compiled again and
  // routes to the cluster that now exists.
  ASSERT_TRUE(applied[2].hinted);
  EXPECT_EQ(applied[2].changed.since_version, 1u);
  EXPECT_THAT(applied[2].changed.virtual_hosts, ::testing::UnorderedElementsAre("one", "two"));
  EXPECT_THAT(applied[2].changed.clusters, ::testing::UnorderedElementsAre("c"));
  EXPECT_TRUE(applied[2].ok);
  EXPECT_EQ(applied[2].two, "c");
  // A full snapshot after deltas: no names.
  EXPECT_FALSE(applied[3].hinted);
  EXPECT_TRUE(applied[3].ok);
  EXPECT_EQ(applied[3].two, "none");
}

}  // namespace
}  // namespace portico::dataplane::config
