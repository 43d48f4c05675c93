#pragma once
// Per-worker pools of upstream connections, keyed by endpoint (and, for TLS
// clusters, by the TLS context: a connection verified for one name never
// serves a cluster that wants another): keep-alive HTTP/1.1 connections (one
// exchange at a time), plain or over TLS, and multiplexed HTTP/2 ones for
// clusters that speak h2c or h2 over TLS (gRPC, GRPCS). TLS sessions are
// cached per endpoint for resumption. Owned by one worker; never shared.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "common/metrics.h"
#include "dataplane/event/event_loop.h"
#include "dataplane/http1/client_connection.h"
#include "dataplane/http2/client_connection.h"
#include "dataplane/tls/upstream_tls.h"
#include "dataplane/upstream/cluster_config.h"

namespace portico::dataplane::upstream {

class ConnectionPool final : public http1::ClientConnectionOwner,
                             public http2::ClientConnectionOwner {
 public:
  // `connect_duration` (may be null) observes every completed TCP connect
  // upstream; it is the owning worker's and outlives the pool.
  explicit ConnectionPool(event::EventLoop& loop, metrics::Histogram* connect_duration = nullptr);
  ~ConnectionPool() override;

  // A connection to `endpoint` bound to `handler`: the most recently idled
  // one when available and not `fresh` (connected() is true), else a new one that reports
  // OnUpstreamReady or a failure. Returns nullptr when the cluster's
  // max_connections for this endpoint is reached.
  // `fresh`: never hand out a pooled connection.
  http::ClientStream* Acquire(const ClusterConfig& cluster, const EndpointConfig& endpoint,
                              http::ClientStreamHandler* handler, bool fresh = false);

  // Closes every idle connection (drain, shutdown).
  void CloseIdle();
  // Endpoints of the current config: idle connections to others close now,
  // busy ones when their exchange ends (an endpoint that left must not keep
  // getting requests through a warm connection).
  void SetLiveEndpoints(absl::flat_hash_set<std::string> keys);

  size_t active_connections() const;
  size_t idle_connections() const;
  uint64_t connections_opened() const { return opened_; }
  const tls::SessionCache& tls_sessions() const { return *sessions_; }

  struct Connections {
    uint64_t active = 0;  // connecting, or carrying a request
    uint64_t idle = 0;
  };
  // Connections to the endpoints of `cluster`. Pools are per endpoint, so an
  // endpoint that two clusters share counts for both.
  Connections ConnectionsTo(const ClusterConfig& cluster) const;

  // http1::ClientConnectionOwner
  void OnIdle(http1::ClientConnection* connection) override;
  void OnConnected(http1::ClientConnection* connection, double seconds) override;
  void OnClosed(http1::ClientConnection* connection) override;
  // http2::ClientConnectionOwner
  void OnConnected(http2::ClientConnection* connection, double seconds) override;
  void OnClosed(http2::ClientConnection* connection) override;

 private:
  struct EndpointPool {
    std::vector<http1::ClientConnection*> idle;  // most recent last
    uint32_t max_idle = 0;                       // the cluster's, set on every Acquire
    uint32_t total = 0;
  };
  void RemoveIdle(http1::ClientConnection* connection);
  // Wraps new connections to `endpoint` in the cluster's TLS (empty: plain).
  event::TransportFactory WrapFor(const ClusterConfig& cluster, const EndpointConfig& endpoint,
                                  const std::string& pool_key) const;
  bool IsLive(const std::string& pool_key) const;
  http::ClientStream* AcquireHttp2(const ClusterConfig& cluster, const EndpointConfig& endpoint,
                                   http::ClientStreamHandler* handler, bool fresh);

  event::EventLoop& loop_;
  metrics::Histogram* connect_duration_;
  absl::flat_hash_map<std::string, EndpointPool> pools_;
  absl::flat_hash_map<http1::ClientConnection*, std::unique_ptr<http1::ClientConnection>>
      connections_;
  // HTTP/2 connections per endpoint; each carries many streams.
  absl::flat_hash_map<std::string, std::vector<http2::ClientConnection*>> http2_pools_;
  absl::flat_hash_map<http2::ClientConnection*, std::unique_ptr<http2::ClientConnection>>
      http2_connections_;
  absl::flat_hash_set<std::string> live_;
  bool live_known_ = false;  // before the first config every endpoint is live
  std::shared_ptr<tls::SessionCache> sessions_ = std::make_shared<tls::SessionCache>();
  size_t idle_count_ = 0;
  uint64_t opened_ = 0;
};

http1::ClientSettings SettingsFor(const ClusterConfig& cluster);

// The pool of connections to `endpoint` for `cluster`: the endpoint's key,
// then "#<TLS context id>" for TLS clusters.
std::string PoolKey(const ClusterConfig& cluster, const EndpointConfig& endpoint);

}  // namespace portico::dataplane::upstream
