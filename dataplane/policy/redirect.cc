#include "dataplane/policy/redirect.h"

#include "absl/strings/numbers.h"
#include "common/strings.h"

namespace portico::dataplane::policy {
namespace {

// The port of a Host value ("h:8080", "[::1]:8443"); 0 when none or invalid.
uint32_t AuthorityPort(std::string_view authority) {
  size_t colon = authority.rfind(':');
  if (colon == std::string_view::npos) return 0;
  if (authority.find(']', colon) != std::string_view::npos) return 0;  // inside an IPv6 literal
  uint32_t port = 0;
  if (!absl::SimpleAtoi(ToAbsl(authority.substr(colon + 1)), &port) || port > 65535) return 0;
  return port;
}

}  // namespace

std::string RedirectLocation(const router::RedirectAction& redirect, std::string_view scheme,
                             std::string_view authority, std::string_view target) {
  std::string_view to_scheme = redirect.scheme.empty() ? scheme : redirect.scheme;
  std::string host = redirect.host;
  if (host.empty()) host = router::NormalizeHost(authority);
  uint32_t port = redirect.port;
  // The client's port belongs to its scheme: an http -> https redirect must
  // not send it to the plain-HTTP port.
  if (port == 0 && to_scheme == scheme) port = AuthorityPort(authority);
  bool default_port =
      port == 0 || (to_scheme == "http" && port == 80) || (to_scheme == "https" && port == 443);
  std::string location = portico::StrCat(to_scheme, "://", host);
  if (!default_port) location += portico::StrCat(":", port);
  size_t query = target.find('?');
  if (redirect.path.empty()) {
    location += target.substr(0, query);
  } else {
    location += redirect.path;
  }
  if (!redirect.query.empty()) {
    location += portico::StrCat("?", redirect.query);
  } else if (!redirect.strip_query && query != std::string_view::npos) {
    location += target.substr(query);
  }
  return location;
}

}  // namespace portico::dataplane::policy
