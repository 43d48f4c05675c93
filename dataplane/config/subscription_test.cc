// The subscription client against a scripted controller on loopback, for the
// protocol edges the real controller never produces.

#include "dataplane/config/subscription.h"

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
      v1::ServerMessage bad;
      bad.set_version(6);
      bad.set_controller_instance("scripted");
      bad.mutable_delta()->set_base_version(5);
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
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
  builder.RegisterService(&controller);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);

  std::mutex mu;
  std::vector<v1::Snapshot> applied;
  SubscriptionOptions options;
  options.controllers = {StrCat("127.0.0.1:", port)};
  options.node_id = "dp";
  options.insecure = true;
  Subscription sub(options, [&](const v1::Snapshot& s) {
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
  Subscription sub(options, [](const v1::Snapshot&) { return absl::OkStatus(); });
  sub.Start();
  ASSERT_TRUE(WaitFor([&] { return !sub.status().controller.empty(); }));  // it tried
  const auto before = std::chrono::steady_clock::now();
  sub.Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(1));
  EXPECT_FALSE(sub.status().connected);
  EXPECT_EQ(sub.status().applied_version, 0u);
}

}  // namespace
}  // namespace portico::dataplane::config
