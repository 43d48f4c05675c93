#pragma once
// Builders for translator tests: terse ClusterState objects.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "controller/translate/annotations.h"
#include "controller/translate/cluster_state.h"
#include "controller/translate/diagnostics.h"
#include "controller/translate/translator.h"

namespace portico::controller::translate::testing {

inline ObjectMeta Meta(std::string ns, std::string name, std::string created = "") {
  ObjectMeta m;
  m.ns = std::move(ns);
  m.name = std::move(name);
  m.creation_timestamp = std::move(created);
  return m;
}

inline IngressBackend Backend(std::string service, int32_t port) {
  IngressBackend b;
  b.service_name = std::move(service);
  b.port.number = port;
  return b;
}

inline IngressBackend NamedBackend(std::string service, std::string port) {
  IngressBackend b;
  b.service_name = std::move(service);
  b.port.name = std::move(port);
  return b;
}

inline HttpIngressPath Path(std::string path, std::string type, IngressBackend backend) {
  return HttpIngressPath{std::move(path), std::move(type), std::move(backend)};
}

// An Ingress of class "portico" with one rule.
inline Ingress MakeIngress(std::string name, std::string host, std::vector<HttpIngressPath> paths,
                           std::string created = "2024-01-01T00:00:00Z") {
  Ingress i;
  i.meta = Meta("default", std::move(name), std::move(created));
  i.ingress_class_name = "portico";
  i.rules.push_back(IngressRule{std::move(host), std::move(paths)});
  return i;
}

inline IngressClass OurClass(bool is_default = false) {
  IngressClass c;
  c.meta = Meta("", "portico");
  c.controller = kControllerName;
  c.is_default = is_default;
  return c;
}

inline Service MakeService(std::string name, std::vector<ServicePort> ports) {
  Service s;
  s.meta = Meta("default", std::move(name));
  s.ports = std::move(ports);
  return s;
}

inline ServicePort Port(std::string name, int32_t port, std::optional<int32_t> target = {},
                        std::optional<std::string> target_name = {}) {
  ServicePort p;
  p.name = std::move(name);
  p.port = port;
  p.target_port_number = target;
  p.target_port_name = std::move(target_name);
  return p;
}

inline SliceEndpoint Ep(std::string address, std::optional<bool> ready = {},
                        std::optional<bool> terminating = {}) {
  SliceEndpoint e;
  e.addresses.push_back(std::move(address));
  e.conditions.ready = ready;
  e.conditions.terminating = terminating;
  return e;
}

inline EndpointSlice Slice(std::string name, std::string service, std::vector<EndpointPort> ports,
                           std::vector<SliceEndpoint> endpoints) {
  EndpointSlice s;
  s.meta = Meta("default", std::move(name));
  s.service_name = std::move(service);
  s.ports = std::move(ports);
  s.endpoints = std::move(endpoints);
  return s;
}

inline EndpointPort SlicePort(std::string name, int32_t port) {
  EndpointPort p;
  p.name = std::move(name);
  p.port = port;
  return p;
}

// Parses `annotations` as those of an Ingress "web" (host web.example.com);
// the diagnostics they produce are appended to `diagnostics`, sorted.
inline IngressAnnotations ParseIngressAnnotations(std::map<std::string, std::string> annotations,
                                                  std::vector<Diagnostic>* diagnostics,
                                                  const HttpsOptions& defaults = {}) {
  Ingress ingress = MakeIngress("web", "web.example.com", {});
  ingress.meta.annotations = std::move(annotations);
  DiagnosticSink sink(diagnostics);
  IngressAnnotations parsed = ParseAnnotations(ingress, defaults, sink);
  SortDiagnostics(*diagnostics);
  return parsed;
}

}  // namespace portico::controller::translate::testing
