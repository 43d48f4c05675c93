#pragma once
// Counters of one worker. Written only by that worker's thread, read by the
// admin thread at scrape time (relaxed atomics; totals are summed per scrape).
// The labelled request counters live in RequestMetrics (request_metrics.h).

#include <array>

#include "common/metrics.h"
#include "dataplane/http2/flood_guard.h"

namespace portico::dataplane::proxy {

struct WorkerStats {
  metrics::Histogram upstream_duration;
  metrics::Histogram upstream_connect_duration;  // observed by the pool
  metrics::Counter bytes_in;
  metrics::Counter bytes_out;
  metrics::Gauge active_requests;
  metrics::Counter connections_accepted;
  metrics::Gauge active_connections;        // HTTP/1.1 and TLS handshakes in progress
  metrics::Gauge active_http2_connections;  // (counted in active_connections too)
  metrics::Gauge active_http2_streams;
  std::array<metrics::Counter, http2::kFloodKinds> http2_floods;
  // Requests the codec rejected, by status: 400, 405, 408, 413, 414, 417, 431, 505, other.
  std::array<metrics::Counter, 9> protocol_errors;
  // Indexed by http::UpstreamFailure.
  std::array<metrics::Counter, 7> upstream_failures;  // by http::UpstreamFailure
  metrics::Counter upstream_retries;
  metrics::Counter upstream_overflow;
  metrics::Gauge upstream_connections_opened;  // a counter, mirrored from the pool
  metrics::Gauge upstream_connections_active;
  metrics::Gauge upstream_connections_idle;
  // Completed TLS handshakes by version: TLSv1.2, TLSv1.3, other.
  std::array<metrics::Counter, 3> tls_handshakes;
  metrics::Counter tls_resumptions;
  metrics::Counter tls_handshake_failures;  // failed, or closed before completing
  // Requests refused by a route's policies, indexed by RejectPolicy
  // (request_metrics.h); the codec's rejections are counted above.
  std::array<metrics::Counter, 16> policy_rejections;
  // Connections closed for a missing, invalid or late PROXY protocol header.
  metrics::Counter proxy_protocol_errors;
};

inline constexpr std::array<int, 8> kProtocolErrorStatuses = {400, 405, 408, 413,
                                                              414, 417, 431, 505};

inline int ProtocolErrorIndex(int status) {
  for (size_t i = 0; i < kProtocolErrorStatuses.size(); ++i) {
    if (kProtocolErrorStatuses[i] == status) return static_cast<int>(i);
  }
  return static_cast<int>(kProtocolErrorStatuses.size());
}

}  // namespace portico::dataplane::proxy
