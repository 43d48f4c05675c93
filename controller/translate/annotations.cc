#include "controller/translate/annotations.h"

#include <optional>
#include <string>

#include "controller/translate/annotations_headers.h"
#include "controller/translate/annotations_upstream.h"
#include "controller/translate/annotations_upstream_tls.h"
#include "controller/translate/backend_protocol.h"

namespace portico::controller::translate {

namespace {

IngressAnnotations ParseWith(AnnotationReader& read, const HttpsOptions& https_defaults,
                             const IpFilterDefaults& ip_filter_defaults) {
  IngressAnnotations result;
  result.https = https_defaults;
  auto set = [](bool* out, std::optional<bool> value) {
    if (value) *out = *value;
  };
  std::optional<bool> use_regex = read.Bool("use-regex");
  set(&result.https.ssl_redirect, read.Bool("ssl-redirect"));
  set(&result.https.force_ssl_redirect, read.Bool("force-ssl-redirect"));
  set(&result.https.hsts.enabled, read.Bool("hsts", /*nginx_alias=*/false));
  if (auto found = read.Find("hsts-max-age", /*nginx_alias=*/false)) {
    if (auto parsed = ParseHstsMaxAge(found->value)) {
      result.https.hsts.max_age_seconds = *parsed;
    } else {
      read.Invalid(*found, "must be a whole number of seconds");
    }
  }
  set(&result.https.hsts.include_subdomains,
      read.Bool("hsts-include-subdomains", /*nginx_alias=*/false));
  set(&result.https.hsts.preload, read.Bool("hsts-preload", /*nginx_alias=*/false));
  if (auto found = read.Find("backend-protocol")) {
    if (auto parsed = ParseBackendProtocol(found->value)) {
      result.backend_protocol = *parsed;
    } else {
      read.Invalid(*found, "must be HTTP, HTTPS, GRPC, GRPCS or H2C");
    }
  }
  result.traffic = ParseTrafficAnnotations(read, result.route_policy, result.cluster_policy);
  ParseSecurityAnnotations(read, ip_filter_defaults, result.route_policy);
  ParseUpstreamTls(read, result.cluster_policy);
  ParseUpstreamBehaviour(read, result.route_policy, result.cluster_policy);
  result.redirects = ParseRedirectAnnotations(read, result.route_policy);
  result.use_regex = use_regex.value_or(result.redirects.rewrite_captures);
  RefuseSnippets(read);
  result.basic_auth = ParseBasicAuth(read);
  ParseHeaderAnnotations(read, result.route_policy);
  result.external_auth = ParseExternalAuth(read, result.route_policy);
  return result;
}

}  // namespace

IngressAnnotations ParseAnnotations(const Ingress& ingress, const HttpsOptions& https_defaults,
                                    DiagnosticSink& diagnostics,
                                    const IpFilterDefaults& ip_filter_defaults) {
  AnnotationReader read(ingress, diagnostics);
  IngressAnnotations result = ParseWith(read, https_defaults, ip_filter_defaults);
  read.ReportUnknown();
  return result;
}

std::set<std::string, std::less<>> AnnotationNamesRead(const Ingress& ingress) {
  std::vector<Diagnostic> ignored;
  DiagnosticSink sink(&ignored);
  AnnotationReader read(ingress, sink, AnnotationReader::Remember::kAll);
  ParseWith(read, HttpsOptions{}, IpFilterDefaults{});
  return read.asked();
}

}  // namespace portico::controller::translate
