#include "controller/source/kube_source.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <thread>

#include "common/log.h"
#include "common/strings.h"
#include "controller/source/manifest_decoder.h"

namespace portico::controller::source {
namespace {

constexpr char kV1[] = "discovery.k8s.io/v1";
constexpr char kV1beta1[] = "discovery.k8s.io/v1beta1";

absl::StatusOr<std::string> DiscoverEndpointSlices(kube::ApiClient& client,
                                                   std::chrono::seconds timeout) {
  kube::Backoff backoff({std::chrono::milliseconds(200), std::chrono::seconds(5), 0.5});
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto group = client.Get("/apis/discovery.k8s.io");
    if (group.ok()) return ChooseEndpointSliceVersion(*group);
    if (group.status().code() == absl::StatusCode::kNotFound) {
      return absl::FailedPreconditionError(
          "the API server serves no discovery.k8s.io group: EndpointSlices are required "
          "(Kubernetes 1.17 or later)");
    }
    bool retryable = group.status().code() == absl::StatusCode::kUnavailable;
    auto wait = backoff.Next();
    if (!retryable || std::chrono::steady_clock::now() + wait > deadline) return group.status();
    LogWarning("kube", "discovery: ", group.status().message(), "; retrying");
    std::this_thread::sleep_for(wait);
  }
}

}  // namespace

absl::StatusOr<std::string> ChooseEndpointSliceVersion(const nlohmann::json& group) {
  bool v1 = false, v1beta1 = false;
  auto versions = group.find("versions");
  if (group.is_object() && versions != group.end() && versions->is_array()) {
    for (const auto& v : *versions) {
      std::string gv = v.is_object() ? v.value("groupVersion", "") : "";
      v1 |= gv == kV1;
      v1beta1 |= gv == kV1beta1;
    }
  }
  if (v1) return std::string(kV1);
  if (v1beta1) return std::string(kV1beta1);
  return absl::FailedPreconditionError(
      "the API server serves neither discovery.k8s.io/v1 nor v1beta1 EndpointSlices");
}

absl::StatusOr<std::unique_ptr<KubeSource>> KubeSource::Create(kube::ApiClient& client,
                                                               KubeSourceOptions options) {
  auto slices = DiscoverEndpointSlices(client, options.discovery_timeout);
  if (!slices.ok()) return slices.status();
  LogInfo("kube", "connected to https://", client.config().host, ":", client.config().port, " (",
          client.config().origin, "); EndpointSlices from ", *slices);

  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return absl::InternalError("eventfd failed");
  std::unique_ptr<KubeSource> source(new KubeSource(fd));
  auto wake = [raw = source.get()] { raw->Wake(); };

  std::vector<std::string> namespaces = options.namespaces;
  if (namespaces.empty()) namespaces.push_back("");  // all
  const kube::Resource namespaced[] = {
      {"Ingress", "networking.k8s.io/v1", "ingresses"},
      {"Service", "v1", "services"},
      {"EndpointSlice", *slices, "endpointslices"},
      {"Secret", "v1", "secrets", true, "type=kubernetes.io/tls"},
      // Basic-auth password lists (auth-secret) are Opaque Secrets. All of
      // them are cached, not only the referenced ones: a field selector
      // cannot name a changing set, and one watch per referenced Secret
      // would not scale either (docs/kube-source.md).
      {"Secret", "v1", "secrets", true, "type=Opaque", "secrets-opaque"},
      // ConfigMaps named by custom-headers, for the same reason all of them.
      // The translator reads only the ones an Ingress names (and the
      // settings ConfigMap): any other change leaves the snapshot's bytes,
      // hence its version, as they were.
      {"ConfigMap", "v1", "configmaps"},
  };
  for (const std::string& ns : namespaces) {
    for (const kube::Resource& resource : namespaced) {
      source->informers_.push_back(
          std::make_unique<kube::Informer>(client, resource, ns, options.informer, wake));
    }
  }
  source->informers_.push_back(std::make_unique<kube::Informer>(
      client, kube::Resource{"IngressClass", "networking.k8s.io/v1", "ingressclasses", false}, "",
      options.informer, wake));
  if (size_t slash = options.settings_config_map.find('/'); slash != std::string::npos) {
    std::string ns = options.settings_config_map.substr(0, slash);
    std::string name = options.settings_config_map.substr(slash + 1);
    // A watched namespace's ConfigMaps informer already holds it; a second
    // copy would be a duplicate object.
    bool watched = std::find(namespaces.begin(), namespaces.end(), "") != namespaces.end() ||
                   std::find(namespaces.begin(), namespaces.end(), ns) != namespaces.end();
    if (!watched) {
      source->informers_.push_back(std::make_unique<kube::Informer>(
          client, kube::Resource{"ConfigMap", "v1", "configmaps", true, "metadata.name=" + name},
          ns, options.informer, wake));
    }
  }
  for (auto& informer : source->informers_) informer->Start();
  return source;
}

