#include "dataplane/config/subscription.h"

#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string_view>
#include <utility>

#include "common/log.h"
#include "common/strings.h"
#include "dataplane/config/delta.h"
#include "portico/v1/snapshot_service.grpc.pb.h"

namespace portico::dataplane::config {
namespace {

constexpr std::string_view kLog = "subscription";
constexpr char kStateFile[] = "snapshot.pb";
constexpr std::chrono::milliseconds kInitialBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{5000};

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(ToAbsl(StrCat("cannot read ", path)));
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return absl::DataLossError(ToAbsl(StrCat("error reading ", path)));
  return out.str();
}

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> Credentials(
    const SubscriptionOptions& o) {
  if (o.insecure) return grpc::InsecureChannelCredentials();
  // Read on every connection attempt, so that rotated certificates are picked up
  // on the next reconnect.
  grpc::SslCredentialsOptions ssl;
  for (auto [path, out] :
       {std::pair{&o.tls_ca, &ssl.pem_root_certs}, std::pair{&o.tls_cert, &ssl.pem_cert_chain},
        std::pair{&o.tls_key, &ssl.pem_private_key}}) {
    if (path->empty()) {
      return absl::InvalidArgumentError(
          "mTLS to the controller needs a CA, a client certificate and its key (or insecure)");
    }
    auto pem = ReadFile(*path);
    if (!pem.ok()) return pem.status();
    *out = *std::move(pem);
  }
  return grpc::SslCredentials(ssl);
}

std::string HostName() {
  char name[256] = {};
  if (gethostname(name, sizeof(name) - 1) != 0) return "unknown";
  return name;
}

std::chrono::milliseconds Backoff(int failures) {
  auto delay = kInitialBackoff * (1LL << std::min(failures, 16));
  delay = std::min<std::chrono::milliseconds>(delay, kMaxBackoff);
  // Jitter in [delay/2, delay] so that data planes restarted together do not
  // reconnect in lockstep.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<int64_t> pick(delay.count() / 2, delay.count());
  return std::chrono::milliseconds(pick(rng));
}

absl::Status WriteAll(int fd, const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::InternalError(ToAbsl(StrCat("write: ", std::strerror(errno))));
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

Subscription::Subscription(SubscriptionOptions options, ApplyFunction apply)
    : options_(std::move(options)), apply_(std::move(apply)) {
  changed_.everything = true;
}

Subscription::~Subscription() { Stop(); }

void Subscription::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable() || stopping_) return;
  if (options_.controllers.empty()) {
    LogError(kLog, "no controller address to subscribe to");
    return;
  }
  thread_ = std::thread([this] { Run(); });
}

void Subscription::Stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (context_ != nullptr) context_->TryCancel();
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

Subscription::Status Subscription::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

bool Subscription::Sleep(std::chrono::milliseconds delay) {
  std::unique_lock lock(mu_);
  return !cv_.wait_for(lock, delay, [this] { return stopping_; });
}

void Subscription::Run() {
  size_t index = 0;
  int failures = 0;
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
    }
    const std::string& controller = options_.controllers[index];
    // A stream that delivered something was healthy: reconnect quickly.
    failures = RunStream(controller) ? 0 : failures + 1;
    index = (index + 1) % options_.controllers.size();
    if (!Sleep(Backoff(failures))) return;
  }
}

bool Subscription::RunStream(const std::string& controller) {
  {
    std::lock_guard lock(mu_);
    status_.controller = controller;
  }
  auto creds = Credentials(options_);
  if (!creds.ok()) {
    LogError(kLog, "cannot connect to controller ", controller, ": ", creds.status().ToString());
    return false;
  }
  grpc::ChannelArguments args;
  if (!options_.server_name_override.empty()) {
    args.SetSslTargetNameOverride(options_.server_name_override);
  }
  // A full snapshot with many certificates can exceed gRPC's 4 MB default.
  args.SetMaxReceiveMessageSize(-1);
  // Keepalive finds a controller that vanished without closing (a partition),
  // so that the data plane fails over instead of waiting for changes forever.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, 20000);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, 10000);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  // Bounds a connection attempt to an unreachable controller (default 20 s).
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 5000);
  // A fresh channel per attempt, with its own subchannels (not gRPC's global
  // pool): its first connection is immediate, and the backoff between
  // controllers is ours.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  auto channel = grpc::CreateCustomChannel(controller, *creds, args);
  auto stub = v1::Snapshots::NewStub(channel);

  grpc::ClientContext context;
  {
    std::lock_guard lock(mu_);
    if (stopping_) return false;
    context_ = &context;
  }
  auto stream = stub->Stream(&context);

  v1::ClientMessage hello;
  hello.mutable_hello()->set_node_id(options_.node_id.empty() ? HostName() : options_.node_id);
  if (!need_full_) {
    hello.mutable_hello()->set_last_applied_version(state_.version());
    hello.mutable_hello()->set_controller_instance(instance_);
  }
  bool delivered = false;
  if (stream->Write(hello)) {
    v1::ServerMessage message;
    while (stream->Read(&message)) {
      if (!delivered) {
        delivered = true;
        std::lock_guard lock(mu_);
        status_.connected = true;
        LogInfo(kLog, "subscribed to controller ", controller, " (", message.controller_instance(),
                ")");
      }
      v1::ClientMessage answer;
      absl::Status consumed = Consume(message, answer);
      if (!consumed.ok()) {
        LogWarning(kLog, "resynchronizing with controller ", controller, ": ", consumed.ToString());
        need_full_ = true;
        context.TryCancel();
        break;
      }
      if (!stream->Write(answer)) break;
    }
  }
  grpc::Status finished = stream->Finish();
  {
    std::lock_guard lock(mu_);
    context_ = nullptr;
    status_.connected = false;
    if (!stopping_) {
      LogWarning(
          kLog, "stream to controller ", controller, " ended: ",
          finished.error_message().empty() ? std::string("closed") : finished.error_message());
    }
  }
  return delivered;
}

