#pragma once
// request-headers / response-headers edits and the settings' hide-headers.
// The controller validated names and values (no hop-by-hop, pseudo or framing
// headers; no control characters) and the config compiler checked them again;
// these only apply them. Pure functions; called on the request's worker.

#include <string>
#include <vector>

#include "dataplane/http/message.h"
#include "dataplane/router/route_table.h"

namespace portico::dataplane::policy {

// In order: set replaces every value of the header, add appends one, remove
// drops them all.
void ApplyHeaderEdits(const std::vector<router::HeaderEdit>& edits, http::HeaderMap& headers);

// Removes every header named in `names` (lower case).
void RemoveHeaders(const std::vector<std::string>& names, http::HeaderMap& headers);

}  // namespace portico::dataplane::policy
