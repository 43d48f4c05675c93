#pragma once
// The data plane process: listeners, workers, the config life cycle (load,
// validate, publish by pointer swap, reload on SIGHUP or file change), the
// admin endpoint, and graceful drain on SIGTERM. Runs on the main thread.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/admin_server.h"
#include "common/net/ip_address.h"
#include "dataplane/config/config.h"
#include "dataplane/config/subscription.h"
#include "dataplane/proxy/worker.h"
#include "dataplane/tls/certificate.h"

struct ev_loop;

namespace portico::dataplane::proxy {

struct DataplaneOptions {
  std::string snapshot_path;  // empty: no snapshot yet (503 until one arrives)
  std::string http_listen = "127.0.0.1:8080";
  std::string https_listen = "127.0.0.1:8443";  // empty: no TLS listener
  // The port clients reach HTTPS on (the Service's, not the listener's), for
  // the Location of HTTPS redirects; 443 is left out.
  uint16_t https_redirect_port = 443;
  // Certificate for TLS names no virtual host claims; null: generated self-signed.
  std::shared_ptr<const tls::ServerCertificate> default_certificate;
  double ticket_key_rotation = 3600;  // seconds between session ticket key rotations
  std::string admin_listen = "127.0.0.1:10254";
  int workers = 1;
  net::CidrSet trusted_proxies;
  bool access_log = true;
  double drain_timeout = 30;          // seconds
  bool metrics_per_host = false;      // host label on the request metrics
  bool h2c = false;                   // HTTP/2 prior knowledge on the plain listener
  bool proxy_protocol = false;        // PROXY protocol v1/v2 header required on every listener
  double http2_stall_timeout = 30;    // seconds
  bool metrics_compat_nginx = false;  // also nginx_ingress_controller_* families
  // How long a scrape waits for each worker's copy of its request series.
  std::chrono::milliseconds metrics_scrape_timeout{1000};
  // Controllers to subscribe to; empty controllers: serve the snapshot file only.
  config::SubscriptionOptions subscription;
};

class Dataplane {
 public:
  explicit Dataplane(DataplaneOptions options);
  ~Dataplane();

  // Serves until SIGTERM or SIGINT, then drains. Returns an error only when
  // start-up fails (bad listen address, port in use).
  absl::Status Run();

 private:
  absl::Status StartListeners(std::vector<std::vector<WorkerListener>>& per_worker);
  absl::Status ListenAll(const std::string& address, const char* what, bool tls,
                         std::vector<std::vector<WorkerListener>>& per_worker);
  absl::Status StartAdmin();
  void Reload(const char* why);
  // Validates and compiles `snapshot` and, when it is good, publishes it.
  // `changed`: what differs from the snapshot the served Config came from
  // (null: unknown), as the subscription says.
  absl::Status Apply(const v1::Snapshot& snapshot, const char* why,
                     const config::ChangedNames* changed = nullptr);
  void StartSubscription();
  void Publish(std::shared_ptr<const config::Config> config);
  void BeginDrain();
  void CheckWorkersFinished();
  std::string RenderMetrics() const;
  // Asks every worker for a copy of its request series and merges them, and
  // sums their upstream connections by cluster into `clusters`;
  // `unanswered` counts workers that missed the deadline (left out).
  RequestSeries CollectRequestSeries(uint64_t& unanswered, ClusterConnections& clusters) const;
  std::string ConfigInfo() const;

  friend struct DataplaneCallbacks;

  DataplaneOptions options_;
  struct ev_loop* loop_ = nullptr;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<portico::admin::AdminServer> admin_;
  std::unique_ptr<config::Subscription> subscription_;

  mutable std::mutex mu_;
  std::shared_ptr<const config::Config> current_;  // guarded by mu_
  std::string last_error_;                         // guarded by mu_
  std::atomic<uint64_t> config_applies_{0};
  std::atomic<uint64_t> config_errors_{0};
  mutable std::atomic<uint64_t> scrape_workers_skipped_{0};
  std::atomic<bool> draining_{false};
  double drain_started_ = 0;
};

}  // namespace portico::dataplane::proxy
