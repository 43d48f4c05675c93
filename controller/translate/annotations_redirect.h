#pragma once
// pol-redir's annotation family: redirects (permanent-redirect,
// temporal-redirect and their -code, app-root, from-to-www-redirect), rewrites
// (rewrite-target, x-forwarded-prefix, upstream-vhost) and the refusal of
// every *-snippet annotation. Each value is parsed into typed snapshot fields;
// a bad value is reported and disables only what it configures.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "controller/translate/annotation_reader.h"
#include "portico/v1/snapshot.pb.h"

namespace portico::controller::translate {

struct RedirectAnnotations {
  // permanent-redirect or temporal-redirect: replaces the action of every
  // route of the Ingress (nothing is proxied).
  std::optional<v1::Redirect> redirect;
  // app-root: a request for exactly "/" is answered 302 to this path.
  std::string app_root;
  // from-to-www-redirect: www.<host> is redirected (308) to <host>, and
  // <host> to www.<host>, for rule hosts whose counterpart is no rule host.
  bool from_to_www = false;
  // rewrite-target refers to capture groups ($1..$9): without an explicit
  // use-regex, ImplementationSpecific paths are regexes (as in ingress-nginx,
  // where rewrite-target makes every path of the host a regex).
  bool rewrite_captures = false;
};

// Sets route_policy.rewrite (rewrite-target, x-forwarded-prefix, upstream-vhost).
RedirectAnnotations ParseRedirectAnnotations(AnnotationReader& read, v1::Route& route_policy);

// Every <prefix>/<anything>-snippet annotation, under either prefix, is
// reported (SnippetRefused) and ignored: raw proxy configuration would make an
// annotation code, which Portico never allows.
void RefuseSnippets(AnnotationReader& read);

// An absolute http or https URL, RFC 3986 syntax: scheme "://" host [":" port]
// path-abempty ["?" query]. Hosts are DNS names, IPv4 or bracketed IPv6
// literals; no userinfo, no fragment; every byte outside the grammar (CR,
// LF, NUL, spaces, non-ASCII) is an error, percent-escapes must be complete.
struct RedirectUrl {
  std::string scheme;  // lower case
  std::string host;    // lower case; IPv6 in brackets
  uint32_t port = 0;   // 0: not given
  std::string path;    // "" when not given
  std::string query;   // without '?'
  bool has_query = false;
};
absl::StatusOr<RedirectUrl> ParseRedirectUrl(std::string_view url);

// rewrite-target syntax: starts with '/', path characters only (no query or
// fragment), '$' only as $1..$9. True when valid; `captures` says whether it
// refers to a capture group.
bool ParseRewriteTarget(std::string_view target, bool* captures);

}  // namespace portico::controller::translate
