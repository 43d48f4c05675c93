#pragma once
// Ingress hosts and paths to snapshot hostnames and path matches.

#include <optional>
#include <string>
#include <string_view>

#include "controller/translate/cluster_state.h"
#include "portico/v1/snapshot.pb.h"

namespace portico::controller::translate {

// Lower-cases and validates an Ingress rule host: a DNS-1123 subdomain, or
// "*." followed by one (the wildcard covers exactly one label), as the API
// server validates it; IP literals are rejected as the API server does.
// Empty stays empty (any host). nullopt when invalid: the data plane would
// reject the whole snapshot for one bad hostname, so it must never reach it.
std::optional<std::string> NormalizeHost(std::string_view host);

struct PathConversion {
  std::optional<v1::PathMatch> match;  // set on success
  std::string error_reason;            // "InvalidPathType", "InvalidPath", "InvalidRegex"
  std::string error_message;
};

// Exact -> TYPE_EXACT, Prefix -> TYPE_PREFIX, ImplementationSpecific ->
// TYPE_PREFIX, or TYPE_REGEX when `use_regex` (validated with RE2, as the data
// plane compiles it). An empty path is "/" except for Exact; other non-regex
// paths must start with '/'.
PathConversion ConvertPath(const HttpIngressPath& path, bool use_regex);

// Two matches with the same key are the same route: a Prefix's trailing
// slashes do not matter to the data plane ("/foo" and "/foo/" are one prefix).
std::string MatchKey(const v1::PathMatch& match);

}  // namespace portico::controller::translate