KubeSource::~KubeSource() {
  Stop();
  close(event_fd_);
}

void KubeSource::Stop() {
  for (auto& informer : informers_) informer->Stop();
}

void KubeSource::Wake() {
  uint64_t one = 1;
  // A full counter still leaves the descriptor readable: nothing is lost.
  [[maybe_unused]] ssize_t n = write(event_fd_, &one, sizeof(one));
}

bool KubeSource::DrainEvents() {
  uint64_t count = 0;
  return read(event_fd_, &count, sizeof(count)) == sizeof(count) && count > 0;
}

bool KubeSource::synced() const {
  for (const auto& informer : informers_) {
    if (!informer->synced()) return false;
  }
  return true;
}

absl::StatusOr<LoadedManifests> KubeSource::Load() const {
  LoadedManifests loaded;
  for (const auto& informer : informers_) {
    for (const nlohmann::json& object : informer->Objects()) {
      std::string name = StrCat("kube:", informer->resource().kind, "/", kube::ObjectKey(object));
      // A rejected object is reported in diagnostics; the others still apply.
      (void)DecodeObject(object, name, loaded.state, loaded.diagnostics);
    }
  }
  return loaded;
}

std::map<std::string, nlohmann::json> KubeSource::IngressLoadBalancers() const {
  std::map<std::string, nlohmann::json> out;
  for (const auto& informer : informers_) {
    if (informer->resource().kind != "Ingress") continue;
    for (const nlohmann::json& object : informer->Objects()) {
      nlohmann::json lb = nullptr;
      auto status = object.find("status");
      if (status != object.end() && status->is_object()) {
        auto balancer = status->find("loadBalancer");
        if (balancer != status->end() && balancer->is_object() && balancer->contains("ingress")) {
          lb = (*balancer)["ingress"];
        }
      }
      out[kube::ObjectKey(object)] = std::move(lb);
    }
  }
  return out;
}

void KubeSource::RenderMetrics(metrics::TextWriter& out) const {
  struct Family {
    const char* name;
    const char* help;
    uint64_t (kube::Informer::*value)() const;
  };
  const Family families[] = {
      {"portico_controller_watch_lists_total",
       "Complete LISTs by resource (first sync and re-lists).", &kube::Informer::lists},
      {"portico_controller_watch_relists_total",
       "Re-LISTs after a watch expired (410 Gone), by resource.", &kube::Informer::relists},
      {"portico_controller_watch_restarts_total",
       "Watches the API server ended and the informer resumed, by resource.",
       &kube::Informer::watch_restarts},
      {"portico_controller_api_errors_total",
       "Failed API requests of the informers (then retried with backoff), by resource.",
       &kube::Informer::errors},
  };
  for (const Family& family : families) {
    out.Family(family.name, "counter", family.help);
    for (const auto& informer : informers_) {
      out.Sample(family.name, {{"resource", informer->name()}},
                 static_cast<double>(((*informer).*family.value)()));
    }
  }
  out.Family("portico_controller_watch_synced", "gauge",
             "1 once the resource's first LIST completed.");
  for (const auto& informer : informers_) {
    out.Sample("portico_controller_watch_synced", {{"resource", informer->name()}},
               informer->synced() ? 1 : 0);
  }
}

}  // namespace portico::controller::source
