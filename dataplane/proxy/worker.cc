#include "dataplane/proxy/worker.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "absl/container/flat_hash_set.h"
#include "common/log.h"
#include "dataplane/event/buffer_pool.h"
#include "dataplane/event/socket.h"
#include "dataplane/proxy/proxy_header_connection.h"
#include "dataplane/proxy/stream.h"
#include "dataplane/proxy/tunnel.h"

namespace portico::dataplane::proxy {
namespace {

// Accepts per readiness event, so one busy listener cannot starve the loop.
constexpr int kMaxAcceptsPerEvent = 64;

http1::ServerSettings ToHttp1Settings(const config::GlobalConfig& g, bool h2c) {
  http1::ServerSettings s;
  s.h2c = h2c;
  s.header_timeout = g.client_header_timeout.count() / 1000.0;
  s.body_timeout = g.client_body_timeout.count() / 1000.0;
  s.keepalive_timeout = g.keepalive_timeout.count() / 1000.0;
  s.max_header_bytes = g.max_request_header_bytes;
  s.max_headers = g.max_request_headers;
  s.max_request_line = g.max_request_line_bytes;
  s.max_body_bytes = g.codec_max_request_body_bytes;
  s.max_keepalive_requests = g.max_keepalive_requests;
  return s;
}

http2::ServerSettings ToHttp2Settings(const config::GlobalConfig& g, double stall_timeout) {
  http2::ServerSettings s;
  s.stall_timeout = stall_timeout;
  s.header_timeout = g.client_header_timeout.count() / 1000.0;
  s.body_timeout = g.client_body_timeout.count() / 1000.0;
  s.idle_timeout = g.keepalive_timeout.count() / 1000.0;
  s.max_header_bytes = g.max_request_header_bytes;
  s.max_headers = g.max_request_headers;
  s.max_body_bytes = g.codec_max_request_body_bytes;
  return s;
}

}  // namespace

Worker::Worker(int index, std::vector<WorkerListener> listeners, WorkerOptions options)
    : index_(index),
      listeners_(std::move(listeners)),
      options_(std::move(options)),
      pool_(std::make_unique<upstream::ConnectionPool>(loop_, &stats_.upstream_connect_duration)),
      gauge_timer_(loop_, [this] { StartGaugeTimer(); }),
      rng_(std::random_device{}() + static_cast<uint64_t>(index)) {}

Worker::~Worker() {
  Join();
  connections_.clear();
  pool_.reset();
  for (const WorkerListener& l : listeners_) {
    if (l.fd >= 0) close(l.fd);
  }
}

void Worker::Start(std::shared_ptr<const config::Config> initial) {
  if (initial) ApplyConfig(std::move(initial));
  thread_ = std::thread([this] { Run(); });
}

void Worker::PostConfig(std::shared_ptr<const config::Config> config,
                        std::function<void()> applied) {
  loop_.Post([this, config = std::move(config), applied = std::move(applied)]() mutable {
    ApplyConfig(std::move(config));
    if (applied) applied();
  });
}

void Worker::PostRequestMetricsSnapshot(
    std::function<void(const RequestSeries&, const ClusterConnections&)> copy) {
  loop_.Post([this, copy = std::move(copy)] {
    ClusterConnections clusters;
    for (const auto& [name, cluster] : clusters_) {
      clusters.emplace(name, pool_->ConnectionsTo(cluster->config()));
    }
    copy(request_metrics_.series(), clusters);
  });
}

void Worker::PostDrain() {
  loop_.Post([this] { Drain(); });
}

void Worker::PostStop() {
  loop_.Post([this] { loop_.Stop(); });
}

void Worker::Join() {
  if (thread_.joinable()) thread_.join();
}

void Worker::Run() {
  for (const WorkerListener& listener : listeners_) {
    accept_watchers_.push_back(std::make_unique<event::IoWatcher>(
        loop_, listener.fd, [this, listener](int) { OnAcceptable(listener); }));
    accept_watchers_.back()->Watch(EV_READ);
  }
  StartGaugeTimer();
  loop_.Run();
  gauge_timer_.Stop();
  // Whatever is left after a forced stop is destroyed here, on this thread,
  // while the stats and pools its requests refer to still exist.
  connections_.clear();
  pool_->CloseIdle();
  accept_watchers_.clear();
  loop_.DestroyDeferred();
  FlushAccessLog();
  finished_.store(true);
}

void Worker::StartGaugeTimer() {
  // Pool sizes are plain fields of this thread; the admin thread sees copies.
  UpdatePoolGauges();
  // Buffer blocks a burst left free give their pages back (idle memory).
  if (event::BufferPool* buffers = event::BufferPool::ThisThread()) buffers->Trim();
  gauge_timer_.Start(1.0);
}

void Worker::ApplyConfig(std::shared_ptr<const config::Config> config) {
  // Per-worker state is derived here, on the worker: pools stay, LB and
  // outlier state carry over by cluster name and endpoint identity.
  absl::flat_hash_map<std::string, std::shared_ptr<upstream::ClusterRuntime>> clusters;
  for (const auto& [name, cluster] : config->clusters) {
    auto old = clusters_.find(name);
    if (old != clusters_.end() && old->second->config_ptr() == cluster) {
      clusters.emplace(name, old->second);
      continue;
    }
    const upstream::ClusterRuntime* previous = old == clusters_.end() ? nullptr : old->second.get();
    clusters.emplace(name, std::make_shared<upstream::ClusterRuntime>(cluster, rng_, previous));
  }
  clusters_ = std::move(clusters);
  absl::flat_hash_set<std::string> live;
  for (const auto& [name, cluster] : config->clusters) {
    for (const auto& ep : cluster->endpoints) live.insert(ep.key);
  }
  pool_->SetLiveEndpoints(std::move(live));
  http1_settings_ = ToHttp1Settings(config->settings, options_.h2c);
  http2_settings_ = ToHttp2Settings(config->settings, options_.http2_stall_timeout);
  config_ = std::move(config);
}

std::shared_ptr<upstream::ClusterRuntime> Worker::FindCluster(const std::string& name) const {
  auto it = clusters_.find(name);
  return it == clusters_.end() ? nullptr : it->second;
}

const std::string& Worker::PickCluster(const std::vector<router::ClusterWeight>& clusters) {
  if (clusters.size() == 1) return clusters.front().cluster;
  uint64_t total = 0;
  for (const auto& c : clusters) total += c.weight;
  if (total == 0) return clusters.front().cluster;
  uint64_t pick = std::uniform_int_distribution<uint64_t>(0, total - 1)(rng_);
  for (const auto& c : clusters) {
    if (pick < c.weight) return c.cluster;
    pick -= c.weight;
  }
  return clusters.back().cluster;
}

void Worker::OnAcceptable(const WorkerListener& listener) {
  for (int i = 0; i < kMaxAcceptsPerEvent && !draining_; ++i) {
    sockaddr_storage peer{};
    socklen_t len = sizeof(peer);
    int fd = accept4(listener.fd, reinterpret_cast<sockaddr*>(&peer), &len,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EINTR || errno == ECONNABORTED) return;
      // EMFILE and friends: log and back off until the next readiness.
      LogWarning("worker", "accept failed: ", strerror(errno));
      return;
    }
    event::SetNoDelay(fd);
    http::ConnectionInfo info;
    info.id = (static_cast<uint64_t>(index_) << 48) | next_connection_id_++;
    if (auto ip = net::IpAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&peer)); ip.ok()) {
      info.peer = *ip;
    }
    event::SocketAddress peer_addr;
    peer_addr.storage = peer;
    peer_addr.len = len;
    info.peer_port = peer_addr.port();
    info.scheme = listener.tls ? "https" : "http";
    info.local_port = listener.port;
    if (info.local_port == 0) {
      if (auto local = event::LocalAddress(fd); local.ok()) info.local_port = local->port();
    }
    stats_.connections_accepted.Inc();
    stats_.active_connections.Add(1);
    if (options_.proxy_protocol || (config_ != nullptr && config_->settings.use_proxy_protocol)) {
      // The header's source is the client for everything after (trusted
      // proxies, X-Forwarded-For, the access log): the TCP peer is the balancer.
      const bool tls = listener.tls;
      Adopt(std::make_unique<ProxyHeaderConnection>(
          loop_, fd, http1_settings_.header_timeout,
          [this, tls, info = std::move(info)](ProxyHeaderConnection* connection, int socket,
                                              const event::ProxyHeader& header) mutable {
            Release(connection);
            if (socket < 0) {
              stats_.proxy_protocol_errors.Inc();
              stats_.active_connections.Add(-1);
              if (draining_) MaybeFinishDrain();
              return;
            }
            if (header.has_address) {
              info.peer = header.source;
              info.peer_port = header.source_port;
            }
            Serve(socket, tls, std::move(info));
          }));
      continue;
    }
    Serve(fd, listener.tls, std::move(info));
  }
}

