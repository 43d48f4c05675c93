#pragma once
// rewrite-target, x-forwarded-prefix and upstream-vhost: what the upstream
// sees of a request. Pure functions of the route's rule and the request.

#include <string>
#include <string_view>

#include "dataplane/http/message.h"
#include "dataplane/router/route_table.h"

namespace portico::dataplane::policy {

// The path to send upstream for `path` (normalised, without query) routed by
// a route of `type` with `rule`. An empty target keeps the path. Regex
// routes: the target with $1..$9 replaced by the capture groups of the
// route's regex matched from the start of the path ("" for a group that did
// not take part or does not exist). Prefix routes: the matched prefix is
// replaced ("/api" -> "/v1": "/api/x" -> "/v1/x", "/api" -> "/v1"). Exact
// routes: the target.
std::string RewritePath(const router::RewriteRule& rule, router::PathMatchType type,
                        std::string_view path);

// X-Forwarded-Prefix (replacing any the client sent) and Host (which the
// HTTP/2 upstream codec sends as :authority).
void ApplyRewriteHeaders(const router::RewriteRule& rule, http::HeaderMap& headers);

}  // namespace portico::dataplane::policy
