#pragma once
// The data plane's client of Snapshots.Stream: subscribes to a controller,
// keeps the complete snapshot up to date from full snapshots and deltas, hands
// each version to `apply`, answers Ack or Nack, and persists what it applied
// so the data plane can start without a controller.
//
// Threading: the constructor, Start, Stop and the destructor are called by the
// owner on one thread. The subscription runs its own thread, on which `apply`
// is called; apply must not call Stop(). status() may be called from any thread.

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "dataplane/config/changed_names.h"
#include "portico/v1/snapshot.pb.h"
#include "portico/v1/snapshot_service.pb.h"

namespace grpc {
class ClientContext;
}  // namespace grpc

namespace portico::dataplane::config {

struct SubscriptionOptions {
  std::vector<std::string> controllers;  // host:port, tried in order, failing over
  std::string node_id;                   // empty: the host name
  std::string state_dir;  // persist the last applied snapshot here ("snapshot.pb"); empty = don't
  bool insecure = false;
  std::string tls_cert, tls_key, tls_ca;  // PEM file paths (mTLS)
  std::string server_name_override;       // expected controller name when it differs from host
};

// apply: called on the subscription thread with the complete merged snapshot
// and what may have changed since the last version it accepted (null: anything,
// e.g. after a full snapshot or before the first success; valid for the call
// only); return OK to ACK, an error to NACK (the data plane keeps its previous config).
using ApplyFunction = std::function<absl::Status(const v1::Snapshot&, const ChangedNames*)>;

class Subscription {
 public:
  Subscription(SubscriptionOptions options, ApplyFunction apply);
  ~Subscription();  // stops and joins
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

  // Starts the subscription thread; it connects, and reconnects with jittered
  // exponential backoff (100 ms to 5 s), trying the controllers round-robin.
  void Start();
  // Interrupts a blocked stream (cancels it) and joins the thread.
  void Stop();

  // Reads <state_dir>/snapshot.pb if present (for starting without a controller).
  // NotFound when there is none.
  static absl::StatusOr<v1::Snapshot> LoadPersisted(const std::string& state_dir);

  // Thread-safe status for metrics: connected controller, last applied version, NACKs sent.
  struct Status {
    std::string controller;  // the one connected to, else the last tried
    bool connected = false;  // a stream is open and has delivered a message
    uint64_t applied_version = 0;
    uint64_t nacks = 0;
  };
  Status status() const;

 private:
  void Run();
  // One stream to one controller, until it ends. True if it delivered a message.
  bool RunStream(const std::string& controller);
  // Merges and applies one message; sets `ack` to the answer. An error means
  // the stream cannot continue (the client needs a full snapshot).
  absl::Status Consume(const v1::ServerMessage& message, v1::ClientMessage& answer);
  void Persist(const v1::Snapshot& snapshot) const;
  // Waits for `delay` or Stop(); false when stopping.
  bool Sleep(std::chrono::milliseconds delay);

  const SubscriptionOptions options_;
  const ApplyFunction apply_;
  std::thread thread_;

  // Owned by the subscription thread.
  v1::Snapshot state_;      // the controller's latest version as merged here
  std::string instance_;    // the controller instance state_ came from
  bool need_full_ = false;  // after a protocol error: ask for a full snapshot
  uint64_t applied_version_ = 0;
  std::string applied_instance_;
  // The names merged since applied_version_, across NACKed versions too.
  ChangedNames changed_;  // `everything` until the first success

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  grpc::ClientContext* context_ = nullptr;  // the open stream's, for Stop()
  Status status_;
};

}  // namespace portico::dataplane::config
