#include "controller/translate/annotations.h"

#include <array>
#include <optional>
#include <string>

#include "absl/strings/match.h"
#include "common/strings.h"

namespace portico::controller::translate {
namespace {

constexpr std::array<std::string_view, 1> kKnown = {"use-regex"};

// The value of portico.dev/<name>, else of its nginx alias; also returns the
// full key it came from, for messages.
std::optional<std::pair<std::string, std::string>> Lookup(const ObjectMeta& meta,
                                                          std::string_view name) {
  for (std::string_view prefix : {kPorticoPrefix, kNginxPrefix}) {
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

}  // namespace

IngressAnnotations ParseAnnotations(const Ingress& ingress, DiagnosticSink& diagnostics) {
  IngressAnnotations result;
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
  if (auto use_regex = Lookup(ingress.meta, "use-regex")) {
    std::optional<bool> parsed = ParseBool(use_regex->second);
    if (parsed.has_value()) {
      result.use_regex = *parsed;
    } else {
      diagnostics.Error("Ingress", ingress.meta, "InvalidAnnotation",
                        portico::StrCat("annotation ", use_regex->first,
                                        " must be \"true\" or \"false\"; it is ignored"));
    }
  }
  return result;
}

}  // namespace portico::controller::translate
