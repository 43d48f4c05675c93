#pragma once
// pol-traffic's annotation family: canary, load-balance, upstream-hash-by,
// cookie session affinity and per-Ingress compression. Each is parsed into
// typed snapshot fields; a bad value disables only that policy (reported).

#include <optional>
#include <string_view>

#include "controller/translate/annotation_reader.h"
#include "portico/v1/snapshot.pb.h"

namespace portico::controller::translate {

struct TrafficAnnotations {
  // canary: "true": the Ingress's paths are not routes of their own but
  // alternatives of the same host+path of a main Ingress.
  bool is_canary = false;
  // The canary rules (cluster unset; the translator fills it per path);
  // nullopt for a canary with an invalid rule, whose paths are then ignored.
  std::optional<v1::Canary> canary;
};

// Sets lb_policy, hash_policy and affinity in `cluster_policy` and compression
// in `route_policy`.
TrafficAnnotations ParseTrafficAnnotations(AnnotationReader& read, v1::Route& route_policy,
                                           v1::Cluster& cluster_policy);

// nginx variable syntax for upstream-hash-by: "$remote_addr" (also
// "$binary_remote_addr"), "$request_uri", "$http_<name>", "$cookie_<name>"; a
// "${name}" spelling is accepted too. Anything else (several variables, text
// around them) is nullopt.
std::optional<v1::HashPolicy> ParseHashBy(std::string_view value);

// "on"/"true" = gzip and brotli, "gzip", "br" (or "brotli"), "off"/"false",
// or a comma list of gzip and br.
std::optional<v1::CompressionOverride> ParseCompressionOverride(std::string_view value);

}  // namespace portico::controller::translate
