#pragma once
// Ingress backends to clusters: one cluster per (namespace, Service, Service
// port), shared by every route that names it.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_set.h"

#include "controller/translate/cluster_state.h"
#include "controller/translate/diagnostics.h"
#include "controller/translate/endpoints.h"
#include "controller/translate/reads.h"
#include "portico/v1/snapshot.pb.h"

namespace portico::controller::translate {

// Who asked for a backend: diagnostics are reported against this object, and
// `ingress` (may be empty) goes into the route's Origin.
struct BackendOwner {
  std::string_view kind;
  const ObjectMeta* meta;
  std::string_view ingress;
  // The owner's backend-protocol annotation; else the Service port's appProtocol.
  std::optional<v1::Cluster::Protocol> protocol;
  // The owner's cluster settings (IngressAnnotations::cluster_policy); null or
  // empty: the Service port's shared cluster. Otherwise the fields are merged
  // into a cluster of the owner's own, "ns/svc:port[@proto]~<hash>", so that
  // Ingresses sharing a Service cannot change each other's upstream behaviour.
  const v1::Cluster* policy = nullptr;
};

struct ResolvedBackend {
  v1::RouteAction action;
  v1::Origin origin;
};

// Single use, within one translation; keeps pointers into the ClusterState.
//
// A backend that cannot be served as written still yields a route, so that
// its requests get an honest 503 rather than falling through to a shorter
// prefix that may belong to someone else (ingress-nginx does the same):
//   * Service or Service port missing: a cluster with no endpoints;
//   * ExternalName with a DNS name: a cluster with no endpoints (the data
//     plane connects to IP literals only; an IP literal works);
//   * a `resource` backend or no Service name: a direct 503 response.
class BackendResolver {
 public:
  explicit BackendResolver(const ClusterState& state);

  // Where Resolve notes the Services it looks up; null: nowhere.
  void SetReadLog(ReadLog* reads) { reads_ = reads; }

  // The settings ConfigMap's cluster settings, under every cluster's own.
  void SetClusterDefaults(v1::Cluster defaults) { defaults_ = std::move(defaults); }

  ResolvedBackend Resolve(std::string_view ns, const IngressBackend& backend,
                          const BackendOwner& owner, DiagnosticSink& diagnostics);

  // The controller's default backend: the Service's first port (as listed).
  ResolvedBackend ResolveDefault(const std::string& ns, const std::string& name,
                                 DiagnosticSink& diagnostics);

  // A cluster of one static endpoint, `ip`:`port` (external auth at an IP
  // address), shared by everyone who names the same address and protocol.
  std::string AddStaticCluster(std::string_view ip, uint32_t port, v1::Cluster::Protocol protocol);

  // Appends the clusters that the routes of `virtual_hosts` and the
  // snapshot's default action name (a route that lost a conflict leaves its
  // cluster unused) and their endpoints, sorted by name.
  void Emit(const std::vector<std::shared_ptr<const v1::VirtualHost>>& virtual_hosts,
            v1::Snapshot& snapshot, DiagnosticSink& diagnostics) const;

  // What a cluster is made of.
  struct ClusterEntry {
    v1::Origin origin;
    const Service* service = nullptr;   // null: missing Service
    const ServicePort* port = nullptr;  // null: missing port, or ExternalName by number
    uint32_t external_port = 0;         // ExternalName: the port to connect to
    v1::Cluster::Protocol protocol = v1::Cluster::PROTOCOL_HTTP1;
    v1::Cluster policy;
    std::optional<v1::Endpoint> static_endpoint;  // AddStaticCluster's
  };
  // A cluster as one island of Ingresses (translator.cc) asked for it, with
  // no pointers into the ClusterState, so that a later translation with the
  // same Services can add it again without resolving anything.
  struct Requested {
    std::string name;
    ClusterEntry entry;  // service and port unset
    bool has_service = false;
    int port_index = -1;  // into the Service's ports
  };
  // Starts recording what is asked for: the first entry of each name asked
  // for since, whether or not an earlier one won the name.
  void StartIsland();
  std::vector<Requested> TakeRequested();
  // Adds recorded clusters whose names are not taken yet.
  void AddRequested(const std::vector<Requested>& requested);

 private:
  void Record(const std::string& name, const ClusterEntry& entry);

  // The first entry for a name wins; a later one is dropped unread (a name
  // fixes its inputs: Service, port, protocol and the policy's hash).
  std::string AddCluster(std::string_view ns, std::string_view service, std::string_view port,
                         ClusterEntry&& entry);

  std::map<std::pair<std::string, std::string>, const Service*> services_;
  SliceIndex slices_;
  std::map<std::string, ClusterEntry> clusters_;
  std::vector<Requested> requested_;
  absl::flat_hash_set<std::string> requested_names_;
  v1::Cluster defaults_;
  ReadLog* reads_ = nullptr;
};

}  // namespace portico::controller::translate
