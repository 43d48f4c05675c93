#include "controller/translate/annotation_reader.h"

#include "absl/strings/match.h"
#include "common/strings.h"
#include "controller/translate/annotation_values.h"

namespace portico::controller::translate {

AnnotationReader::AnnotationReader(const Ingress& ingress, DiagnosticSink& diagnostics,
                                   Remember remember)
    : ingress_(ingress), diagnostics_(diagnostics), remember_all_(remember == Remember::kAll) {
  // The map is sorted: the portico.dev/* keys are one contiguous run.
  const auto& annotations = ingress_.meta.annotations;
  for (auto it = annotations.lower_bound(std::string(kPorticoPrefix));
       it != annotations.end() && absl::StartsWith(it->first, ToAbsl(kPorticoPrefix)); ++it) {
    present_.insert(std::string_view(it->first).substr(kPorticoPrefix.size()));
  }
}

std::optional<AnnotationReader::Found> AnnotationReader::Find(std::string_view name,
                                                              bool nginx_alias) {
  Known(name);
  const auto& annotations = ingress_.meta.annotations;
  if (annotations.empty()) return std::nullopt;
  for (std::string_view prefix : {kPorticoPrefix, kNginxPrefix}) {
    if (prefix == kNginxPrefix && !nginx_alias) break;
    key_.assign(prefix);
    key_.append(name);
    auto it = annotations.find(key_);
    if (it != annotations.end()) return Found{key_, it->second};
  }
  return std::nullopt;
}

std::optional<bool> AnnotationReader::Bool(std::string_view name, bool nginx_alias) {
  auto found = Find(name, nginx_alias);
  if (!found) return std::nullopt;
  if (found->value == "true") return true;
  if (found->value == "false") return false;
  Invalid(*found, "must be \"true\" or \"false\"");
  return std::nullopt;
}

std::optional<uint64_t> AnnotationReader::Uint(std::string_view name, uint64_t min, uint64_t max,
                                               bool nginx_alias) {
  auto found = Find(name, nginx_alias);
  if (!found) return std::nullopt;
  if (auto n = ParseUint(found->value, min, max)) return n;
  Invalid(*found, portico::StrCat("must be a whole number from ", min, " to ", max));
  return std::nullopt;
}

std::optional<absl::Duration> AnnotationReader::Duration(std::string_view name, bool nginx_alias) {
  auto found = Find(name, nginx_alias);
  if (!found) return std::nullopt;
  if (auto d = ParseDuration(found->value)) return d;
  Invalid(*found, "must be whole seconds or a duration such as 500ms, 30s or 5m");
  return std::nullopt;
}

std::optional<uint64_t> AnnotationReader::Size(std::string_view name, bool nginx_alias) {
  auto found = Find(name, nginx_alias);
  if (!found) return std::nullopt;
  if (auto n = ParseSize(found->value)) return n;
  Invalid(*found, "must be a size in bytes, optionally with k, m or g (such as 8m)");
  return std::nullopt;
}

std::optional<std::string> AnnotationReader::Text(std::string_view name, bool nginx_alias) {
  auto found = Find(name, nginx_alias);
  if (!found) return std::nullopt;
  if (IsSafeText(found->value)) return std::string(found->value);
  Invalid(*found, "must not contain control characters (CR, LF, NUL)");
  return std::nullopt;
}

void AnnotationReader::Invalid(const Found& found, std::string_view why,
                               std::string_view consequence) {
  diagnostics_.Error("Ingress", ingress_.meta, "InvalidAnnotation",
                     portico::StrCat("annotation ", found.key, " ", why, "; ", consequence));
}

void AnnotationReader::Warn(std::string_view reason, std::string message) {
  diagnostics_.Warn("Ingress", ingress_.meta, reason, std::move(message));
}

void AnnotationReader::ReportUnknown() {
  for (const auto& [key, value] : ingress_.meta.annotations) {
    if (!absl::StartsWith(key, ToAbsl(kPorticoPrefix))) continue;
    std::string_view name = std::string_view(key).substr(kPorticoPrefix.size());
    if (asked_.contains(name)) continue;
    diagnostics_.Warn("Ingress", ingress_.meta, "UnknownAnnotation",
                      portico::StrCat("annotation ", key, " is not supported; it is ignored"));
  }
}

}  // namespace portico::controller::translate
