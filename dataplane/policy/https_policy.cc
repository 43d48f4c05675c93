#include "dataplane/policy/https_policy.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "common/strings.h"
#include "dataplane/router/route_table.h"

namespace portico::dataplane::policy {

bool ArrivedOverHttps(const net::CidrSet& trusted, const ConnectionInfo& conn,
                      const http::HeaderMap& headers) {
  if (conn.scheme == "https") return true;
  if (!conn.peer.valid() || !trusted.Contains(conn.peer)) return false;
  std::optional<std::string_view> proto = headers.Get("x-forwarded-proto");
  if (!proto) return false;
  // A list ("https, http") names the client-facing hop first.
  std::string_view first = proto->substr(0, proto->find(','));
  return absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(ToAbsl(first)), "https");
}

bool WantsHttpsRedirect(const net::CidrSet& trusted, const ConnectionInfo& conn,
                        const http::HeaderMap& headers, std::string_view path) {
  if (absl::StartsWith(ToAbsl(path), ToAbsl(kAcmeChallengePrefix))) return false;
  return !ArrivedOverHttps(trusted, conn, headers);
}

std::optional<std::string> HttpsRedirectLocation(std::string_view authority,
                                                 std::string_view target, uint16_t port) {
  if (target.empty() || target.front() != '/') return std::nullopt;
  std::string host = router::NormalizeHost(authority);
  if (host.empty()) return std::nullopt;
  std::string location = portico::StrCat("https://", host);
  if (port != 443 && port != 0) location += portico::StrCat(":", port);
  location += target;
  return location;
}

void AddHsts(http::HeaderMap& headers, std::string_view value) {
  if (headers.Has("strict-transport-security")) return;
  headers.Add("strict-transport-security", std::string(value));
}

}  // namespace portico::dataplane::policy
