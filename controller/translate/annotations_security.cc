#include "controller/translate/annotations_security.h"

#include <cstdint>
#include <optional>

#include "absl/status/statusor.h"
#include "common/strings.h"
#include "controller/translate/annotation_values.h"

namespace portico::controller::translate {
namespace {

constexpr std::string_view kFailClosed =
    "fail closed: every request to this Ingress is refused (403) until it is fixed";

// An annotation's list overrides the default; an invalid one is reported and
// fails closed.
CidrListOption ReadCidrList(AnnotationReader& read, std::optional<AnnotationReader::Found> found,
                            const CidrListOption& fallback) {
  if (!found) return fallback;
  CidrListOption option;
  option.set = true;
  absl::StatusOr<std::vector<std::string>> cidrs = ParseCidrList(found->value);
  if (!cidrs.ok()) {
    option.invalid = true;
    read.Invalid(*found, portico::StrCat("is not a CIDR list (", cidrs.status().message(), ")"),
                 kFailClosed);
    return option;
  }
  option.cidrs = *std::move(cidrs);
  return option;
}

void ParseRateLimit(AnnotationReader& read, v1::Route& route_policy) {
  // Bounds: a bucket of rate * multiplier tokens must stay far from overflow.
  std::optional<uint64_t> rps = read.Uint("limit-rps", 1, 1000000);
  std::optional<uint64_t> rpm = read.Uint("limit-rpm", 1, 60000000);
  std::optional<uint64_t> connections = read.Uint("limit-connections", 1, 1000000);
  std::optional<uint64_t> multiplier = read.Uint("limit-burst-multiplier", 1, 1000);
  // limit-allowlist is the current ingress-nginx name, limit-whitelist the
  // older one; both are read, the newer first.
  std::optional<AnnotationReader::Found> whitelist = read.Find("limit-allowlist");
  std::optional<AnnotationReader::Found> older = read.Find("limit-whitelist");
  if (!whitelist) whitelist = std::move(older);
  if (!rps && !rpm && !connections) {
    if (multiplier || whitelist) {
      read.Warn("IgnoredAnnotation",
                "limit-burst-multiplier and limit-allowlist have no effect without limit-rps, "
                "limit-rpm or limit-connections");
    }
    return;
  }
  v1::RateLimit& limit = *route_policy.mutable_rate_limit();
  if (rps) limit.set_rps(static_cast<uint32_t>(*rps));
  if (rpm) limit.set_rpm(static_cast<uint32_t>(*rpm));
  if (connections) limit.set_connections(static_cast<uint32_t>(*connections));
  if (multiplier) limit.set_burst_multiplier(static_cast<uint32_t>(*multiplier));
  if (whitelist) {
    absl::StatusOr<std::vector<std::string>> cidrs = ParseCidrList(whitelist->value);
    if (cidrs.ok()) {
      for (std::string& cidr : *cidrs) limit.add_exempt(std::move(cidr));
    } else {
      // Exempting nobody is the safe side: every client stays limited.
      read.Invalid(*whitelist,
                   portico::StrCat("is not a CIDR list (", cidrs.status().message(), ")"),
                   "no client is exempt from the limits");
    }
  }
  const Ingress& ingress = read.ingress();
  limit.set_zone(portico::StrCat(ingress.meta.ns, "/", ingress.meta.name));
}

}  // namespace

bool BuildIpFilter(const CidrListOption& allow, const CidrListOption& deny, v1::IpFilter& out) {
  out.Clear();
  if (allow.invalid || deny.invalid) {
    out.set_deny_all(true);
    return true;
  }
  for (const std::string& cidr : allow.cidrs) out.add_allow(cidr);
  for (const std::string& cidr : deny.cidrs) out.add_deny(cidr);
  return out.allow_size() > 0 || out.deny_size() > 0;
}

void ParseSecurityAnnotations(AnnotationReader& read, const IpFilterDefaults& defaults,
                              v1::Route& route_policy) {
  // allowlist-source-range is the current ingress-nginx name, whitelist- the
  // older one; both are read, the newer first.
  std::optional<AnnotationReader::Found> allow = read.Find("allowlist-source-range");
  std::optional<AnnotationReader::Found> whitelist = read.Find("whitelist-source-range");
  if (!allow) allow = std::move(whitelist);
  CidrListOption allow_list = ReadCidrList(read, std::move(allow), defaults.allow);
  CidrListOption deny_list = ReadCidrList(read, read.Find("denylist-source-range"), defaults.deny);
  v1::IpFilter filter;
  if (BuildIpFilter(allow_list, deny_list, filter)) *route_policy.mutable_ip_filter() = filter;
  ParseRateLimit(read, route_policy);
}

}  // namespace portico::controller::translate