void Worker::Serve(int fd, bool tls, http::ConnectionInfo info) {
  if (!tls) {
    Adopt(std::make_unique<http1::ServerConnection>(
        loop_, std::make_unique<event::SocketTransport>(fd), std::move(info), *this, *this));
    return;
  }
  if (config_ == nullptr || config_->tls == nullptr) {  // nothing to serve yet
    close(fd);
    stats_.active_connections.Add(-1);
    if (draining_) MaybeFinishDrain();
    return;
  }
  auto transport = std::make_unique<tls::TlsTransport>(fd, config_->tls, this);
  Adopt(std::make_unique<tls::HandshakeConnection>(
      loop_, std::move(transport), http1_settings_.header_timeout,
      [this, info = std::move(info)](tls::HandshakeConnection* handshake,
                                     std::unique_ptr<tls::TlsTransport> tls) mutable {
        OnHandshakeFinished(handshake, std::move(tls), std::move(info));
      }));
}

void Worker::Adopt(std::unique_ptr<http::ServerConnection> connection) {
  http::ServerConnection* raw = connection.get();
  connections_.emplace(raw, std::move(connection));
  raw->Start();
}

void Worker::Release(http::ServerConnection* connection) {
  auto node = connections_.extract(connection);
  if (!node.empty()) loop_.DeferDelete(std::move(node.mapped()));
}

