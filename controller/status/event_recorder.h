#pragma once
// Turns translator diagnostics into Kubernetes Events on the objects they are
// about (core v1 Events, type Warning), so `kubectl describe ingress` shows
// why a route is missing. Diagnostics describe state, not occurrences: one
// Event per (object, reason, message) while the condition lasts; its count
// and lastTimestamp are refreshed every `refresh`, and a condition that
// clears and comes back bumps the same Event. Sends are rate-limited by a
// token bucket; what the bucket refuses is sent in a later round.
// Only the leader submits rounds (the controller decides).
//
// Threading: Submit() from any thread; requests run on the recorder's thread.

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include "controller/kube/api_client.h"
#include "controller/status/latest_worker.h"
#include "controller/translate/translator.h"

namespace portico::controller::status {

struct EventOptions {
  std::string component = "portico-controller";
  std::string instance;  // this replica's identity
  double rate_per_second = 10;
  double burst = 50;
  std::chrono::seconds refresh{1800};
};

// The core v1 Event for a diagnostic, or null when the diagnostic names no
// object an Event can point at (a manifest file, an unnamed object).
nlohmann::json EventFor(const translate::Diagnostic& d, const std::string& event_name,
                        const std::string& now, const EventOptions& options);

class EventRecorder {
 public:
  EventRecorder(kube::ApiClient& client, EventOptions options);
  ~EventRecorder();

  void Submit(std::vector<translate::Diagnostic> diagnostics) {
    worker_->Submit(std::move(diagnostics));
  }

  uint64_t sent() const { return sent_.load(); }
  uint64_t deduplicated() const { return deduplicated_.load(); }
  uint64_t dropped() const { return dropped_.load(); }
  uint64_t failed() const { return failed_.load(); }

 private:
  struct Recorded {
    std::string event_name;
    std::string ns;  // where the Event lives
    int count = 0;
    std::chrono::steady_clock::time_point last_sent;
    bool active = false;  // in the latest round
  };

  bool Record(const std::vector<translate::Diagnostic>& diagnostics);
  bool TakeToken();
  bool Send(const translate::Diagnostic& d, Recorded& recorded);

  kube::ApiClient& client_;
  const EventOptions options_;
  // Recorder thread only.
  std::map<std::string, Recorded> recorded_;
  double tokens_;
  std::chrono::steady_clock::time_point refilled_;
  std::atomic<uint64_t> sent_{0}, deduplicated_{0}, dropped_{0}, failed_{0};
  std::unique_ptr<LatestWorker<std::vector<translate::Diagnostic>>> worker_;  // last
};

}  // namespace portico::controller::status
