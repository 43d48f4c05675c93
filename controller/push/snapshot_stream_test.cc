// The snapshot stream end to end on loopback: the controller's SnapshotServer
// and the data plane's Subscription, with certificates from scripts/dev-certs.sh.

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <google/protobuf/text_format.h>
#include <google/protobuf/util/message_differencer.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "common/strings.h"
#include "controller/push/snapshot_server.h"
#include "controller/push/snapshot_store.h"
#include "dataplane/config/subscription.h"

namespace portico::controller::push {
namespace {

using dataplane::config::Subscription;
using dataplane::config::SubscriptionOptions;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr char kNode[] = "dp-test";

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

// Polls `condition` until it holds or the deadline passes.
bool WaitFor(const std::function<bool()>& condition, milliseconds timeout = milliseconds(15000)) {
  const auto deadline = steady_clock::now() + timeout;
  while (!condition()) {
    if (steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

// True if `condition` stays false for the whole window (for what must never happen).
bool StaysFalse(const std::function<bool()>& condition, milliseconds window) {
  const auto end = steady_clock::now() + window;
  while (steady_clock::now() < end) {
    if (condition()) return false;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return true;
}

// A loopback port nobody listens on (connections are refused at once).
int ClosedPort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

v1::Snapshot Sample() {
  return Parse<v1::Snapshot>(R"pb(
    virtual_hosts {
      name: "web"
      hostnames: "web.example.com"
      routes {
        name: "root"
        match { type: TYPE_PREFIX path: "/" }
        action { cluster: "default/web:80" }
      }
    }
    clusters { name: "default/api:80" }
    clusters { name: "default/web:80" }
    endpoints {
      cluster: "default/api:80"
      endpoints { address: "10.0.0.2" port: 9090 ready: true }
    }
    endpoints {
      cluster: "default/web:80"
      endpoints { address: "10.0.0.1" port: 8080 ready: true }
    }
    secrets { name: "default/tls" certificate_chain: "cert" private_key: "key" }
  )pb");
}

// What the data plane was given, as its apply() saw it. Rejects snapshots with a
// cluster named "reject-me".
class AppliedLog {
 public:
  dataplane::config::ApplyFunction Apply() {
    return [this](const v1::Snapshot& s, const dataplane::config::ChangedNames*) {
      for (const auto& c : s.clusters()) {
        if (c.name() == "reject-me") return absl::InvalidArgumentError("cluster reject-me refused");
      }
      std::lock_guard lock(mu_);
      applied_.push_back(s);
      return absl::OkStatus();
    };
  }
  size_t size() const {
    std::lock_guard lock(mu_);
    return applied_.size();
  }
  v1::Snapshot last() const {
    std::lock_guard lock(mu_);
    return applied_.empty() ? v1::Snapshot() : applied_.back();
  }

 private:
  mutable std::mutex mu_;
  std::vector<v1::Snapshot> applied_;
};

// The messages the server wrote, per node.
class SentLog {
 public:
  std::function<void(const std::string&, const v1::ServerMessage&)> Hook() {
    return [this](const std::string& node, const v1::ServerMessage& m) {
      std::lock_guard lock(mu_);
      sent_[node].push_back(m);
    };
  }
  std::vector<v1::ServerMessage> For(const std::string& node) const {
    std::lock_guard lock(mu_);
    auto it = sent_.find(node);
    return it == sent_.end() ? std::vector<v1::ServerMessage>{} : it->second;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::vector<v1::ServerMessage>> sent_;
};

class SnapshotStreamTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/portico-stream-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = new std::string(tmpl);
    for (const char* name : {"certs", "other-certs"}) {
      std::string cmd = StrCat(PORTICO_DEV_CERTS_SCRIPT, " ", *root_, "/", name, " >/dev/null");
      ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    }
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*root_);
    delete root_;
  }

  void SetUp() override {
    state_dir_ =
        StrCat(*root_, "/state-", ::testing::UnitTest::GetInstance()->current_test_info()->name());
  }

  static std::string Cert(const std::string& file, const char* set = "certs") {
    return StrCat(*root_, "/", set, "/", file);
  }

  std::unique_ptr<SnapshotServer> StartServer(std::string listen = "127.0.0.1:0") {
    ServerOptions o;
    o.listen_address = std::move(listen);
    o.tls_cert = Cert("controller.pem");
    o.tls_key = Cert("controller-key.pem");
    o.tls_ca = Cert("ca.pem");
    o.on_send = sent_.Hook();
    auto server = std::make_unique<SnapshotServer>(&store_, o);
    absl::Status started = server->Start();
    EXPECT_TRUE(started.ok()) << started;
    return server;
  }

  SubscriptionOptions ClientOptions(int port) const {
    SubscriptionOptions o;
    o.controllers = {StrCat("127.0.0.1:", port)};
    o.node_id = kNode;
    o.state_dir = state_dir_;
    o.tls_cert = Cert("dataplane.pem");
    o.tls_key = Cert("dataplane-key.pem");
    o.tls_ca = Cert("ca.pem");
    return o;
  }

  v1::Snapshot StoreFull() const { return store_.MessageFor(0, "")->full(); }

  static std::string* root_;
  std::string state_dir_;
  SnapshotStore store_;
  SentLog sent_;
  AppliedLog applied_;
};

std::string* SnapshotStreamTest::root_ = nullptr;

TEST_F(SnapshotStreamTest, FullSnapshotThenEndpointChangeAsDelta) {
  ASSERT_EQ(store_.Update(Sample()), 1u);
  auto server = StartServer();
  Subscription sub(ClientOptions(server->port()), applied_.Apply());
  sub.Start();

  ASSERT_TRUE(WaitFor([&] { return server->node(kNode).acked_version == 1; }));
  ASSERT_EQ(applied_.size(), 1u);
  EXPECT_THAT(applied_.last(), EqualsProto(StoreFull()));
  ASSERT_EQ(sent_.For(kNode).size(), 1u);
  EXPECT_TRUE(sent_.For(kNode)[0].has_full());
  EXPECT_THAT(server->node(kNode).identity, ::testing::HasSubstr("portico-dataplane"));

  v1::Snapshot next = Sample();
  next.mutable_endpoints(1)->mutable_endpoints(0)->set_ready(false);
  next.mutable_endpoints(1)->mutable_endpoints(0)->set_terminating(true);
  ASSERT_EQ(store_.Update(next), 2u);

  ASSERT_TRUE(WaitFor([&] { return server->node(kNode).acked_version == 2; }));
  std::vector<v1::ServerMessage> sent = sent_.For(kNode);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_EQ(sent[1].version(), 2u);
  EXPECT_THAT(sent[1].delta(), EqualsProto(Parse<v1::Delta>(R"pb(
                base_version: 1
                endpoints {
                  cluster: "default/web:80"
                  endpoints { address: "10.0.0.1" port: 8080 terminating: true }
                }
              )pb")));
  EXPECT_THAT(applied_.last(), EqualsProto(StoreFull()));
  EXPECT_EQ(applied_.last().version(), 2u);

  Subscription::Status status = sub.status();
  EXPECT_TRUE(status.connected);
  EXPECT_EQ(status.applied_version, 2u);
  EXPECT_EQ(status.controller, StrCat("127.0.0.1:", server->port()));
  EXPECT_EQ(status.nacks, 0u);

  auto persisted = Subscription::LoadPersisted(state_dir_);
  ASSERT_TRUE(persisted.ok()) << persisted.status();
  EXPECT_THAT(*persisted, EqualsProto(StoreFull()));

  // Stop interrupts the stream blocked waiting for the next version.
  const auto before = steady_clock::now();
  sub.Stop();
  EXPECT_LT(steady_clock::now() - before, milliseconds(2000));
  EXPECT_TRUE(WaitFor([&] { return !server->node(kNode).connected; }));
}

TEST_F(SnapshotStreamTest, RejectedVersionIsNackedAndThePreviousOneKept) {
  store_.Update(Sample());
  auto server = StartServer();
  Subscription sub(ClientOptions(server->port()), applied_.Apply());
  sub.Start();
  ASSERT_TRUE(WaitFor([&] { return server->node(kNode).acked_version == 1; }));
  const v1::Snapshot good = applied_.last();

  v1::Snapshot bad = Sample();
  bad.add_clusters()->set_name("reject-me");
  ASSERT_EQ(store_.Update(bad), 2u);

  ASSERT_TRUE(WaitFor([&] { return server->node(kNode).nacks == 1; }));
  NodeState node = server->node(kNode);
  EXPECT_EQ(node.last_nack_version, 2u);
  EXPECT_THAT(node.last_nack_error, ::testing::HasSubstr("reject-me refused"));
  EXPECT_EQ(node.acked_version, 1u);
  EXPECT_EQ(applied_.size(), 1u);
  EXPECT_EQ(sub.status().applied_version, 1u);
  EXPECT_EQ(sub.status().nacks, 1u);
  auto persisted = Subscription::LoadPersisted(state_dir_);
  ASSERT_TRUE(persisted.ok());
  EXPECT_THAT(*persisted, EqualsProto(good));

  // The fix arrives as a delta from the rejected version, and merges into the
  // controller's state.
  v1::Snapshot fixed = Sample();
  fixed.mutable_clusters(0)->set_max_connections(5);
  ASSERT_EQ(store_.Update(fixed), 3u);
  ASSERT_TRUE(WaitFor([&] { return server->node(kNode).acked_version == 3; }));
  EXPECT_EQ(sent_.For(kNode).back().delta().base_version(), 2u);
  EXPECT_THAT(applied_.last(), EqualsProto(StoreFull()));
  EXPECT_EQ(sub.status().applied_version, 3u);
}

TEST_F(SnapshotStreamTest, ClientCertificateFromAnotherCaIsRefused) {
  store_.Update(Sample());
  auto server = StartServer();

  // Trusts the controller, but its own certificate comes from another CA.
  SubscriptionOptions intruder = ClientOptions(server->port());
  intruder.node_id = "intruder";
  intruder.state_dir.clear();
  intruder.tls_cert = Cert("dataplane.pem", "other-certs");
  intruder.tls_key = Cert("dataplane-key.pem", "other-certs");
  AppliedLog intruder_applied;
  Subscription bad(intruder, intruder_applied.Apply());
  bad.Start();

  // The same server serves a legitimate data plane meanwhile.
  Subscription good(ClientOptions(server->port()), applied_.Apply());
  good.Start();
  ASSERT_TRUE(WaitFor([&] { return applied_.size() == 1; }));

  EXPECT_TRUE(StaysFalse([&] { return intruder_applied.size() > 0 || bad.status().connected; },
                         milliseconds(1500)));
  EXPECT_EQ(server->node("intruder").node_id, "");
  EXPECT_TRUE(sent_.For("intruder").empty());
}

TEST_F(SnapshotStreamTest, PersistedSnapshotServesWhenTheControllerIsDown) {
  store_.Update(Sample());
  auto server = StartServer();
  const int port = server->port();
  {
    Subscription sub(ClientOptions(port), applied_.Apply());
    sub.Start();
    ASSERT_TRUE(WaitFor([&] { return sub.status().applied_version == 1; }));
  }
  server->Stop();
  server.reset();

  // The data plane restarts; the controller is gone.
  auto persisted = Subscription::LoadPersisted(state_dir_);
  ASSERT_TRUE(persisted.ok()) << persisted.status();
  EXPECT_THAT(*persisted, EqualsProto(StoreFull()));
  EXPECT_EQ(persisted->version(), 1u);

  AppliedLog restarted_applied;
  Subscription restarted(ClientOptions(port), restarted_applied.Apply());
  restarted.Start();
  EXPECT_TRUE(
      StaysFalse([&] { return restarted_applied.size() > 0 || restarted.status().connected; },
                 milliseconds(500)));
  const auto before = steady_clock::now();
  restarted.Stop();  // during the backoff sleep or a connection attempt
  EXPECT_LT(steady_clock::now() - before, milliseconds(2000));

  EXPECT_EQ(Subscription::LoadPersisted(StrCat(*root_, "/nowhere")).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(SnapshotStreamTest, ReconnectResumesWithADeltaFromTheAppliedVersion) {
  store_.Update(Sample());
  auto server = StartServer();
  const int port = server->port();
  Subscription sub(ClientOptions(port), applied_.Apply());
  sub.Start();
  ASSERT_TRUE(WaitFor([&] { return server->node(kNode).acked_version == 1; }));

  // The controller's stream server restarts (same store, same port) and a
  // secret rotates meanwhile.
  server->Stop();
  server.reset();
  v1::Snapshot rotated = Sample();
  rotated.mutable_secrets(0)->set_certificate_chain("rotated");
  ASSERT_EQ(store_.Update(rotated), 2u);
  auto again = StartServer(StrCat("127.0.0.1:", port));
  ASSERT_EQ(again->port(), port);

  ASSERT_TRUE(WaitFor([&] { return again->node(kNode).acked_version == 2; }));
  std::vector<v1::ServerMessage> sent = sent_.For(kNode);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_THAT(sent[1].delta(), EqualsProto(Parse<v1::Delta>(R"pb(
                base_version: 1
                secrets { name: "default/tls" certificate_chain: "rotated" private_key: "key" }
              )pb")));
  EXPECT_THAT(applied_.last(), EqualsProto(StoreFull()));
}

TEST_F(SnapshotStreamTest, FailsOverToTheNextControllerInsecure) {
  store_.Update(Sample());
  ServerOptions o;
  o.listen_address = "127.0.0.1:0";
  o.insecure = true;
  SnapshotServer server(&store_, o);
  ASSERT_TRUE(server.Start().ok());

  SubscriptionOptions c;
  c.controllers = {StrCat("127.0.0.1:", ClosedPort()), StrCat("127.0.0.1:", server.port())};
  c.node_id = kNode;
  c.insecure = true;
  Subscription sub(c, applied_.Apply());
  sub.Start();
  ASSERT_TRUE(WaitFor([&] { return sub.status().applied_version == 1; }));
  EXPECT_EQ(sub.status().controller, c.controllers[1]);
  EXPECT_THAT(applied_.last(), EqualsProto(StoreFull()));
}

}  // namespace
}  // namespace portico::controller::push
