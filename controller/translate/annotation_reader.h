#pragma once
// Reads one Ingress's annotations for the policy parsers: the value of
// portico.dev/<name>, else of its nginx.ingress.kubernetes.io/<name> alias.
// Each policy family (annotations_*.cc) reads its own names through one shared
// reader. The reader remembers every name asked for, present or not, so that
// afterwards the portico.dev/* annotations nobody asked for can be reported as
// unknown (a typo would otherwise silently do nothing). A family therefore
// asks for every name it owns, or declares it with Known().

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "controller/translate/cluster_state.h"
#include "controller/translate/diagnostics.h"

namespace portico::controller::translate {

inline constexpr std::string_view kPorticoPrefix = "portico.dev/";
inline constexpr std::string_view kNginxPrefix = "nginx.ingress.kubernetes.io/";

class AnnotationReader {
 public:
  struct Found {
    std::string key;  // the full annotation key the value came from, for messages
    std::string_view value;
  };

  AnnotationReader(const Ingress& ingress, DiagnosticSink& diagnostics)
      : ingress_(ingress), diagnostics_(diagnostics) {}

  // portico.dev/<name> wins over the nginx alias. nginx_alias=false: the
  // feature has no ingress-nginx annotation of that name.
  std::optional<Found> Find(std::string_view name, bool nginx_alias = true);
  void Known(std::string_view name) { asked_.emplace(name); }

  // Typed readers: each returns the parsed value, or nullopt when the
  // annotation is absent or invalid (invalid is reported, with "it is ignored").
  // Strict: Kubernetes manifests spell booleans "true"/"false".
  std::optional<bool> Bool(std::string_view name, bool nginx_alias = true);
  std::optional<uint64_t> Uint(std::string_view name, uint64_t min, uint64_t max,
                               bool nginx_alias = true);
  // annotation_values.h ParseDuration / ParseSize syntax.
  std::optional<absl::Duration> Duration(std::string_view name, bool nginx_alias = true);
  std::optional<uint64_t> Size(std::string_view name, bool nginx_alias = true);
  // Any IsSafeText string.
  std::optional<std::string> Text(std::string_view name, bool nginx_alias = true);

  // Reports "annotation <key> <why>; <consequence>" as an InvalidAnnotation
  // error Event. Security policies that fail closed say so in `consequence`.
  void Invalid(const Found& found, std::string_view why,
               std::string_view consequence = "it is ignored");
  // A valid value that Portico does not act on, as a warning.
  void Warn(std::string_view reason, std::string message);

  // One UnknownAnnotation warning per portico.dev/* annotation never asked for.
  void ReportUnknown();

  const Ingress& ingress() const { return ingress_; }
  DiagnosticSink& diagnostics() { return diagnostics_; }
  // Every name asked for so far (Find or Known), without prefix.
  const std::set<std::string, std::less<>>& asked() const { return asked_; }

 private:
  const Ingress& ingress_;
  DiagnosticSink& diagnostics_;
  std::set<std::string, std::less<>> asked_;
};

}  // namespace portico::controller::translate
