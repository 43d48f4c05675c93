#pragma once
// Snapshot -> router structs for one virtual host and its routes: the match,
// the action (cluster, weighted clusters, redirect, direct response) and every
// per-route policy (HTTPS redirect, HSTS, IP filter and rate limit, basic and
// external auth, header edits and CORS, canary, rewrite, compression, body
// limit). The policy families with more than a few lines have their own
// *_config.cc; this file puts them together for one route.

#include <memory>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "dataplane/router/route_table.h"
#include "portico/v1/snapshot.pb.h"

namespace portico::dataplane::config {

// Whether the snapshot has a cluster of that name.
using KnownCluster = absl::FunctionRef<bool(const std::string&)>;

// Snapshot.credentials by name; routes naming the same credentials share one list.
using CredentialsMap = absl::flat_hash_map<std::string, std::shared_ptr<const router::PasswordMap>>;

// A hash the verifier does not know, an invalid or duplicate user, or a
// duplicate name is an error: the controller sends only recognised ones.
absl::StatusOr<CredentialsMap> CompileCredentials(const v1::Snapshot& snapshot);

// `where` names the route (or the default action) in errors.
absl::StatusOr<router::RouteAction> CompileAction(const v1::RouteAction& a,
                                                  KnownCluster known_cluster,
                                                  std::string_view where);

// One route with its policies; errors name `where`.
absl::StatusOr<router::Route> CompileRoute(const v1::Route& r, std::string_view where,
                                           KnownCluster known_cluster,
                                           const CredentialsMap& credentials);

// The virtual host's name, hostnames and compiled routes. What concerns more
// than one virtual host (hostnames claimed twice, regex validity, path syntax)
// is checked by router::RouteTable::Build.
absl::StatusOr<router::VirtualHostSpec> CompileVirtualHost(const v1::VirtualHost& vh,
                                                           KnownCluster known_cluster,
                                                           const CredentialsMap& credentials);

}  // namespace portico::dataplane::config
