#pragma once
// The admin HTTP endpoint (/healthz, /readyz, /metrics, /config) on its own
// thread, away from the workers. Handlers are called on the admin thread and
// must only read thread-safe state.

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"

namespace httplib {
class Server;
}

namespace portico::admin {

struct AdminHandlers {
  std::function<bool()> ready;
  std::function<std::string()> metrics;      // Prometheus text format
  std::function<std::string()> config_info;  // JSON
};

class AdminServer {
 public:
  // Binds `host:port` (port 0: ephemeral) and serves on a new thread.
  static absl::StatusOr<std::unique_ptr<AdminServer>> Start(const std::string& host, int port,
                                                            AdminHandlers handlers);
  ~AdminServer();
  int port() const { return port_; }
  void Stop();

 private:
  AdminServer() = default;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  AdminHandlers handlers_;
};

}  // namespace portico::admin
