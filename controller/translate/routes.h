#pragma once
// Merges the routes of all served Ingresses into one virtual host per
// hostname and resolves conflicts between them.

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "controller/translate/backends.h"
#include "controller/translate/cluster_state.h"
#include "controller/translate/diagnostics.h"
#include "controller/translate/https_policy.h"
#include "controller/translate/tls.h"
#include "portico/v1/snapshot.pb.h"

namespace portico::controller::translate {

inline constexpr char kCatchAllName[] = "catch-all";

// Virtual host name for a normalized hostname: "host:foo.example.com",
// "host:*.example.com", or kCatchAllName for "" (any host).
std::string VirtualHostName(const std::string& hostname);

// Not thread-safe; single use within one translation.
//
// Conflicts: two routes on one host with the same match (same type and path,
// a Prefix's trailing slashes ignored) are one route. Routes from rules beat
// routes derived from spec.defaultBackend; otherwise the first added wins,
// and callers add Ingresses oldest first. Losers get a "PathConflict" warning
// except a defaultBackend route displaced by a rule, which is by design.
class VirtualHostBuilder {
 public:
  VirtualHostBuilder() = default;
  VirtualHostBuilder(const VirtualHostBuilder&) = delete;  // last_host_ points into hosts_
  VirtualHostBuilder& operator=(const VirtualHostBuilder&) = delete;

  // A host exists once an Ingress names it in a rule, even if none of its
  // paths survive: requests for it must not fall through to the catch-all.
  void AddHost(const std::string& hostname, const Ingress& ingress);
  // Whether an Ingress rule (or defaultBackend) has named the host so far.
  bool HasHost(const std::string& hostname) const { return hosts_.contains(hostname); }

  // `from_default_backend`: the route stands for spec.defaultBackend.
  // `https`: the Ingress's redirect and HSTS options, applied in Emit once the
  // host's certificate is known. `policy`: the Ingress's route policies
  // (IngressAnnotations::route_policy), merged into the route.
  void AddRoute(const std::string& hostname, const Ingress& ingress, v1::PathMatch match,
                ResolvedBackend backend, bool from_default_backend, const HttpsOptions& https,
                const v1::Route& policy);

  // A canary Ingress's path: `canary` is attached to the route of the same
  // host and match that wins (ignoring defaultBackend routes); without one it
  // is reported and dropped. One canary per route: the first added (oldest).
  void AddCanary(const std::string& hostname, const Ingress& ingress, const v1::PathMatch& match,
                 v1::Canary canary);

  // Appends virtual hosts sorted by name, their routes sorted by (type, path;
  // regexes longest first, the order the data plane tries them), with
  // certificates from `tls` offered by the Ingresses that route each host, and
  // each route's HTTPS redirect and HSTS (ApplyHttpsOptions).
  void Emit(TlsResolver& tls, v1::Snapshot& snapshot, DiagnosticSink& diagnostics);

 private:
  struct Candidate {
    const Ingress* ingress;
    bool from_default_backend;
    v1::Route route;
    HttpsOptions https;
  };
  static void ResolveRootAndRegexes(std::vector<Candidate*>& winners, const std::string& host_text,
                                    DiagnosticSink& diagnostics);

  struct Host {
    std::set<const Ingress*> ingresses;  // those with a rule (or defaultBackend) here
    std::map<std::string, std::vector<Candidate>> matches;  // match key -> in insertion order
  };
  std::map<std::string, Host> hosts_;  // by hostname
  // hosts_[hostname], remembering the last one: an Ingress adds its host and
  // then each of its paths to it.
  Host& HostNamed(const std::string& hostname);
  Host* last_host_ = nullptr;                   // std::map nodes do not move
  const std::string* last_hostname_ = nullptr;  // its key
  struct CanaryCandidate {
    const Ingress* ingress;
    std::string path_text;
    v1::Canary canary;
    bool used = false;
  };
  // Orders (hostname, match key) pairs of strings or of views alike, so that
  // a lookup copies neither string.
  struct PairLess {
    using is_transparent = void;
    template <typename A, typename B>
    bool operator()(const A& a, const B& b) const {
      return std::pair<std::string_view, std::string_view>(a.first, a.second) <
             std::pair<std::string_view, std::string_view>(b.first, b.second);
    }
  };
  // (hostname, match key) -> in insertion order
  std::map<std::pair<std::string, std::string>, std::vector<CanaryCandidate>, PairLess> canaries_;
  void AttachCanary(const std::string& hostname, const std::string& key, Candidate& winner,
                    const std::string& host_text, DiagnosticSink& diagnostics);
  void ReportUnusedCanaries(DiagnosticSink& diagnostics) const;
};

}  // namespace portico::controller::translate
