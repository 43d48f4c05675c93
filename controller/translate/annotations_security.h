#pragma once
// Security policy annotations: IP filtering (allowlist-source-range, its
// ingress-nginx spelling whitelist-source-range, denylist-source-range) and
// rate limiting (limit-rps, limit-rpm, limit-burst-multiplier,
// limit-connections, limit-allowlist or its older spelling limit-whitelist).
// The IP lists fail closed: an invalid list refuses every request to the
// Ingress (docs/annotations.md).

#include <string>
#include <string_view>
#include <vector>

#include "controller/translate/annotation_reader.h"
#include "portico/v1/snapshot.pb.h"

namespace portico::controller::translate {

// One CIDR list from the settings ConfigMap or an annotation.
struct CidrListOption {
  bool set = false;                // configured at all (an annotation overrides the default)
  bool invalid = false;            // configured but unparsable: fail closed
  std::vector<std::string> cidrs;  // canonical, when set and valid
};

// The settings ConfigMap's whitelist-source-range and denylist-source-range:
// defaults for every Ingress that does not set its own list.
struct IpFilterDefaults {
  CidrListOption allow;
  CidrListOption deny;
};

// Sets route_policy.ip_filter and route_policy.rate_limit.
void ParseSecurityAnnotations(AnnotationReader& read, const IpFilterDefaults& defaults,
                              v1::Route& route_policy);

// The effective filter of a route from its two lists; false when it filters
// nothing (no lists, neither invalid).
bool BuildIpFilter(const CidrListOption& allow, const CidrListOption& deny, v1::IpFilter& out);

}  // namespace portico::controller::translate
