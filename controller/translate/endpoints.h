#pragma once
// EndpointSlices to snapshot endpoints, resolving Service target ports the way
// kube-proxy does.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "controller/translate/cluster_state.h"
#include "controller/translate/diagnostics.h"
#include "portico/v1/snapshot.pb.h"

namespace portico::controller::translate {

// EndpointSlices by (namespace, service name), each list ordered by slice name.
class SliceIndex {
 public:
  explicit SliceIndex(const std::vector<EndpointSlice>& slices);
  const std::vector<const EndpointSlice*>& For(const std::string& ns,
                                               const std::string& service) const;

 private:
  std::map<std::pair<std::string, std::string>, std::vector<const EndpointSlice*>> by_service_;
};

// The endpoints behind one Service port, sorted by (address, port), one per
// (address, port). The port of a slice is the slice port named like the
// Service port (kube-proxy's rule, which also resolves named targetPorts). A
// slice that lists other ports only is skipped: its Pods lack that named
// port, which is normal while a Deployment renames it, so only a Service
// whose slices all lack it gets a diagnostic. A slice that lists no ports
// (hand-written) takes a numeric targetPort, or the port itself when
// targetPort is unset. FQDN slices and unparsable addresses are skipped with
// a diagnostic: the data plane takes IP literals only.
std::vector<v1::Endpoint> BuildEndpoints(const Service& service, const ServicePort& port,
                                         const std::vector<const EndpointSlice*>& slices,
                                         DiagnosticSink& diagnostics);

}  // namespace portico::controller::translate
