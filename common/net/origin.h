#pragma once
// Web origins (RFC 6454): scheme "://" host [":" port], as browsers send them
// in the Origin header and as CORS allow lists name them. One parser for the
// translator (validating cors-allow-origin) and the data plane (matching a
// request's Origin), so that both agree on what an origin is.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace portico::net {

struct WebOrigin {
  std::string scheme;  // "http" or "https"
  // Lower case: a DNS name, an IPv4 literal or a bracketed IPv6 literal. With
  // `wildcard`, the DNS name under which exactly one more label matches.
  std::string host;
  uint16_t port = 0;  // always set: the scheme's default when the text has none
  bool wildcard = false;

  // The RFC 6454 serialization: lower case, default port omitted, "*." first
  // for a wildcard.
  std::string Serialize() const;
};

// Parses "https://a.example", "http://10.0.0.1:8080", "https://[::1]"; with
// allow_wildcard also "https://*.example.com". Case-insensitive. Refuses
// anything else: other schemes, userinfo, paths (even "/"), queries,
// fragments, empty or out-of-range ports, hosts that are not DNS names or IP
// literals, "null".
std::optional<WebOrigin> ParseWebOrigin(std::string_view text, bool allow_wildcard = false);

// True when `request` (a parsed request Origin, never a wildcard) is `allowed`:
// equal, or for a wildcard allowed origin, the same scheme and port and a host
// of exactly one more DNS label ("https://*.example.com" matches
// "https://a.example.com", not "https://example.com" or "https://a.b.example.com").
bool OriginMatches(const WebOrigin& allowed, const WebOrigin& request);

}  // namespace portico::net
