#pragma once
// A worker thread: its own libev loop, its own SO_REUSEPORT listener, its
// connections, upstream pools, load-balancer state and counters. No locks on
// the request path; other threads talk to it only through Post*().

#include <atomic>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "dataplane/config/config.h"
#include "dataplane/event/event_loop.h"
#include "dataplane/http1/server_connection.h"
#include "dataplane/http2/server_connection.h"
#include "dataplane/policy/basic_auth.h"
#include "dataplane/policy/ext_auth.h"
#include "dataplane/policy/rate_limiter.h"
#include "dataplane/proxy/access_log.h"
#include "dataplane/proxy/request_metrics.h"
#include "dataplane/proxy/worker_stats.h"
#include "dataplane/tls/handshake_connection.h"
#include "dataplane/tls/tls_transport.h"
#include "dataplane/upstream/cluster_runtime.h"
#include "dataplane/upstream/connection_pool.h"

namespace portico::dataplane::proxy {

// A worker's upstream connections to one cluster's endpoints, at scrape time.
using ClusterConnections = absl::flat_hash_map<std::string, upstream::ConnectionPool::Connections>;

struct WorkerOptions {
  bool access_log = true;
  bool metrics_per_host = false;       // host label on the request metrics
  bool h2c = false;                    // HTTP/2 with prior knowledge on plain listeners
  double http2_stall_timeout = 30;     // seconds
  uint16_t https_redirect_port = 443;  // in HTTPS redirects' Location; 443 is left out
  // The data plane's one rate limiter, shared by every worker (thread-safe).
  std::shared_ptr<policy::RateLimiter> rate_limiter;
  bool proxy_protocol = false;  // --proxy-protocol (or the snapshot's use_proxy_protocol)
};

// A listening socket of one worker; TLS ones terminate TLS with the
// configuration's certificate table.
struct WorkerListener {
  int fd = -1;
  bool tls = false;
  // The bound port: every connection accepted here has it as its local port,
  // so accepting asks no getsockname() (0: ask).
  uint16_t port = 0;
};

class Worker final : public http1::ConnectionOwner,
                     public http2::ConnectionOwner,
                     public http::RequestHandlerFactory,
                     public tls::HandshakeObserver {
 public:
  // Takes ownership of the listeners' sockets.
  Worker(int index, std::vector<WorkerListener> listeners, WorkerOptions options);
  ~Worker() override;

  // Thread-safe control from the main thread.
  void Start(std::shared_ptr<const config::Config> initial);
  // `applied` runs on the worker thread once the worker serves `config`.
  void PostConfig(std::shared_ptr<const config::Config> config,
                  std::function<void()> applied = nullptr);
  // Stop accepting, finish in-flight requests, close idle connections; the
  // thread exits when the last connection is gone.
  void PostDrain();
  // Ends the loop now (after the drain deadline).
  void PostStop();
  void Join();
  bool finished() const { return finished_.load(); }
  const WorkerStats& stats_view() const { return stats_; }
  // Runs `copy` on the worker thread with its request series and its
  // upstream connections by cluster of the current config (the admin thread
  // must not read them directly). Never runs if the worker has finished;
  // then, and only then, finished_request_series() is safe (and the pool is
  // closed).
  void PostRequestMetricsSnapshot(
      std::function<void(const RequestSeries&, const ClusterConnections&)> copy);
  const RequestSeries& finished_request_series() const { return request_metrics_.series(); }

  // Worker-thread only.
  event::EventLoop& loop() { return loop_; }
  const std::shared_ptr<const config::Config>& config() const { return config_; }
  std::shared_ptr<upstream::ClusterRuntime> FindCluster(const std::string& name) const;
  const std::string& PickCluster(const std::vector<router::ClusterWeight>& clusters);
  upstream::ConnectionPool& pool() { return *pool_; }
  std::mt19937_64& rng() { return rng_; }
  policy::BasicAuthenticator& basic_auth() { return basic_auth_; }
  WorkerStats& stats() { return stats_; }
  RequestMetrics& request_metrics() { return request_metrics_; }
  bool metrics_per_host() const { return options_.metrics_per_host; }
  bool access_log_enabled() const { return options_.access_log; }
  uint16_t https_redirect_port() const { return options_.https_redirect_port; }
  policy::RateLimiter* rate_limiter() const { return options_.rate_limiter.get(); }
  // Allowed external-auth answers (auth-cache-key), this worker's own.
  policy::AuthCache& auth_cache() { return auth_cache_; }
  void WriteAccessLog(const AccessLogEntry& entry);

  // http1::ConnectionOwner and http2::ConnectionOwner
  bool draining() const override { return draining_; }
  void OnConnectionClosed(http::ServerConnection* connection) override;
  void OnProtocolError(int status) override;
  const http1::ServerSettings& http1_settings() const override { return http1_settings_; }
  void OnHttp2Preface(http1::ServerConnection* connection,
                      std::unique_ptr<event::Transport> transport, std::string input) override;
  void OnHttp2Upgrade(http1::ServerConnection* connection,
                      std::unique_ptr<event::Transport> transport, std::string output,
                      std::string input, http::RequestHead head,
                      std::string settings_payload) override;
  void OnUpgrade(http1::ServerConnection* connection, std::unique_ptr<event::Transport> transport,
                 std::string output, std::string input, http::UpgradedUpstream upstream) override;
  const http2::ServerSettings& http2_settings() const override { return http2_settings_; }
  void OnFlood(http2::Flood kind) override;
  void OnStreamsChanged(int delta) override;

  // http::RequestHandlerFactory
  std::unique_ptr<http::RequestHandler> NewRequest(http::ResponseSink& sink) override;

  // tls::HandshakeObserver
  void OnHandshakeDone(const char* version, bool resumed) override;
  void OnHandshakeFailed() override;

 private:
  void Run();
  void ApplyConfig(std::shared_ptr<const config::Config> config);
  void OnAcceptable(const WorkerListener& listener);
  // After the PROXY header (if any): TLS handshake or HTTP/1.1 codec.
  void Serve(int fd, bool tls, http::ConnectionInfo info);
  // Takes a connection in and starts it.
  void Adopt(std::unique_ptr<http::ServerConnection> connection);
  // Lets go of a connection that handed its socket on (deletion deferred).
  void Release(http::ServerConnection* connection);
  void OnHandshakeFinished(tls::HandshakeConnection* handshake,
                           std::unique_ptr<tls::TlsTransport> transport, http::ConnectionInfo info);
  void StartHttp2(std::unique_ptr<event::Transport> transport, http::ConnectionInfo info,
                  std::string input, std::optional<http2::UpgradedRequest> upgrade = std::nullopt);
  void CloseListeners();
  void Drain();
  void MaybeFinishDrain();
  void FlushAccessLog();
  void UpdatePoolGauges();
  void StartGaugeTimer();

  const int index_;
  std::vector<WorkerListener> listeners_;
  WorkerOptions options_;
  event::EventLoop loop_;
  std::vector<std::unique_ptr<event::IoWatcher>> accept_watchers_;
  std::unique_ptr<upstream::ConnectionPool> pool_;
  event::Timer gauge_timer_;
  std::thread thread_;
  std::mt19937_64 rng_;
  policy::BasicAuthenticator basic_auth_;  // its cache of recent logins is per worker
  WorkerStats stats_;
  RequestMetrics request_metrics_;
  policy::AuthCache auth_cache_;

  std::shared_ptr<const config::Config> config_;
  http1::ServerSettings http1_settings_;
  http2::ServerSettings http2_settings_;
  absl::flat_hash_map<std::string, std::shared_ptr<upstream::ClusterRuntime>> clusters_;
  absl::flat_hash_map<http::ServerConnection*, std::unique_ptr<http::ServerConnection>>
      connections_;
  absl::flat_hash_set<http::ServerConnection*> http2_connections_;
  uint64_t next_connection_id_ = 0;
  bool draining_ = false;
  std::atomic<bool> finished_{false};
  std::string access_log_buffer_;
  bool access_log_flush_scheduled_ = false;
};

}  // namespace portico::dataplane::proxy
