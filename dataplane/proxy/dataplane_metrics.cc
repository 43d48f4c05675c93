// Prometheus exposition of the data plane's counters, summed over workers at
// scrape time (docs/metrics.md lists every family).
#include <algorithm>
#include <chrono>
#include <condition_variable>

#include "common/build_info.h"
#include "common/metrics.h"
#include "common/process_metrics.h"
#include "dataplane/http/client_stream.h"
#include "dataplane/proxy/dataplane.h"

namespace portico::dataplane::proxy {
namespace {

template <typename Get>
double Sum(const std::vector<std::unique_ptr<Worker>>& workers, Get get) {
  double total = 0;
  for (const auto& w : workers) total += static_cast<double>(get(w->stats_view()));
  return total;
}

void SumHistogram(const std::vector<std::unique_ptr<Worker>>& workers,
                  const metrics::Histogram WorkerStats::*member, metrics::TextWriter& out,
                  std::string_view name) {
  std::array<uint64_t, metrics::Histogram::kBuckets> buckets{};
  uint64_t count = 0;
  double sum = 0;
  for (const auto& w : workers) (w->stats_view().*member).AddTo(buckets, count, sum);
  out.HistogramSamples(name, buckets, count, sum);
}

// Copies of the workers' request series and pool counts, merged as they
// arrive. A worker that answers after the deadline finds the collection
// closed and adds nothing.
struct SeriesCollector {
  std::mutex mu;
  std::condition_variable cv;
  RequestSeries total;          // guarded by mu
  ClusterConnections clusters;  // guarded by mu
  std::vector<bool> answered;   // guarded by mu
  size_t pending = 0;           // guarded by mu
  bool closed = false;          // guarded by mu
};

void RenderClusterConnections(const ClusterConnections& clusters, metrics::TextWriter& out) {
  constexpr std::string_view kName = "portico_upstream_cluster_connections";
  out.Family(kName, "gauge",
             "Upstream connections to each cluster's endpoints, by state (an endpoint shared "
             "by two clusters counts for both).");
  std::vector<const ClusterConnections::value_type*> sorted;
  sorted.reserve(clusters.size());
  for (const auto& entry : clusters) sorted.push_back(&entry);
  std::sort(sorted.begin(), sorted.end(),
            [](const auto* a, const auto* b) { return a->first < b->first; });
  for (const auto* entry : sorted) {
    const auto& [name, counts] = *entry;
    out.Sample(kName, {{"cluster", name}, {"state", "active"}}, static_cast<double>(counts.active));
    out.Sample(kName, {{"cluster", name}, {"state", "idle"}}, static_cast<double>(counts.idle));
  }
}

}  // namespace

RequestSeries Dataplane::CollectRequestSeries(uint64_t& unanswered,
                                              ClusterConnections& clusters) const {
  auto collector = std::make_shared<SeriesCollector>();
  collector->answered.assign(workers_.size(), false);
  for (size_t i = 0; i < workers_.size(); ++i) {
    // A finished worker's thread is gone: its series can be read here.
    if (workers_[i]->finished()) continue;
    ++collector->pending;
    workers_[i]->PostRequestMetricsSnapshot(
        [collector, i](const RequestSeries& series, const ClusterConnections& pools) {
          std::lock_guard<std::mutex> lock(collector->mu);
          if (collector->closed) return;
          MergeSeries(collector->total, series);
          for (const auto& [name, counts] : pools) {
            auto& sum = collector->clusters[name];
            sum.active += counts.active;
            sum.idle += counts.idle;
          }
          collector->answered[i] = true;
          if (--collector->pending == 0) collector->cv.notify_all();
        });
  }
  RequestSeries total;
  std::vector<bool> answered;
  {
    std::unique_lock<std::mutex> lock(collector->mu);
    collector->cv.wait_for(lock, options_.metrics_scrape_timeout,
                           [&] { return collector->pending == 0; });
    collector->closed = true;
    total = std::move(collector->total);
    clusters = std::move(collector->clusters);
    answered = collector->answered;
  }
  unanswered = 0;
  for (size_t i = 0; i < workers_.size(); ++i) {
    if (answered[i]) continue;
    if (workers_[i]->finished()) {
      MergeSeries(total, workers_[i]->finished_request_series());
    } else {
      ++unanswered;
    }
  }
  return total;
}

std::string Dataplane::RenderMetrics() const {
  metrics::TextWriter out;
  const auto& ws = workers_;
  metrics::RenderBuildInfo(out, "portico_build_info");

  uint64_t unanswered = 0;
  ClusterConnections clusters;
  RequestSeries series = CollectRequestSeries(unanswered, clusters);
  if (unanswered > 0) scrape_workers_skipped_.fetch_add(unanswered);
  RenderRequestSeries(
      series,
      {.per_host = options_.metrics_per_host, .nginx_compat = options_.metrics_compat_nginx}, out);
  out.Family("portico_metrics_workers_skipped_total", "counter",
             "Workers left out of a scrape because they did not answer in time.");
  out.Sample("portico_metrics_workers_skipped_total",
             static_cast<double>(scrape_workers_skipped_.load()));
  out.Family("portico_upstream_duration_seconds", "histogram",
             "Time from sending a request upstream to the end of its response.");
  SumHistogram(ws, &WorkerStats::upstream_duration, out, "portico_upstream_duration_seconds");
  out.Family("portico_upstream_connect_duration_seconds", "histogram",
             "Time from starting a TCP connect upstream to connected (failed connects are in "
             "portico_upstream_failures_total).");
  SumHistogram(ws, &WorkerStats::upstream_connect_duration, out,
               "portico_upstream_connect_duration_seconds");

  out.Family("portico_request_bytes_total", "counter", "Request body bytes received.");
  out.Sample("portico_request_bytes_total",
             Sum(ws, [](const WorkerStats& s) { return s.bytes_in.value(); }));
  out.Family("portico_response_bytes_total", "counter", "Response body bytes sent.");
  out.Sample("portico_response_bytes_total",
             Sum(ws, [](const WorkerStats& s) { return s.bytes_out.value(); }));
  out.Family("portico_active_requests", "gauge", "Requests in flight.");
  out.Sample("portico_active_requests",
             Sum(ws, [](const WorkerStats& s) { return s.active_requests.value(); }));

  out.Family("portico_downstream_connections_total", "counter", "Client connections accepted.");
  out.Sample("portico_downstream_connections_total",
             Sum(ws, [](const WorkerStats& s) { return s.connections_accepted.value(); }));
  out.Family("portico_downstream_connections_active", "gauge", "Open client connections.");
  out.Sample("portico_downstream_connections_active", {{"protocol", "http1"}},
             Sum(ws, [](const WorkerStats& s) {
               return s.active_connections.value() - s.active_http2_connections.value();
             }));
  out.Sample("portico_downstream_connections_active", {{"protocol", "http2"}},
             Sum(ws, [](const WorkerStats& s) { return s.active_http2_connections.value(); }));
  out.Family("portico_downstream_streams_active", "gauge",
             "Open HTTP/2 streams (an HTTP/1.1 connection carries one request at a time: "
             "see portico_active_requests).");
  out.Sample("portico_downstream_streams_active", {{"protocol", "http2"}},
             Sum(ws, [](const WorkerStats& s) { return s.active_http2_streams.value(); }));
  out.Family("portico_http2_floods_total", "counter",
             "HTTP/2 connections ended with GOAWAY ENHANCE_YOUR_CALM (or streams reset for a "
             "stalled window), by guard.");
  for (size_t i = 0; i < http2::kFloodKinds; ++i) {
    out.Sample("portico_http2_floods_total",
               {{"guard", http2::FloodName(static_cast<http2::Flood>(i))}},
               Sum(ws, [i](const WorkerStats& s) { return s.http2_floods[i].value(); }));
  }

  out.Family("portico_protocol_errors_total", "counter",
             "Requests rejected by the HTTP codec (malformed, too large, too slow), by status.");
  for (size_t i = 0; i <= kProtocolErrorStatuses.size(); ++i) {
    std::string code = i < kProtocolErrorStatuses.size() ? std::to_string(kProtocolErrorStatuses[i])
                                                         : std::string("other");
    out.Sample("portico_protocol_errors_total", {{"code", code}},
               Sum(ws, [i](const WorkerStats& s) { return s.protocol_errors[i].value(); }));
  }

  // The same codec rejections and flood-guard trips, by the policy behind them.
  std::array<uint64_t, kRejectPolicies> rejected{};
  for (size_t i = 0; i <= kProtocolErrorStatuses.size(); ++i) {
    int status = i < kProtocolErrorStatuses.size() ? kProtocolErrorStatuses[i] : 0;
    rejected[static_cast<size_t>(PolicyForCodecStatus(status))] += static_cast<uint64_t>(
        Sum(ws, [i](const WorkerStats& s) { return s.protocol_errors[i].value(); }));
  }
  for (size_t i = 0; i < http2::kFloodKinds; ++i) {
    rejected[static_cast<size_t>(RejectPolicy::kH2Flood)] += static_cast<uint64_t>(
        Sum(ws, [i](const WorkerStats& s) { return s.http2_floods[i].value(); }));
  }
  static_assert(kRejectPolicies <= std::tuple_size_v<decltype(WorkerStats::policy_rejections)>);
  for (size_t i = 0; i < kRejectPolicies; ++i) {
    rejected[i] += static_cast<uint64_t>(
        Sum(ws, [i](const WorkerStats& s) { return s.policy_rejections[i].value(); }));
  }
  RenderRejections(rejected, out);

  out.Family("portico_upstream_failures_total", "counter",
             "Failed upstream attempts, by reason (each retry attempt counts).");
  constexpr int kFailures = std::tuple_size_v<decltype(WorkerStats::upstream_failures)>;
  for (int f = 0; f < kFailures; ++f) {
    out.Sample("portico_upstream_failures_total",
               {{"reason", http::UpstreamFailureName(static_cast<http::UpstreamFailure>(f))}},
               Sum(ws, [f](const WorkerStats& s) { return s.upstream_failures[f].value(); }));
  }
  out.Family("portico_upstream_retries_total", "counter", "Upstream attempts retried.");
  out.Sample("portico_upstream_retries_total",
             Sum(ws, [](const WorkerStats& s) { return s.upstream_retries.value(); }));
  out.Family("portico_upstream_overflow_total", "counter",
             "Attempts refused by a cluster's max_connections.");
  out.Sample("portico_upstream_overflow_total",
             Sum(ws, [](const WorkerStats& s) { return s.upstream_overflow.value(); }));
  out.Family("portico_upstream_connections_opened_total", "counter",
             "Upstream connections opened (few per request means keep-alive works).");
  out.Sample("portico_upstream_connections_opened_total",
             Sum(ws, [](const WorkerStats& s) { return s.upstream_connections_opened.value(); }));
  out.Family("portico_upstream_connections", "gauge", "Upstream connections by state.");
  out.Sample("portico_upstream_connections", {{"state", "active"}},
             Sum(ws, [](const WorkerStats& s) { return s.upstream_connections_active.value(); }));
  out.Sample("portico_upstream_connections", {{"state", "idle"}},
             Sum(ws, [](const WorkerStats& s) { return s.upstream_connections_idle.value(); }));
  RenderClusterConnections(clusters, out);

  uint64_t version = 0;
  bool loaded = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (current_) {
      version = current_->version;
      loaded = true;
    }
  }
  out.Family("portico_config_version", "gauge", "Version of the snapshot being served.");
  out.Sample("portico_config_version", static_cast<double>(version));
  out.Family("portico_config_loaded", "gauge", "1 once a snapshot has been applied.");
  out.Sample("portico_config_loaded", loaded ? 1 : 0);
  out.Family("portico_config_applies_total", "counter", "Snapshots applied.");
  out.Sample("portico_config_applies_total", static_cast<double>(config_applies_.load()));
  out.Family(
      "portico_config_load_errors_total", "counter",
      "Snapshots rejected (unreadable, unparseable or invalid); the previous one kept serving.");
  out.Sample("portico_config_load_errors_total", static_cast<double>(config_errors_.load()));
  if (subscription_) {
    config::Subscription::Status sub = subscription_->status();
    out.Family("portico_controller_connected", "gauge",
               "1 while a snapshot stream to a controller is open.");
    out.Sample("portico_controller_connected", {{"controller", sub.controller}},
               sub.connected ? 1 : 0);
    out.Family("portico_controller_nacks_total", "counter",
               "Snapshot versions from the controller that were rejected.");
    out.Sample("portico_controller_nacks_total", static_cast<double>(sub.nacks));
  }
  out.Family("portico_tls_handshakes_total", "counter",
             "Completed TLS handshakes by protocol version.");
  const char* versions[] = {"TLSv1.2", "TLSv1.3", "other"};
  for (size_t i = 0; i < 3; ++i) {
    out.Sample("portico_tls_handshakes_total", {{"version", versions[i]}},
               Sum(ws, [i](const WorkerStats& s) { return s.tls_handshakes[i].value(); }));
  }
  out.Family("portico_tls_handshake_failures_total", "counter",
             "TLS handshakes that failed or were abandoned before completing.");
  out.Sample("portico_tls_handshake_failures_total",
             Sum(ws, [](const WorkerStats& s) { return s.tls_handshake_failures.value(); }));
  out.Family("portico_proxy_protocol_errors_total", "counter",
             "Connections closed for a missing, invalid or late PROXY protocol header.");
  out.Sample("portico_proxy_protocol_errors_total",
             Sum(ws, [](const WorkerStats& s) { return s.proxy_protocol_errors.value(); }));
  out.Family("portico_tls_resumptions_total", "counter",
             "TLS handshakes resumed from a session ticket.");
  out.Sample("portico_tls_resumptions_total",
             Sum(ws, [](const WorkerStats& s) { return s.tls_resumptions.value(); }));
  {
    std::shared_ptr<const config::Config> config;
    {
      std::lock_guard<std::mutex> lock(mu_);
      config = current_;
    }
    out.Family("portico_tls_certificate_expiry_timestamp_seconds", "gauge",
               "notAfter of each served certificate, seconds since the Unix epoch.");
    if (config != nullptr && config->tls != nullptr) {
      for (const auto& cert : config->tls->certificates()) {
        out.Sample("portico_tls_certificate_expiry_timestamp_seconds",
                   {{"certificate", cert->name()}}, static_cast<double>(cert->not_after()));
      }
    }
  }
  out.Family("portico_workers", "gauge", "Worker threads.");
  out.Sample("portico_workers", static_cast<double>(ws.size()));
  metrics::RenderProcessMetrics(out);
  return out.text();
}

}  // namespace portico::dataplane::proxy
