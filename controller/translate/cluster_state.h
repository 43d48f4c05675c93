#pragma once
// The translator's input: the Kubernetes objects Portico reads, as typed
// values. Sources (file, kube) decode manifests into these; the translator
// never sees JSON or YAML. Only the fields Portico uses are kept.

#include <atomic>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace portico::controller::translate {

struct ObjectMeta {
  std::string ns;  // empty for cluster-scoped objects (IngressClass)
  std::string name;
  std::string uid;
  std::string resource_version;
  std::string creation_timestamp;  // RFC 3339 as in the API ("2024-01-02T03:04:05Z")
  std::map<std::string, std::string> labels;
  std::map<std::string, std::string> annotations;
  // Where the object came from, for diagnostics ("examples/app.yaml#2").
  std::string source;
  // Set by the source that decoded the object: unique in the process, and new
  // whenever the object may have changed, so that two objects with the same
  // non-zero revision are equal (NextRevision; the translator's memo relies
  // on it). 0: unknown.
  uint64_t revision = 0;
  friend bool operator==(const ObjectMeta&, const ObjectMeta&) = default;
};

struct ServiceBackendPort {
  std::optional<int32_t> number;
  std::optional<std::string> name;
  friend bool operator==(const ServiceBackendPort&, const ServiceBackendPort&) = default;
};

struct IngressBackend {
  // service is the only supported backend; `resource` backends yield a diagnostic.
  std::string service_name;
  ServiceBackendPort port;
  bool has_resource = false;
  friend bool operator==(const IngressBackend&, const IngressBackend&) = default;
};

struct HttpIngressPath {
  std::string path;
  std::string path_type;  // "Exact", "Prefix", "ImplementationSpecific" (or invalid)
  IngressBackend backend;
  friend bool operator==(const HttpIngressPath&, const HttpIngressPath&) = default;
};

struct IngressRule {
  std::string host;
  std::vector<HttpIngressPath> paths;
  friend bool operator==(const IngressRule&, const IngressRule&) = default;
};

struct IngressTls {
  std::vector<std::string> hosts;
  std::string secret_name;
  friend bool operator==(const IngressTls&, const IngressTls&) = default;
};

struct Ingress {
  ObjectMeta meta;
  std::optional<std::string> ingress_class_name;
  std::optional<IngressBackend> default_backend;
  std::vector<IngressRule> rules;
  std::vector<IngressTls> tls;
  friend bool operator==(const Ingress&, const Ingress&) = default;
};

struct IngressClass {
  ObjectMeta meta;
  std::string controller;
  bool is_default = false;  // annotation ingressclass.kubernetes.io/is-default-class=true
  friend bool operator==(const IngressClass&, const IngressClass&) = default;
};

struct ServicePort {
  std::string name;
  std::string protocol = "TCP";
  int32_t port = 0;
  // targetPort: a number, or a name resolved through EndpointSlice ports.
  std::optional<int32_t> target_port_number;
  std::optional<std::string> target_port_name;
  std::string app_protocol;
  friend bool operator==(const ServicePort&, const ServicePort&) = default;
};

struct Service {
  ObjectMeta meta;
  std::string type = "ClusterIP";  // ClusterIP, NodePort, LoadBalancer, ExternalName
  std::string external_name;
  std::string cluster_ip;
  std::vector<ServicePort> ports;
  friend bool operator==(const Service&, const Service&) = default;
};

struct EndpointPort {
  std::string name;
  std::string protocol = "TCP";
  std::optional<int32_t> port;
  std::string app_protocol;
  friend bool operator==(const EndpointPort&, const EndpointPort&) = default;
};

struct EndpointConditions {
  // Kubernetes semantics: unset ready means ready; unset terminating means not.
  std::optional<bool> ready;
  std::optional<bool> serving;
  std::optional<bool> terminating;
  friend bool operator==(const EndpointConditions&, const EndpointConditions&) = default;
};

struct SliceEndpoint {
  std::vector<std::string> addresses;
  EndpointConditions conditions;
  std::string zone;
  friend bool operator==(const SliceEndpoint&, const SliceEndpoint&) = default;
};

// discovery.k8s.io EndpointSlice, or a core Endpoints object converted to one
// slice per subset by the source.
struct EndpointSlice {
  ObjectMeta meta;
  std::string service_name;  // label kubernetes.io/service-name
  std::string address_type = "IPv4";
  std::vector<EndpointPort> ports;
  std::vector<SliceEndpoint> endpoints;
  friend bool operator==(const EndpointSlice&, const EndpointSlice&) = default;
};

struct Secret {
  ObjectMeta meta;
  std::string type;
  std::map<std::string, std::string> data;  // base64-decoded
  friend bool operator==(const Secret&, const Secret&) = default;
};

struct ConfigMap {
  ObjectMeta meta;
  std::map<std::string, std::string> data;
  friend bool operator==(const ConfigMap&, const ConfigMap&) = default;
};

// A revision no object of this process has had yet (ObjectMeta::revision).
inline uint64_t NextRevision() {
  static std::atomic<uint64_t> last{0};
  return last.fetch_add(1, std::memory_order_relaxed) + 1;
}

// Whether two objects are equal: by revision when both have one, else by
// content.
template <typename T>
bool SameObject(const T& a, const T& b) {
  if (a.meta.revision != 0 && a.meta.revision == b.meta.revision) return true;
  return a == b;
}

// Everything the translator reads. Order is irrelevant: the translator sorts.
struct ClusterState {
  std::vector<Ingress> ingresses;
  std::vector<IngressClass> ingress_classes;
  std::vector<Service> services;
  std::vector<EndpointSlice> endpoint_slices;
  std::vector<Secret> secrets;
  std::vector<ConfigMap> config_maps;
};

}  // namespace portico::controller::translate