void Worker::OnHandshakeFinished(tls::HandshakeConnection* handshake,
                                 std::unique_ptr<tls::TlsTransport> transport,
                                 http::ConnectionInfo info) {
  Release(handshake);
  if (transport == nullptr) {  // failed, timed out or drained
    stats_.active_connections.Add(-1);
    if (draining_) MaybeFinishDrain();
    return;
  }
  if (transport->alpn() == "h2") {
    StartHttp2(std::move(transport), std::move(info), {});
  } else {
    Adopt(std::make_unique<http1::ServerConnection>(loop_, std::move(transport), std::move(info),
                                                    *this, *this));
  }
}

void Worker::OnHttp2Preface(http1::ServerConnection* connection,
                            std::unique_ptr<event::Transport> transport, std::string input) {
  http::ConnectionInfo info = connection->connection();
  Release(connection);
  StartHttp2(std::move(transport), std::move(info), std::move(input));
}

void Worker::OnUpgrade(http1::ServerConnection* connection,
                       std::unique_ptr<event::Transport> transport, std::string output,
                       std::string input, http::UpgradedUpstream upstream) {
  // The tunnel takes the connection's place (and its active_connections count).
  Release(connection);
  http::ConnectionOwner& owner = static_cast<http1::ConnectionOwner&>(*this);
  Adopt(std::make_unique<Tunnel>(loop_, owner, std::move(transport), std::move(output),
                                 std::move(input), std::move(upstream)));
}

void Worker::OnHttp2Upgrade(http1::ServerConnection* connection,
                            std::unique_ptr<event::Transport> transport, std::string output,
                            std::string input, http::RequestHead head,
                            std::string settings_payload) {
  http::ConnectionInfo info = connection->connection();
  Release(connection);
  StartHttp2(
      std::move(transport), std::move(info), std::move(input),
      http2::UpgradedRequest{std::move(output), std::move(head), std::move(settings_payload)});
}

