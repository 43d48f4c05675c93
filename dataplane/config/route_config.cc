#include "dataplane/config/route_config.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "common/strings.h"
#include "dataplane/config/ext_auth_config.h"
#include "dataplane/config/header_config.h"
#include "dataplane/config/rewrite_config.h"
#include "dataplane/config/security_config.h"
#include "dataplane/policy/basic_auth.h"
#include "re2/re2.h"

namespace portico::dataplane::config {
namespace {

// Names from the snapshot end up in NACK reasons and logs: escape them.
std::string Quote(std::string_view text) {
  return portico::StrCat("\"", absl::CHexEscape(ToAbsl(text)), "\"");
}

absl::Status Invalid(std::string message) { return absl::InvalidArgumentError(std::move(message)); }

template <typename T>
T OrDefault(T value, T fallback) {
  return value == 0 ? fallback : value;
}

bool IsRedirectCode(uint32_t code) {
  return code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
}

// The HTTPS redirect replaces the action for plain-HTTP requests; 303 would
// turn a POST into a GET, which no HTTPS upgrade means to do.
absl::StatusOr<int> CompileHttpsRedirect(const v1::HttpsRedirect& r, std::string_view where) {
  uint32_t code = OrDefault(r.code(), 308u);
  if (code != 301 && code != 302 && code != 307 && code != 308) {
    return Invalid(portico::StrCat(where, ": https_redirect code ", code,
                                   " is not one of 301, 302, 307, 308"));
  }
  return static_cast<int>(code);
}

// RFC 6797 6.1 syntax, directives in the order browsers' preload lists show them.
std::string HstsValue(const v1::Hsts& h) {
  std::string value = portico::StrCat("max-age=", h.max_age_seconds());
  if (h.include_subdomains()) value += "; includeSubDomains";
  if (h.preload()) value += "; preload";
  return value;
}

absl::StatusOr<router::CanaryRule> CompileCanary(const v1::Canary& c, KnownCluster known_cluster,
                                                 std::string_view where) {
  router::CanaryRule rule;
  if (!known_cluster(c.cluster())) {
    return Invalid(portico::StrCat(where, ": canary names unknown cluster ", Quote(c.cluster())));
  }
  rule.cluster = c.cluster();
  rule.header = absl::AsciiStrToLower(c.header());
  rule.header_value = c.header_value();
  if (!c.header_pattern().empty()) {
    RE2::Options options;
    options.set_log_errors(false);
    auto re = std::make_shared<RE2>(c.header_pattern(), options);
    if (!re->ok()) {
      return Invalid(portico::StrCat(where, ": canary header_pattern ", Quote(c.header_pattern()),
                                     ": ", re->error()));
    }
    rule.header_pattern = std::move(re);
  }
  rule.cookie = c.cookie();
  rule.weight_total = OrDefault(c.weight_total(), 100u);
  if (c.weight() > rule.weight_total) {
    return Invalid(portico::StrCat(where, ": canary weight ", c.weight(), " is above its total ",
                                   rule.weight_total));
  }
  rule.weight = c.weight();
  return rule;
}

absl::StatusOr<router::PathMatchType> CompileMatchType(v1::PathMatch::Type t,
                                                       std::string_view where) {
  switch (t) {
    case v1::PathMatch::TYPE_UNSPECIFIED:  // like ImplementationSpecific in an Ingress
    case v1::PathMatch::TYPE_PREFIX:
      return router::PathMatchType::kPrefix;
    case v1::PathMatch::TYPE_EXACT:
      return router::PathMatchType::kExact;
    case v1::PathMatch::TYPE_REGEX:
      return router::PathMatchType::kRegex;
    default:
      return Invalid(portico::StrCat(where, ": unknown path match type ", static_cast<int>(t)));
  }
}

absl::StatusOr<router::BasicAuthRule> CompileBasicAuth(const v1::BasicAuth& a,
                                                       const CredentialsMap& credentials,
                                                       std::string_view where) {
  router::BasicAuthRule rule;
  rule.active = true;
  for (char c : a.realm()) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '"' || c == '\\') {
      return Invalid(portico::StrCat(where, ": basic_auth realm ", Quote(a.realm()),
                                     " is not a valid quoted-string"));
    }
  }
  rule.challenge = policy::BasicChallenge(a.realm());
  rule.deny_all = a.deny_all();
  if (rule.deny_all) return rule;
  auto it = credentials.find(a.credentials());
  if (it == credentials.end()) {
    return Invalid(
        portico::StrCat(where, ": basic_auth names unknown credentials ", Quote(a.credentials())));
  }
  rule.users = it->second;
  return rule;
}
}  // namespace

