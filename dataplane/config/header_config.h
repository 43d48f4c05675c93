#pragma once
// Snapshot -> runtime structs for the header policies: a route's Cors and
// request/response HeaderRewrite, and the settings' hide-headers,
// hide-backend-identity and server-tokens.

#include <string_view>

#include "absl/status/status.h"
#include "dataplane/router/route_table.h"
#include "portico/v1/snapshot.pb.h"

namespace portico::dataplane::config {

struct GlobalConfig;

// Fills route.cors, route.request_headers and route.response_headers. An
// invalid origin, header name or value is an error naming `where` (the
// controller validates them all: a bad one here is a broken controller).
absl::Status CompileRouteHeaders(const v1::Route& r, std::string_view where, router::Route& route);

// hide_headers (plus Server and X-Powered-By with hide_backend_identity) and
// server_tokens.
absl::Status CompileHeaderSettings(const v1::GlobalSettings& s, GlobalConfig& g);

}  // namespace portico::dataplane::config
