#include "dataplane/policy/forwarded.h"

#include <charconv>

#include <optional>

#include "absl/strings/ascii.h"
#include "common/strings.h"

namespace portico::dataplane::policy {
namespace {

constexpr std::string_view kXForwardedFor = "x-forwarded-for";
constexpr std::string_view kXRealIp = "x-real-ip";
constexpr std::string_view kXForwardedProto = "x-forwarded-proto";
constexpr std::string_view kXForwardedHost = "x-forwarded-host";
constexpr std::string_view kXForwardedPort = "x-forwarded-port";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsPort(std::string_view s) {
  uint32_t port = 0;
  if (s.empty() || s.size() > 5) return false;
  for (char c : s) {
    if (!absl::ascii_isdigit(c)) return false;
    port = port * 10 + (c - '0');
  }
  return port <= 65535;
}

std::optional<net::IpAddress> ParseAddress(std::string_view text) {
  absl::StatusOr<net::IpAddress> ip = net::IpAddress::Parse(text);
  if (!ip.ok()) return std::nullopt;
  return *ip;
}

// One X-Forwarded-For element: an address, optionally with a port that some
// proxies append ("1.2.3.4:5678", "[::1]:80"); the port is dropped. The port
// forms are recognised by shape first so that the common case never builds an
// error status.
std::optional<net::IpAddress> ParseEntry(std::string_view entry) {
  if (entry.front() == '[' && entry.back() != ']') {
    const size_t close = entry.find("]:");
    if (close == std::string_view::npos || !IsPort(entry.substr(close + 2))) return std::nullopt;
    return ParseAddress(entry.substr(0, close + 1));
  }
  const size_t colon = entry.find(':');
  if (colon != std::string_view::npos && entry.find(':', colon + 1) == std::string_view::npos) {
    // Exactly one colon: IPv4 with a port (an IPv6 literal has at least two).
    if (!IsPort(entry.substr(colon + 1))) return std::nullopt;
    std::optional<net::IpAddress> ip = ParseAddress(entry.substr(0, colon));
    if (!ip || !ip->is_v4()) return std::nullopt;
    return ip;
  }
  return ParseAddress(entry);
}

// X-Forwarded-Proto/-Host/-Port: a trusted proxy's value wins, anything else
// is replaced by what this hop saw, or removed when this hop has no value.
void KeepOrSet(http::HeaderMap& headers, std::string_view name, bool trusted,
               std::string_view value) {
  if (trusted) {
    std::optional<std::string_view> incoming = headers.Get(name);
    if (incoming && !Trim(*incoming).empty()) return;
  }
  if (value.empty()) {
    headers.Remove(name);
  } else {
    headers.Set(name, value);
  }
}

}  // namespace

ClientIdentity ResolveClient(const net::CidrSet& trusted, const ConnectionInfo& conn,
                             const http::HeaderMap& headers) {
  ClientIdentity identity;
  identity.client = conn.peer;
  identity.peer_trusted = conn.peer.valid() && trusted.Contains(conn.peer);
  if (!identity.peer_trusted) return identity;

  // Several header lines form one list (RFC 9110 5.3), in order.
  std::optional<std::string> xff = headers.GetJoined(kXForwardedFor);
  if (!xff) return identity;

  // Walk right to left: each trusted hop vouches for the address to its left.
  std::string_view rest = *xff;
  while (true) {
    const size_t comma = rest.rfind(',');
    std::string_view entry = Trim(comma == std::string_view::npos ? rest : rest.substr(comma + 1));
    // Empty list elements are ignored, as RFC 9110 5.6.1 asks of recipients.
    if (!entry.empty()) {
      std::optional<net::IpAddress> ip = ParseEntry(entry);
      // Nothing left of garbage can be believed: whoever wrote it is not a
      // proxy we trust, so the last good address stands.
      if (!ip) break;
      identity.client = *ip;
      if (!trusted.Contains(*ip)) break;
    }
    if (comma == std::string_view::npos) break;
    rest = rest.substr(0, comma);
  }
  return identity;
}

void ApplyForwardedHeaders(const net::CidrSet& trusted, const ConnectionInfo& conn,
                           std::string_view authority, http::HeaderMap& headers,
                           ClientIdentity* identity_out) {
  const ClientIdentity identity = ResolveClient(trusted, conn, headers);

  std::string peer = conn.peer.ToString();
  if (peer.empty()) {
    // No IP peer (e.g. a Unix socket): nothing truthful to forward, and a
    // client-supplied value must not pass.
    headers.Remove(kXForwardedFor);
  } else {
    std::string xff;
    if (identity.peer_trusted) {
      if (std::optional<std::string> incoming = headers.GetJoined(kXForwardedFor)) {
        std::string_view list = Trim(*incoming);
        if (!list.empty()) xff = portico::StrCat(list, ", ");
      }
    }
    xff += peer;
    headers.Set(kXForwardedFor, std::move(xff));
  }

  if (identity.client.valid()) {
    // Usually the peer itself: its text is already at hand.
    headers.Set(kXRealIp,
                identity.client == conn.peer && !peer.empty() ? peer : identity.client.ToString());
  } else {
    headers.Remove(kXRealIp);
  }

  const bool trusted_peer = identity.peer_trusted;
  KeepOrSet(headers, kXForwardedProto, trusted_peer, conn.scheme);
  KeepOrSet(headers, kXForwardedHost, trusted_peer, authority);
  char port[8];
  const size_t port_len =
      conn.local_port == 0 ? 0
                           : std::to_chars(port, port + sizeof(port), conn.local_port).ptr - port;
  KeepOrSet(headers, kXForwardedPort, trusted_peer, std::string_view(port, port_len));

  if (identity_out != nullptr) *identity_out = identity;
}

}  // namespace portico::dataplane::policy
