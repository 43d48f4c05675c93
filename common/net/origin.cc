#include "common/net/origin.h"

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "common/net/dns_name.h"
#include "common/net/ip_address.h"
#include "common/strings.h"

namespace portico::net {
namespace {

uint16_t DefaultPort(std::string_view scheme) { return scheme == "https" ? 443 : 80; }

// host: lower case, without port. Brackets for IPv6.
bool IsOriginHost(std::string_view host) {
  if (host.empty()) return false;
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return false;
    absl::StatusOr<IpAddress> ip = IpAddress::Parse(host.substr(1, host.size() - 2));
    return ip.ok() && !ip->is_v4();
  }
  // A dotted quad is an IPv4 literal; anything else must be a DNS name.
  if (IpAddress::Parse(host).ok()) return host.find(':') == std::string_view::npos;
  return IsDnsName(host);
}

}  // namespace

std::string WebOrigin::Serialize() const {
  std::string out = portico::StrCat(scheme, "://", wildcard ? "*." : "", host);
  if (port != DefaultPort(scheme)) out += portico::StrCat(":", port);
  return out;
}

std::optional<WebOrigin> ParseWebOrigin(std::string_view text, bool allow_wildcard) {
  const std::string lower = absl::AsciiStrToLower(ToAbsl(text));
  std::string_view rest = lower;
  WebOrigin origin;
  size_t sep = rest.find("://");
  if (sep == std::string_view::npos) return std::nullopt;
  origin.scheme = std::string(rest.substr(0, sep));
  if (origin.scheme != "http" && origin.scheme != "https") return std::nullopt;
  rest.remove_prefix(sep + 3);
  // Host and optional port: nothing else (no userinfo, path, query, fragment).
  if (rest.find_first_of("/?#@\\ \t") != std::string_view::npos) return std::nullopt;
  std::string_view host = rest;
  std::string_view port;
  size_t colon = rest.rfind(':');
  size_t bracket = rest.rfind(']');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    host = rest.substr(0, colon);
    port = rest.substr(colon + 1);
    uint32_t n = 0;
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string_view::npos ||
        !absl::SimpleAtoi(ToAbsl(port), &n) || n == 0 || n > 65535) {
      return std::nullopt;
    }
    origin.port = static_cast<uint16_t>(n);
  } else {
    origin.port = DefaultPort(origin.scheme);
  }
  if (allow_wildcard && host.starts_with("*.")) {
    origin.wildcard = true;
    host.remove_prefix(2);
    // The part under the wildcard is a DNS name of at least two labels: "*.com" would
    // hand a whole TLD the page's cookies' reach.
    if (!IsDnsName(host) || host.find('.') == std::string_view::npos) return std::nullopt;
  } else if (!IsOriginHost(host)) {
    return std::nullopt;
  }
  origin.host = std::string(host);
  return origin;
}

bool OriginMatches(const WebOrigin& allowed, const WebOrigin& request) {
  if (request.wildcard || allowed.scheme != request.scheme || allowed.port != request.port) {
    return false;
  }
  if (!allowed.wildcard) return allowed.host == request.host;
  const std::string_view host = request.host;
  if (host.size() <= allowed.host.size() + 1) return false;
  std::string_view label = host.substr(0, host.size() - allowed.host.size() - 1);
  return host.ends_with(allowed.host) && host[label.size()] == '.' && IsDnsLabel(label);
}

}  // namespace portico::net
