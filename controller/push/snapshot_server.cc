#include "controller/push/snapshot_server.h"

#include <grpcpp/grpcpp.h>
#include <grpcpp/security/server_credentials.h>

#include <chrono>
#include <condition_variable>
#include <fstream>
#include <sstream>
#include <string_view>
#include <thread>
#include <utility>

#include "absl/status/statusor.h"
#include "common/log.h"
#include "common/strings.h"
#include "portico/v1/snapshot_service.grpc.pb.h"

namespace portico::controller::push {
namespace {

constexpr std::string_view kLog = "snapshot-server";

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(ToAbsl(StrCat("cannot read ", path)));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> Credentials(const ServerOptions& o) {
  if (o.insecure) return grpc::InsecureServerCredentials();
  if (o.tls_cert.empty() || o.tls_key.empty() || o.tls_ca.empty()) {
    return absl::InvalidArgumentError(
        "the snapshot server needs a certificate, key and client CA (or insecure mode)");
  }
  auto cert = ReadFile(o.tls_cert);
  if (!cert.ok()) return cert.status();
  auto key = ReadFile(o.tls_key);
  if (!key.ok()) return key.status();
  auto ca = ReadFile(o.tls_ca);
  if (!ca.ok()) return ca.status();
  // Private keys travel on this stream: only data planes whose certificate the
  // CA signed may subscribe.
  grpc::SslServerCredentialsOptions ssl(GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY);
  ssl.pem_root_certs = *std::move(ca);
  ssl.pem_key_cert_pairs.push_back({*std::move(key), *std::move(cert)});
  return grpc::SslServerCredentials(ssl);
}

std::string PeerIdentity(const grpc::ServerContext& ctx) {
  std::string out;
  auto auth = ctx.auth_context();
  if (auth == nullptr) return out;
  for (const grpc::string_ref& name : auth->GetPeerIdentity()) {
    if (!out.empty()) out += ",";
    out.append(name.data(), name.size());
  }
  return out;
}

bool HasPeerName(const grpc::ServerContext& ctx, const std::string& want) {
  auto auth = ctx.auth_context();
  if (auth == nullptr) return false;
  for (const char* property : {"x509_subject_alternative_name", "x509_common_name"}) {
    for (const grpc::string_ref& name : auth->FindPropertyValues(property)) {
      if (std::string_view(name.data(), name.size()) == want) return true;
    }
  }
  return false;
}

}  // namespace

// What a stream waits for: a newer version, its reader finishing, or Stop().
struct SnapshotServer::StreamWait {
  std::mutex mu;
  std::condition_variable cv;
  uint64_t latest = 0;
  bool reader_done = false;
  bool stopping = false;
};

class SnapshotServer::Service final : public v1::Snapshots::Service {
 public:
  explicit Service(SnapshotServer* server) : server_(server) {}

  grpc::Status Stream(
      grpc::ServerContext* ctx,
      grpc::ServerReaderWriter<v1::ServerMessage, v1::ClientMessage>* stream) override {
    if (!server_->options_.required_client_name.empty() && !server_->options_.insecure &&
        !HasPeerName(*ctx, server_->options_.required_client_name)) {
      // The CA vouches for the certificate; this checks it was issued to a
      // data plane and not to some other client of the same CA.
      LogWarning(kLog, "refused ", ctx->peer(), ": certificate names \"", PeerIdentity(*ctx),
                 "\", want ", server_->options_.required_client_name);
      return grpc::Status(
          grpc::StatusCode::PERMISSION_DENIED,
          "client certificate does not name " + server_->options_.required_client_name);
    }
    v1::ClientMessage first;
    if (!stream->Read(&first)) return grpc::Status(grpc::StatusCode::CANCELLED, "no Hello");
    if (!first.has_hello()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "the first message must be Hello");
    }
    const v1::Hello hello = first.hello();
    const std::string node = hello.node_id().empty() ? ctx->peer() : hello.node_id();

