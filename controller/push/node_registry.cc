#include "controller/push/node_registry.h"

namespace portico::controller::push {

void NodeRegistry::Connected(const std::string& node_id, const std::string& peer,
                             const std::string& identity) {
  std::lock_guard lock(mu_);
  Entry& e = nodes_[node_id];
  e.state.node_id = node_id;
  e.state.peer = peer;
  e.state.identity = identity;
  e.state.connected = true;
  e.state.streams++;
  e.disconnect_seq = 0;
}

void NodeRegistry::Disconnected(const std::string& node_id) {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) return;
  Entry& e = it->second;
  if (e.state.streams > 0) e.state.streams--;
  if (e.state.streams == 0) {
    e.state.connected = false;
    e.disconnect_seq = next_disconnect_seq_++;
    PruneLocked();
  }
}

void NodeRegistry::PruneLocked() {
  size_t disconnected = 0;
  for (const auto& [id, e] : nodes_) disconnected += e.state.connected ? 0 : 1;
  while (disconnected > kMaxDisconnected) {
    auto oldest = nodes_.end();
    for (auto it = nodes_.begin(); it != nodes_.end(); ++it) {
      if (it->second.state.connected) continue;
      if (oldest == nodes_.end() || it->second.disconnect_seq < oldest->second.disconnect_seq) {
        oldest = it;
      }
    }
    nodes_.erase(oldest);
    disconnected--;
  }
}

void NodeRegistry::Sent(const std::string& node_id, const v1::ServerMessage& message) {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) return;
  NodeState& s = it->second.state;
  s.sent_version = message.version();
  if (message.has_full()) {
    s.full_sent++;
  } else {
    s.deltas_sent++;
  }
}

void NodeRegistry::Acked(const std::string& node_id, uint64_t version) {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(node_id);
  if (it != nodes_.end()) it->second.state.acked_version = version;
}

void NodeRegistry::Nacked(const std::string& node_id, uint64_t version, const std::string& error) {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(node_id);
  if (it == nodes_.end()) return;
  NodeState& s = it->second.state;
  s.nacks++;
  s.last_nack_version = version;
  s.last_nack_error = error;
}

std::vector<NodeState> NodeRegistry::Nodes() const {
  std::lock_guard lock(mu_);
  std::vector<NodeState> out;
  out.reserve(nodes_.size());
  for (const auto& [id, e] : nodes_) out.push_back(e.state);
  return out;
}

NodeState NodeRegistry::Node(const std::string& node_id) const {
  std::lock_guard lock(mu_);
  auto it = nodes_.find(node_id);
  return it == nodes_.end() ? NodeState{} : it->second.state;
}

}  // namespace portico::controller::push
