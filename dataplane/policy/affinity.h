#pragma once
// Endpoint preferences of one request: the cookie-affinity endpoint and the
// consistent-hash key (upstream-hash-by), and the Set-Cookie that pins a
// client to the endpoint that served it. Pure functions.

#include <string>
#include <string_view>

#include "common/net/ip_address.h"
#include "dataplane/http/message.h"
#include "dataplane/upstream/cluster_config.h"
#include "dataplane/upstream/load_balancer.h"

namespace portico::dataplane::policy {

// `client`: the client IP after trusted-proxy handling; `request_uri`: the
// request target as received (path and query). A cookie naming no current
// endpoint gives no sticky choice (the balancer picks, and the response
// re-pins). A request without the hash key (header or cookie absent) gets no
// hash: the cluster's balancer picks.
upstream::PickHints EndpointHints(const upstream::ClusterConfig& cluster,
                                  const http::HeaderMap& headers, const net::IpAddress& client,
                                  std::string_view request_uri);

// "NAME=ID; Path=...; [Max-Age=N; ][Secure; ][SameSite=X; ]HttpOnly". `route_path`
// is used when the affinity has no path of its own.
std::string AffinityCookie(const upstream::AffinityConfig& affinity,
                           const upstream::EndpointConfig& endpoint, std::string_view route_path);

}  // namespace portico::dataplane::policy
