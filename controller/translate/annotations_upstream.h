#pragma once
// Upstream behaviour annotations (nginx aliases too), the settings ConfigMap
// keys of the same names giving their defaults:
//
//   proxy-body-size              nginx size ("8m", "1g"; 0 = unlimited) ->
//   Route.max_request_body_bytes proxy-connect-timeout        seconds or a duration ->
//   Cluster.connect_timeout proxy-send-timeout           seconds or a duration ->
//   Cluster.send_timeout proxy-read-timeout           seconds or a duration ->
//   Cluster.response_timeout proxy-next-upstream          "error timeout http_502 ..." or "off" ->
//   Cluster.retry.conditions proxy-next-upstream-tries    total tries, 1..100 (0: unlimited = 100)
//   -> Cluster.retry.tries proxy-next-upstream-timeout  seconds or a duration, 0 = unlimited ->
//   Cluster.retry.timeout
//
// A bad value is reported and only that setting falls back to its default.
// The Cluster fields go into the Ingress's cluster policy (an Ingress with any
// of them gets clusters of its own); MergeClusterDefaults lays that policy
// over the ConfigMap's defaults for every cluster.

#include <optional>
#include <string_view>

#include "controller/translate/annotation_reader.h"
#include "portico/v1/snapshot.pb.h"

namespace portico::controller::translate {

void ParseUpstreamBehaviour(AnnotationReader& read, v1::Route& route_policy,
                            v1::Cluster& cluster_policy);

// proxy-next-upstream's value: space-separated conditions (error, timeout,
// invalid_header, http_500, http_502, http_503, http_504, http_403, http_404,
// http_429, non_idempotent), or "off" alone. Conditions come out in the
// written order, duplicates dropped; nullopt for anything else.
std::optional<v1::RetryPolicy> ParseNextUpstream(std::string_view value);

// A cluster's settings: `defaults` (the ConfigMap's) with `policy` (an
// Ingress's annotations) over them, field by field; a retry policy's
// conditions, tries and timeout each override separately.
v1::Cluster MergeClusterDefaults(const v1::Cluster& defaults, const v1::Cluster& policy);

}  // namespace portico::controller::translate