absl::StatusOr<CredentialsMap> CompileCredentials(const v1::Snapshot& snapshot) {
  CredentialsMap out;
  for (const v1::Credentials& c : snapshot.credentials()) {
    const std::string where = portico::StrCat("credentials ", Quote(c.name()));
    auto users = std::make_shared<router::PasswordMap>();
    for (const v1::Credential& u : c.users()) {
      // The hash never goes into the message.
      if (policy::SchemeOf(u.hash()) == policy::HashScheme::kUnknown) {
        return Invalid(
            portico::StrCat(where, ": user ", Quote(u.user()), " has an unsupported hash"));
      }
      if (u.user().empty() || u.user().find(':') != std::string::npos) {
        return Invalid(portico::StrCat(where, ": invalid user ", Quote(u.user())));
      }
      if (!users->emplace(u.user(), u.hash()).second) {
        return Invalid(portico::StrCat(where, ": duplicate user ", Quote(u.user())));
      }
    }
    if (!out.emplace(c.name(), std::move(users)).second) {
      return Invalid(portico::StrCat("duplicate ", where));
    }
  }
  return out;
}

absl::StatusOr<router::RouteAction> CompileAction(const v1::RouteAction& a,
                                                  KnownCluster known_cluster,
                                                  std::string_view where) {
  router::RouteAction action;
  auto known = [&](const std::string& name) -> absl::Status {
    if (known_cluster(name)) return absl::OkStatus();
    return Invalid(portico::StrCat(where, ": unknown cluster ", Quote(name)));
  };
  switch (a.action_case()) {
    case v1::RouteAction::kCluster:
      if (absl::Status s = known(a.cluster()); !s.ok()) return s;
      action.clusters.push_back({a.cluster(), 1});
      break;
    case v1::RouteAction::kWeightedClusters: {
      uint64_t total = 0;
      for (const v1::WeightedCluster& wc : a.weighted_clusters().clusters()) {
        if (absl::Status s = known(wc.cluster()); !s.ok()) return s;
        action.clusters.push_back({wc.cluster(), wc.weight()});
        total += wc.weight();
      }
      if (total == 0) {
        return Invalid(portico::StrCat(where, ": weighted clusters have a total weight of zero"));
      }
      break;
    }
    case v1::RouteAction::kRedirect: {
      const v1::Redirect& r = a.redirect();
      router::RedirectAction redirect;
      redirect.scheme = r.scheme();
      if (!redirect.scheme.empty() && redirect.scheme != "http" && redirect.scheme != "https") {
        return Invalid(portico::StrCat(where, ": redirect scheme ", Quote(r.scheme()),
                                       " is not http or https"));
      }
      redirect.host = r.host();
      if (r.port() > 65535) {
        return Invalid(portico::StrCat(where, ": redirect port ", r.port(), " is above 65535"));
      }
      redirect.port = r.port();
      redirect.path = r.path();
      if (!redirect.path.empty() && (redirect.path.front() != '/' || !IsRedirectPath(r.path()))) {
        return Invalid(portico::StrCat(where, ": redirect path ", Quote(r.path()),
                                       " must start with '/' and be URI path characters"));
      }
      uint32_t code = OrDefault(r.code(), 301u);
      if (!IsRedirectCode(code)) {
        return Invalid(portico::StrCat(where, ": redirect code ", code,
                                       " is not one of 301, 302, 303, 307, 308"));
      }
      redirect.code = static_cast<int>(code);
      redirect.strip_query = r.strip_query();
      if (!IsRedirectQuery(r.query())) {
        return Invalid(portico::StrCat(where, ": redirect query ", Quote(r.query()),
                                       " has characters outside a URI query"));
      }
      redirect.query = r.query();
      action.redirect = std::move(redirect);
      break;
    }
    case v1::RouteAction::kDirectResponse: {
      const v1::DirectResponse& r = a.direct_response();
      uint32_t status = OrDefault(r.status(), 200u);
      if (status < 200 || status > 599) {
        return Invalid(
            portico::StrCat(where, ": direct response status ", status, " is not in 200..599"));
      }
      action.direct_response =
          router::DirectResponseAction{static_cast<int>(status), r.body(), r.content_type()};
      break;
    }
    case v1::RouteAction::ACTION_NOT_SET:
      break;  // RouteTable::Build names the route that has no action
  }
  return action;
}

