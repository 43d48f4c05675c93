#include "dataplane/upstream/connection_pool.h"

#include <algorithm>

namespace portico::dataplane::upstream {

http1::ClientSettings SettingsFor(const ClusterConfig& cluster) {
  http1::ClientSettings s;
  s.connect_timeout = cluster.connect_timeout.count() / 1000.0;
  s.response_timeout = cluster.response_timeout.count() / 1000.0;
  s.idle_timeout = cluster.idle_timeout.count() / 1000.0;
  return s;
}

ConnectionPool::ConnectionPool(event::EventLoop& loop) : loop_(loop) {}

ConnectionPool::~ConnectionPool() {
  // Connections call back into the pool as they close; detach them first.
  auto connections = std::move(connections_);
  connections_.clear();
  pools_.clear();
  for (auto& [raw, conn] : connections) conn->Cancel();
}

http::ClientStream* ConnectionPool::Acquire(const ClusterConfig& cluster,
                                            const EndpointConfig& endpoint,
                                            http::ClientStreamHandler* handler, bool fresh) {
  EndpointPool& pool = pools_[endpoint.key];
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
  auto conn = std::make_unique<http1::ClientConnection>(loop_, *this, endpoint.key, settings);
  http1::ClientConnection* raw = conn.get();
  connections_.emplace(raw, std::move(conn));
  ++pool.total;
  ++opened_;
  raw->Attach(handler, settings);
  raw->Connect(reinterpret_cast<const sockaddr*>(&endpoint.sockaddr), endpoint.sockaddr_len);
  return raw;
}

void ConnectionPool::CloseIdle() {
  std::vector<http1::ClientConnection*> idle;
  for (auto& [key, pool] : pools_) idle.insert(idle.end(), pool.idle.begin(), pool.idle.end());
  for (http1::ClientConnection* conn : idle) conn->Close();
}

void ConnectionPool::SetLiveEndpoints(absl::flat_hash_set<std::string> keys) {
  live_ = std::move(keys);
  live_known_ = true;
  std::vector<http1::ClientConnection*> stale;
  for (auto& [key, pool] : pools_) {
    if (!live_.contains(key)) stale.insert(stale.end(), pool.idle.begin(), pool.idle.end());
  }
  for (http1::ClientConnection* conn : stale) conn->Close();
}

void ConnectionPool::OnIdle(http1::ClientConnection* connection) {
  EndpointPool& pool = pools_[connection->pool_key()];
  if (pool.idle.size() >= pool.max_idle ||
      (live_known_ && !live_.contains(connection->pool_key()))) {
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
