#pragma once
// HTTP basic authentication (nginx aliases too):
//
//   auth-type         "basic" ("digest" is not supported and fails closed)
//   auth-secret       [namespace/]name of a Secret in the Ingress's own namespace
//   auth-secret-type  "auth-file" (default: htpasswd text in key `auth`) or
//                     "auth-map" (keys are users, values their hashes)
//   auth-realm        the realm of the 401 challenge; default "Authentication Required"
//
// Fails closed: an invalid or incomplete configuration, a missing Secret or
// one without a usable user gives Route.basic_auth.deny_all (503 for every
// request) and an Event. The translator ships the password list once per
// Secret as Snapshot.credentials.

#include <map>
#include <string>
#include <utility>

#include "controller/translate/annotation_reader.h"
#include "controller/translate/cluster_state.h"
#include "controller/translate/diagnostics.h"
#include "controller/translate/htpasswd.h"
#include "controller/translate/reads.h"
#include "portico/v1/snapshot.pb.h"

namespace portico::controller::translate {

inline constexpr std::string_view kDefaultRealm = "Authentication Required";

// The parsed annotations; the Secret is looked up later (ResolveBasicAuth).
struct BasicAuthAnnotations {
  bool enabled = false;      // any of the annotations is present
  bool fail_closed = false;  // they are invalid or incomplete (reported)
  std::string secret;        // name, in the Ingress's namespace
  bool auth_map = false;
  std::string realm{kDefaultRealm};
};

BasicAuthAnnotations ParseBasicAuth(AnnotationReader& read);

// Single use, within one translation: parses each Secret once however many
// Ingresses name it, and emits the lists that were used.
class CredentialsResolver {
 public:
  explicit CredentialsResolver(const ClusterState& state);

  // Sets route_policy.basic_auth for `ingress` and reports Secret problems
  // against it.
  void Resolve(const Ingress& ingress, const BasicAuthAnnotations& annotations,
               v1::Route& route_policy, DiagnosticSink& diagnostics);

  // Where Resolve notes the Secrets it looks up; null: nowhere.
  void SetReadLog(ReadLog* reads) { reads_ = reads; }

  // Forgets the lists used so far (each Secret stays parsed): Emit then
  // appends only what Resolve used after this.
  void StartIsland() { used_.clear(); }

  // Appends the used lists to snapshot.credentials, sorted by name.
  void Emit(v1::Snapshot& snapshot) const;

 private:
  struct Parsed {
    std::string error;  // why the Secret is unusable as a whole; empty: usable
    PasswordList list;
  };
  const Parsed& Parse(const std::string& id, const Secret* secret, bool auth_map);

  std::map<std::pair<std::string, std::string>, const Secret*> secrets_;
  std::map<std::string, Parsed> parsed_;  // by credentials name
  std::map<std::string, const Parsed*> used_;
  ReadLog* reads_ = nullptr;
};

}  // namespace portico::controller::translate
