#pragma once
// What the controller knows about each data plane that subscribed to it: the
// version it was sent, the version it acknowledged, and its rejections. This
// is what the controller's metrics and logs report per data plane.
//
// Threading: every method is safe to call from any thread (one mutex; the
// stream threads write, the metrics scrape reads).

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "portico/v1/snapshot_service.pb.h"

namespace portico::controller::push {

struct NodeState {
  std::string node_id;
  std::string peer;      // "ipv4:127.0.0.1:41234" of the latest stream
  std::string identity;  // the client certificate's names (mTLS), comma-separated
  bool connected = false;
  int streams = 0;  // open streams; more than one while a reconnect overlaps the old one
  uint64_t sent_version = 0;
  uint64_t acked_version = 0;
  uint64_t nacks = 0;
  uint64_t last_nack_version = 0;
  std::string last_nack_error;
  uint64_t full_sent = 0;
  uint64_t deltas_sent = 0;
};

class NodeRegistry {
 public:
  // Disconnected nodes are forgotten beyond this many, oldest disconnect first,
  // so that data plane pods coming and going do not grow memory or metrics forever.
  static constexpr size_t kMaxDisconnected = 256;

  void Connected(const std::string& node_id, const std::string& peer, const std::string& identity);
  void Disconnected(const std::string& node_id);
  void Sent(const std::string& node_id, const v1::ServerMessage& message);
  void Acked(const std::string& node_id, uint64_t version);
  void Nacked(const std::string& node_id, uint64_t version, const std::string& error);

  // Every known node, sorted by node id.
  std::vector<NodeState> Nodes() const;
  // One node; a default NodeState (empty node_id) if unknown.
  NodeState Node(const std::string& node_id) const;

 private:
  struct Entry {
    NodeState state;
    uint64_t disconnect_seq = 0;  // order of disconnection, for pruning
  };
  void PruneLocked();

  mutable std::mutex mu_;
  std::map<std::string, Entry> nodes_;
  uint64_t next_disconnect_seq_ = 1;
};

}  // namespace portico::controller::push
