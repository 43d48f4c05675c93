#pragma once
// The immutable routing table: host and path matching with Ingress semantics.
// Built once off the worker threads; read concurrently by every worker without locks.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "common/net/ip_address.h"
#include "common/net/origin.h"
#include "dataplane/router/external_auth_rule.h"
#include "re2/re2.h"

namespace portico::dataplane::router {

enum class PathMatchType { kPrefix, kExact, kRegex };

struct ClusterWeight {
  std::string cluster;
  uint32_t weight = 1;
};

struct RedirectAction {
  std::string scheme;  // empty: keep
  std::string host;    // empty: keep
  // 0: the request's port when the scheme is kept, else none. The scheme's
  // default port is omitted from Location.
  uint32_t port = 0;
  std::string path;  // empty: keep
  int code = 301;
  bool strip_query = false;
  std::string query;  // non-empty: replaces the request's query (without '?')
};

// rewrite-target, x-forwarded-prefix and upstream-vhost of a route
// (policy/rewrite.h applies them to the request sent upstream).
struct RewriteRule {
  // Empty: the path is forwarded as routed. Regex routes: the whole path
  // becomes `target` with $1..$9 replaced by `regex`'s capture groups (as
  // nginx's rewrite). Prefix routes: the matched prefix is replaced by it;
  // Exact routes: the path is.
  std::string target;
  std::shared_ptr<const RE2> regex;  // the route's path, for regex routes
  std::string prefix;                // the route's prefix without trailing '/', for prefix routes
  std::string forwarded_prefix;      // X-Forwarded-Prefix; empty: none
  std::string upstream_host;         // Host / :authority sent upstream; empty: the client's
};

struct DirectResponseAction {
  int status = 200;
  std::string body;
  std::string content_type;
};

// A canary alternative of the route's action (policy/canary.h decides).
struct CanaryRule {
  std::string cluster;
  std::string header;                         // lower case; empty: no header rule
  std::string header_value;                   // exact value that means canary
  std::shared_ptr<const RE2> header_pattern;  // full match means canary
  std::string cookie;                         // empty: no cookie rule
  uint32_t weight = 0;
  uint32_t weight_total = 100;
};

// A route's own choice of codings (the rest of the settings stay global).
struct CompressionChoice {
  bool gzip = false;
  bool brotli = false;
};

struct RouteOrigin {
  std::string ns;
  std::string ingress;
  std::string service;
  std::string service_port;
};

// What to do with a matched request: exactly one of the members is set.
struct RouteAction {
  std::vector<ClusterWeight> clusters;  // one entry, or a weighted split
  std::optional<RedirectAction> redirect;
  std::optional<DirectResponseAction> direct_response;
};

// allowlist-source-range / denylist-source-range of a route (policy/ip_filter.h).
struct IpFilterRule {
  bool active = false;
  bool deny_all = false;  // fail closed: a list was invalid
  net::CidrSet allow;     // non-empty: only these clients
  net::CidrSet deny;
};

// limit-* of a route (policy/rate_limiter.h). Routes with the same zone (one
// Ingress) share their clients' buckets.
struct RateLimitRule {
  uint32_t rps = 0;  // 0: no such limit
  uint32_t rpm = 0;
  uint32_t burst_multiplier = 5;
  uint32_t connections = 0;  // concurrent requests per client; 0: unlimited
  net::CidrSet exempt;
  std::string zone;
  bool active() const { return rps != 0 || rpm != 0 || connections != 0; }
};

// A basic-auth password list: user -> stored hash (bcrypt, SHA-crypt, apr1,
// {SHA}). One object per snapshot Credentials, shared by the routes naming it.
using PasswordMap = absl::flat_hash_map<std::string, std::string>;

// auth-type: basic of a route (policy/basic_auth.h).
struct BasicAuthRule {
  bool active = false;
  bool deny_all = false;                     // fail closed: 503
  std::string challenge;                     // WWW-Authenticate value: Basic realm="..."
  std::shared_ptr<const PasswordMap> users;  // set unless deny_all
};

// enable-cors of a route (policy/cors.h).
struct CorsRule {
  bool any_origin = false;              // "*" was allowed
  std::vector<net::WebOrigin> origins;  // exact and one-label wildcard origins
  std::string allow_methods;            // joined with ", "
  std::string allow_headers;            // joined with ", "; empty: none
  std::string expose_headers;           // joined with ", "; empty: none
  bool allow_credentials = false;
  std::optional<uint32_t> max_age_seconds;
};

// One request-headers / response-headers edit (policy/header_rewrite.h).
struct HeaderEdit {
  enum class Kind { kSet, kAdd, kRemove };
  Kind kind = Kind::kSet;
  std::string name;  // lower case
  std::string value;
};

struct Route {
  std::string name;
  PathMatchType match_type = PathMatchType::kPrefix;
  std::string path;  // as configured
  RouteAction action;
  RouteOrigin origin;
  // 301, 302, 307 or 308: requests that did not arrive over HTTPS are
  // redirected to https instead of `action` (policy/https.h says which); 0: no.
  int https_redirect_code = 0;
  // Strict-Transport-Security value for responses sent over TLS; empty: none.
  std::string hsts;
  IpFilterRule ip_filter;
  RateLimitRule rate_limit;
  BasicAuthRule basic_auth;
  std::optional<CanaryRule> canary;
  std::optional<CompressionChoice> compression;  // unset: the global switches
  // proxy-body-size: larger request bodies get 413 (0: unlimited); unset:
  // the global limit.
  std::optional<uint64_t> max_body_bytes;
  std::optional<RewriteRule> rewrite;
  std::optional<CorsRule> cors;
  std::vector<HeaderEdit> request_headers;        // applied to the head sent upstream
  std::vector<HeaderEdit> response_headers;       // applied to the head sent to the client
  std::optional<ExternalAuthRule> external_auth;  // unset: no auth subrequest
};

struct VirtualHostSpec {
  std::string name;
  // Lower-cased by Build. Exact names or "*.suffix" (exactly one extra label).
  // Empty: the catch-all virtual host.
  std::vector<std::string> hostnames;
  std::vector<Route> routes;
};

struct MatchResult {
  const Route* route = nullptr;   // nullptr: nothing matched (404 / default action)
  std::string_view virtual_host;  // name of the matched virtual host, if any
};

// One virtual host validated and indexed on its own (complete in the .cc
// file). Immutable and shareable: tables built from successive snapshots hold
// the same object for a virtual host that did not change.
struct CompiledVirtualHost;

class RouteTable {
 public:
  // Validates and indexes one virtual host. Errors: a hostname that is neither
  // exact nor a one-label wildcard, an invalid regex, a path not starting with
  // '/', a route without a valid action.
  static absl::StatusOr<std::shared_ptr<const CompiledVirtualHost>> CompileVirtualHost(
      VirtualHostSpec spec);

