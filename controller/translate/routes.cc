#include "controller/translate/routes.h"

#include <algorithm>
#include <initializer_list>
#include <utility>

#include "common/strings.h"
#include "controller/translate/paths.h"

namespace portico::controller::translate {
namespace {

std::string_view TypeName(v1::PathMatch::Type type) {
  switch (type) {
    case v1::PathMatch::TYPE_EXACT:
      return "exact";
    case v1::PathMatch::TYPE_REGEX:
      return "regex";
    default:
      return "prefix";
  }
}

// "namespace/name" followed by `tail`, in one allocation: a route name is
// built for every path of every Ingress.
std::string IngressIdWith(const Ingress& ingress, std::initializer_list<std::string_view> tail) {
  size_t size = ingress.meta.ns.size() + 1 + ingress.meta.name.size();
  for (std::string_view piece : tail) size += piece.size();
  std::string name;
  name.reserve(size);
  name.append(ingress.meta.ns).append("/").append(ingress.meta.name);
  for (std::string_view piece : tail) name.append(piece);
  return name;
}

std::string IngressId(const Ingress& ingress) { return IngressIdWith(ingress, {}); }

// Exact and Prefix routes are looked up by key in the data plane, so their
// order only has to be stable. Regexes are tried in order: longest first, as
// ingress-nginx orders its regex locations, so a more specific pattern is
// tried before a general one.
bool RouteLess(const v1::Route& a, const v1::Route& b) {
  if (a.match().type() != b.match().type()) return a.match().type() < b.match().type();
  if (a.match().type() == v1::PathMatch::TYPE_REGEX &&
      a.match().path().size() != b.match().path().size()) {
    return a.match().path().size() > b.match().path().size();
  }
  return a.match().path() < b.match().path();
}

}  // namespace

// The data plane tries regexes only when no Exact or Prefix route matched, so
// a Prefix "/" would hide every regex of its host. For spec.defaultBackend,
// meant to take only what nothing else matches, the "/" becomes a regex "/"
// (tried last: regexes go longest first); a regex "/" of a rule replaces it.
// A rule's own Prefix "/" is kept, and the regexes it hides are reported.
void VirtualHostBuilder::ResolveRootAndRegexes(std::vector<Candidate*>& winners,
                                               const std::string& host_text,
                                               DiagnosticSink& diagnostics) {
  auto is_regex = [](const Candidate* c) {
    return c->route.match().type() == v1::PathMatch::TYPE_REGEX;
  };
  if (std::none_of(winners.begin(), winners.end(), is_regex)) return;
  v1::PathMatch root_match;
  root_match.set_type(v1::PathMatch::TYPE_PREFIX);
  root_match.set_path("/");
  const std::string root_key = MatchKey(root_match);
  auto root = std::find_if(winners.begin(), winners.end(), [&](const Candidate* c) {
    return MatchKey(c->route.match()) == root_key;
  });
  if (root == winners.end()) return;
  if ((*root)->from_default_backend) {
    bool regex_root = std::any_of(winners.begin(), winners.end(), [&](const Candidate* c) {
      return is_regex(c) && c->route.match().path() == "/";
    });
    if (regex_root) {
      winners.erase(root);
    } else {
      (*root)->route.mutable_match()->set_type(v1::PathMatch::TYPE_REGEX);
    }
    return;
  }
  for (const Candidate* c : winners) {
    if (!is_regex(c)) continue;
    diagnostics.Warn("Ingress", c->ingress->meta, "RegexShadowed",
                     portico::StrCat("regex path \"", c->route.match().path(), "\" on ", host_text,
                                     " is never used: the Prefix \"/\" path of Ingress ",
                                     IngressId(*(*root)->ingress),
                                     " matches every request first (regexes are tried after "
                                     "Exact and Prefix paths)"));
  }
}

std::string VirtualHostName(const std::string& hostname) {
  return hostname.empty() ? kCatchAllName : portico::StrCat("host:", hostname);
}

VirtualHostBuilder::Host& VirtualHostBuilder::HostNamed(const std::string& hostname) {
  if (last_host_ == nullptr || *last_hostname_ != hostname) {
    auto it = hosts_.try_emplace(hostname).first;
    last_hostname_ = &it->first;
    last_host_ = &it->second;
  }
  return *last_host_;
}

void VirtualHostBuilder::AddHost(const std::string& hostname, const Ingress& ingress) {
  HostNamed(hostname).ingresses.insert(&ingress);
}

void VirtualHostBuilder::AddRoute(const std::string& hostname, const Ingress& ingress,
                                  v1::PathMatch match, ResolvedBackend backend,
                                  bool from_default_backend, const HttpsOptions& https,
                                  const v1::Route& policy) {
  Candidate c{&ingress, from_default_backend, policy, https};
  c.route.set_name(from_default_backend
                       ? IngressIdWith(ingress, {":default-backend"})
                       : IngressIdWith(ingress, {":", TypeName(match.type()), ":", match.path()}));
  std::string key = MatchKey(match);
  *c.route.mutable_match() = std::move(match);
  *c.route.mutable_action() = std::move(backend.action);
  *c.route.mutable_origin() = std::move(backend.origin);
  Host& host = HostNamed(hostname);
  host.ingresses.insert(&ingress);
  host.matches[key].push_back(std::move(c));
}

void VirtualHostBuilder::AddCanary(const std::string& hostname, const Ingress& ingress,
                                   const v1::PathMatch& match, v1::Canary canary) {
  std::string host_text = hostname.empty() ? "any host" : "host " + hostname;
  canaries_[{hostname, MatchKey(match)}].push_back(
      {&ingress,
       portico::StrCat(TypeName(match.type()), " path \"", match.path(), "\" on ", host_text),
       std::move(canary)});
}

void VirtualHostBuilder::AttachCanary(const std::string& hostname, const std::string& key,
                                      Candidate& winner, const std::string& host_text,
                                      DiagnosticSink& diagnostics) {
  auto it = canaries_.find(std::pair<std::string_view, std::string_view>(hostname, key));
  if (it == canaries_.end()) return;
  for (CanaryCandidate& c : it->second) {
    c.used = true;
    if (&c != &it->second.front()) {
      diagnostics.Warn(
          "Ingress", c.ingress->meta, "CanaryConflict",
          portico::StrCat("canary for ", c.path_text, " is ignored: the older canary Ingress ",
                          IngressId(*it->second.front().ingress), " already serves it"));
    } else if (!winner.route.action().has_cluster()) {
      diagnostics.Warn("Ingress", c.ingress->meta, "CanaryWithoutMain",
                       portico::StrCat("canary for ", c.path_text,
                                       " is ignored: the main route does not proxy to a Service"));
    } else {
      *winner.route.mutable_canary() = c.canary;
    }
  }
}

void VirtualHostBuilder::ReportUnusedCanaries(DiagnosticSink& diagnostics) const {
  for (const auto& [where, candidates] : canaries_) {
    for (const CanaryCandidate& c : candidates) {
      if (c.used) continue;
      diagnostics.Warn("Ingress", c.ingress->meta, "CanaryWithoutMain",
                       portico::StrCat("canary for ", c.path_text,
                                       " is ignored: no non-canary Ingress serves that host and "
                                       "path"));
    }
  }
}

void VirtualHostBuilder::Emit(TlsResolver& tls, v1::Snapshot& snapshot,
                              DiagnosticSink& diagnostics) {
  auto& vhosts = *snapshot.mutable_virtual_hosts();
  const int first = vhosts.size();
  vhosts.Reserve(first + static_cast<int>(hosts_.size()));
  for (auto& [hostname, host] : hosts_) {
    v1::VirtualHost& vh = *vhosts.Add();
    vh.set_name(VirtualHostName(hostname));
    if (!hostname.empty()) vh.add_hostnames(hostname);
    vh.set_tls_secret(tls.SecretFor(hostname, host.ingresses, diagnostics));
    const std::string host_text = hostname.empty() ? "any host" : "host " + hostname;
    std::vector<Candidate*> winners;
    for (auto& [key, candidates] : host.matches) {
      auto winner = std::find_if(candidates.begin(), candidates.end(),
                                 [](const Candidate& c) { return !c.from_default_backend; });
      if (winner == candidates.end()) winner = candidates.begin();
      for (auto it = candidates.begin(); it != candidates.end(); ++it) {
        if (it == winner || it->from_default_backend != winner->from_default_backend) continue;
        const v1::PathMatch& m = it->route.match();
        std::string what =
            it->from_default_backend
                ? portico::StrCat("spec.defaultBackend for ", host_text)
                : portico::StrCat(TypeName(m.type()), " path \"", m.path(), "\" on ", host_text);
        std::string by = it->ingress == winner->ingress
                             ? std::string("an earlier path of the same Ingress")
                             : portico::StrCat("the older Ingress ", IngressId(*winner->ingress));
        diagnostics.Warn("Ingress", it->ingress->meta, "PathConflict",
                         portico::StrCat(what, " is ignored: ", by, " already defines it"));
      }
      if (!winner->from_default_backend) {
        AttachCanary(hostname, key, *winner, host_text, diagnostics);
      }
      winners.push_back(&*winner);
    }
    ResolveRootAndRegexes(winners, host_text, diagnostics);
    const bool has_tls = !vh.tls_secret().empty();
    for (Candidate* c : winners) {
      ApplyHttpsOptions(c->https, has_tls, c->route);
      *vh.add_routes() = std::move(c->route);
    }
    std::sort(vh.mutable_routes()->begin(), vh.mutable_routes()->end(), RouteLess);
  }
  // hosts_ is ordered by hostname; names add a prefix, so only a catch-all
  // can be out of place. Sorting the pointers moves no message.
  auto by_name = [](const v1::VirtualHost* a, const v1::VirtualHost* b) {
    return a->name() < b->name();
  };
  if (!std::is_sorted(vhosts.pointer_begin() + first, vhosts.pointer_end(), by_name)) {
    std::sort(vhosts.pointer_begin() + first, vhosts.pointer_end(), by_name);
  }
  ReportUnusedCanaries(diagnostics);
}

}  // namespace portico::controller::translate
