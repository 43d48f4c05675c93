#pragma once
// allowlist-source-range / denylist-source-range: whether a route serves a
// client. The client is the address policy/forwarded.h resolves (after
// trusted-proxy handling), never a header from an untrusted peer. Pure.

#include "common/net/ip_address.h"
#include "dataplane/router/route_table.h"

namespace portico::dataplane::policy {

// False (answer 403) when the rule fails closed, the client is in the
// deny-list, or an allow-list exists and the client is not in it. An invalid
// client address (none known) is refused by any active rule.
bool IpFilterAllows(const router::IpFilterRule& rule, const net::IpAddress& client);

}  // namespace portico::dataplane::policy
