#include "controller/translate/ingress_translation.h"

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/match.h"
#include "common/strings.h"
#include "controller/translate/annotations_ext_auth.h"
#include "controller/translate/annotations_headers.h"
#include "controller/translate/annotations_upstream_tls.h"
#include "controller/translate/paths.h"

namespace portico::controller::translate {
namespace {

// The rule's normalized host, or nullopt (reported) when it is not a DNS
// name or one-label wildcard: the rule is then ignored.
std::optional<std::string> RuleHost(const Ingress& ingress, const IngressRule& rule,
                                    DiagnosticSink& diagnostics) {
  std::optional<std::string> host = NormalizeHost(rule.host);
  if (!host.has_value()) {
    diagnostics.Error("Ingress", ingress.meta, "InvalidHost",
                      portico::StrCat("host \"", rule.host,
                                      "\" is not a DNS name or *.<DNS name>; rule ignored"));
  }
  return host;
}

// A canary Ingress adds no hosts, routes, certificates or default backend:
// each of its paths offers its backend to the main route of the same host and
// path (routes.h AddCanary), as in ingress-nginx.
void TranslateCanary(const Ingress& ingress, const IngressAnnotations& annotations,
                     const BackendOwner& owner, BackendResolver& backends,
                     VirtualHostBuilder& vhosts, DiagnosticSink& diagnostics) {
  if (!annotations.traffic.canary.has_value()) return;  // invalid rules, reported
  if (ingress.default_backend.has_value()) {
    diagnostics.Warn("Ingress", ingress.meta, "IgnoredCanaryBackend",
                     "spec.defaultBackend of a canary Ingress is ignored; canaries apply to rule "
                     "paths");
  }
  for (const IngressRule& rule : ingress.rules) {
    std::optional<std::string> host = RuleHost(ingress, rule, diagnostics);
    if (!host.has_value()) continue;
    for (const HttpIngressPath& path : rule.paths) {
      PathConversion converted = ConvertPath(path, annotations.use_regex);
      if (!converted.match.has_value()) {
        diagnostics.Error("Ingress", ingress.meta, converted.error_reason,
                          portico::StrCat(converted.error_message, "; path ignored"));
        continue;
      }
      ResolvedBackend backend = backends.Resolve(ingress.meta.ns, path.backend, owner, diagnostics);
      if (!backend.action.has_cluster()) continue;  // unservable backend, reported
      v1::Canary canary = *annotations.traffic.canary;
      canary.set_cluster(backend.action.cluster());
      vhosts.AddCanary(*host, ingress, *converted.match, std::move(canary));
    }
  }
}

v1::PathMatch Match(v1::PathMatch::Type type, std::string path) {
  v1::PathMatch match;
  match.set_type(type);
  match.set_path(std::move(path));
  return match;
}

ResolvedBackend RedirectBackend(v1::Redirect redirect) {
  ResolvedBackend backend;
  *backend.action.mutable_redirect() = std::move(redirect);
  return backend;
}

void ClearEmptyRewrite(v1::Route& policy) {
  const v1::Rewrite& w = policy.rewrite();
  if (w.target().empty() && w.forwarded_prefix().empty() && w.upstream_host().empty()) {
    policy.clear_rewrite();
  }
}

// The route policy for one path: rewrite-target's capture groups need a regex
// path (reported otherwise, and the path keeps its own path upstream).
v1::Route PathPolicy(const Ingress& ingress, const IngressAnnotations& annotations,
                     const v1::PathMatch& match, const std::string& host,
                     DiagnosticSink& diagnostics) {
  v1::Route policy = annotations.route_policy;
  if (!policy.has_rewrite() || !annotations.redirects.rewrite_captures ||
      match.type() == v1::PathMatch::TYPE_REGEX) {
    return policy;
  }
  diagnostics.Error(
      "Ingress", ingress.meta, "InvalidRewrite",
      portico::StrCat("rewrite-target \"", policy.rewrite().target(),
                      "\" refers to capture groups, but path \"", match.path(), "\" (",
                      host.empty() ? "any host" : "host " + host,
                      ") is not a regex (use-regex with pathType ImplementationSpecific); the "
                      "path is not rewritten"));
  policy.mutable_rewrite()->clear_target();
  ClearEmptyRewrite(policy);
  return policy;
}

}  // namespace

void TranslateIngress(const Ingress& ingress, IngressAnnotations annotations,
                      const ClusterState& state, Resolvers& resolvers, VirtualHostBuilder& vhosts,
                      std::vector<WwwRedirect>& www_redirects, DiagnosticSink& diagnostics) {
  BackendResolver& backends = resolvers.backends;
  TlsResolver& tls = resolvers.tls;
  ResolveCustomHeaders(ingress, state.config_maps, annotations.route_policy, diagnostics,
                       resolvers.reads);
  ResolveCaSecret(ingress, tls, annotations.cluster_policy, diagnostics);
  resolvers.credentials.Resolve(ingress, annotations.basic_auth, annotations.route_policy,
                                diagnostics);
  if (annotations.external_auth) {
    ResolveExternalAuth(ingress, *annotations.external_auth, backends, annotations.route_policy,
                        diagnostics);
  }
  const BackendOwner owner{"Ingress", &ingress.meta, ingress.meta.name,
                           annotations.backend_protocol, &annotations.cluster_policy};
  if (annotations.traffic.is_canary) {
    TranslateCanary(ingress, annotations, owner, backends, vhosts, diagnostics);
    return;
  }
  const RedirectAnnotations& redirects = annotations.redirects;
  // permanent-redirect / temporal-redirect answer every path of the Ingress.
  auto resolve = [&](const IngressBackend& backend) {
    ResolvedBackend resolved = backends.Resolve(ingress.meta.ns, backend, owner, diagnostics);
    if (redirects.redirect) *resolved.action.mutable_redirect() = *redirects.redirect;
    return resolved;
  };
  // Redirect-only routes (app-root, www) proxy nothing: no path rewriting.
  v1::Route redirect_policy = annotations.route_policy;
  redirect_policy.clear_rewrite();
  tls.AddIngress(ingress, diagnostics);
  std::vector<std::string> hosts;
  for (const IngressRule& rule : ingress.rules) {
    std::optional<std::string> host = RuleHost(ingress, rule, diagnostics);
    if (!host.has_value()) continue;
    vhosts.AddHost(*host, ingress);
    if (std::find(hosts.begin(), hosts.end(), *host) == hosts.end()) {
      hosts.push_back(*host);
      // Added before the paths: ingress-nginx answers "/" with the app-root
      // redirect ahead of every location, an Exact "/" path included.
      if (!redirects.app_root.empty()) {
        v1::Redirect redirect;
        redirect.set_path(redirects.app_root);
        redirect.set_code(302);
        vhosts.AddRoute(*host, ingress, Match(v1::PathMatch::TYPE_EXACT, "/"),
                        RedirectBackend(std::move(redirect)), false, annotations.https,
                        redirect_policy);
      }
      if (redirects.from_to_www && !host->empty() && !absl::StartsWith(*host, "*.")) {
        www_redirects.push_back({*host, &ingress, annotations.https, redirect_policy});
      }
    }
    for (const HttpIngressPath& path : rule.paths) {
      PathConversion converted = ConvertPath(path, annotations.use_regex);
      if (!converted.match.has_value()) {
        diagnostics.Error(
            "Ingress", ingress.meta, converted.error_reason,
            portico::StrCat(converted.error_message, " (",
                            host->empty() ? "any host" : "host " + *host, "); path ignored"));
        continue;
      }
      v1::Route policy = PathPolicy(ingress, annotations, *converted.match, *host, diagnostics);
      vhosts.AddRoute(*host, ingress, std::move(*converted.match), resolve(path.backend), false,
                      annotations.https, policy);
    }
  }
  if (ingress.default_backend.has_value()) {
    // spec.defaultBackend takes what no path of this Ingress matches on its
    // own hosts (a Prefix "/" that loses to any rule's "/"), and every host
    // when the Ingress has no rules at all.
    if (ingress.rules.empty()) hosts.push_back("");
    if (!hosts.empty()) {
      ResolvedBackend backend = resolve(*ingress.default_backend);
      // rewrite-target applies to rule paths only (docs/annotations.md).
      v1::Route policy = annotations.route_policy;
      if (policy.has_rewrite()) {
        policy.mutable_rewrite()->clear_target();
        ClearEmptyRewrite(policy);
      }
      for (const std::string& host : hosts) {
        vhosts.AddRoute(host, ingress, Match(v1::PathMatch::TYPE_PREFIX, "/"), backend, true,
                        annotations.https, policy);
      }
    }
  }
  CheckTlsHosts(ingress, hosts, diagnostics);
}

// from-to-www-redirect, as ingress-nginx: the counterpart of each rule host
// (www.<host> for <host>, <host> for www.<host>) answers every request with
// a 308 to the rule host, path and query kept, unless it is a rule host itself.
void AddWwwRedirects(const std::vector<WwwRedirect>& www_redirects, VirtualHostBuilder& vhosts) {
  // Decided before any is added: a counterpart added here is no rule host.
  std::vector<std::pair<std::string, const WwwRedirect*>> wanted;
  std::set<std::string> seen;
  for (const WwwRedirect& w : www_redirects) {
    std::string other = absl::StartsWith(w.host, "www.") ? w.host.substr(4) : "www." + w.host;
    if (!NormalizeHost(other).has_value() || vhosts.HasHost(other)) continue;
    // Two Ingresses asking for the same name: the older one (first) has it.
    if (!seen.insert(other).second) continue;
    wanted.emplace_back(std::move(other), &w);
  }
  for (const auto& [other, w] : wanted) {
    v1::Redirect redirect;
    redirect.set_host(w->host);
    redirect.set_code(308);
    vhosts.AddRoute(other, *w->ingress, Match(v1::PathMatch::TYPE_PREFIX, "/"),
                    RedirectBackend(std::move(redirect)), false, w->https, w->policy);
  }
}

}  // namespace portico::controller::translate
