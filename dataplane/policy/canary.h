#pragma once
// Canary choice per request, with ingress-nginx's precedence: the header
// rule, then the cookie rule, then the weight.

#include <random>

#include "dataplane/http/message.h"
#include "dataplane/router/route_table.h"

namespace portico::dataplane::policy {

// True: the request goes to rule.cluster. Header: with a header_value, equal
// means canary; with a pattern, a full match means canary; otherwise "always"
// means canary and "never" means not; anything else (or no header) lets the
// cookie decide, the same way ("always"/"never"), then the weight: canary with
// probability weight / weight_total. `rng` is the worker's.
bool UseCanary(const router::CanaryRule& rule, const http::HeaderMap& headers,
               std::mt19937_64& rng);

}  // namespace portico::dataplane::policy
