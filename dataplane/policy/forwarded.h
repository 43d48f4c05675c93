#pragma once
// Client identity: which address is the client, and what X-Forwarded-* and
// X-Real-IP headers go upstream. Pure functions; no I/O.

#include <string>
#include <string_view>

#include "common/net/ip_address.h"
#include "dataplane/http/message.h"

namespace portico::dataplane::policy {

struct ConnectionInfo {
  net::IpAddress peer;      // the TCP (or PROXY protocol) peer
  std::string scheme;       // "http" / "https" of the listener
  uint16_t local_port = 0;  // the listener's port
};

struct ClientIdentity {
  net::IpAddress client;  // right-most untrusted address
  bool peer_trusted = false;
};

// The client is the right-most address in (X-Forwarded-For entries..., peer)
// that is not trusted; when all are trusted, the left-most. Headers from an
// untrusted peer are ignored entirely. Unparseable XFF entries stop the walk
// (the last good address to their right is the client).
ClientIdentity ResolveClient(const net::CidrSet& trusted, const ConnectionInfo& conn,
                             const http::HeaderMap& headers);

// Rewrites the forwarding headers of a request about to go upstream:
// * X-Forwarded-For: incoming list + peer when the peer is trusted, otherwise
//   just the peer (a spoofed list from an untrusted peer is replaced);
// * X-Real-IP: the resolved client;
// * X-Forwarded-Proto / -Host / -Port: kept from a trusted peer when present,
//   otherwise set from this connection (scheme, request authority, listener port).
// `authority` is the request's Host / :authority.
void ApplyForwardedHeaders(const net::CidrSet& trusted, const ConnectionInfo& conn,
                           std::string_view authority, http::HeaderMap& headers,
                           ClientIdentity* identity_out = nullptr);

}  // namespace portico::dataplane::policy