absl::Status Subscription::Consume(const v1::ServerMessage& message, v1::ClientMessage& answer) {
  if (message.has_full()) {
    state_ = message.full();
    changed_.everything = true;
  } else if (message.has_delta()) {
    if (message.controller_instance() != instance_) {
      return absl::FailedPreconditionError("delta from another controller instance");
    }
    absl::Status merged = ApplyDelta(state_, message.delta(), &changed_);
    if (!merged.ok()) return merged;  // state_ is unchanged, and a full snapshot comes next
  } else {
    return absl::InvalidArgumentError("message with neither a snapshot nor a delta");
  }
  state_.set_version(message.version());
  instance_ = message.controller_instance();
  need_full_ = false;

  const uint64_t version = message.version();
  // Reconnected to the controller whose version is already applied: nothing to do.
  if (version == applied_version_ && instance_ == applied_instance_) {
    answer.mutable_ack()->set_version(version);
    return absl::OkStatus();
  }
  changed_.since_version = applied_version_;
  absl::Status applied = apply_(state_, changed_.everything ? nullptr : &changed_);
  if (!applied.ok()) {
    // state_ stays at the rejected version: the controller's next delta is
    // relative to it, and the merged result is the controller's next version.
    LogWarning(kLog, "rejected version ", version, ": ", applied.ToString());
    answer.mutable_nack()->set_version(version);
    answer.mutable_nack()->set_error(std::string(ToStd(applied.message())));
    std::lock_guard lock(mu_);
    status_.nacks++;
    return absl::OkStatus();
  }
  applied_version_ = version;
  applied_instance_ = instance_;
  changed_.Reset(version);
  Persist(state_);
  answer.mutable_ack()->set_version(version);
  std::lock_guard lock(mu_);
  status_.applied_version = version;
  return absl::OkStatus();
}

void Subscription::Persist(const v1::Snapshot& snapshot) const {
  if (options_.state_dir.empty()) return;
  std::error_code ec;
  std::filesystem::create_directories(options_.state_dir, ec);
  const std::string path = options_.state_dir + "/" + kStateFile;
  const std::string tmp = path + ".tmp";
  std::string bytes;
  if (!snapshot.SerializeToString(&bytes)) {
    LogError(kLog, "cannot serialize snapshot ", snapshot.version());
    return;
  }
  // The snapshot holds private keys: owner-only. Written aside and renamed so
  // that a crash leaves the previous file or the new one, never half of one.
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    LogError(kLog, "cannot persist snapshot to ", tmp, ": ", std::strerror(errno));
    return;
  }
  absl::Status written = WriteAll(fd, bytes);
  if (written.ok() && fsync(fd) != 0) {
    written = absl::InternalError(ToAbsl(StrCat("fsync: ", std::strerror(errno))));
  }
  close(fd);
  if (written.ok() && rename(tmp.c_str(), path.c_str()) != 0) {
    written = absl::InternalError(ToAbsl(StrCat("rename: ", std::strerror(errno))));
  }
  if (!written.ok()) {
    unlink(tmp.c_str());
    LogError(kLog, "cannot persist snapshot to ", path, ": ", written.ToString());
  }
}

absl::StatusOr<v1::Snapshot> Subscription::LoadPersisted(const std::string& state_dir) {
  const std::string path = state_dir + "/" + kStateFile;
  auto bytes = ReadFile(path);
  if (!bytes.ok()) return bytes.status();
  v1::Snapshot snapshot;
  if (!snapshot.ParseFromString(*bytes)) {
    return absl::DataLossError(ToAbsl(StrCat(path, " is not a snapshot")));
  }
  return snapshot;
}

}  // namespace portico::dataplane::config
