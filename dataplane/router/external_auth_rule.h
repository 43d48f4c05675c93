#pragma once
// A route's external authentication (auth-url and friends), as the data plane
// applies it: a subrequest to `cluster` decides whether the request proceeds
// (policy/ext_auth.h, proxy/auth_subrequest.h).

#include <chrono>
#include <string>
#include <vector>

namespace portico::dataplane::router {

// One part of the auth cache key (auth-cache-key); the parts' values are
// concatenated.
struct AuthKeyPart {
  enum class Source { kClientIp, kHeader, kCookie, kRequestUri };
  Source source = Source::kClientIp;
  std::string name;  // header (lower case; "host" is the request's authority) or cookie
};

struct ExternalAuthRule {
  // Fail closed: the auth-url was invalid or not reachable, every request gets 503.
  bool deny_all = false;
  std::string cluster;
  std::string host;  // Host of the subrequest
  std::string path;  // path and query of the subrequest
  std::string method = "GET";
  // auth-signin: a 401 becomes a 302 to this URL, whose $scheme, $host,
  // $http_host, $request_uri and $escaped_request_uri are expanded. Empty: the 401 goes through.
  std::string signin_url;
  std::vector<std::string> response_headers;  // lower case
  std::string request_redirect;               // X-Auth-Request-Redirect; empty: the request URI
  std::vector<AuthKeyPart> cache_key;         // empty: no caching
  std::chrono::milliseconds cache_duration{0};
};

}  // namespace portico::dataplane::router
