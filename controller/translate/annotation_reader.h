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

  // Which names asked() remembers. kPresent (the translator's reader): only
  // those that can matter to ReportUnknown, the portico.dev/* names the
  // Ingress carries, so that the ~100 names every Ingress is asked for cost
  // no allocation (at 10,000 Ingresses they were a quarter of a translation).
  // kAll: every name (AnnotationNamesRead lists them).
  enum class Remember { kPresent, kAll };

  AnnotationReader(const Ingress& ingress, DiagnosticSink& diagnostics,
                   Remember remember = Remember::kPresent);

  // portico.dev/<name> wins over the nginx alias. nginx_alias=false: the
  // feature has no ingress-nginx annotation of that name.
  std::optional<Found> Find(std::string_view name, bool nginx_alias = true);
  void Known(std::string_view name) {
    if (remember_all_ || present_.contains(name)) asked_.emplace(name);
  }

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
  // Every name asked for so far (Find or Known), without prefix; with
  // Remember::kPresent only those the Ingress has as portico.dev/<name>.
  const std::set<std::string, std::less<>>& asked() const { return asked_; }

 private:
  const Ingress& ingress_;
  DiagnosticSink& diagnostics_;
  const bool remember_all_;
  // The names of the Ingress's portico.dev/* annotations, without prefix
  // (views into ingress_'s keys).
  std::set<std::string_view, std::less<>> present_;
  std::set<std::string, std::less<>> asked_;
  // Find's lookup key, reused so that a miss allocates nothing.
  std::string key_;
};

}  // namespace portico::controller::translate