  // Indexes the virtual hosts by hostname. Errors: a hostname claimed by two
  // virtual hosts, two catch-all virtual hosts, an invalid default action.
  static absl::StatusOr<std::unique_ptr<RouteTable>> FromCompiled(
      std::vector<std::shared_ptr<const CompiledVirtualHost>> vhosts,
      std::optional<RouteAction> default_action);

  // CompileVirtualHost of each, then the above.
  static absl::StatusOr<std::unique_ptr<RouteTable>> Build(
      std::vector<VirtualHostSpec> vhosts, std::optional<RouteAction> default_action);

  // host: the Host header or :authority as received (any case, optional
  // ":port", IPv6 literals in brackets). path: the normalised path without query.
  // Virtual host: exact name, else one-label wildcard, else catch-all. Within it:
  // an Exact route equal to path, else the longest Prefix matching whole path
  // elements (Exact beats Prefix on equal length), else the first Regex route
  // (in configured order) that matches from the start of the path.
  // A virtual host with no matching route does not fall through to another.
  MatchResult Match(std::string_view host, std::string_view path) const;

  // Out of line: CompiledVirtualHost is only complete in the .cc file.
  ~RouteTable();

  const std::optional<RouteAction>& default_action() const { return default_action_; }

 private:
  using VirtualHost = CompiledVirtualHost;
  RouteTable() = default;
  const VirtualHost* FindVirtualHost(std::string_view host) const;

  std::vector<std::shared_ptr<const VirtualHost>> vhosts_;
  // Keys view the hostnames of the virtual hosts in vhosts_: building a table
  // allocates no string per hostname.
  absl::flat_hash_map<absl::string_view, const VirtualHost*> exact_hosts_;
  absl::flat_hash_map<absl::string_view, const VirtualHost*> wildcard_hosts_;  // suffix after "*."
  const VirtualHost* catch_all_ = nullptr;
  std::optional<RouteAction> default_action_;
};

// Removes dot segments (RFC 3986 5.2.4, also for "%2e" spelled dots) and
// returns the path without query. Returns nullopt for targets that do not
// start with '/'. Used for matching and forwarding, so that "/public/../admin"
// cannot reach /admin's backend under /public's route.
std::optional<std::string> NormalizePath(std::string_view target);

// Lower-cases and strips the port of a Host value; returns empty for a
// malformed value (bad characters, unterminated IPv6 bracket).
std::string NormalizeHost(std::string_view host);

}  // namespace portico::dataplane::router
