#pragma once
// Labelled request counters and duration histograms (namespace, ingress,
// service, method, status and optionally host). Each worker owns one
// RequestMetrics and updates it on its own thread with plain integers; the
// admin thread never reads it directly but asks the worker for a copy
// (Worker::PostRequestMetricsSnapshot) and merges the copies.
//
// Cardinality is bounded: methods outside a fixed list become "other",
// statuses outside 100..999 become 0, and past kMaxSeries series per worker a
// new series loses its host (the only label that clients choose).

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/hash/hash.h"
#include "common/metrics.h"

namespace portico::dataplane::proxy {

// Index into kMethodNames; the last entry is "other".
inline constexpr std::array<std::string_view, 8> kMethodNames = {
    "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other"};
uint8_t MethodIndex(std::string_view method);

struct RequestKey {
  std::string ns;
  std::string ingress;
  std::string service;
  std::string host;  // empty unless --metrics-per-host
  uint8_t method = 0;
  uint16_t status = 0;
};

// A borrowed key for lookups on the request path without allocating.
struct RequestKeyView {
  std::string_view ns;
  std::string_view ingress;
  std::string_view service;
  std::string_view host;
  uint8_t method = 0;
  uint16_t status = 0;

  RequestKeyView() = default;
  RequestKeyView(std::string_view n, std::string_view i, std::string_view s, std::string_view h,
                 uint8_t m, uint16_t st)
      : ns(n), ingress(i), service(s), host(h), method(m), status(st) {}
  RequestKeyView(const RequestKey& k)  // NOLINT(google-explicit-constructor): lookups
      : ns(k.ns),
        ingress(k.ingress),
        service(k.service),
        host(k.host),
        method(k.method),
        status(k.status) {}
};

struct RequestKeyHash {
  using is_transparent = void;
  size_t operator()(const RequestKeyView& k) const;
};

struct RequestKeyEq {
  using is_transparent = void;
  bool operator()(const RequestKeyView& a, const RequestKeyView& b) const {
    return a.status == b.status && a.method == b.method && a.ns == b.ns && a.ingress == b.ingress &&
           a.service == b.service && a.host == b.host;
  }
};

struct RequestValues {
  uint64_t count = 0;                                            // also the histogram's _count
  std::array<uint64_t, metrics::Histogram::kBuckets> buckets{};  // non-cumulative
  double sum = 0;

  void Observe(double seconds);
  void Add(const RequestValues& other);
};

using RequestSeries = absl::flat_hash_map<RequestKey, RequestValues, RequestKeyHash, RequestKeyEq>;

// One worker's series. Not thread-safe: owned and used by one thread.
class RequestMetrics {
 public:
  static constexpr size_t kMaxSeries = 10000;

  void Record(RequestKeyView key, double seconds);
  const RequestSeries& series() const { return series_; }

 private:
  RequestSeries series_;
};

// Adds every series of `part` into `total`.
void MergeSeries(RequestSeries& total, const RequestSeries& part);

struct RenderOptions {
  bool per_host = false;      // add a host label to portico_* families
  bool nginx_compat = false;  // also render nginx_ingress_controller_* families
};

// Renders the labelled request families in a stable (sorted) order.
void RenderRequestSeries(const RequestSeries& series, RenderOptions options,
                         metrics::TextWriter& out);

// The proxy's own policies that refuse requests, the `policy` label of
// portico_requests_rejected_total. rate_limit, deny_list and auth join here
// when those policies exist (docs/metrics.md).
enum class RejectPolicy : uint8_t {
  kBodySize,          // 413: body over the max body size
  kHeaderSize,        // 414, 431: request line or headers over their limits
  kProtocol,          // every other codec rejection (malformed, smuggling, too slow)
  kH2Flood,           // an HTTP/2 flood guard tripped (GOAWAY or a stream reset)
  kIpFilter,          // 403: allow-list / deny-list (or an invalid list, failing closed)
  kRateLimit,         // limit-rps / limit-rpm exceeded, or a blocked repeat offender
  kLimitConnections,  // limit-connections: too many concurrent requests
  kBasicAuth,         // 401: missing or wrong basic-auth credentials (503: failing closed)
  kExternalAuth,      // auth-url said no (401, signin 302, 403), failed (500) or is invalid (503)
};
inline constexpr size_t kRejectPolicies = 9;
std::string_view RejectPolicyName(RejectPolicy policy);

// The policy behind a request the codec answered itself with `status` (the
// statuses counted in portico_protocol_errors_total).
RejectPolicy PolicyForCodecStatus(int status);

// Writes portico_requests_rejected_total, every policy present (0 when none).
void RenderRejections(const std::array<uint64_t, kRejectPolicies>& counts,
                      metrics::TextWriter& out);

}  // namespace portico::dataplane::proxy