    StreamWait wait;
    if (!server_->Register(&wait)) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "controller shutting down");
    }
    NodeRegistry& registry = server_->registry_;
    SnapshotStore& store = *server_->store_;
    registry.Connected(node, ctx->peer(), PeerIdentity(*ctx));
    LogInfo(kLog, "data plane ", node, " subscribed from ", ctx->peer(), " with version ",
            hello.last_applied_version());

    int listener = store.AddListener([&wait](uint64_t version) {
      std::lock_guard lock(wait.mu);
      wait.latest = version;
      wait.cv.notify_all();
    });
    {
      // Read after registering the listener so that no version is missed.
      std::lock_guard lock(wait.mu);
      wait.latest = store.version();
    }

    // Acks and Nacks arrive while this thread may be blocked writing or waiting.
    std::thread reader([&] {
      v1::ClientMessage msg;
      while (stream->Read(&msg)) {
        if (msg.has_ack()) {
          registry.Acked(node, msg.ack().version());
        } else if (msg.has_nack()) {
          registry.Nacked(node, msg.nack().version(), msg.nack().error());
          LogWarning(kLog, "data plane ", node, " rejected version ", msg.nack().version(), ": ",
                     msg.nack().error());
        }
      }
      std::lock_guard lock(wait.mu);
      wait.reader_done = true;
      wait.cv.notify_all();
    });

    uint64_t have = hello.last_applied_version();
    std::string have_instance = hello.controller_instance();
    bool first_sent = false;
    bool stopping = false;
    while (true) {
      {
        std::unique_lock lock(wait.mu);
        // The first message goes out even when the data plane is up to date (an
        // empty delta), so that it learns it is and acknowledges.
        wait.cv.wait(lock, [&] {
          return wait.stopping || wait.reader_done ||
                 (wait.latest != 0 && (!first_sent || wait.latest != have));
        });
        stopping = wait.stopping;
        if (wait.stopping || wait.reader_done) break;
      }
      std::shared_ptr<const v1::ServerMessage> msg = store.MessageFor(have, have_instance);
      if (msg == nullptr) continue;
      if (!stream->Write(*msg)) break;
      first_sent = true;
      have = msg->version();
      have_instance = msg->controller_instance();
      registry.Sent(node, *msg);
      if (server_->options_.on_send) server_->options_.on_send(node, *msg);
    }

    store.RemoveListener(listener);
    bool reader_done;
    {
      std::lock_guard lock(wait.mu);
      reader_done = wait.reader_done;
    }
    if (!reader_done) ctx->TryCancel();  // unblocks the reader's Read
    reader.join();
    server_->Unregister(&wait);
    registry.Disconnected(node);
    LogInfo(kLog, "data plane ", node, " disconnected");
    if (stopping) return grpc::Status(grpc::StatusCode::UNAVAILABLE, "controller shutting down");
    return grpc::Status::OK;
  }

 private:
  SnapshotServer* const server_;
};

SnapshotServer::SnapshotServer(SnapshotStore* store, ServerOptions options)
    : store_(store), options_(std::move(options)) {}

SnapshotServer::~SnapshotServer() { Stop(); }

absl::Status SnapshotServer::Start() {
  auto creds = Credentials(options_);
  if (!creds.ok()) return creds.status();
  service_ = std::make_unique<Service>(this);
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options_.listen_address, *creds, &port_);
  builder.RegisterService(service_.get());
  // gRPC sets SO_REUSEPORT by default, which would let a second controller on the
  // same host share the port silently instead of failing.
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // Streams idle for hours between changes: keepalive finds data planes that
  // vanished without closing, so their state reads "disconnected".
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIME_MS, 30000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // Data planes ping every 20 s (subscription.cc); accept that without GOAWAY.
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 10000);
  server_ = builder.BuildAndStart();
  if (server_ == nullptr || port_ == 0) {
    server_.reset();
    port_ = 0;
    return absl::UnavailableError(
        ToAbsl(StrCat("cannot listen for snapshot streams on ", options_.listen_address)));
  }
  LogInfo(kLog, "serving snapshots on ", options_.listen_address, " (port ", port_, ", ",
          options_.insecure ? "insecure" : "mTLS", ")");
  return absl::OkStatus();
}

void SnapshotServer::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (StreamWait* s : streams_) {
      std::lock_guard stream_lock(s->mu);
      s->stopping = true;
      s->cv.notify_all();
    }
  }
  if (server_ != nullptr) {
    // Streams end by themselves once woken; the deadline only cancels those
    // still waiting for a Hello.
    server_->Shutdown(std::chrono::system_clock::now() + std::chrono::milliseconds(500));
    server_->Wait();
  }
}

bool SnapshotServer::Register(StreamWait* stream) {
  std::lock_guard lock(mu_);
  if (stopping_) return false;
  streams_.insert(stream);
  return true;
}

void SnapshotServer::Unregister(StreamWait* stream) {
  std::lock_guard lock(mu_);
  streams_.erase(stream);
}

}  // namespace portico::controller::push
