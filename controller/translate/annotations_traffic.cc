#include "controller/translate/annotations_traffic.h"

#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "common/strings.h"
#include "controller/translate/annotation_values.h"
#include "re2/re2.h"

namespace portico::controller::translate {
namespace {

// RFC 6265 4.1.1 cookie-name: a token.
bool IsCookieName(std::string_view name) { return IsHeaderName(name); }

std::string Lower(std::string_view text) { return absl::AsciiStrToLower(ToAbsl(text)); }

void ParseLoadBalance(AnnotationReader& read, v1::Cluster& cluster) {
  auto found = read.Find("load-balance");
  if (!found) return;
  const std::string value = Lower(found->value);
  if (value == "round_robin") {
    cluster.set_lb_policy(v1::Cluster::LB_POLICY_ROUND_ROBIN);
  } else if (value == "ewma" || value == "least_request" || value == "least_conn") {
    // docs/traffic.md: EWMA's aim (send less to the slower endpoint) is what
    // least-request's power of two choices does with in-flight counts.
    cluster.set_lb_policy(v1::Cluster::LB_POLICY_LEAST_REQUEST);
  } else if (value == "random") {
    cluster.set_lb_policy(v1::Cluster::LB_POLICY_RANDOM);
  } else {
    read.Invalid(*found, "must be round_robin, ewma, least_request or random");
  }
}

void ParseHash(AnnotationReader& read, v1::Cluster& cluster) {
  read.Known("upstream-hash-by-subset");  // reported below, not as unknown
  if (auto subset = read.Find("upstream-hash-by-subset")) {
    read.Warn("UnsupportedAnnotation",
              portico::StrCat("annotation ", subset->key,
                              " is not supported; upstream-hash-by hashes over all endpoints"));
  }
  auto found = read.Find("upstream-hash-by");
  if (!found) return;
  if (auto policy = ParseHashBy(found->value)) {
    *cluster.mutable_hash_policy() = std::move(*policy);
  } else {
    read.Invalid(*found,
                 "must be one of $remote_addr, $request_uri, $http_<header>, $cookie_<name>");
  }
}

void ParseAffinity(AnnotationReader& read, v1::Cluster& cluster) {
  static constexpr std::string_view kNames[] = {"session-cookie-name",    "session-cookie-path",
                                                "session-cookie-max-age", "session-cookie-expires",
                                                "session-cookie-secure",  "session-cookie-samesite",
                                                "affinity-mode"};
  for (std::string_view name : kNames) read.Known(name);
  auto found = read.Find("affinity");
  if (!found) {
    for (std::string_view name : kNames) {
      if (auto extra = read.Find(name)) {
        read.Warn("IgnoredAnnotation", portico::StrCat("annotation ", extra->key,
                                                       " has no effect without affinity: cookie"));
      }
    }
    return;
  }
  if (Lower(found->value) != "cookie") {
    read.Invalid(*found, "must be \"cookie\" (the only affinity type)");
    return;
  }
  v1::SessionAffinity affinity;
  affinity.set_cookie_name("INGRESSCOOKIE");  // ingress-nginx's default name
  if (auto name = read.Find("session-cookie-name")) {
    if (IsCookieName(name->value)) {
      affinity.set_cookie_name(std::string(name->value));
    } else {
      read.Invalid(*name, "must be a cookie name (an RFC 6265 token)", "INGRESSCOOKIE is used");
    }
  }
  if (auto path = read.Find("session-cookie-path")) {
    // A cookie path is a path: no ';' (the next attribute), no spaces.
    if (!path->value.empty() && path->value.front() == '/' && IsHeaderValue(path->value) &&
        path->value.find_first_of("; ,") == std::string_view::npos) {
      affinity.set_path(std::string(path->value));
    } else {
      read.Invalid(*path, "must be a path starting with '/' without ';', ',' or spaces",
                   "the route's path is used");
    }
  }
  constexpr uint64_t kMaxAge = uint64_t{10} * 365 * 24 * 3600;
  std::optional<uint64_t> max_age = read.Uint("session-cookie-max-age", 0, kMaxAge);
  std::optional<uint64_t> expires = read.Uint("session-cookie-expires", 0, kMaxAge);
  if (max_age || expires) affinity.set_max_age_seconds(max_age ? *max_age : *expires);
  if (auto secure = read.Bool("session-cookie-secure")) affinity.set_secure(*secure);
  if (auto samesite = read.Find("session-cookie-samesite")) {
    const std::string value = Lower(samesite->value);
    if (value == "strict") {
      affinity.set_samesite("Strict");
    } else if (value == "lax") {
      affinity.set_samesite("Lax");
    } else if (value == "none") {
      affinity.set_samesite("None");
    } else {
      read.Invalid(*samesite, "must be Strict, Lax or None");
    }
  }
  if (auto mode = read.Find("affinity-mode")) {
    const std::string value = Lower(mode->value);
    if (value == "balanced") {
      affinity.set_mode(v1::SessionAffinity::MODE_BALANCED);
    } else if (value == "persistent") {
      affinity.set_mode(v1::SessionAffinity::MODE_PERSISTENT);
    } else {
      read.Invalid(*mode, "must be balanced or persistent", "balanced is used");
    }
  }
  *cluster.mutable_affinity() = std::move(affinity);
}

void ParseCompression(AnnotationReader& read, v1::Route& route) {
  auto found = read.Find("compression", /*nginx_alias=*/false);
  if (!found) return;
  if (auto parsed = ParseCompressionOverride(found->value)) {
    *route.mutable_compression() = *parsed;
  } else {
    read.Invalid(*found, "must be on, off, gzip, br or \"gzip,br\"",
                 "the global compression settings apply");
  }
}

// The whole canary configuration is one policy: any bad value disables the
// canary (its paths then serve nothing) rather than sending traffic by a
// half-understood rule.
std::optional<v1::Canary> ParseCanary(AnnotationReader& read, bool& is_canary) {
  static constexpr std::string_view kNames[] = {
      "canary-weight",          "canary-weight-total",      "canary-by-header",
      "canary-by-header-value", "canary-by-header-pattern", "canary-by-cookie"};
  for (std::string_view name : kNames) read.Known(name);
  std::optional<bool> enabled = read.Bool("canary");
  is_canary = enabled.value_or(false);
  if (!is_canary) {
    for (std::string_view name : kNames) {
      if (auto extra = read.Find(name)) {
        read.Warn("IgnoredAnnotation", portico::StrCat("annotation ", extra->key,
                                                       " has no effect without canary: \"true\""));
      }
    }
    return std::nullopt;
  }
  constexpr std::string_view kOff = "the canary is disabled";
  v1::Canary canary;
  bool ok = true;
  uint64_t total = 100;
  if (auto found = read.Find("canary-weight-total")) {
    if (auto n = ParseUint(found->value, 1, 1000000)) {
      total = *n;
      canary.set_weight_total(static_cast<uint32_t>(total));
    } else {
      read.Invalid(*found, "must be a whole number from 1 to 1000000", kOff);
      ok = false;
    }
  }
  if (auto found = read.Find("canary-weight")) {
    if (auto n = ParseUint(found->value, 0, total)) {
      canary.set_weight(static_cast<uint32_t>(*n));
    } else {
      read.Invalid(*found, portico::StrCat("must be a whole number from 0 to ", total), kOff);
      ok = false;
    }
  }
  if (auto found = read.Find("canary-by-header")) {
    if (IsHeaderName(found->value)) {
      canary.set_header(Lower(found->value));
    } else {
      read.Invalid(*found, "must be a header name", kOff);
      ok = false;
    }
  }
  auto value = read.Find("canary-by-header-value");
  auto pattern = read.Find("canary-by-header-pattern");
  if ((value || pattern) && canary.header().empty() && ok) {
    read.Invalid(value ? *value : *pattern, "needs canary-by-header", kOff);
    ok = false;
  }
  if (value) {
    if (IsHeaderValue(value->value) && !value->value.empty()) {
      canary.set_header_value(std::string(value->value));
    } else {
      read.Invalid(*value, "must be a header value", kOff);
      ok = false;
    }
  }
  if (pattern && !value) {  // as in ingress-nginx, an exact value wins over the pattern
    RE2::Options options;
    options.set_log_errors(false);
    RE2 re(re2::StringPiece(pattern->value.data(), pattern->value.size()), options);
    if (IsSafeText(pattern->value) && re.ok()) {
      canary.set_header_pattern(std::string(pattern->value));
    } else {
      read.Invalid(*pattern, "must be an RE2 regular expression", kOff);
      ok = false;
    }
  }
  if (auto found = read.Find("canary-by-cookie")) {
    if (IsCookieName(found->value)) {
      canary.set_cookie(std::string(found->value));
    } else {
      read.Invalid(*found, "must be a cookie name (an RFC 6265 token)", kOff);
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return canary;
}

}  // namespace

std::optional<v1::HashPolicy> ParseHashBy(std::string_view value) {
  if (value.size() < 2 || value.front() != '$') return std::nullopt;
  std::string_view name = value.substr(1);
  if (name.front() == '{') {
    if (name.size() < 3 || name.back() != '}') return std::nullopt;
    name = name.substr(1, name.size() - 2);
  }
  v1::HashPolicy policy;
  auto suffix = [&](std::string_view prefix) -> std::optional<std::string_view> {
    if (name.substr(0, prefix.size()) != prefix || name.size() == prefix.size()) {
      return std::nullopt;
    }
    return name.substr(prefix.size());
  };
  if (name == "remote_addr" || name == "binary_remote_addr") {
    policy.set_source(v1::HashPolicy::SOURCE_CLIENT_IP);
  } else if (name == "request_uri") {
    policy.set_source(v1::HashPolicy::SOURCE_REQUEST_URI);
  } else if (auto header = suffix("http_")) {
    // nginx's $http_x_user_id is the header X-User-Id.
    std::string header_name = Lower(*header);
    for (char& c : header_name) {
      if (c == '_') c = '-';
    }
    if (header_name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") !=
        std::string::npos) {
      return std::nullopt;
    }
    policy.set_source(v1::HashPolicy::SOURCE_HEADER);
    policy.set_name(std::move(header_name));
  } else if (auto cookie = suffix("cookie_")) {
    if (cookie->find_first_not_of(
            "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") !=
        std::string_view::npos) {
      return std::nullopt;
    }
    policy.set_source(v1::HashPolicy::SOURCE_COOKIE);
    policy.set_name(std::string(*cookie));
  } else {
    return std::nullopt;
  }
  return policy;
}

std::optional<v1::CompressionOverride> ParseCompressionOverride(std::string_view value) {
  v1::CompressionOverride result;
  const std::string lower = Lower(value);
  if (lower == "on" || lower == "true") {
    result.set_gzip(true);
    result.set_brotli(true);
    return result;
  }
  if (lower == "off" || lower == "false") return result;
  bool any = false;
  for (absl::string_view part : absl::StrSplit(ToAbsl(lower), ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (part == "gzip") {
      result.set_gzip(true);
    } else if (part == "br" || part == "brotli") {
      result.set_brotli(true);
    } else {
      return std::nullopt;
    }
    any = true;
  }
  if (!any) return std::nullopt;
  return result;
}

TrafficAnnotations ParseTrafficAnnotations(AnnotationReader& read, v1::Route& route_policy,
                                           v1::Cluster& cluster_policy) {
  TrafficAnnotations result;
  ParseLoadBalance(read, cluster_policy);
  ParseHash(read, cluster_policy);
  ParseAffinity(read, cluster_policy);
  ParseCompression(read, route_policy);
  result.canary = ParseCanary(read, result.is_canary);
  return result;
}

}  // namespace portico::controller::translate
