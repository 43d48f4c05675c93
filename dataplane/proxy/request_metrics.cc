#include "dataplane/proxy/request_metrics.h"

#include <algorithm>
#include <tuple>

namespace portico::dataplane::proxy {

uint8_t MethodIndex(std::string_view method) {
  // Methods are case-sensitive (RFC 9110); "get" is not GET.
  for (size_t i = 0; i + 1 < kMethodNames.size(); ++i) {
    if (method == kMethodNames[i]) return static_cast<uint8_t>(i);
  }
  return static_cast<uint8_t>(kMethodNames.size() - 1);
}

size_t RequestKeyHash::operator()(const RequestKeyView& k) const {
  auto h = [](std::string_view s) { return absl::string_view(s.data(), s.size()); };
  return absl::HashOf(h(k.ns), h(k.ingress), h(k.service), h(k.host), k.method, k.status);
}

void RequestValues::Observe(double seconds) {
  size_t i = 0;
  while (i < metrics::kLatencyBounds.size() && seconds > metrics::kLatencyBounds[i]) ++i;
  ++buckets[i];
  ++count;
  sum += seconds;
}

void RequestValues::Add(const RequestValues& other) {
  for (size_t i = 0; i < buckets.size(); ++i) buckets[i] += other.buckets[i];
  count += other.count;
  sum += other.sum;
}

void RequestMetrics::Record(RequestKeyView key, double seconds) {
  if (key.status < 100 || key.status > 999) key.status = 0;
  auto it = series_.find(key);
  if (it == series_.end()) {
    // Past the cap a new series loses its host, so a flood of Host names
    // cannot grow the map without bound. The other labels are bounded by the
    // config (routes) and by constants (methods, statuses).
    if (series_.size() >= kMaxSeries && !key.host.empty()) {
      key.host = {};
      it = series_.find(key);
    }
    if (it == series_.end()) {
      RequestKey owned{std::string(key.ns),
                       std::string(key.ingress),
                       std::string(key.service),
                       std::string(key.host),
                       key.method,
                       key.status};
      it = series_.emplace(std::move(owned), RequestValues{}).first;
    }
  }
  it->second.Observe(seconds);
}

void MergeSeries(RequestSeries& total, const RequestSeries& part) {
  for (const auto& [key, values] : part) total[key].Add(values);
}

namespace {

using Label = metrics::TextWriter::Label;

// Groups series by the labels shown; without --metrics-per-host the host is
// dropped (it is empty then anyway, but the rule lives in one place).
std::vector<std::pair<RequestKey, RequestValues>> Sorted(const RequestSeries& series,
                                                         bool per_host) {
  RequestSeries grouped;
  for (const auto& [key, values] : series) {
    if (per_host || key.host.empty()) {
      grouped[key].Add(values);
    } else {
      RequestKey k = key;
      k.host.clear();
      grouped[k].Add(values);
    }
  }
  std::vector<std::pair<RequestKey, RequestValues>> out(grouped.begin(), grouped.end());
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    const RequestKey& x = a.first;
    const RequestKey& y = b.first;
    return std::tie(x.ns, x.ingress, x.service, x.host, x.method, x.status) <
           std::tie(y.ns, y.ingress, y.service, y.host, y.method, y.status);
  });
  return out;
}

}  // namespace

void RenderRequestSeries(const RequestSeries& series, RenderOptions options,
                         metrics::TextWriter& out) {
  auto sorted = Sorted(series, options.per_host);
  std::vector<std::string> statuses;
  statuses.reserve(sorted.size());
  for (const auto& [key, values] : sorted) statuses.push_back(std::to_string(key.status));

  auto portico_labels = [&](size_t i) {
    const RequestKey& k = sorted[i].first;
    std::vector<Label> labels = {{"namespace", k.ns},
                                 {"ingress", k.ingress},
                                 {"service", k.service},
                                 {"method", kMethodNames[k.method]},
                                 {"status", statuses[i]}};
    if (options.per_host) labels.emplace_back("host", k.host);
    return labels;
  };
  // The counter and histogram of one naming scheme, from the same counts.
  auto render = [&](const char* counter, const char* counter_help, const char* histogram,
                    const char* histogram_help, const auto& labels) {
    out.Family(counter, "counter", counter_help);
    for (size_t i = 0; i < sorted.size(); ++i) {
      out.LabelledSample(counter, labels(i), static_cast<double>(sorted[i].second.count));
    }
    out.Family(histogram, "histogram", histogram_help);
    for (size_t i = 0; i < sorted.size(); ++i) {
      const RequestValues& v = sorted[i].second;
      out.LabelledHistogram(histogram, labels(i), v.buckets, v.count, v.sum);
    }
  };
  render("portico_requests_total", "Requests answered, by route origin, method and status.",
         "portico_request_duration_seconds",
         "Time from the request's headers to the end of the response.", portico_labels);
  if (!options.nginx_compat) return;

  // ingress-nginx's names and label set, so its dashboards and alerts work.
  auto nginx_labels = [&](size_t i) {
    const RequestKey& k = sorted[i].first;
    return std::vector<Label>{{"ingress", k.ingress},
                              {"namespace", k.ns},
                              {"service", k.service},
                              {"status", statuses[i]},
                              {"method", kMethodNames[k.method]},
                              {"host", options.per_host ? std::string_view(k.host) : ""},
                              {"path", ""}};
  };
  render("nginx_ingress_controller_requests", "Requests answered (ingress-nginx compatible).",
         "nginx_ingress_controller_request_duration_seconds",
         "Request processing time in seconds (ingress-nginx compatible).", nginx_labels);
}

std::string_view RejectPolicyName(RejectPolicy policy) {
  switch (policy) {
    case RejectPolicy::kBodySize:
      return "body_size";
    case RejectPolicy::kHeaderSize:
      return "header_size";
    case RejectPolicy::kProtocol:
      return "protocol";
    case RejectPolicy::kH2Flood:
      return "h2_flood";
    case RejectPolicy::kIpFilter:
      return "ip_filter";
    case RejectPolicy::kRateLimit:
      return "rate_limit";
    case RejectPolicy::kLimitConnections:
      return "limit_connections";
    case RejectPolicy::kBasicAuth:
      return "basic_auth";
    case RejectPolicy::kExternalAuth:
      return "external_auth";
  }
  return "protocol";
}

RejectPolicy PolicyForCodecStatus(int status) {
  switch (status) {
    case 413:
      return RejectPolicy::kBodySize;
    case 414:
    case 431:
      return RejectPolicy::kHeaderSize;
    default:
      return RejectPolicy::kProtocol;
  }
}

void RenderRejections(const std::array<uint64_t, kRejectPolicies>& counts,
                      metrics::TextWriter& out) {
  constexpr std::string_view kName = "portico_requests_rejected_total";
  out.Family(kName, "counter",
             "Requests refused by the proxy's own policies before reaching a route, by policy.");
  for (size_t i = 0; i < kRejectPolicies; ++i) {
    out.Sample(kName, {{"policy", RejectPolicyName(static_cast<RejectPolicy>(i))}},
               static_cast<double>(counts[i]));
  }
}

}  // namespace portico::dataplane::proxy
