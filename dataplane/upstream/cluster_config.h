#pragma once
// Immutable description of an upstream cluster, compiled from the snapshot by
// dataplane/config. Workers derive their own mutable state (pools, LB) from it.

#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/net/ip_address.h"

namespace portico::dataplane::upstream {

enum class LbPolicy { kRoundRobin, kLeastRequest, kRandom };
enum class Protocol { kHttp1, kH2c, kH2, kHttps };

struct EndpointConfig {
  net::IpAddress address;
  uint16_t port = 0;
  uint32_t weight = 1;
  bool ready = true;
  bool terminating = false;
  std::string zone;
  sockaddr_storage sockaddr{};  // address + port, ready for connect(2)
  socklen_t sockaddr_len = 0;
  std::string key;  // "10.0.0.1:8080" / "[::1]:8080": identity across snapshots
};

struct OutlierConfig {
  bool enabled = true;
  uint32_t consecutive_failures = 5;
  std::chrono::milliseconds base_ejection_time{30000};
  uint32_t max_ejection_percent = 50;
};

struct ClusterConfig {
  std::string name;
  LbPolicy lb_policy = LbPolicy::kRoundRobin;
  Protocol protocol = Protocol::kHttp1;
  std::chrono::milliseconds connect_timeout{5000};
  std::chrono::milliseconds response_timeout{60000};
  std::chrono::milliseconds idle_timeout{60000};
  // Idle keep-alive connections kept per endpoint per worker. Above the
  // request concurrency the proxy sees, or every burst of responses closes
  // connections that the next burst of requests connects again (HAProxy,
  // Envoy and nghttpx keep every idle connection until its idle timeout).
  uint32_t max_idle_connections = 1024;
  uint32_t max_connections = 0;  // 0: unlimited
  uint32_t connect_retries = 2;
  OutlierConfig outlier;
  std::vector<EndpointConfig> endpoints;  // sorted by key
};

}  // namespace portico::dataplane::upstream
