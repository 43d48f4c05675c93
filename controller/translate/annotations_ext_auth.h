#pragma once
// External authentication annotations (ingress-nginx's auth_request family):
// auth-url, auth-method, auth-signin, auth-signin-redirect-param,
// auth-response-headers, auth-request-redirect, auth-cache-key,
// auth-cache-duration. A security policy: an invalid value fails closed
// (ExternalAuth.deny_all, every request 503), except the cache knobs, whose
// invalid values only turn caching off.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "controller/translate/annotation_reader.h"
#include "controller/translate/backends.h"
#include "portico/v1/snapshot.pb.h"

namespace portico::controller::translate {

// Where the auth subrequests go: an IP literal, or a Service (by its cluster
// DNS name), on the URL's port.
struct ExternalAuthTarget {
  std::string ip;  // set: an IP literal (a static endpoint)
  std::string ns;  // else the Service ns/service
  std::string service;
  uint32_t port = 0;
  bool tls = false;
};

// A parsed auth-url: its pieces, for the subrequest's host and target.
struct AuthUrl {
  bool tls = false;
  std::string host;    // as in the URL, lower case (IPv6 in brackets)
  uint32_t port = 0;   // the URL's, else 80 / 443
  std::string target;  // path and query
};

// http or https only, no userinfo, a host; the fragment is dropped.
std::optional<AuthUrl> ParseAuthUrl(std::string_view value);

// The Service a host names ("svc.ns", "svc.ns.svc", "svc.ns.svc.cluster.local"),
// as {ns, service}; nullopt for other names.
std::optional<std::pair<std::string, std::string>> ServiceFromHost(std::string_view host);

// Parses the family into route_policy.external_auth (cluster unset) and
// returns where its subrequests go; nullopt without auth-url or when it
// failed closed (then deny_all is set).
std::optional<ExternalAuthTarget> ParseExternalAuth(AnnotationReader& read,
                                                    v1::Route& route_policy);

// Gives route_policy.external_auth its cluster: a Service's shared cluster
// (fed by its EndpointSlices, like any backend), or a static one for an IP.
void ResolveExternalAuth(const Ingress& ingress, const ExternalAuthTarget& target,
                         BackendResolver& backends, v1::Route& route_policy,
                         DiagnosticSink& diagnostics);

}  // namespace portico::controller::translate
