#pragma once
// The controller process: watch the source, debounce changes, translate,
// publish versioned snapshots to the snapshot store (which streams them to the
// data planes), report diagnostics, serve /healthz, /readyz and /metrics.
// Runs on the main thread; the gRPC server and admin endpoint have their own.

#include <signal.h>
#include <atomic>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "common/admin_server.h"
#include "common/metrics.h"
#include "controller/kube/api_client.h"
#include "controller/push/snapshot_server.h"
#include "controller/push/snapshot_store.h"
#include "controller/source/file_source.h"
#include "controller/source/kube_source.h"
#include "controller/source/source.h"
#include "controller/status/event_recorder.h"
#include "controller/status/lease_elector.h"
#include "controller/status/status_writer.h"
#include "controller/translate/translator.h"

struct ev_loop;

namespace portico::controller::app {

struct ControllerOptions {
  std::string source = "file:examples";  // "file:DIR" or "kube"
  std::string kubeconfig;                // kube: --kubeconfig; empty: $KUBECONFIG, in-cluster
  source::KubeSourceOptions kube;
  // kube source only: write Ingress status and Events (the leader, with leader_elect).
  bool update_status = true;
  bool leader_elect = false;
  status::LeaderElectionOptions election;
  status::StatusOptions status;
  translate::Options translate;
  // Hold-off: a change after a quiet period (no translation for `debounce`) is
  // translated at once; changes that follow a translation closely wait for
  // `debounce` of quiet, at most `max_delay` (Contour's DAG rebuild hold-off).
  double debounce = 0.1;   // seconds
  double max_delay = 1.0;  // seconds a busy source can postpone a translation
  push::ServerOptions grpc;
  std::string admin_listen = "127.0.0.1:10255";
};

class Controller {
 public:
  explicit Controller(ControllerOptions options);
  ~Controller();

  // Serves until SIGTERM or SIGINT. Errors only when start-up fails.
  absl::Status Run();

 private:
  friend struct ControllerCallbacks;

  absl::Status OpenSource();
  // Blocks until the source has its first complete state; false on SIGTERM/SIGINT.
  bool WaitForSync(const sigset_t& signals);
  void StartStatus();
  bool Leading() const;
  void OnLeadershipChange();
  void PublishStatus(const translate::Result& result,
                     const std::vector<translate::Diagnostic>& diagnostics);
  void OnSourceReadable();
  void OnVerify();
  void ScheduleTranslate();
  void Translate();
  void Stop();
  std::string RenderMetrics() const;

  ControllerOptions options_;
  struct ev_loop* loop_ = nullptr;
  std::unique_ptr<kube::ApiClient> api_;       // kube source only
  source::KubeSource* kube_source_ = nullptr;  // source_ when it is the kube source
  std::unique_ptr<source::Source> source_;
  std::unique_ptr<status::StatusWriter> status_writer_;
  std::unique_ptr<status::EventRecorder> event_recorder_;
  std::unique_ptr<status::LeaderElector> elector_;
  bool was_leading_ = false;  // main thread
  push::SnapshotStore store_;
  std::unique_ptr<push::SnapshotServer> server_;
  std::unique_ptr<portico::admin::AdminServer> admin_;
  double pending_since_ = -1;      // loop time of the first change not yet translated
  double last_translated_ = -1e9;  // wall-clock time the last translation ended
  // What each translation lends the next (main thread).
  translate::TranslateMemo translate_memo_;

  // Read by the admin thread.
  mutable std::mutex mu_;
  std::set<std::string> last_diagnostics_;  // guarded by mu_, to log only news
  std::map<std::string, size_t> objects_;   // guarded by mu_, by kind
  size_t diagnostics_count_ = 0;            // guarded by mu_
  std::atomic<bool> ready_{false};
  std::atomic<uint64_t> translations_{0};
  std::atomic<uint64_t> source_errors_{0};
  metrics::Histogram translate_duration_;  // written on the main thread only
};

}  // namespace portico::controller::app
