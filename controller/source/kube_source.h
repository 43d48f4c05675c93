#pragma once
// The `kube` source: cluster state from the Kubernetes API. One informer per
// resource type (and per namespace with --watch-namespace) keeps a local
// cache; every change wakes the controller through an eventfd, and Load()
// decodes the caches with the same decoder as the file source, so both
// sources feed the translator identical objects.
//
// Watched: Ingress and IngressClass (networking.k8s.io/v1), Service, Secret of
// type kubernetes.io/tls and Opaque (basic-auth lists), EndpointSlice (discovery.k8s.io/v1 when
// served, else v1beta1), ConfigMap (custom-headers; the settings ConfigMap
// has its own informer when its namespace is not watched).
//
// Threading: as Source. Informers run on threads of their own.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/metrics.h"
#include "controller/kube/api_client.h"
#include "controller/kube/informer.h"
#include "controller/source/source.h"

namespace portico::controller::source {

struct KubeSourceOptions {
  std::vector<std::string> namespaces;  // empty: all namespaces
  std::string settings_config_map;      // "namespace/name"; empty: none
  kube::InformerOptions informer;
  // How long Create() keeps retrying API discovery before it gives up.
  std::chrono::seconds discovery_timeout{30};
};

// The EndpointSlice API version a server serves, from GET /apis/discovery.k8s.io:
// "discovery.k8s.io/v1" when offered, else "discovery.k8s.io/v1beta1".
absl::StatusOr<std::string> ChooseEndpointSliceVersion(const nlohmann::json& group);

class KubeSource final : public Source {
 public:
  // Discovers the served EndpointSlice version and starts the informers.
  // `client` must outlive the source.
  static absl::StatusOr<std::unique_ptr<KubeSource>> Create(kube::ApiClient& client,
                                                            KubeSourceOptions options);
  ~KubeSource() override;

  int fd() const override { return event_fd_; }
  bool DrainEvents() override;
  absl::StatusOr<LoadedManifests> Load() const override;
  bool synced() const override;

  // status.loadBalancer.ingress of every cached Ingress by "namespace/name"
  // (null when unset), for the status writer.
  std::map<std::string, nlohmann::json> IngressLoadBalancers() const;

  // Joins the informers. Call ApiClient::Shutdown() first so that watches in
  // flight end at once.
  void Stop();

  // portico_controller_watch_* and _api_errors families, by resource.
  void RenderMetrics(metrics::TextWriter& out) const;

 private:
  KubeSource(int event_fd) : event_fd_(event_fd) {}
  void Wake();

  const int event_fd_;
  std::vector<std::unique_ptr<kube::Informer>> informers_;
};

}  // namespace portico::controller::source
