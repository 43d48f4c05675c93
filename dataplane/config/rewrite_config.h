#pragma once
// Snapshot -> runtime struct for a route's Rewrite (rewrite-target,
// x-forwarded-prefix, upstream-vhost).

#include <string_view>

#include "absl/status/status.h"
#include "dataplane/router/route_table.h"
#include "portico/v1/snapshot.pb.h"

namespace portico::dataplane::config {

// Fills route.rewrite from r.rewrite() for the route's compiled match (type
// and path). Errors name `where`: a target that does not start with '/', uses
// '$' other than as $1..$9 (or at all on a non-regex route), or has bytes
// outside a path; a forwarded prefix that is no header value; an upstream
// host that is no host[:port].
absl::Status CompileRewrite(const v1::Route& r, std::string_view where, router::Route& route);

// A redirect's path and query replacement: RFC 3986 characters only (they
// go into Location as they are).
bool IsRedirectPath(std::string_view path);
bool IsRedirectQuery(std::string_view query);

}  // namespace portico::dataplane::config
