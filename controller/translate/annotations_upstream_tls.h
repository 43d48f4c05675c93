#pragma once
// TLS to the backends of an Ingress (HTTPS and GRPCS backend protocols):
// the proxy-ssl-* annotations (nginx aliases too) to Cluster.upstream_tls of
// the Ingress's cluster policy.
//
//   proxy-ssl-verify       on/off (true/false): verify the backend's certificate; default off
//   proxy-ssl-secret       [namespace/]name of a Secret with ca.crt, in the Ingress's namespace
//   proxy-ssl-name         the name sent as SNI and verified (DNS name or IP address);
//                          default: the Service's DNS name <service>.<namespace>.svc
//   proxy-ssl-server-name  on/off: send SNI; default on
//   proxy-ssl-protocols    "TLSv1.2 TLSv1.3" (either or both); default both
//
// Verification fails closed: with proxy-ssl-verify on, an invalid or
// cross-namespace proxy-ssl-secret (or a missing one, found later by
// ResolveCaSecret) leaves the cluster without a CA, and its requests get 503.

#include "controller/translate/annotation_reader.h"
#include "controller/translate/tls.h"
#include "portico/v1/snapshot.pb.h"

namespace portico::controller::translate {

void ParseUpstreamTls(AnnotationReader& read, v1::Cluster& cluster_policy);

// Checks the CA Secret that ParseUpstreamTls named (if any) and marks it for
// the snapshot; reports a missing or unusable one against `ingress`.
void ResolveCaSecret(const Ingress& ingress, TlsResolver& tls, v1::Cluster& cluster_policy,
                     DiagnosticSink& diagnostics);

// The default server name of a TLS cluster without proxy-ssl-name.
std::string ServiceDnsName(std::string_view ns, std::string_view service);

}  // namespace portico::controller::translate
