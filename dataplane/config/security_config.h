#pragma once
// Snapshot -> runtime structs for the security policies: a route's IpFilter
// and RateLimit, and the settings' RateLimitSettings.

#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "dataplane/policy/rate_limiter.h"
#include "dataplane/router/route_table.h"
#include "portico/v1/snapshot.pb.h"

namespace portico::dataplane::config {

// Fills route.ip_filter and route.rate_limit; an unparsable CIDR is an error
// naming `where` (the snapshot is refused rather than served unfiltered).
absl::Status CompileRouteSecurity(const v1::Route& r, std::string_view where, router::Route& route);

absl::StatusOr<policy::RateLimitOptions> CompileRateLimitSettings(const v1::RateLimitSettings& s);

}  // namespace portico::dataplane::config
