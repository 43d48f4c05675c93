#pragma once
// Immutable description of an upstream cluster, compiled from the snapshot by
// dataplane/config. Workers derive their own mutable state (pools, LB) from it.

#include <netinet/in.h>
#include <sys/socket.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"

#include "common/net/ip_address.h"

namespace portico::dataplane::tls {
class UpstreamTlsContext;
}

namespace portico::dataplane::upstream {

enum class LbPolicy { kRoundRobin, kLeastRequest, kRandom };
enum class HashSource { kNone, kClientIp, kHeader, kCookie, kRequestUri };

class MaglevTable;  // maglev.h

struct HashConfig {
  HashSource source = HashSource::kNone;
  std::string name;  // header (lower case) or cookie name
};

// Cookie session affinity (policy/affinity.h).
struct AffinityConfig {
  bool enabled = false;
  std::string cookie_name;
  std::string path;  // empty: the route's path
  uint64_t max_age_seconds = 0;
  bool secure = false;
  std::string samesite;
  // Persistent: the cookie's endpoint is used while ready even when ejected.
  bool persistent = false;
};

// kH2: HTTP/2 over TLS (GRPCS); kHttps: HTTP/1.1 over TLS.
enum class Protocol { kHttp1, kH2c, kH2, kHttps };

inline bool IsHttp2(Protocol p) { return p == Protocol::kH2c || p == Protocol::kH2; }
inline bool IsTls(Protocol p) { return p == Protocol::kH2 || p == Protocol::kHttps; }

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
  // Opaque name of the endpoint in affinity cookies: a hash of `key`, so the
  // cookie never shows the address.
  std::string affinity_id;
};

struct OutlierConfig {
  bool enabled = true;
  uint32_t consecutive_failures = 5;
  std::chrono::milliseconds base_ejection_time{30000};
  uint32_t max_ejection_percent = 50;
};

// proxy-next-upstream: the conditions under which a failed attempt goes to
// another endpoint (bits of RetryOn).
enum RetryOn : uint32_t {
  kRetryError = 1u << 0,          // connect failure, reset before the response
  kRetryTimeout = 1u << 1,        // connect, send or response timeout
  kRetryInvalidHeader = 1u << 2,  // an unparseable response
  kRetryHttp500 = 1u << 3,
  kRetryHttp502 = 1u << 4,
  kRetryHttp503 = 1u << 5,
  kRetryHttp504 = 1u << 6,
  kRetryHttp403 = 1u << 7,
  kRetryHttp404 = 1u << 8,
  kRetryHttp429 = 1u << 9,
  // Also for requests that are not idempotent (POST, PATCH...) once they
  // were sent; without it those are retried only when nothing was sent.
  kRetryNonIdempotent = 1u << 10,
};

// The RetryOn bit of a response status; 0: none.
inline uint32_t RetryOnStatus(int status) {
  switch (status) {
    case 500:
      return kRetryHttp500;
    case 502:
      return kRetryHttp502;
    case 503:
      return kRetryHttp503;
    case 504:
      return kRetryHttp504;
    case 403:
      return kRetryHttp403;
    case 404:
      return kRetryHttp404;
    case 429:
      return kRetryHttp429;
    default:
      return 0;
  }
}

struct RetryConfig {
  uint32_t conditions = kRetryError | kRetryTimeout;  // ingress-nginx's default
  uint32_t max_tries = 3;                             // attempts in all, the first included
  std::chrono::milliseconds timeout{0};               // since the first attempt; 0: unlimited
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
  // A request write that makes no progress for this long fails the attempt
  // (HTTP/1.1 upstreams; HTTP/2 streams share their connection's flow control).
  std::chrono::milliseconds send_timeout{60000};
  RetryConfig retry;
  OutlierConfig outlier;
  // Set for the TLS protocols (dataplane/tls/upstream_tls.h).
  std::shared_ptr<const tls::UpstreamTlsContext> tls;
  // Non-empty: the cluster cannot be served safely (TLS verification without
  // a usable CA) and every request gets 503 rather than an unverified upstream.
  std::string unavailable;
  std::vector<EndpointConfig> endpoints;  // sorted by key
  HashConfig hash;
  // Over the ready, non-terminating endpoints; ids are indexes into
  // `endpoints`. Set when hash.source is not kNone.
  std::shared_ptr<const MaglevTable> maglev;
  AffinityConfig affinity;
  absl::flat_hash_map<std::string, size_t> by_affinity_id;  // set with affinity
};

}  // namespace portico::dataplane::upstream
