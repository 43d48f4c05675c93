#pragma once
// The Location of a route's redirect action (permanent-redirect,
// temporal-redirect, app-root, from-to-www-redirect). Pure; no I/O.

#include <string>
#include <string_view>

#include "dataplane/router/route_table.h"

namespace portico::dataplane::policy {

// scheme "://" host [":" port] path ["?" query], each part the action's or,
// where it leaves it unset, the request's: `scheme` as the request arrived,
// `authority` as received (Host or :authority; lower-cased, its port kept
// only while the scheme is), `target` as received (path and query). The
// scheme's default port is omitted.
std::string RedirectLocation(const router::RedirectAction& redirect, std::string_view scheme,
                             std::string_view authority, std::string_view target);

}  // namespace portico::dataplane::policy
