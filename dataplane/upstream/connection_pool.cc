#include "dataplane/upstream/connection_pool.h"

#include <algorithm>

namespace portico::dataplane::upstream {

http1::ClientSettings SettingsFor(const ClusterConfig& cluster) {
  http1::ClientSettings s;
  s.connect_timeout = cluster.connect_timeout.count() / 1000.0;
  s.response_timeout = cluster.response_timeout.count() / 1000.0;
  s.send_timeout = cluster.send_timeout.count() / 1000.0;
  s.idle_timeout = cluster.idle_timeout.count() / 1000.0;
  return s;
}

std::string PoolKey(const ClusterConfig& cluster, const EndpointConfig& endpoint) {
  if (!cluster.tls) return endpoint.key;
  return endpoint.key + "#" + cluster.tls->id();
}

namespace {

// PoolKey without a copy for plain clusters (the common case, per request).
const std::string& PoolKeyOf(const ClusterConfig& cluster, const EndpointConfig& endpoint,
                             std::string& storage) {
  if (!cluster.tls) return endpoint.key;
  storage = PoolKey(cluster, endpoint);
  return storage;
}

std::string_view EndpointKey(std::string_view pool_key) {
  return pool_key.substr(0, pool_key.find('#'));
}

}  // namespace

bool ConnectionPool::IsLive(const std::string& pool_key) const {
  if (!live_known_) return true;
  std::string_view key = EndpointKey(pool_key);
  return live_.contains(absl::string_view(key.data(), key.size()));
}

event::TransportFactory ConnectionPool::WrapFor(const ClusterConfig& cluster,
                                                const EndpointConfig& endpoint,
                                                const std::string& pool_key) const {
  if (!cluster.tls) return {};
  return [tls = cluster.tls, address = endpoint.address, sessions = sessions_, pool_key](int fd) {
    return tls->Wrap(fd, address, sessions, pool_key);
  };
}

ConnectionPool::ConnectionPool(event::EventLoop& loop, metrics::Histogram* connect_duration)
    : loop_(loop), connect_duration_(connect_duration) {}

ConnectionPool::~ConnectionPool() {
  // Connections call back into the pool as they close; detach them first.
  auto connections = std::move(connections_);
  connections_.clear();
  pools_.clear();
  for (auto& [raw, conn] : connections) conn->Cancel();
  auto http2 = std::move(http2_connections_);
  http2_connections_.clear();
  http2_pools_.clear();
  http2.clear();  // the session dies with its streams; no handler is left
}

size_t ConnectionPool::active_connections() const {
  size_t active = connections_.size() - idle_count_;
  for (const auto& [raw, conn] : http2_connections_) active += conn->streams() > 0 ? 1 : 0;
  return active;
}

size_t ConnectionPool::idle_connections() const {
  size_t idle = idle_count_;
  for (const auto& [raw, conn] : http2_connections_) idle += conn->streams() == 0 ? 1 : 0;
  return idle;
}

ConnectionPool::Connections ConnectionPool::ConnectionsTo(const ClusterConfig& cluster) const {
  Connections c;
  for (const EndpointConfig& endpoint : cluster.endpoints) {
    std::string tls_key;
    const std::string& key = PoolKeyOf(cluster, endpoint, tls_key);
    if (auto it = pools_.find(key); it != pools_.end()) {
      c.idle += it->second.idle.size();
      c.active += it->second.total - std::min<size_t>(it->second.total, it->second.idle.size());
    }
    if (auto it = http2_pools_.find(key); it != http2_pools_.end()) {
      for (const http2::ClientConnection* conn : it->second) {
        (conn->streams() > 0 ? c.active : c.idle) += 1;
      }
    }
  }
  return c;
}

void ConnectionPool::OnConnected(http1::ClientConnection* connection, double seconds) {
  if (connect_duration_ != nullptr) connect_duration_->Observe(seconds);
}

void ConnectionPool::OnConnected(http2::ClientConnection* connection, double seconds) {
  if (connect_duration_ != nullptr) connect_duration_->Observe(seconds);
}

http::ClientStream* ConnectionPool::Acquire(const ClusterConfig& cluster,
                                            const EndpointConfig& endpoint,
                                            http::ClientStreamHandler* handler, bool fresh) {
  if (IsHttp2(cluster.protocol)) return AcquireHttp2(cluster, endpoint, handler, fresh);
  std::string tls_key;
  const std::string& key = PoolKeyOf(cluster, endpoint, tls_key);
  EndpointPool& pool = pools_[key];
  pool.max_idle = cluster.max_idle_connections;
  http1::ClientSettings settings = SettingsFor(cluster);
  if (!fresh && !pool.idle.empty()) {
    http1::ClientConnection* conn = pool.idle.back();
    pool.idle.pop_back();
    --idle_count_;
    conn->Attach(handler, settings);
    return conn;
  }
  if (cluster.max_connections > 0 && pool.total >= cluster.max_connections) return nullptr;
  auto conn = std::make_unique<http1::ClientConnection>(loop_, *this, key, settings);
  http1::ClientConnection* raw = conn.get();
  connections_.emplace(raw, std::move(conn));
  ++pool.total;
  ++opened_;
  raw->Attach(handler, settings);
  raw->Connect(reinterpret_cast<const sockaddr*>(&endpoint.sockaddr), endpoint.sockaddr_len,
               WrapFor(cluster, endpoint, key));
  return raw;
}

http::ClientStream* ConnectionPool::AcquireHttp2(const ClusterConfig& cluster,
                                                 const EndpointConfig& endpoint,
                                                 http::ClientStreamHandler* handler, bool fresh) {
  http1::ClientSettings settings = SettingsFor(cluster);
  std::string tls_key;
  const std::string& key = PoolKeyOf(cluster, endpoint, tls_key);
  std::vector<http2::ClientConnection*>& list = http2_pools_[key];
  if (!fresh) {
    // The busiest connection with room: fewer, fuller connections.
    http2::ClientConnection* best = nullptr;
    for (http2::ClientConnection* conn : list) {
      if (conn->HasCapacity() && (best == nullptr || conn->streams() > best->streams())) {
        best = conn;
      }
    }
    if (best != nullptr) return best->NewStream(handler, settings);
  }
  if (cluster.max_connections > 0 && list.size() >= cluster.max_connections) return nullptr;
  auto conn = std::make_unique<http2::ClientConnection>(loop_, *this, key, settings);
  http2::ClientConnection* raw = conn.get();
  http2_connections_.emplace(raw, std::move(conn));
  list.push_back(raw);
  ++opened_;
  http::ClientStream* stream = raw->NewStream(handler, settings);
  raw->Connect(reinterpret_cast<const sockaddr*>(&endpoint.sockaddr), endpoint.sockaddr_len,
               WrapFor(cluster, endpoint, key));
  return stream;
}

void ConnectionPool::OnClosed(http2::ClientConnection* connection) {
  auto it = http2_pools_.find(connection->pool_key());
  if (it != http2_pools_.end()) std::erase(it->second, connection);
  auto node = http2_connections_.extract(connection);
  if (!node.empty()) loop_.DeferDelete(std::move(node.mapped()));
}

void ConnectionPool::CloseIdle() {
  std::vector<http1::ClientConnection*> idle;
  for (auto& [key, pool] : pools_) idle.insert(idle.end(), pool.idle.begin(), pool.idle.end());
  for (http1::ClientConnection* conn : idle) conn->Close();
  std::vector<http2::ClientConnection*> http2;
  for (auto& [raw, conn] : http2_connections_) http2.push_back(raw);
  for (http2::ClientConnection* conn : http2) conn->CloseWhenIdle();
}

void ConnectionPool::SetLiveEndpoints(absl::flat_hash_set<std::string> keys) {
  live_ = std::move(keys);
  live_known_ = true;
  std::vector<http1::ClientConnection*> stale;
  for (auto& [key, pool] : pools_) {
    if (!IsLive(key)) stale.insert(stale.end(), pool.idle.begin(), pool.idle.end());
  }
  for (http1::ClientConnection* conn : stale) conn->Close();
  std::vector<http2::ClientConnection*> stale_http2;
  for (auto& [key, list] : http2_pools_) {
    if (!IsLive(key)) stale_http2.insert(stale_http2.end(), list.begin(), list.end());
  }
  for (http2::ClientConnection* conn : stale_http2) conn->CloseWhenIdle();
}

void ConnectionPool::OnIdle(http1::ClientConnection* connection) {
  EndpointPool& pool = pools_[connection->pool_key()];
  if (pool.idle.size() >= pool.max_idle || !IsLive(connection->pool_key())) {
    connection->Close();
    return;
  }
  pool.idle.push_back(connection);
  ++idle_count_;
}

void ConnectionPool::RemoveIdle(http1::ClientConnection* connection) {
  auto it = pools_.find(connection->pool_key());
  if (it == pools_.end()) return;
  auto& idle = it->second.idle;
  auto pos = std::find(idle.begin(), idle.end(), connection);
  if (pos != idle.end()) {
    idle.erase(pos);
    --idle_count_;
  }
}

void ConnectionPool::OnClosed(http1::ClientConnection* connection) {
  RemoveIdle(connection);
  auto it = pools_.find(connection->pool_key());
  if (it != pools_.end() && it->second.total > 0) --it->second.total;
  auto node = connections_.extract(connection);
  if (!node.empty()) loop_.DeferDelete(std::move(node.mapped()));
}

}  // namespace portico::dataplane::upstream
