#pragma once
// HTTPS enforcement: which requests a route's HTTPS redirect applies to, where
// it points, and the Strict-Transport-Security header of responses sent over
// TLS. Whether a route has either is the controller's decision (snapshot
// Route.https_redirect and Route.hsts). Pure functions; no I/O.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/net/ip_address.h"
#include "dataplane/http/message.h"
#include "dataplane/policy/forwarded.h"

namespace portico::dataplane::policy {

// ACME HTTP-01 challenges (RFC 8555 8.3) are fetched over plain HTTP and must
// reach the solver; a redirect would break certificate issuance for the very
// host that wants HTTPS.
inline constexpr std::string_view kAcmeChallengePrefix = "/.well-known/acme-challenge/";

// The client reached the edge over HTTPS: this connection is on the TLS
// listener, or a trusted peer (a load balancer terminating TLS in front of us)
// sends X-Forwarded-Proto whose first element is "https" (any case). From an
// untrusted peer the header means nothing, as in ApplyForwardedHeaders.
bool ArrivedOverHttps(const net::CidrSet& trusted, const ConnectionInfo& conn,
                      const http::HeaderMap& headers);

// A request on a route with an HTTPS redirect gets it unless it already
// arrived over HTTPS or `path` (normalised, without query) is an ACME
// challenge.
bool WantsHttpsRedirect(const net::CidrSet& trusted, const ConnectionInfo& conn,
                        const http::HeaderMap& headers, std::string_view path);

// "https://" host [":" port] target: the host of `authority` (lower-cased, its
// port dropped: that was the plain-HTTP port), `port` unless 443, and the
// request target as received (path and query; the client normalises it, as
// nginx's $request_uri). nullopt when the authority has no usable host (an
// HTTP/1.0 request without Host, a malformed Host) or the target is not in
// origin form.
std::optional<std::string> HttpsRedirectLocation(std::string_view authority,
                                                 std::string_view target, uint16_t port);

// Adds Strict-Transport-Security: `value` unless the response already has the
// header: an application that sets its own policy knows its subdomains better
// than the Ingress does.
void AddHsts(http::HeaderMap& headers, std::string_view value);

}  // namespace portico::dataplane::policy
