#pragma once
// spec.tls to virtual host certificates and snapshot Secrets.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "controller/translate/cluster_state.h"
#include "controller/translate/diagnostics.h"
#include "controller/translate/reads.h"
#include "controller/translate/tls_secret.h"
#include "portico/v1/snapshot.pb.h"

namespace portico::controller::translate {

// Single use, within one translation; keeps pointers into the ClusterState.
//
// A host's certificate comes from the spec.tls entries of the Ingresses that
// route that host (as in ingress-nginx: an Ingress cannot put its certificate
// on someone else's host), oldest Ingress first: an entry listing the host
// itself, else one listing a wildcard that covers it ("*.example.com" for
// "a.example.com"). An entry with no hosts covers the catch-all virtual host. A Secret that is
// missing or fails CheckTlsSecret (does not parse, key does not match, expired at `now`) is
// reported and skipped; the next candidate, if any, is used. Key material never appears in
// diagnostics.
class TlsResolver {
 public:
  // `now`: see Options::now.
  TlsResolver(const ClusterState& state, std::optional<absl::Time> now);

  // Starts over for one group of Ingresses that share no host with any
  // other (translator.cc's islands): forgets the spec.tls entries and the
  // Secrets used so far, keeps the index and the Secrets already checked.
  void StartIsland();

  // Where AddIngress and UseCaSecret note the Secrets they look up; null:
  // nowhere.
  void SetReadLog(ReadLog* reads) { reads_ = reads; }

  // Call for each served Ingress, oldest first.
  void AddIngress(const Ingress& ingress, DiagnosticSink& diagnostics);

  // The snapshot Secret name ("namespace/name") for a virtual host hostname
  // (empty for the catch-all), offered by one of `routing` (the Ingresses
  // that route that host), or empty when there is no usable certificate.
  // Marks the Secret for Emit.
  std::string SecretFor(const std::string& hostname, const std::set<const Ingress*>& routing,
                        DiagnosticSink& diagnostics);

  // The CA bundle of Secret `ns`/`name` for upstream TLS verification: the
  // snapshot Secret name ("namespace/name"), marked for Emit (its ca.crt
  // only), or nullopt with `error` set (missing, or no usable ca.crt).
  std::optional<std::string> UseCaSecret(const std::string& ns, const std::string& name,
                                         std::string* error);

  // Appends the Secrets named by SecretFor and UseCaSecret, sorted by name.
  void Emit(v1::Snapshot& snapshot) const;

  // Since StartIsland, the Secret checks AddIngress used give the same
  // answers at any later `now` up to and including this; unset: at any.
  const std::optional<absl::Time>& stable_until() const { return stable_until_; }

 private:
  struct Candidate {
    const Ingress* ingress;
    std::string secret;              // "namespace/name"; empty when the Secret is unusable
    const Secret* object = nullptr;  // set with `secret`
  };

  std::optional<absl::Time> now_;
  std::optional<absl::Time> stable_until_;
  ReadLog* reads_ = nullptr;
  std::map<std::pair<std::string, std::string>, const Secret*> secrets_;
  // Each Secret is parsed once, however many Ingresses name it.
  std::map<const Secret*, TlsSecretCheck> checked_;
  // TLS host as written (lower-cased; "" for an entry without hosts) ->
  // candidates, oldest Ingress first.
  std::map<std::string, std::vector<Candidate>, std::less<>> by_host_;  // found by views
  std::map<std::string, const Secret*> used_;
  std::map<std::string, const Secret*> ca_used_;  // for their ca.crt alone
};

// Warns about spec.tls hosts that none of the Ingress's own hosts (`routed`,
// "" for the catch-all) use: a certificate only applies where its Ingress
// routes, so such an entry is most likely a typo.
void CheckTlsHosts(const Ingress& ingress, const std::vector<std::string>& routed,
                   DiagnosticSink& diagnostics);

}  // namespace portico::controller::translate