absl::StatusOr<router::Route> CompileRoute(const v1::Route& r, std::string_view where,
                                           KnownCluster known_cluster,
                                           const CredentialsMap& credentials) {
  router::Route route;
  route.name = r.name();
  absl::StatusOr<router::PathMatchType> type = CompileMatchType(r.match().type(), where);
  if (!type.ok()) return type.status();
  route.match_type = *type;
  route.path = r.match().path();
  absl::StatusOr<router::RouteAction> action = CompileAction(r.action(), known_cluster, where);
  if (!action.ok()) return action.status();
  route.action = std::move(*action);
  route.origin = {r.origin().namespace_(), r.origin().ingress(), r.origin().service(),
                  r.origin().service_port()};
  if (r.has_https_redirect()) {
    absl::StatusOr<int> code = CompileHttpsRedirect(r.https_redirect(), where);
    if (!code.ok()) return code.status();
    route.https_redirect_code = *code;
  }
  if (r.has_hsts()) route.hsts = HstsValue(r.hsts());
  if (absl::Status s = CompileRouteSecurity(r, where, route); !s.ok()) return s;
  if (r.has_basic_auth()) {
    absl::StatusOr<router::BasicAuthRule> auth =
        CompileBasicAuth(r.basic_auth(), credentials, where);
    if (!auth.ok()) return auth.status();
    route.basic_auth = std::move(*auth);
  }
  if (absl::Status s = CompileRouteHeaders(r, where, route); !s.ok()) return s;
  if (absl::Status s = CompileExternalAuth(r, where, known_cluster, route); !s.ok()) {
    return s;
  }
  if (r.has_canary()) {
    absl::StatusOr<router::CanaryRule> canary = CompileCanary(r.canary(), known_cluster, where);
    if (!canary.ok()) return canary.status();
    route.canary = std::move(*canary);
  }
  if (absl::Status s = CompileRewrite(r, where, route); !s.ok()) return s;
  if (r.has_compression()) {
    route.compression = router::CompressionChoice{r.compression().gzip(), r.compression().brotli()};
  }
  if (r.has_max_request_body_bytes()) route.max_body_bytes = r.max_request_body_bytes();
  return route;
}

absl::StatusOr<router::VirtualHostSpec> CompileVirtualHost(const v1::VirtualHost& vh,
                                                           KnownCluster known_cluster,
                                                           const CredentialsMap& credentials) {
  router::VirtualHostSpec spec;
  spec.name = vh.name();
  spec.hostnames.assign(vh.hostnames().begin(), vh.hostnames().end());
  spec.routes.reserve(vh.routes_size());
  for (const v1::Route& r : vh.routes()) {
    const std::string where =
        portico::StrCat("virtual host ", Quote(vh.name()), " route ", Quote(r.name()));
    absl::StatusOr<router::Route> route = CompileRoute(r, where, known_cluster, credentials);
    if (!route.ok()) return route.status();
    spec.routes.push_back(std::move(*route));
  }
  return spec;
}

}  // namespace portico::dataplane::config
