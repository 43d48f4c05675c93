#pragma once
// Typed Ingress annotations. Every value is parsed and validated here; a bad
// value disables only what it configures (its default applies) and yields a
// diagnostic, except security policies, which fail closed.
//
// Adding a policy family: a Parse<Family>(AnnotationReader&, ...) function in
// annotations_<family>.cc, called from ParseAnnotations, that sets its typed
// fields in `route_policy` (merged into every route of the Ingress) or
// `cluster_policy` (merged into the Ingress's clusters, which then become
// clusters of their own: see BackendOwner).

#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "controller/translate/annotation_reader.h"
#include "controller/translate/annotations_auth.h"
#include "controller/translate/annotations_ext_auth.h"
#include "controller/translate/annotations_redirect.h"
#include "controller/translate/annotations_security.h"
#include "controller/translate/annotations_traffic.h"
#include "controller/translate/cluster_state.h"
#include "controller/translate/diagnostics.h"
#include "controller/translate/https_policy.h"
#include "portico/v1/snapshot.pb.h"

namespace portico::controller::translate {

struct IngressAnnotations {
  // ImplementationSpecific paths are RE2 regexes anchored at the path start.
  bool use_regex = false;
  // The settings ConfigMap's defaults with this Ingress's overrides:
  // ssl-redirect and force-ssl-redirect (nginx aliases too), hsts,
  // hsts-max-age, hsts-include-subdomains, hsts-preload (portico.dev/ only:
  // ingress-nginx has them in its ConfigMap alone).
  HttpsOptions https;
  // backend-protocol (nginx alias too): HTTP, HTTPS, GRPC, GRPCS, H2C.
  std::optional<v1::Cluster::Protocol> backend_protocol;
  // Policy fields of v1::Route (everything but name, match, action, origin),
  // merged into each route this Ingress contributes.
  v1::Route route_policy;
  // Fields of v1::Cluster (everything but name, protocol, origin) for the
  // clusters this Ingress's routes use.
  v1::Cluster cluster_policy;
  // canary, canary-* (annotations_traffic.h).
  TrafficAnnotations traffic;
  // Redirects and rewrite-target's regex implication (annotations_redirect.h).
  RedirectAnnotations redirects;
  // auth-type, auth-secret, auth-secret-type, auth-realm (annotations_auth.h);
  // the translator resolves the Secret into route_policy.basic_auth.
  BasicAuthAnnotations basic_auth;
  // auth-url's destination (annotations_ext_auth.h); route_policy.external_auth
  // gets its cluster from it.
  std::optional<ExternalAuthTarget> external_auth;
};

// portico.dev/<name> wins over its nginx.ingress.kubernetes.io/<name> alias.
// Unknown portico.dev/* annotations are warned about (a typo would otherwise
// silently do nothing); unknown nginx ones are not, since migrating users
// carry many that Portico does not need.
// `ip_filter_defaults`: the settings ConfigMap's IP lists.
IngressAnnotations ParseAnnotations(const Ingress& ingress, const HttpsOptions& https_defaults,
                                    DiagnosticSink& diagnostics,
                                    const IpFilterDefaults& ip_filter_defaults = {});

// The names (without prefix) ParseAnnotations reads for this Ingress: every
// family's names, including those read only when another annotation asks for
// them. For the randomized parser test, which draws keys from them.
std::set<std::string, std::less<>> AnnotationNamesRead(const Ingress& ingress);

}  // namespace portico::controller::translate
