#include "controller/translate/backends.h"

#include <set>
#include <utility>

#include "absl/status/statusor.h"
#include "common/net/ip_address.h"
#include "common/strings.h"
#include "controller/translate/annotations_upstream.h"
#include "controller/translate/annotations_upstream_tls.h"
#include "controller/translate/backend_protocol.h"
#include "portico/v1/wire_bytes.h"

namespace portico::controller::translate {
namespace {

// Eight hex digits of FNV-1a over the deterministic serialization: stable
// across controller restarts, so a cluster keeps its name (and the data
// plane its pools) from one snapshot to the next.
std::string PolicyHash(const v1::Cluster& policy) {
  const std::string bytes = v1::WireBytes(policy);
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(8, '0');
  for (int i = 0; i < 8; ++i) out[i] = kHex[(h >> (60 - 4 * i)) & 0xf];
  return out;
}

v1::RouteAction Unavailable() {
  v1::RouteAction action;
  action.mutable_direct_response()->set_status(503);
  return action;
}

const ServicePort* FindPort(const Service& service, const ServiceBackendPort& ref) {
  for (const ServicePort& p : service.ports) {
    if (ref.number.has_value() ? p.port == *ref.number : p.name == *ref.name) return &p;
  }
  return nullptr;
}

bool IsIpLiteral(std::string_view name) { return net::IpAddress::Parse(name).ok(); }

}  // namespace

BackendResolver::BackendResolver(const ClusterState& state) : slices_(state.endpoint_slices) {
  for (const Service& s : state.services) services_.try_emplace({s.meta.ns, s.meta.name}, &s);
}

std::string BackendResolver::AddCluster(std::string_view ns, std::string_view service,
                                        std::string_view port, ClusterEntry&& entry) {
  std::string name = port.empty() ? portico::StrCat(ns, "/", service)
                                  : portico::StrCat(ns, "/", service, ":", port);
  const bool known = clusters_.contains(name);
  const bool first_in_island = requested_names_.insert(name).second;
  if (known && !first_in_island) return name;
  entry.origin.set_namespace_(std::string(ns));
  entry.origin.set_service(std::string(service));
  entry.origin.set_service_port(std::string(port));
  if (first_in_island) Record(name, entry);
  if (!known) clusters_.try_emplace(name, std::move(entry));
  return name;
}

void BackendResolver::Record(const std::string& name, const ClusterEntry& entry) {
  Requested& r = requested_.emplace_back(Requested{name, entry});
  r.has_service = entry.service != nullptr;
  if (entry.port != nullptr)
    r.port_index = static_cast<int>(entry.port - entry.service->ports.data());
  r.entry.service = nullptr;
  r.entry.port = nullptr;
}

void BackendResolver::StartIsland() {
  requested_.clear();
  requested_names_.clear();
}

std::vector<BackendResolver::Requested> BackendResolver::TakeRequested() {
  requested_names_.clear();
  return std::exchange(requested_, {});
}

void BackendResolver::AddRequested(const std::vector<Requested>& requested) {
  for (const Requested& r : requested) {
    if (clusters_.contains(r.name)) continue;
    ClusterEntry entry = r.entry;
    if (r.has_service) {
      auto it = services_.find({r.entry.origin.namespace_(), r.entry.origin.service()});
      if (it != services_.end()) {
        entry.service = it->second;
        if (r.port_index >= 0 && static_cast<size_t>(r.port_index) < entry.service->ports.size()) {
          entry.port = &entry.service->ports[r.port_index];
        }
      }
    }
    clusters_.try_emplace(r.name, std::move(entry));
  }
}

ResolvedBackend BackendResolver::Resolve(std::string_view ns, const IngressBackend& backend,
                                         const BackendOwner& owner, DiagnosticSink& diagnostics) {
  ResolvedBackend r;
  r.origin.set_namespace_(std::string(ns));
  r.origin.set_ingress(std::string(owner.ingress));
  r.origin.set_service(backend.service_name);
  if (backend.has_resource || backend.service_name.empty()) {
    diagnostics.Error(owner.kind, *owner.meta, "UnsupportedBackend",
                      "only Service backends are supported; requests for this backend get 503");
    r.action = Unavailable();
    return r;
  }
  const ServiceBackendPort& ref = backend.port;
  if (!ref.number.has_value() && !ref.name.has_value()) {
    diagnostics.Error(owner.kind, *owner.meta, "InvalidBackend",
                      portico::StrCat("backend Service \"", backend.service_name,
                                      "\" names no port; requests for it get 503"));
    r.action = Unavailable();
    return r;
  }
  if (ref.number.has_value() && (*ref.number < 1 || *ref.number > 65535)) {
    // The API server rejects these; a file or a newer API could still carry
    // one, and letting it through would make the data plane reject the whole
    // snapshot, blocking every unrelated change with it.
    diagnostics.Error(owner.kind, *owner.meta, "InvalidBackend",
                      portico::StrCat("backend Service \"", backend.service_name, "\" port ",
                                      *ref.number, " is not in 1..65535; requests for it get 503"));
    r.action = Unavailable();
    return r;
  }
  std::string port_ref = ref.number.has_value() ? std::to_string(*ref.number) : *ref.name;
  const std::string service_id = portico::StrCat(ns, "/", backend.service_name);

  if (reads_ != nullptr) reads_->Note(ReadKind::kService, ns, backend.service_name);
  auto it = services_.find({std::string(ns), backend.service_name});
  ClusterEntry entry;
  std::string cluster_port = port_ref;
  if (it == services_.end()) {
    diagnostics.Warn(
        owner.kind, *owner.meta, "ServiceNotFound",
        portico::StrCat("Service \"", service_id, "\" not found; requests for it get 503"));
  } else {
    const Service& service = *it->second;
    entry.service = &service;
    entry.port = FindPort(service, ref);
    bool external = service.type == "ExternalName";
    if (entry.port != nullptr && (entry.port->port < 1 || entry.port->port > 65535)) {
      diagnostics.Error("Service", service.meta, "InvalidServicePort",
                        portico::StrCat("port ", entry.port->port,
                                        " is not in 1..65535; requests for it get 503"));
      entry.port = nullptr;
    } else if (entry.port != nullptr) {
      cluster_port = std::to_string(entry.port->port);
      entry.external_port = static_cast<uint32_t>(entry.port->port);
    } else if (external && ref.number.has_value()) {
      // An ExternalName Service need not list ports: the number is the port.
      entry.external_port = static_cast<uint32_t>(*ref.number);
    } else {
      diagnostics.Warn(owner.kind, *owner.meta, "ServicePortNotFound",
                       portico::StrCat("Service \"", service_id, "\" has no port \"", port_ref,
                                       "\"; requests for it get 503"));
    }
    if (external && entry.external_port != 0 && !IsIpLiteral(service.external_name)) {
      diagnostics.Warn(
          owner.kind, *owner.meta, "ExternalNameUnsupported",
          portico::StrCat("ExternalName Service \"", service_id, "\" points at \"",
                          service.external_name, "\", not an IP address; requests for it get 503"));
    }
  }
  // The Service port's appProtocol says how its pods speak; an Ingress's
  // backend-protocol annotation overrides it for that Ingress's routes, in a
  // cluster of its own ("ns/svc:port@h2c") so Ingresses cannot disagree.
  const v1::Cluster::Protocol declared = entry.port != nullptr
                                             ? ProtocolFromAppProtocol(entry.port->app_protocol)
                                             : v1::Cluster::PROTOCOL_HTTP1;
  entry.protocol = owner.protocol.value_or(declared);
  r.origin.set_service_port(cluster_port);
  std::string cluster_key = cluster_port;
  if (entry.protocol != declared) {
    cluster_key = portico::StrCat(cluster_port, "@", BackendProtocolName(entry.protocol));
  }
  if (owner.policy != nullptr && owner.policy->ByteSizeLong() > 0) {
    entry.policy = *owner.policy;
    cluster_key = portico::StrCat(cluster_key, "~", PolicyHash(entry.policy));
  }
  r.action.set_cluster(AddCluster(ns, backend.service_name, cluster_key, std::move(entry)));
  return r;
}

std::string BackendResolver::AddStaticCluster(std::string_view ip, uint32_t port,
                                              v1::Cluster::Protocol protocol) {
  // "~" appears in no namespace or Service name: these names cannot clash.
  const bool v6 = ip.find(':') != std::string_view::npos;
  std::string name = portico::StrCat("~static/", v6 ? "[" : "", ip, v6 ? "]" : "", ":", port);
  if (protocol != v1::Cluster::PROTOCOL_HTTP1) {
    name = portico::StrCat(name, "@", BackendProtocolName(protocol));
  }
  ClusterEntry entry;
  entry.protocol = protocol;
  entry.origin.set_service(std::string(ip));
  entry.origin.set_service_port(std::to_string(port));
  if (IsTlsBackendProtocol(protocol)) {
    entry.policy.mutable_upstream_tls()->set_server_name(std::string(ip));  // never sent as SNI
  }
  v1::Endpoint endpoint;
  endpoint.set_address(std::string(ip));
  endpoint.set_port(port);
  endpoint.set_ready(true);
  endpoint.set_serving(true);
  entry.static_endpoint = std::move(endpoint);
  if (requested_names_.insert(name).second) Record(name, entry);
  clusters_.try_emplace(name, std::move(entry));
  return name;
}

ResolvedBackend BackendResolver::ResolveDefault(const std::string& ns, const std::string& name,
                                                DiagnosticSink& diagnostics) {
  ObjectMeta meta;
  meta.ns = ns;
  meta.name = name;
  auto it = services_.find({ns, name});
  if (it == services_.end() || it->second->ports.empty()) {
    bool missing = it == services_.end();
    diagnostics.Warn(
        "Service", meta, missing ? "ServiceNotFound" : "ServicePortNotFound",
        portico::StrCat("the default backend Service ", missing ? "does not exist" : "has no ports",
                        "; unmatched requests get 503"));
    ResolvedBackend r;
    r.origin.set_namespace_(ns);
    r.origin.set_service(name);
    r.action.set_cluster(AddCluster(ns, name, "", ClusterEntry{}));
    return r;
  }
  IngressBackend backend;
  backend.service_name = name;
  backend.port.number = it->second->ports.front().port;
  return Resolve(ns, backend, BackendOwner{"Service", &meta, "", std::nullopt}, diagnostics);
}

void BackendResolver::Emit(const std::vector<std::shared_ptr<const v1::VirtualHost>>& virtual_hosts,
                           v1::Snapshot& snapshot, DiagnosticSink& diagnostics) const {
  std::set<std::string> used;
  auto use = [&](const v1::RouteAction& a) {
    if (a.has_cluster()) used.insert(a.cluster());
    for (const v1::WeightedCluster& wc : a.weighted_clusters().clusters())
      used.insert(wc.cluster());
  };
  for (const auto& vh : virtual_hosts) {
    for (const v1::Route& r : vh->routes()) {
      use(r.action());
      if (r.has_canary()) used.insert(r.canary().cluster());
      if (!r.external_auth().cluster().empty()) used.insert(r.external_auth().cluster());
    }
  }
  use(snapshot.default_action());
  for (const auto& [name, entry] : clusters_) {
    if (!used.contains(name)) continue;
    v1::Cluster* cluster = snapshot.add_clusters();
    *cluster = MergeClusterDefaults(defaults_, entry.policy);
    cluster->set_name(name);
    if (entry.protocol != v1::Cluster::PROTOCOL_HTTP1) cluster->set_protocol(entry.protocol);
    if (IsTlsBackendProtocol(entry.protocol)) {
      // Without proxy-ssl-name: the name a certificate for the Service
      // carries (cert-manager's usual dnsNames), or an ExternalName's address.
      v1::UpstreamTls* tls = cluster->mutable_upstream_tls();
      if (tls->server_name().empty()) {
        tls->set_server_name(
            entry.service != nullptr && entry.service->type == "ExternalName"
                ? entry.service->external_name
                : ServiceDnsName(entry.origin.namespace_(), entry.origin.service()));
      }
    } else {
      cluster->clear_upstream_tls();  // proxy-ssl-* apply to HTTPS and GRPCS backends only
    }
    *cluster->mutable_origin() = entry.origin;
    v1::ClusterEndpoints* endpoints = snapshot.add_endpoints();
    endpoints->set_cluster(name);
    if (entry.static_endpoint) *endpoints->add_endpoints() = *entry.static_endpoint;
    if (entry.service == nullptr) continue;
    const Service& service = *entry.service;
    if (service.type == "ExternalName") {
      absl::StatusOr<net::IpAddress> ip = net::IpAddress::Parse(service.external_name);
      if (!ip.ok() || entry.external_port == 0) continue;
      v1::Endpoint* e = endpoints->add_endpoints();
      e->set_address(ip->ToString());
      e->set_port(entry.external_port);
      e->set_ready(true);
      e->set_serving(true);
      continue;
    }
    if (entry.port == nullptr) continue;
    for (v1::Endpoint& e : BuildEndpoints(
             service, *entry.port, slices_.For(service.meta.ns, service.meta.name), diagnostics)) {
      *endpoints->add_endpoints() = std::move(e);
    }
  }
}

}  // namespace portico::controller::translate
