#pragma once
// Snapshot -> runtime struct for a route's ExternalAuth (auth-url).

#include <string_view>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "dataplane/router/route_table.h"
#include "portico/v1/snapshot.pb.h"

namespace portico::dataplane::config {

// Fills route.external_auth when r has one. Errors name `where`: an unknown
// cluster (unless deny_all), a header name or key part that is not valid.
// `known_cluster` says whether the snapshot has a cluster of that name.
absl::Status CompileExternalAuth(const v1::Route& r, std::string_view where,
                                 absl::FunctionRef<bool(const std::string&)> known_cluster,
                                 router::Route& route);

}  // namespace portico::dataplane::config
