#pragma once
// The controller side of Snapshots.Stream: a gRPC server that sends every
// subscribed data plane the state it lacks (full, or deltas since the version
// it says it has), then each new version as a delta from the last version sent
// on that stream, and records the data plane's Acks and Nacks.
//
// Threading: Start, Stop and the destructor are called by the owner (one thread).
// port() and nodes() may be called from any thread. Each stream runs on a gRPC
// thread plus one reader thread of its own; on_send runs on the stream's thread.

#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "controller/push/node_registry.h"
#include "controller/push/snapshot_store.h"
#include "portico/v1/snapshot_service.pb.h"

namespace grpc {
class Server;
}  // namespace grpc

namespace portico::controller::push {

struct ServerOptions {
  // host:port; port 0 picks a free port (see SnapshotServer::port()).
  std::string listen_address = "127.0.0.1:18000";
  // Plaintext, for local runs only: the stream carries private keys.
  bool insecure = false;
  // PEM file paths. Data planes must present a certificate signed by tls_ca.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_ca;
  // When set (mTLS), a data plane's certificate must carry this name (SAN or CN).
  std::string required_client_name;
  // Called after each message is written to a stream, with the node id. For
  // debug logging and tests; it must be quick.
  std::function<void(const std::string& node_id, const v1::ServerMessage& message)> on_send;
};

class SnapshotServer {
 public:
  // `store` must outlive the server.
  SnapshotServer(SnapshotStore* store, ServerOptions options);
  ~SnapshotServer();  // Stop()
  SnapshotServer(const SnapshotServer&) = delete;
  SnapshotServer& operator=(const SnapshotServer&) = delete;

  // Reads the certificates and binds. Errors: unreadable files, address in use.
  absl::Status Start();
  // Ends every stream (data planes reconnect elsewhere) and waits for them.
  void Stop();

  // The bound port once Start succeeded, else 0.
  int port() const { return port_; }
  // Per data plane state, sorted by node id.
  std::vector<NodeState> nodes() const { return registry_.Nodes(); }
  NodeState node(const std::string& node_id) const { return registry_.Node(node_id); }

 private:
  class Service;
  struct StreamWait;

  // A stream registers itself so that Stop() can wake it; false when stopping.
  bool Register(StreamWait* stream);
  void Unregister(StreamWait* stream);

  SnapshotStore* const store_;
  const ServerOptions options_;
  NodeRegistry registry_;
  std::unique_ptr<Service> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;

  std::mutex mu_;
  bool stopping_ = false;
  std::set<StreamWait*> streams_;
};

}  // namespace portico::controller::push
