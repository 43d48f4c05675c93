#pragma once
// The translator: a pure function from cluster state to a snapshot. No I/O,
// no clock (the caller passes the time in Options::now), no randomness; the
// same input always gives byte-identical output (every repeated field sorted).
// All Ingress semantics live here.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "controller/translate/cluster_state.h"
#include "portico/v1/snapshot.pb.h"

namespace portico::controller::translate {

inline constexpr char kControllerName[] = "portico.dev/ingress-controller";

struct Options {
  // The IngressClass name this controller serves (--ingress-class).
  std::string ingress_class = "portico";
  // Also serve Ingresses that name no class when no IngressClass is marked default.
  bool watch_ingress_without_class = false;
  // "namespace/name" of the Service used when nothing matches; empty: built-in 404.
  std::string default_backend_service;
  // "namespace/name" of the ConfigMap with global settings; empty: none.
  std::string settings_config_map;
  // The translation's clock, read by the caller for each translation: TLS
  // certificates expired at `now` are skipped, those close to expiry get a
  // warning. Unset: expiry is not checked (the rest of the Secret still is).
  std::optional<absl::Time> now;
  // Put the virtual hosts in Result::virtual_hosts, shared with the memo,
  // instead of copies in Result::snapshot.
  bool share_virtual_hosts = false;
};

struct Diagnostic {
  enum class Severity { kWarning, kError };
  Severity severity = Severity::kWarning;
  std::string kind;  // "Ingress", "Service", "Secret", "ConfigMap", "File"...
  std::string ns;
  std::string name;
  std::string uid;      // the object's uid when known (Events point at it)
  std::string reason;   // CamelCase, as a Kubernetes Event reason ("ServiceNotFound")
  std::string message;  // one sentence for humans

  friend bool operator==(const Diagnostic&, const Diagnostic&) = default;
};

struct ObjectName {
  std::string ns;
  std::string name;
  friend auto operator<=>(const ObjectName&, const ObjectName&) = default;
};

struct Result {
  v1::Snapshot snapshot;  // version is left 0: the snapshot store numbers them
  // With Options::share_virtual_hosts: the virtual hosts, sorted by name
  // (snapshot.virtual_hosts is then empty). Immutable: a host that did not
  // change since the memo's last translation is the same object as then.
  std::vector<std::shared_ptr<const v1::VirtualHost>> virtual_hosts;
  std::vector<Diagnostic> diagnostics;  // sorted
  // The Ingresses of our class, sorted: the status writer publishes our
  // address on exactly these (status is a result of the build).
  std::vector<ObjectName> served_ingresses;
};

// What one translation can lend the next: for each served Ingress a copy,
// its parsed annotations and its hosts; for each island (Ingresses that share
// hosts, islands.h) what it gave; and the order by age of the served
// Ingresses. An island's output is reused while its Ingresses, the Services,
// Secrets, ConfigMaps and settings, and its certificates' validity at `now`
// are unchanged (docs/translator.md). Owned by the caller, who passes the same
// memo to successive translations; its contents are the translator's. A
// translation gives the same Result with a memo, warm or cold, as without.
// Not thread-safe: one translation at a time per memo.
class TranslateMemo {
 public:
  TranslateMemo();
  ~TranslateMemo();
  TranslateMemo(const TranslateMemo&) = delete;
  TranslateMemo& operator=(const TranslateMemo&) = delete;

  struct State;
  State& state() { return *state_; }

 private:
  std::unique_ptr<State> state_;
};

// `memo` (may be null) is read and updated; see TranslateMemo.
Result Translate(const ClusterState& state, const Options& options, TranslateMemo* memo = nullptr);

}  // namespace portico::controller::translate
