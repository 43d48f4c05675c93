#include "controller/source/manifest_decoder.h"

#include <string>
#include <utility>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "common/strings.h"
#include "controller/source/field_reader.h"
#include "controller/source/yaml_to_json.h"

namespace portico::controller::source {
namespace {

using nlohmann::json;
using translate::Diagnostic;

constexpr char kInvalidManifest[] = "InvalidManifest";
constexpr char kUnsupportedKind[] = "UnsupportedKind";
constexpr char kUnsupportedApiVersion[] = "UnsupportedApiVersion";
constexpr char kInvalidSecretData[] = "InvalidSecretData";

constexpr char kDefaultClassAnnotation[] = "ingressclass.kubernetes.io/is-default-class";
constexpr char kServiceNameLabel[] = "kubernetes.io/service-name";
constexpr char kZoneKey[] = "topology.kubernetes.io/zone";
constexpr char kLegacyZoneKey[] = "failure-domain.beta.kubernetes.io/zone";

// Who a diagnostic is about.
struct Subject {
  std::string kind;
  std::string ns;
  std::string name;
};

void Report(std::vector<Diagnostic>& diagnostics, Diagnostic::Severity severity,
            const Subject& subject, std::string_view reason, std::string message) {
  Diagnostic d;
  d.severity = severity;
  d.kind = subject.kind.empty() ? "File" : subject.kind;
  d.ns = subject.ns;
  d.name = subject.name;
  d.reason = std::string(reason);
  d.message = std::move(message);
  diagnostics.push_back(std::move(d));
}

// The kinds Portico reads, and the apiVersions it understands for each.
struct KindInfo {
  std::string_view kind;
  bool namespaced;
  std::vector<std::string_view> api_versions;
};

const KindInfo* FindKind(std::string_view kind) {
  static const std::vector<KindInfo> kKinds = {
      {"Ingress", true, {"networking.k8s.io/v1"}},
      // v1beta1 IngressClass has the same fields; clusters up to 1.21 served it.
      {"IngressClass", false, {"networking.k8s.io/v1", "networking.k8s.io/v1beta1"}},
      {"Service", true, {"v1"}},
      {"EndpointSlice", true, {"discovery.k8s.io/v1", "discovery.k8s.io/v1beta1"}},
      {"Endpoints", true, {"v1"}},
      {"Secret", true, {"v1"}},
      {"ConfigMap", true, {"v1"}},
  };
  for (const KindInfo& info : kKinds) {
    if (info.kind == kind) return &info;
  }
  return nullptr;
}

translate::ObjectMeta DecodeMeta(FieldReader& r, const json& object, bool namespaced,
                                 std::string_view source) {
  translate::ObjectMeta meta;
  meta.source = std::string(source);
  static const json kEmpty = json::object();
  const json* m = r.Object(object, "metadata", "");
  if (m == nullptr) m = &kEmpty;
  meta.name = r.String(*m, "name", "metadata");
  if (namespaced) meta.ns = r.String(*m, "namespace", "metadata", "default");
  if (meta.ns.empty() && namespaced) meta.ns = "default";
  meta.uid = r.String(*m, "uid", "metadata");
  meta.resource_version = r.String(*m, "resourceVersion", "metadata");
  meta.creation_timestamp = r.String(*m, "creationTimestamp", "metadata");
  meta.labels = r.StringMap(*m, "labels", "metadata");
  meta.annotations = r.StringMap(*m, "annotations", "metadata");
  if (r.ok() && meta.name.empty()) r.Fail("metadata.name", "required");
  return meta;
}

translate::IngressBackend DecodeBackend(FieldReader& r, const json& backend,
                                        std::string_view path) {
  translate::IngressBackend out;
  if (const json* service = r.Object(backend, "service", path)) {
    std::string service_path = FieldPath(path, "service");
    out.service_name = r.String(*service, "name", service_path);
    if (const json* port = r.Object(*service, "port", service_path)) {
      std::string port_path = FieldPath(service_path, "port");
      out.port.number = r.OptInt32(*port, "number", port_path);
      out.port.name = r.OptString(*port, "name", port_path);
    }
  }
  // Only noted: the translator reports that resource backends are unsupported.
  out.has_resource = r.Object(backend, "resource", path) != nullptr;
  return out;
}

void DecodeIngress(FieldReader& r, const json& object, translate::Ingress& out) {
  const json* spec = r.Object(object, "spec", "");
  if (spec == nullptr) return;
  out.ingress_class_name = r.OptString(*spec, "ingressClassName", "spec");
  if (const json* backend = r.Object(*spec, "defaultBackend", "spec")) {
    out.default_backend = DecodeBackend(r, *backend, "spec.defaultBackend");
  }
  if (const json* rules = r.Array(*spec, "rules", "spec")) {
    for (size_t i = 0; i < rules->size(); ++i) {
      std::string rule_path = IndexPath("spec.rules", i);
      const json* rule = r.Element((*rules)[i], rule_path);
      if (rule == nullptr) return;
      translate::IngressRule& rule_out = out.rules.emplace_back();
      rule_out.host = r.String(*rule, "host", rule_path);
      const json* http = r.Object(*rule, "http", rule_path);
      if (http == nullptr) continue;
      std::string http_path = FieldPath(rule_path, "http");
      const json* paths = r.Array(*http, "paths", http_path);
      if (paths == nullptr) continue;
      for (size_t j = 0; j < paths->size(); ++j) {
        std::string path_path = IndexPath(FieldPath(http_path, "paths"), j);
        const json* path = r.Element((*paths)[j], path_path);
        if (path == nullptr) return;
        translate::HttpIngressPath& path_out = rule_out.paths.emplace_back();
        path_out.path = r.String(*path, "path", path_path);
        path_out.path_type = r.String(*path, "pathType", path_path);
        if (const json* backend = r.Object(*path, "backend", path_path)) {
          path_out.backend = DecodeBackend(r, *backend, FieldPath(path_path, "backend"));
        }
      }
    }
  }
  if (const json* tls = r.Array(*spec, "tls", "spec")) {
    for (size_t i = 0; i < tls->size(); ++i) {
      std::string tls_path = IndexPath("spec.tls", i);
      const json* entry = r.Element((*tls)[i], tls_path);
      if (entry == nullptr) return;
      translate::IngressTls& tls_out = out.tls.emplace_back();
      tls_out.hosts = r.StringList(*entry, "hosts", tls_path);
      tls_out.secret_name = r.String(*entry, "secretName", tls_path);
    }
  }
}

void DecodeIngressClass(FieldReader& r, const json& object, translate::IngressClass& out) {
  if (const json* spec = r.Object(object, "spec", "")) {
    out.controller = r.String(*spec, "controller", "spec");
  }
  auto it = out.meta.annotations.find(kDefaultClassAnnotation);
  out.is_default = it != out.meta.annotations.end() && it->second == "true";
}

void DecodeService(FieldReader& r, const json& object, translate::Service& out) {
  const json* spec = r.Object(object, "spec", "");
  if (spec == nullptr) return;
  out.type = r.String(*spec, "type", "spec", out.type);
  out.external_name = r.String(*spec, "externalName", "spec");
  out.cluster_ip = r.String(*spec, "clusterIP", "spec");
  const json* ports = r.Array(*spec, "ports", "spec");
  if (ports == nullptr) return;
  for (size_t i = 0; i < ports->size(); ++i) {
    std::string port_path = IndexPath("spec.ports", i);
    const json* port = r.Element((*ports)[i], port_path);
    if (port == nullptr) return;
    translate::ServicePort& port_out = out.ports.emplace_back();
    port_out.name = r.String(*port, "name", port_path);
    port_out.protocol = r.String(*port, "protocol", port_path, port_out.protocol);
    port_out.app_protocol = r.String(*port, "appProtocol", port_path);
    std::optional<int32_t> number = r.OptInt32(*port, "port", port_path);
    if (r.ok() && !number.has_value()) r.Fail(FieldPath(port_path, "port"), "required");
    port_out.port = number.value_or(0);
    // IntOrString: a JSON number is a port, a string is a port name.
    auto target = port->find("targetPort");
    if (target == port->end() || target->is_null()) continue;
    if (target->is_string()) {
      std::string name = target->get<std::string>();
      int32_t ignored;
      if (portico::SimpleAtoi(name, &ignored)) {
        // The API server rejects this too ("must contain at least one letter");
        // silently treating it as a number would hide a quoting mistake.
        r.Fail(FieldPath(port_path, "targetPort"),
               portico::StrCat("\"", name, "\" is a string: write the port number unquoted"));
      }
      port_out.target_port_name = std::move(name);
    } else {
      port_out.target_port_number = r.OptInt32(*port, "targetPort", port_path);
    }
  }
}

void DecodeEndpointPorts(FieldReader& r, const json& parent, std::string_view path,
                         std::vector<translate::EndpointPort>& out) {
  const json* ports = r.Array(parent, "ports", path);
  if (ports == nullptr) return;
  std::string ports_path = FieldPath(path, "ports");
  for (size_t i = 0; i < ports->size(); ++i) {
    std::string port_path = IndexPath(ports_path, i);
    const json* port = r.Element((*ports)[i], port_path);
    if (port == nullptr) return;
    translate::EndpointPort& port_out = out.emplace_back();
    port_out.name = r.String(*port, "name", port_path);
    port_out.protocol = r.String(*port, "protocol", port_path, port_out.protocol);
    port_out.port = r.OptInt32(*port, "port", port_path);
    port_out.app_protocol = r.String(*port, "appProtocol", port_path);
  }
}

void DecodeEndpointSlice(FieldReader& r, const json& object, translate::EndpointSlice& out) {
  auto label = out.meta.labels.find(kServiceNameLabel);
  if (label != out.meta.labels.end()) out.service_name = label->second;
  out.address_type = r.String(object, "addressType", "", out.address_type);
  DecodeEndpointPorts(r, object, "", out.ports);
  const json* endpoints = r.Array(object, "endpoints", "");
  if (endpoints == nullptr) return;
  for (size_t i = 0; i < endpoints->size(); ++i) {
    std::string ep_path = IndexPath("endpoints", i);
    const json* endpoint = r.Element((*endpoints)[i], ep_path);
    if (endpoint == nullptr) return;
    translate::SliceEndpoint& ep_out = out.endpoints.emplace_back();
    ep_out.addresses = r.StringList(*endpoint, "addresses", ep_path);
    if (const json* conditions = r.Object(*endpoint, "conditions", ep_path)) {
      std::string cond_path = FieldPath(ep_path, "conditions");
      ep_out.conditions.ready = r.OptBool(*conditions, "ready", cond_path);
      ep_out.conditions.serving = r.OptBool(*conditions, "serving", cond_path);
      ep_out.conditions.terminating = r.OptBool(*conditions, "terminating", cond_path);
    }
    // v1 has `zone`; v1beta1 had a `topology` map keyed by the node labels.
    ep_out.zone = r.String(*endpoint, "zone", ep_path);
    std::map<std::string, std::string> topology = r.StringMap(*endpoint, "topology", ep_path);
    for (const char* key : {kZoneKey, kLegacyZoneKey}) {
      auto it = topology.find(key);
      if (ep_out.zone.empty() && it != topology.end()) ep_out.zone = it->second;
    }
  }
}

std::string AddressFamily(std::string_view ip) {
  return ip.find(':') != std::string_view::npos ? "IPv6" : "IPv4";
}

// A core v1 Endpoints object becomes one EndpointSlice per subset, as the
// EndpointSlice mirroring controller does; the translator knows only slices.
// A subset mixing address families (rare) is split, because a slice has one.
void DecodeEndpoints(FieldReader& r, const json& object, const translate::ObjectMeta& meta,
                     std::vector<translate::EndpointSlice>& out) {
  const json* subsets = r.Array(object, "subsets", "");
  if (subsets == nullptr) return;
  for (size_t i = 0; i < subsets->size(); ++i) {
    std::string subset_path = IndexPath("subsets", i);
    const json* subset = r.Element((*subsets)[i], subset_path);
    if (subset == nullptr) return;
    std::vector<translate::EndpointPort> ports;
    DecodeEndpointPorts(r, *subset, subset_path, ports);
    std::map<std::string, translate::EndpointSlice> by_family;
    static constexpr std::pair<const char*, bool> kAddressLists[] = {{"addresses", true},
                                                                     {"notReadyAddresses", false}};
    for (const auto& [field, ready] : kAddressLists) {
      const json* addresses = r.Array(*subset, field, subset_path);
      if (addresses == nullptr) continue;
      for (size_t j = 0; j < addresses->size(); ++j) {
        std::string address_path = IndexPath(FieldPath(subset_path, field), j);
        const json* address = r.Element((*addresses)[j], address_path);
        if (address == nullptr) return;
        std::string ip = r.String(*address, "ip", address_path);
        if (r.ok() && ip.empty()) r.Fail(FieldPath(address_path, "ip"), "required");
        std::string family = AddressFamily(ip);
        translate::EndpointSlice& slice = by_family[family];
        slice.address_type = family;
        translate::SliceEndpoint& endpoint = slice.endpoints.emplace_back();
        endpoint.addresses.push_back(std::move(ip));
        endpoint.conditions.ready = ready;
      }
    }
    for (auto& [family, slice] : by_family) {
      slice.meta = meta;
      slice.meta.name = portico::StrCat(meta.name, "-subset-", i);
      // The IPv4 slice keeps the plain name when a subset has both families.
      if (family == "IPv6" && by_family.size() > 1) slice.meta.name += "-ipv6";
      slice.service_name = meta.name;
      slice.ports = ports;
      out.push_back(std::move(slice));
    }
  }
}

void DecodeSecret(FieldReader& r, const json& object, const Subject& subject,
                  translate::Secret& out, std::vector<Diagnostic>& diagnostics) {
  out.type = r.String(object, "type", "", "Opaque");
  std::map<std::string, std::string> data = r.StringMap(object, "data", "");
  for (auto& [key, encoded] : data) {
    std::string decoded;
    if (!absl::Base64Unescape(portico::ToAbsl(encoded), &decoded)) {
      // Only this key is lost; a TLS Secret then fails in the translator with
      // a precise "missing tls.key" rather than vanishing entirely.
      Report(diagnostics, Diagnostic::Severity::kError, subject, kInvalidSecretData,
             portico::StrCat(out.meta.source, ": data[\"", key,
                             "\"] is not valid base64; the key is ignored"));
      continue;
    }
    out.data[key] = std::move(decoded);
  }
  // stringData is write-only sugar that the API server merges over data.
  for (auto& [key, value] : r.StringMap(object, "stringData", "")) {
    out.data[key] = std::move(value);
  }
}

void DecodeConfigMap(FieldReader& r, const json& object, translate::ConfigMap& out) {
  out.data = r.StringMap(object, "data", "");
}

// Reads namespace/name without failing, so that a diagnostic about a
// malformed object can still say which one it is.
// `default_ns` is what an absent namespace means ("" for cluster-scoped kinds
// and for kinds Portico does not know).
Subject IdentifyLoosely(std::string_view kind, const json& object, std::string_view default_ns) {
  Subject subject{std::string(kind), std::string(default_ns), ""};
  auto metadata = object.find("metadata");
  if (metadata == object.end() || !metadata->is_object()) return subject;
  auto name = metadata->find("name");
  if (name != metadata->end() && name->is_string()) subject.name = name->get<std::string>();
  auto ns = metadata->find("namespace");
  if (ns != metadata->end() && ns->is_string() && !ns->get_ref<const std::string&>().empty()) {
    subject.ns = ns->get<std::string>();
  }
  return subject;
}

absl::Status Reject(std::vector<Diagnostic>& diagnostics, const Subject& subject,
                    std::string_view reason, std::string message) {
  absl::Status status = absl::InvalidArgumentError(message);
  Report(diagnostics, Diagnostic::Severity::kError, subject, reason, std::move(message));
  return status;
}

// Decodes a fresh T with `decode` and appends it to `out`, unless the reader
// failed: a rejected object must not reach the state half-filled.
template <typename T, typename DecodeFn>
void Store(FieldReader& r, const translate::ObjectMeta& meta, DecodeFn decode,
           std::vector<T>& out) {
  T value;
  value.meta = meta;
  decode(value);
  if (r.ok()) out.push_back(std::move(value));
}

absl::Status DecodeKind(const json& object, std::string_view kind, std::string_view api_version,
                        std::string_view source, bool in_list, translate::ClusterState& state,
                        std::vector<Diagnostic>& diagnostics);

absl::Status DecodeAny(const json& object, std::string_view source, bool in_list,
                       translate::ClusterState& state, std::vector<Diagnostic>& diagnostics) {
  if (!object.is_object()) {
    return Reject(diagnostics, Subject{}, kInvalidManifest,
                  portico::StrCat(source, ": expected an object, got ",
                                  object.is_array() ? "a list" : "a scalar"));
  }
  FieldReader r;
  std::string kind = r.String(object, "kind", "");
  std::string api_version = r.String(object, "apiVersion", "");
  if (r.ok() && kind.empty()) r.Fail("kind", "required");
  if (r.ok() && api_version.empty()) r.Fail("apiVersion", "required");
  if (!r.ok()) {
    return Reject(diagnostics, Subject{}, kInvalidManifest,
                  portico::StrCat(source, ": ", r.status().message()));
  }
  return DecodeKind(object, kind, api_version, source, in_list, state, diagnostics);
}

// `kind: List` (kubectl's output) and typed lists ("IngressList", the API's
// LIST response), whose items omit kind and apiVersion.
absl::Status DecodeList(const json& object, std::string_view kind, std::string_view api_version,
                        std::string_view source, translate::ClusterState& state,
                        std::vector<Diagnostic>& diagnostics) {
  FieldReader r;
  const json* items = r.Array(object, "items", "");
  if (!r.ok()) {
    return Reject(diagnostics, Subject{std::string(kind), "", ""}, kInvalidManifest,
                  portico::StrCat(source, ": ", r.status().message()));
  }
  if (items == nullptr) return absl::OkStatus();
  std::string item_kind = kind == "List" ? "" : std::string(kind.substr(0, kind.size() - 4));
  size_t rejected = 0;
  for (size_t i = 0; i < items->size(); ++i) {
    const json& item = (*items)[i];
    std::string item_source = portico::StrCat(source, ".items[", i, "]");
    absl::Status status =
        !item_kind.empty() && item.is_object() && !item.contains("kind")
            ? DecodeKind(item, item_kind, api_version, item_source, true, state, diagnostics)
            : DecodeAny(item, item_source, true, state, diagnostics);
    if (!status.ok()) ++rejected;
  }
  if (rejected == 0) return absl::OkStatus();
  return absl::InvalidArgumentError(
      portico::StrCat(source, ": ", rejected, " of ", items->size(), " items rejected"));
}

absl::Status DecodeKind(const json& object, std::string_view kind, std::string_view api_version,
                        std::string_view source, bool in_list, translate::ClusterState& state,
                        std::vector<Diagnostic>& diagnostics) {
  if (absl::EndsWith(portico::ToAbsl(kind), "List")) {
    // kubectl does not nest lists either; refusing keeps the recursion at one level.
    if (in_list) {
      return Reject(diagnostics, Subject{std::string(kind), "", ""}, kInvalidManifest,
                    portico::StrCat(source, ": a list inside a list is not supported"));
    }
    return DecodeList(object, kind, api_version, source, state, diagnostics);
  }
  const KindInfo* info = FindKind(kind);
  if (info == nullptr) {
    // Deployments and the like often share a file with the Ingress: not an error.
    Subject subject = IdentifyLoosely(kind, object, "");
    Report(diagnostics, Diagnostic::Severity::kWarning, subject, kUnsupportedKind,
           portico::StrCat(source, ": kind ", kind, " is not used by Portico; skipped"));
    return absl::OkStatus();
  }
  Subject subject = IdentifyLoosely(kind, object, info->namespaced ? "default" : "");
  if (!info->namespaced) subject.ns.clear();
  bool version_ok = false;
  for (std::string_view v : info->api_versions) version_ok = version_ok || v == api_version;
  if (!version_ok) {
    std::string supported;
    for (std::string_view v : info->api_versions) {
      supported = supported.empty() ? std::string(v) : portico::StrCat(supported, ", ", v);
    }
    return Reject(diagnostics, subject, kUnsupportedApiVersion,
                  portico::StrCat(source, ": ", kind, " apiVersion \"", api_version,
                                  "\" is not supported (use ", supported, ")"));
  }

  FieldReader r;
  translate::ObjectMeta meta = DecodeMeta(r, object, info->namespaced, source);
  // Secret data errors only matter for a Secret that is kept.
  std::vector<Diagnostic> secret_diagnostics;
  if (kind == "Ingress") {
    Store(
        r, meta, [&](translate::Ingress& v) { DecodeIngress(r, object, v); }, state.ingresses);
  } else if (kind == "IngressClass") {
    Store(
        r, meta, [&](translate::IngressClass& v) { DecodeIngressClass(r, object, v); },
        state.ingress_classes);
  } else if (kind == "Service") {
    Store(
        r, meta, [&](translate::Service& v) { DecodeService(r, object, v); }, state.services);
  } else if (kind == "EndpointSlice") {
    Store(
        r, meta, [&](translate::EndpointSlice& v) { DecodeEndpointSlice(r, object, v); },
        state.endpoint_slices);
  } else if (kind == "Endpoints") {
    std::vector<translate::EndpointSlice> slices;
    DecodeEndpoints(r, object, meta, slices);
    if (r.ok()) {
      for (translate::EndpointSlice& slice : slices)
        state.endpoint_slices.push_back(std::move(slice));
    }
  } else if (kind == "Secret") {
    Store(
        r, meta,
        [&](translate::Secret& v) { DecodeSecret(r, object, subject, v, secret_diagnostics); },
        state.secrets);
  } else {
    Store(
        r, meta, [&](translate::ConfigMap& v) { DecodeConfigMap(r, object, v); },
        state.config_maps);
  }
  if (!r.ok()) {
    return Reject(diagnostics, subject, kInvalidManifest,
                  portico::StrCat(source, ": ", r.status().message()));
  }
  for (Diagnostic& d : secret_diagnostics) diagnostics.push_back(std::move(d));
  return absl::OkStatus();
}

}  // namespace

absl::Status DecodeObject(const json& object, std::string_view source_name,
                          translate::ClusterState& state, std::vector<Diagnostic>& diagnostics) {
  return DecodeAny(object, source_name, /*in_list=*/false, state, diagnostics);
}

absl::Status DecodeManifests(std::string_view text, std::string_view source_name,
                             translate::ClusterState& state, std::vector<Diagnostic>& diagnostics) {
  absl::StatusOr<std::vector<json>> documents = ParseYamlDocuments(text);
  if (!documents.ok()) {
    std::string message = portico::StrCat(source_name, ": ", documents.status().message());
    Report(diagnostics, Diagnostic::Severity::kError, Subject{}, kInvalidManifest, message);
    return absl::InvalidArgumentError(message);
  }
  for (size_t i = 0; i < documents->size(); ++i) {
    const json& document = (*documents)[i];
    // `---` separators with nothing (or only comments) between them.
    if (document.is_null()) continue;
    // Numbered from 1, as a reader counts documents in the file.
    std::string source = portico::StrCat(source_name, "#", i + 1);
    DecodeObject(document, source, state, diagnostics).IgnoreError();
  }
  return absl::OkStatus();
}

}  // namespace portico::controller::source
