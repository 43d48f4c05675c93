#pragma once
// One served Ingress into the builders of its island (translator.cc): its
// rules' hosts, paths and default backend, canaries, app-root and
// from-to-www redirects, certificates, and the objects its annotations name.

#include <string>
#include <vector>

#include "controller/translate/annotations.h"
#include "controller/translate/annotations_auth.h"
#include "controller/translate/backends.h"
#include "controller/translate/cluster_state.h"
#include "controller/translate/diagnostics.h"
#include "controller/translate/https_policy.h"
#include "controller/translate/reads.h"
#include "controller/translate/routes.h"
#include "controller/translate/tls.h"
#include "portico/v1/snapshot.pb.h"

namespace portico::controller::translate {

// The resolvers of one translation, shared by its islands.
struct Resolvers {
  BackendResolver& backends;
  TlsResolver& tls;
  CredentialsResolver& credentials;
  // Where the resolvers above note what they look up, and TranslateIngress
  // the ConfigMaps.
  ReadLog* reads;
};

// A from-to-www-redirect request: `host` is a rule host of `ingress`; its
// www counterpart is redirected to it once every Ingress has named its hosts.
struct WwwRedirect {
  std::string host;
  const Ingress* ingress;
  HttpsOptions https;
  v1::Route policy;
};

// `annotations`: ParseAnnotations of `ingress` (their diagnostics are the
// caller's to report). Call for each Ingress of an island, oldest first.
void TranslateIngress(const Ingress& ingress, IngressAnnotations annotations,
                      const ClusterState& state, Resolvers& resolvers, VirtualHostBuilder& vhosts,
                      std::vector<WwwRedirect>& www_redirects, DiagnosticSink& diagnostics);

// from-to-www-redirect, as ingress-nginx: the counterpart of each rule host
// (www.<host> for <host>, <host> for www.<host>) answers every request with
// a 308 to the rule host, path and query kept, unless it is a rule host itself.
// Call once every Ingress of the island has named its hosts.
void AddWwwRedirects(const std::vector<WwwRedirect>& www_redirects, VirtualHostBuilder& vhosts);

}  // namespace portico::controller::translate
