#include "dataplane/config/security_config.h"

#include "absl/strings/escaping.h"
#include "common/strings.h"

namespace portico::dataplane::config {
namespace {

absl::StatusOr<net::CidrSet> Cidrs(const google::protobuf::RepeatedPtrField<std::string>& list,
                                   std::string_view where, std::string_view field) {
  net::CidrSet set;
  for (int i = 0; i < list.size(); ++i) {
    absl::StatusOr<net::Cidr> cidr = net::Cidr::Parse(list.Get(i));
    if (!cidr.ok()) {
      return absl::InvalidArgumentError(
          portico::StrCat(where, ": ", field, "[", i, "]: ", cidr.status().message()));
    }
    set.Add(*cidr);
  }
  return set;
}

absl::StatusOr<std::chrono::milliseconds> Millis(const google::protobuf::Duration& d, bool has,
                                                 std::chrono::milliseconds fallback,
                                                 std::string_view what) {
  if (!has || (d.seconds() == 0 && d.nanos() == 0)) return fallback;
  if (d.seconds() < 0 || d.nanos() < 0 || d.seconds() > 315576000000 || d.nanos() > 999999999) {
    return absl::InvalidArgumentError(portico::StrCat(what, ": duration out of range"));
  }
  return std::chrono::milliseconds(d.seconds() * 1000 + (d.nanos() + 999999) / 1000000);
}

}  // namespace

absl::Status CompileRouteSecurity(const v1::Route& r, std::string_view where,
                                  router::Route& route) {
  if (r.has_ip_filter()) {
    const v1::IpFilter& f = r.ip_filter();
    router::IpFilterRule& rule = route.ip_filter;
    rule.active = true;
    rule.deny_all = f.deny_all();
    absl::StatusOr<net::CidrSet> allow = Cidrs(f.allow(), where, "ip_filter.allow");
    if (!allow.ok()) return allow.status();
    absl::StatusOr<net::CidrSet> deny = Cidrs(f.deny(), where, "ip_filter.deny");
    if (!deny.ok()) return deny.status();
    rule.allow = *std::move(allow);
    rule.deny = *std::move(deny);
  }
  if (r.has_rate_limit()) {
    const v1::RateLimit& l = r.rate_limit();
    router::RateLimitRule& rule = route.rate_limit;
    rule.rps = l.rps();
    rule.rpm = l.rpm();
    rule.burst_multiplier = l.burst_multiplier() == 0 ? 5 : l.burst_multiplier();
    rule.connections = l.connections();
    if (rule.burst_multiplier > 100000) {
      return absl::InvalidArgumentError(
          portico::StrCat(where, ": rate_limit.burst_multiplier above 100000"));
    }
    absl::StatusOr<net::CidrSet> exempt = Cidrs(l.exempt(), where, "rate_limit.exempt");
    if (!exempt.ok()) return exempt.status();
    rule.exempt = *std::move(exempt);
    rule.zone = l.zone().empty() ? r.name() : l.zone();
  }
  return absl::OkStatus();
}

absl::StatusOr<policy::RateLimitOptions> CompileRateLimitSettings(const v1::RateLimitSettings& s) {
  policy::RateLimitOptions options;
  auto status = [](uint32_t code, int fallback, std::string_view what) -> absl::StatusOr<int> {
    if (code == 0) return fallback;
    if (code < 400 || code > 599) {
      return absl::InvalidArgumentError(
          portico::StrCat("settings.rate_limit.", what, " ", code, " is not in 400..599"));
    }
    return static_cast<int>(code);
  };
  absl::StatusOr<int> code = status(s.status_code(), 429, "status_code");
  if (!code.ok()) return code.status();
  options.status_code = *code;
  code = status(s.connections_status_code(), 503, "connections_status_code");
  if (!code.ok()) return code.status();
  options.connections_status_code = *code;
  if (s.max_clients() != 0) options.max_clients = s.max_clients();
  options.block_after = s.block_after();
  absl::StatusOr<std::chrono::milliseconds> window =
      Millis(s.block_window(), s.has_block_window(), options.block_window,
             "settings.rate_limit.block_window");
  if (!window.ok()) return window.status();
  options.block_window = *window;
  absl::StatusOr<std::chrono::milliseconds> duration =
      Millis(s.block_duration(), s.has_block_duration(), options.block_duration,
             "settings.rate_limit.block_duration");
  if (!duration.ok()) return duration.status();
  options.block_duration = *duration;
  return options;
}

}  // namespace portico::dataplane::config
