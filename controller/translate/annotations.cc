#include "controller/translate/annotations.h"

#include <array>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "common/strings.h"
#include "controller/translate/backend_protocol.h"

namespace portico::controller::translate {
namespace {

constexpr std::array<std::string_view, 8> kKnown = {"use-regex",          "ssl-redirect",
                                                    "force-ssl-redirect", "hsts",
                                                    "hsts-max-age",       "hsts-include-subdomains",
                                                    "hsts-preload",       "backend-protocol"};

// The value of portico.dev/<name>, else of its nginx alias (when it has one);
// also returns the full key it came from, for messages.
std::optional<std::pair<std::string, std::string>> Lookup(const ObjectMeta& meta,
                                                          std::string_view name,
                                                          bool nginx_alias = true) {
  for (std::string_view prefix : {kPorticoPrefix, kNginxPrefix}) {
    if (prefix == kNginxPrefix && !nginx_alias) break;
    std::string key = portico::StrCat(prefix, name);
    auto it = meta.annotations.find(key);
    if (it != meta.annotations.end()) return std::make_pair(key, it->second);
  }
  return std::nullopt;
}

// Strict: Kubernetes manifests spell booleans "true"/"false" (quoted in YAML).
std::optional<bool> ParseBool(std::string_view value) {
  if (value == "true") return true;
  if (value == "false") return false;
  return std::nullopt;
}

class Parser {
 public:
  Parser(const Ingress& ingress, DiagnosticSink& diagnostics)
      : ingress_(ingress), diagnostics_(diagnostics) {}

  // Leaves `out` as it is when the annotation is absent or invalid.
  void Bool(std::string_view name, bool* out, bool nginx_alias = true) {
    auto found = Lookup(ingress_.meta, name, nginx_alias);
    if (!found) return;
    std::optional<bool> parsed = ParseBool(found->second);
    if (parsed.has_value()) {
      *out = *parsed;
    } else {
      Invalid(found->first, "must be \"true\" or \"false\"");
    }
  }

  void MaxAge(std::string_view name, uint32_t* out) {
    auto found = Lookup(ingress_.meta, name, /*nginx_alias=*/false);
    if (!found) return;
    std::optional<uint32_t> parsed = ParseHstsMaxAge(found->second);
    if (parsed.has_value()) {
      *out = *parsed;
    } else {
      Invalid(found->first, "must be a whole number of seconds");
    }
  }

  void Protocol(std::string_view name, std::optional<v1::Cluster::Protocol>* out) {
    auto found = Lookup(ingress_.meta, name);
    if (!found) return;
    if (auto parsed = ParseBackendProtocol(found->second)) {
      *out = *parsed;
    } else {
      Invalid(found->first, "must be HTTP, HTTPS, GRPC, GRPCS or H2C");
    }
  }

 private:
  void Invalid(const std::string& key, std::string_view why) {
    diagnostics_.Error("Ingress", ingress_.meta, "InvalidAnnotation",
                       portico::StrCat("annotation ", key, " ", why, "; it is ignored"));
  }

  const Ingress& ingress_;
  DiagnosticSink& diagnostics_;
};

}  // namespace

IngressAnnotations ParseAnnotations(const Ingress& ingress, const HttpsOptions& https_defaults,
                                    DiagnosticSink& diagnostics) {
  IngressAnnotations result;
  result.https = https_defaults;
  for (const auto& [key, value] : ingress.meta.annotations) {
    if (!absl::StartsWith(key, ToAbsl(kPorticoPrefix))) continue;
    std::string_view name = std::string_view(key).substr(kPorticoPrefix.size());
    bool known = false;
    for (std::string_view k : kKnown) known = known || k == name;
    if (!known) {
      diagnostics.Warn("Ingress", ingress.meta, "UnknownAnnotation",
                       portico::StrCat("annotation ", key, " is not supported; it is ignored"));
    }
  }
  Parser parse(ingress, diagnostics);
  parse.Bool("use-regex", &result.use_regex);
  parse.Bool("ssl-redirect", &result.https.ssl_redirect);
  parse.Bool("force-ssl-redirect", &result.https.force_ssl_redirect);
  parse.Bool("hsts", &result.https.hsts.enabled, /*nginx_alias=*/false);
  parse.MaxAge("hsts-max-age", &result.https.hsts.max_age_seconds);
  parse.Bool("hsts-include-subdomains", &result.https.hsts.include_subdomains,
             /*nginx_alias=*/false);
  parse.Bool("hsts-preload", &result.https.hsts.preload, /*nginx_alias=*/false);
  parse.Protocol("backend-protocol", &result.backend_protocol);
  return result;
}

}  // namespace portico::controller::translate
