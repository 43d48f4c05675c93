#include "controller/translate/annotations.h"

#include <optional>
#include <string>

#include "controller/translate/backend_protocol.h"

namespace portico::controller::translate {

IngressAnnotations ParseAnnotations(const Ingress& ingress, const HttpsOptions& https_defaults,
                                    DiagnosticSink& diagnostics) {
  IngressAnnotations result;
  result.https = https_defaults;
  AnnotationReader read(ingress, diagnostics);
  auto set = [](bool* out, std::optional<bool> value) {
    if (value) *out = *value;
  };
  set(&result.use_regex, read.Bool("use-regex"));
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
  read.ReportUnknown();
  return result;
}

}  // namespace portico::controller::translate
