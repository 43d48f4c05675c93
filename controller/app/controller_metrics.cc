// Prometheus exposition of the controller (docs/metrics.md).
#include "common/build_info.h"
#include "common/metrics.h"
#include "common/process_metrics.h"
#include "controller/app/controller.h"

namespace portico::controller::app {

std::string Controller::RenderMetrics() const {
  metrics::TextWriter out;
  metrics::RenderBuildInfo(out, "portico_controller_build_info");
  out.Family("portico_controller_snapshot_version", "gauge", "Latest snapshot version.");
  out.Sample("portico_controller_snapshot_version", static_cast<double>(store_.version()));
  out.Family("portico_controller_translations_total", "counter", "Translations run.");
  out.Sample("portico_controller_translations_total", static_cast<double>(translations_.load()));
  out.Family("portico_controller_source_errors_total", "counter",
             "Source reads that failed; the previous snapshot kept serving.");
  out.Sample("portico_controller_source_errors_total", static_cast<double>(source_errors_.load()));
  {
    std::lock_guard<std::mutex> lock(mu_);
    out.Family("portico_controller_objects", "gauge", "Objects read from the source, by kind.");
    for (const auto& [kind, count] : objects_) {
      out.Sample("portico_controller_objects", {{"kind", kind}}, static_cast<double>(count));
    }
    out.Family("portico_controller_diagnostics", "gauge",
               "Diagnostics of the latest translation (invalid input, missing references).");
    out.Sample("portico_controller_diagnostics", static_cast<double>(diagnostics_count_));
  }
  std::array<uint64_t, metrics::Histogram::kBuckets> buckets{};
  uint64_t count = 0;
  double sum = 0;
  translate_duration_.AddTo(buckets, count, sum);
  out.Family("portico_controller_translation_duration_seconds", "histogram",
             "Time to translate the cluster state into a snapshot.");
  out.HistogramSamples("portico_controller_translation_duration_seconds", buckets, count, sum);

  auto nodes = server_ ? server_->nodes() : std::vector<push::NodeState>{};
  out.Family("portico_controller_dataplanes_connected", "gauge",
             "Data planes with an open stream.");
  double connected = 0;
  for (const auto& n : nodes) connected += n.connected ? 1 : 0;
  out.Sample("portico_controller_dataplanes_connected", connected);
  out.Family("portico_controller_dataplane_acked_version", "gauge",
             "Latest snapshot version each data plane applied.");
  for (const auto& n : nodes) {
    out.Sample("portico_controller_dataplane_acked_version", {{"node", n.node_id}},
               static_cast<double>(n.acked_version));
  }
  out.Family("portico_controller_dataplane_nacks_total", "counter",
             "Snapshot versions a data plane rejected.");
  for (const auto& n : nodes) {
    out.Sample("portico_controller_dataplane_nacks_total", {{"node", n.node_id}},
               static_cast<double>(n.nacks));
  }
  out.Family("portico_controller_deltas_sent_total", "counter",
             "Delta messages sent, by data plane.");
  for (const auto& n : nodes) {
    out.Sample("portico_controller_deltas_sent_total", {{"node", n.node_id}},
               static_cast<double>(n.deltas_sent));
  }
  out.Family("portico_controller_full_snapshots_sent_total", "counter",
             "Full snapshots sent, by data plane.");
  for (const auto& n : nodes) {
    out.Sample("portico_controller_full_snapshots_sent_total", {{"node", n.node_id}},
               static_cast<double>(n.full_sent));
  }
  if (kube_source_ != nullptr) kube_source_->RenderMetrics(out);
  if (status_writer_ != nullptr) {
    out.Family("portico_controller_leader", "gauge",
               "1 while this replica leads (writes status and Events).");
    out.Sample("portico_controller_leader", Leading() ? 1 : 0);
    out.Family("portico_controller_status_updates_total", "counter",
               "Ingress status writes (set or cleared).");
    out.Sample("portico_controller_status_updates_total",
               static_cast<double>(status_writer_->updates()));
    out.Family("portico_controller_status_errors_total", "counter",
               "Failed Ingress status writes and publish-service look-ups (retried).");
    out.Sample("portico_controller_status_errors_total",
               static_cast<double>(status_writer_->failures()));
    out.Family("portico_controller_events_total", "counter",
               "Diagnostics as Events: sent, deduplicated (unchanged), dropped (rate limit), "
               "failed.");
    const std::pair<const char*, uint64_t> events[] = {
        {"sent", event_recorder_->sent()},
        {"deduplicated", event_recorder_->deduplicated()},
        {"dropped", event_recorder_->dropped()},
        {"failed", event_recorder_->failed()}};
    for (const auto& [result, value] : events) {
      out.Sample("portico_controller_events_total", {{"result", result}},
                 static_cast<double>(value));
    }
  }
  metrics::RenderProcessMetrics(out);
  return out.text();
}

}  // namespace portico::controller::app
