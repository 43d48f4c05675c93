#include "controller/status/event_recorder.h"

#include <random>
#include <set>

#include "common/log.h"
#include "common/strings.h"
#include "controller/status/lease_elector.h"

namespace portico::controller::status {
namespace {

constexpr std::chrono::milliseconds kRetryDelay{2000};
constexpr size_t kMaxRemembered = 10000;

std::string ApiVersionOf(const std::string& kind) {
  if (kind == "Ingress" || kind == "IngressClass") return "networking.k8s.io/v1";
  if (kind == "Service" || kind == "Secret" || kind == "ConfigMap") return "v1";
  if (kind == "EndpointSlice") return "discovery.k8s.io/v1";
  return "";
}

std::string DiagnosticKey(const translate::Diagnostic& d) {
  return StrCat(d.kind, "\n", d.ns, "\n", d.name, "\n", d.reason, "\n", d.message);
}

std::string EventName(const std::string& object_name) {
  static thread_local std::mt19937_64 rng{std::random_device{}()};
  char suffix[17];
  snprintf(suffix, sizeof(suffix), "%016llx", static_cast<unsigned long long>(rng()));
  return StrCat(object_name.substr(0, 200), ".", suffix);
}

}  // namespace

nlohmann::json EventFor(const translate::Diagnostic& d, const std::string& event_name,
                        const std::string& now, const EventOptions& options) {
  std::string api_version = ApiVersionOf(d.kind);
  if (api_version.empty() || d.name.empty()) return nullptr;
  // Cluster-scoped objects (IngressClass) get their Events in "default", as kubectl looks there.
  std::string ns = d.ns.empty() ? "default" : d.ns;
  nlohmann::json involved = {{"apiVersion", api_version}, {"kind", d.kind}, {"name", d.name}};
  if (!d.ns.empty()) involved["namespace"] = d.ns;
  // kubectl describe selects an object's Events by uid.
  if (!d.uid.empty()) involved["uid"] = d.uid;
  return {{"apiVersion", "v1"},
          {"kind", "Event"},
          {"metadata", {{"name", event_name}, {"namespace", ns}}},
          {"involvedObject", involved},
          {"reason", d.reason},
          {"message", d.message},
          {"type", "Warning"},
          {"source", {{"component", options.component}}},
          {"reportingComponent", "portico.dev/ingress-controller"},
          {"reportingInstance", options.instance},
          {"firstTimestamp", now.substr(0, 19) + "Z"},
          {"lastTimestamp", now.substr(0, 19) + "Z"},
          {"count", 1}};
}

EventRecorder::EventRecorder(kube::ApiClient& client, EventOptions options)
    : client_(client),
      options_(std::move(options)),
      tokens_(options_.burst),
      refilled_(std::chrono::steady_clock::now()) {
  worker_ = std::make_unique<LatestWorker<std::vector<translate::Diagnostic>>>(
      [this](const std::vector<translate::Diagnostic>& d) { return Record(d); }, kRetryDelay);
}

EventRecorder::~EventRecorder() { worker_->Stop(); }

bool EventRecorder::TakeToken() {
  auto now = std::chrono::steady_clock::now();
  double elapsed = std::chrono::duration<double>(now - refilled_).count();
  refilled_ = now;
  tokens_ = std::min(options_.burst, tokens_ + elapsed * options_.rate_per_second);
  if (tokens_ < 1) return false;
  tokens_ -= 1;
  return true;
}

bool EventRecorder::Send(const translate::Diagnostic& d, Recorded& recorded) {
  std::string now = MicroTimeNow();
  if (recorded.count > 0) {
    // The same Event again: bump it in place.
    nlohmann::json patch = {{"count", recorded.count + 1},
                            {"lastTimestamp", now.substr(0, 19) + "Z"}};
    auto result = client_.MergePatch(
        StrCat("/api/v1/namespaces/", recorded.ns, "/events/", recorded.event_name), patch);
    if (result.ok()) {
      ++recorded.count;
      return true;
    }
    if (result.status().code() != absl::StatusCode::kNotFound) {
      LogWarning("events", result.status().message());
      return false;
    }
    recorded.count = 0;  // expired (Events have a TTL): create it again
  }
  nlohmann::json event = EventFor(d, recorded.event_name, now, options_);
  auto result = client_.Post(StrCat("/api/v1/namespaces/", recorded.ns, "/events"), event);
  if (!result.ok()) {
    LogWarning("events", result.status().message());
    return false;
  }
  recorded.count = 1;
  return true;
}

bool EventRecorder::Record(const std::vector<translate::Diagnostic>& diagnostics) {
  bool all_done = true;
  auto now = std::chrono::steady_clock::now();
  std::set<std::string> seen;
  for (const translate::Diagnostic& d : diagnostics) {
    if (EventFor(d, "", "", options_).is_null()) continue;
    std::string key = DiagnosticKey(d);
    auto [it, inserted] = recorded_.try_emplace(key);
    Recorded& recorded = it->second;
    if (inserted) {
      recorded.event_name = EventName(d.name);
      recorded.ns = d.ns.empty() ? "default" : d.ns;
    }
    // New, back after it had cleared, or due for a refresh: send. Else it is
    // the same condition as last round and its Event already says so.
    bool due =
        recorded.count == 0 || !recorded.active || now - recorded.last_sent >= options_.refresh;
    if (!due) {
      deduplicated_.fetch_add(1);
      seen.insert(key);
      continue;
    }
    if (!TakeToken()) {
      dropped_.fetch_add(1);
      all_done = false;
      continue;
    }
    if (Send(d, recorded)) {
      sent_.fetch_add(1);
      recorded.last_sent = now;
      seen.insert(key);
    } else {
      failed_.fetch_add(1);
      all_done = false;
    }
  }
  for (auto it = recorded_.begin(); it != recorded_.end();) {
    it->second.active = seen.count(it->first) > 0;
    // Forget what never made it out, and bound memory when many conditions came and went.
    bool forget =
        it->second.count == 0 || (!it->second.active && recorded_.size() > kMaxRemembered);
    it = forget ? recorded_.erase(it) : std::next(it);
  }
  return all_done;
}

}  // namespace portico::controller::status