void Worker::StartHttp2(std::unique_ptr<event::Transport> transport, http::ConnectionInfo info,
                        std::string input, std::optional<http2::UpgradedRequest> upgrade) {
  stats_.active_http2_connections.Add(1);
  auto conn =
      std::make_unique<http2::ServerConnection>(loop_, std::move(transport), std::move(info), *this,
                                                *this, std::move(input), std::move(upgrade));
  http2::ServerConnection* raw = conn.get();
  http2_connections_.insert(raw);
  Adopt(std::move(conn));
  if (draining_) raw->CloseWhenIdle();
}

void Worker::OnFlood(http2::Flood kind) { stats_.http2_floods[static_cast<size_t>(kind)].Inc(); }

void Worker::OnStreamsChanged(int delta) { stats_.active_http2_streams.Add(delta); }

void Worker::OnConnectionClosed(http::ServerConnection* connection) {
  auto node = connections_.extract(connection);
  if (node.empty()) return;
  stats_.active_connections.Add(-1);
  if (http2_connections_.erase(connection) > 0) {
    stats_.active_http2_connections.Add(-1);
  }
  loop_.DeferDelete(std::move(node.mapped()));
  if (draining_) MaybeFinishDrain();
}

void Worker::OnProtocolError(int status) {
  stats_.protocol_errors[ProtocolErrorIndex(status)].Inc();
}

std::unique_ptr<http::RequestHandler> Worker::NewRequest(http::ResponseSink& sink) {
  return std::make_unique<Stream>(*this, sink);
}

void Worker::Drain() {
  if (draining_) return;
  draining_ = true;
  CloseListeners();
  std::vector<http::ServerConnection*> all;
  all.reserve(connections_.size());
  for (auto& [raw, conn] : connections_) all.push_back(raw);
  for (http::ServerConnection* conn : all) conn->CloseWhenIdle();
  pool_->CloseIdle();
  MaybeFinishDrain();
}

void Worker::CloseListeners() {
  // Closing the socket (not just ignoring it) makes new connections fail
  // fast, so clients and load balancers move on to another replica.
  accept_watchers_.clear();
  for (WorkerListener& l : listeners_) {
    if (l.fd >= 0) close(l.fd);
    l.fd = -1;
  }
}

void Worker::OnHandshakeDone(const char* version, bool resumed) {
  int index = std::string_view(version) == "TLSv1.3"   ? 1
              : std::string_view(version) == "TLSv1.2" ? 0
                                                       : 2;
  stats_.tls_handshakes[index].Inc();
  if (resumed) stats_.tls_resumptions.Inc();
}

void Worker::OnHandshakeFailed() { stats_.tls_handshake_failures.Inc(); }

void Worker::MaybeFinishDrain() {
  if (!connections_.empty()) return;
  pool_->CloseIdle();
  // Let deferred deletions and the access log flush run, then leave.
  loop_.RunBeforeBlocking([this] {
    FlushAccessLog();
    loop_.Stop();
  });
}

void Worker::WriteAccessLog(const AccessLogEntry& entry) {
  AppendAccessLogLine(entry, access_log_buffer_);
  if (access_log_buffer_.size() > 64 * 1024) {
    FlushAccessLog();
    return;
  }
  if (!access_log_flush_scheduled_) {
    access_log_flush_scheduled_ = true;
    loop_.RunBeforeBlocking([this] {
      access_log_flush_scheduled_ = false;
      FlushAccessLog();
    });
  }
}

void Worker::FlushAccessLog() {
  size_t off = 0;
  while (off < access_log_buffer_.size()) {
    ssize_t n =
        write(STDOUT_FILENO, access_log_buffer_.data() + off, access_log_buffer_.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;  // stdout is gone or full: drop the log rather than block requests
    }
    off += static_cast<size_t>(n);
  }
  access_log_buffer_.clear();
}

void Worker::UpdatePoolGauges() {
  stats_.upstream_connections_active.Set(static_cast<int64_t>(pool_->active_connections()));
  stats_.upstream_connections_idle.Set(static_cast<int64_t>(pool_->idle_connections()));
  stats_.upstream_connections_opened.Set(static_cast<int64_t>(pool_->connections_opened()));
}

}  // namespace portico::dataplane::proxy
