#pragma once
// External authentication (auth-url), the request-level part: what the auth
// subrequest carries, how its answer is read, the signin redirect and the
// per-worker cache of allowed answers. proxy/auth_subrequest.h sends it.
// Pure functions and a single-threaded cache; no I/O.

#include <chrono>
#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "common/net/ip_address.h"
#include "dataplane/http/message.h"
#include "dataplane/router/external_auth_rule.h"

namespace portico::dataplane::policy {

enum class AuthVerdict {
  kAllow,         // 2xx: the request proceeds
  kUnauthorized,  // 401: to the client, or the signin redirect
  kForbidden,     // 403
  kError,         // anything else, or no answer: 500, as nginx's auth_request
};

// `status` 0: the subrequest failed (connect, timeout, reset).
AuthVerdict ClassifyAuthStatus(int status);

// What the client's request looks like to the auth service.
struct OriginalRequest {
  std::string_view method;
  std::string_view scheme;  // as the client used it
  std::string_view authority;
  std::string_view request_uri;  // path and query as received
};

// The subrequest: the client's headers (forwarded headers already applied)
// without hop-by-hop and body framing headers, Content-Length 0, and
// X-Original-URL, X-Original-Method, X-Auth-Request-Redirect (the rule's, else
// the request URI); Host and target from the rule. Client-sent X-Original-*
// are replaced, never trusted.
http::RequestHead BuildAuthRequest(const router::ExternalAuthRule& rule,
                                   const OriginalRequest& original,
                                   const http::HeaderMap& client_headers);

// The full URL of the original request: scheme://authority/request_uri.
std::string OriginalUrl(const OriginalRequest& original);

// The headers of an allowing answer that go into the upstream request
// (rule.response_headers present in `response`, values joined).
std::vector<http::Header> AuthResponseHeaders(const router::ExternalAuthRule& rule,
                                              const http::HeaderMap& response);

// Puts `copied` (from AuthResponseHeaders) into the upstream request. Every
// auth-response-headers name is removed first, so that a client cannot
// supply one the auth service did not send (nginx's proxy_set_header of an
// empty value does the same).
void ApplyAuthResponseHeaders(const router::ExternalAuthRule& rule,
                              const std::vector<http::Header>& copied, http::HeaderMap& headers);

// auth-signin's Location: rule.signin_url with $scheme (also
// $pass_access_scheme), $host, $http_host, $request_uri and
// $escaped_request_uri expanded (the controller lets no other "$" through).
std::string SigninLocation(std::string_view url_template, const OriginalRequest& original);

// Percent-encodes everything but RFC 3986 unreserved characters (nginx's
// set_escape_uri, as ingress-nginx's $escaped_request_uri).
std::string EscapeUriComponent(std::string_view text);

// The cache key of this request for `route`, or nullopt when the rule does
// not cache. Parts are length-prefixed, so values cannot run into each other.
// `request_uri` is the path and query as received (nginx's $request_uri,
// before any rewrite).
std::optional<std::string> AuthCacheKey(const router::ExternalAuthRule& rule,
                                        std::string_view route, const http::RequestHead& head,
                                        std::string_view request_uri, const net::IpAddress& client);

// Allowed answers by cache key, each with the headers to copy upstream, for
// the rule's cache_duration; least recently used entries beyond `capacity`
// are dropped. One per worker: called on the owning worker only.
class AuthCache {
 public:
  using Clock = std::chrono::steady_clock;
  explicit AuthCache(size_t capacity = 10000) : capacity_(capacity) {}

  // The cached headers, or nullptr (expired entries are removed).
  const std::vector<http::Header>* Find(const std::string& key, Clock::time_point now);
  void Insert(const std::string& key, std::vector<http::Header> headers, Clock::time_point expires);
  size_t size() const { return index_.size(); }

 private:
  struct Entry {
    std::string key;
    std::vector<http::Header> headers;
    Clock::time_point expires;
  };
  size_t capacity_;
  std::list<Entry> entries_;  // most recently used first
  absl::flat_hash_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace portico::dataplane::policy
