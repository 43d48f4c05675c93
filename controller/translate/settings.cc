#include "controller/translate/settings.h"

#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/http_fields.h"
#include "common/net/ip_address.h"
#include "common/strings.h"
#include "controller/translate/annotation_values.h"
#include "controller/translate/annotations_upstream.h"

namespace portico::controller::translate {
namespace {

constexpr int64_t kMaxMillis = int64_t{10} * 365 * 24 * 3600 * 1000;  // sanity bound: 10 years

void SetDuration(google::protobuf::Duration* d, int64_t millis) {
  d->set_seconds(millis / 1000);
  d->set_nanos(static_cast<int32_t>(millis % 1000) * 1000000);
}

// Returns an error message, or empty on success.
using KeyParser = std::function<std::string(std::string_view value, Settings& out)>;

KeyParser Duration(google::protobuf::Duration* (v1::GlobalSettings::*field)()) {
  return [field](std::string_view value, Settings& out) -> std::string {
    std::optional<int64_t> millis = ParseNginxDuration(value);
    if (!millis.has_value()) return "not a duration (\"60s\", \"5m\", or seconds)";
    if (*millis == 0) return "must be above zero";
    SetDuration((out.global.*field)(), *millis);
    return "";
  };
}

KeyParser Count(void (v1::GlobalSettings::*setter)(uint32_t)) {
  return [setter](std::string_view value, Settings& out) -> std::string {
    uint32_t n = 0;
    if (!portico::SimpleAtoi(value, &n) || n == 0 || value.front() == '+') {
      return "not a positive integer";
    }
    (out.global.*setter)(n);
    return "";
  };
}

std::string BodySize(std::string_view value, Settings& out) {
  std::optional<uint64_t> size = ParseNginxSize(value);
  if (!size.has_value()) return "not a size (\"1m\", \"512k\", bytes, or 0 for unlimited)";
  out.global.set_max_request_body_bytes(*size);
  return "";
}

// "<number> <size>": nginx allocates up to <number> buffers of <size> for the
// request line and headers; a request line (or header line) must fit one.
std::string HeaderBuffers(std::string_view value, Settings& settings) {
  v1::GlobalSettings& out = settings.global;
  std::vector<absl::string_view> parts = absl::StrSplit(ToAbsl(value), ' ', absl::SkipWhitespace());
  uint32_t count = 0;
  std::optional<uint64_t> size;
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &count) || count == 0 ||
      !(size = ParseNginxSize(ToStd(parts[1]))).has_value() || *size == 0) {
    return "want \"<count> <size>\", e.g. \"4 8k\"";
  }
  uint64_t total = *size * count;
  if (*size > std::numeric_limits<uint32_t>::max() ||
      total > std::numeric_limits<uint32_t>::max()) {
    return "too large";
  }
  out.set_max_request_line_bytes(static_cast<uint32_t>(*size));
  out.set_max_request_header_bytes(static_cast<uint32_t>(total));
  return "";
}

std::optional<bool> ParseBool(std::string_view value) {
  if (value == "true") return true;
  if (value == "false") return false;
  return std::nullopt;
}

KeyParser Bool(bool* (*field)(Settings&)) {
  return [field](std::string_view value, Settings& out) -> std::string {
    std::optional<bool> parsed = ParseBool(value);
    if (!parsed.has_value()) return "must be \"true\" or \"false\"";
    *field(out) = *parsed;
    return "";
  };
}

// ingress-nginx's http-redirect-code accepts the same four.
std::string RedirectCode(std::string_view value, Settings& out) {
  uint32_t code = 0;
  if (!portico::SimpleAtoi(value, &code) ||
      (code != 301 && code != 302 && code != 307 && code != 308)) {
    return "must be 301, 302, 307 or 308";
  }
  out.https.redirect_code = code;
  return "";
}

std::string HstsMaxAge(std::string_view value, Settings& out) {
  std::optional<uint32_t> seconds = ParseHstsMaxAge(value);
  if (!seconds.has_value()) return "not a whole number of seconds";
  out.https.hsts.max_age_seconds = *seconds;
  return "";
}

// limit-req-status-code / limit-conn-status-code: an error status, as nginx's
// limit_req_status / limit_conn_status (which accept 400 to 599).
KeyParser RejectStatus(void (v1::RateLimitSettings::*setter)(uint32_t)) {
  return [setter](std::string_view value, Settings& out) -> std::string {
    std::optional<uint64_t> code = ParseUint(value, 400, 599);
    if (!code) return "must be a status code from 400 to 599";
    (out.global.mutable_rate_limit()->*setter)(static_cast<uint32_t>(*code));
    return "";
  };
}

KeyParser RateLimitCount(void (v1::RateLimitSettings::*setter)(uint32_t), uint64_t max) {
  return [setter, max](std::string_view value, Settings& out) -> std::string {
    std::optional<uint64_t> n = ParseUint(value, 1, max);
    if (!n) return portico::StrCat("must be a whole number from 1 to ", max);
    (out.global.mutable_rate_limit()->*setter)(static_cast<uint32_t>(*n));
    return "";
  };
}

KeyParser RateLimitDuration(google::protobuf::Duration* (v1::RateLimitSettings::*field)()) {
  return [field](std::string_view value, Settings& out) -> std::string {
    std::optional<int64_t> millis = ParseNginxDuration(value);
    if (!millis.has_value()) return "not a duration (\"60s\", \"5m\", or seconds)";
    if (*millis == 0) return "must be above zero";
    SetDuration((out.global.mutable_rate_limit()->*field)(), *millis);
    return "";
  };
}

// pol-traffic's keys: PROXY protocol and compression (docs/traffic.md).
KeyParser GlobalBool(void (v1::GlobalSettings::*setter)(bool)) {
  return [setter](std::string_view value, Settings& out) -> std::string {
    std::optional<bool> parsed = ParseBool(value);
    if (!parsed.has_value()) return "must be \"true\" or \"false\"";
    (out.global.*setter)(*parsed);
    return "";
  };
}

KeyParser CompressionBool(void (v1::Compression::*setter)(bool)) {
  return [setter](std::string_view value, Settings& out) -> std::string {
    std::optional<bool> parsed = ParseBool(value);
    if (!parsed.has_value()) return "must be \"true\" or \"false\"";
    (out.global.mutable_compression()->*setter)(*parsed);
    return "";
  };
}

KeyParser CompressionLevel(void (v1::Compression::*setter)(uint32_t), uint32_t min, uint32_t max) {
  return [setter, min, max](std::string_view value, Settings& out) -> std::string {
    uint32_t n = 0;
    if (!portico::SimpleAtoi(value, &n) || value.front() == '+' || value.front() == '-' ||
        n < min || n > max) {
      return portico::StrCat("must be a whole number from ", min, " to ", max);
    }
    (out.global.mutable_compression()->*setter)(n);
    return "";
  };
}

std::string CompressionMinLength(std::string_view value, Settings& out) {
  uint32_t n = 0;
  if (!portico::SimpleAtoi(value, &n) || value.front() == '+' || value.front() == '-') {
    return "not a whole number of bytes";
  }
  out.global.mutable_compression()->set_min_length(n);
  return "";
}

// nginx's gzip_types: media types separated by spaces (commas accepted too);
// "type/*" covers a whole type.
std::string CompressionTypes(std::string_view value, Settings& out) {
  std::vector<std::string> types;
  for (absl::string_view part :
       absl::StrSplit(ToAbsl(value), absl::ByAnyChar(" ,\t"), absl::SkipWhitespace())) {
    std::string type = absl::AsciiStrToLower(part);
    const size_t slash = type.find('/');
    auto token = [](std::string_view s) {
      return !s.empty() && s.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789!#$&-^_.+*") ==
                               std::string_view::npos;
    };
    if (slash == std::string::npos || !token(type.substr(0, slash)) ||
        !token(type.substr(slash + 1)) || type.substr(0, slash).find('*') != std::string::npos ||
        (type.substr(slash + 1).find('*') != std::string::npos && type.substr(slash + 1) != "*")) {
      return portico::StrCat("\"", ToStd(part), "\" is not a media type (type/subtype or type/*)");
    }
    types.push_back(std::move(type));
  }
  if (types.empty()) return "no media types";
  v1::Compression* c = out.global.mutable_compression();
  c->clear_mime_types();
  for (std::string& t : types) c->add_mime_types(std::move(t));
  return "";
}

// hide-headers: nginx's proxy_hide_header for every upstream response, as a
// comma-separated list of header names. The framing and hop-by-hop headers are
// the codecs' (common/http_fields.h) and cannot be hidden.
std::string HideHeaders(std::string_view value, Settings& out) {
  std::optional<std::vector<std::string>> names = ParseList(value);
  if (!names || names->empty()) return "want a comma-separated list of header names";
  out.global.clear_hide_headers();
  for (const std::string& name : *names) {
    std::string lower = absl::AsciiStrToLower(name);
    if (!IsHeaderName(name)) return portico::StrCat("\"", name, "\" is not a header name");
    if (IsReservedHeaderName(lower)) return portico::StrCat(name, " cannot be hidden");
    bool seen = false;
    for (const std::string& h : out.global.hide_headers()) seen |= h == lower;
    if (!seen) out.global.add_hide_headers(std::move(lower));
  }
  return "";
}

// The upstream behaviour keys (annotations_upstream.h): cluster defaults.
KeyParser ClusterTimeout(google::protobuf::Duration* (v1::Cluster::*field)()) {
  return [field](std::string_view value, Settings& out) -> std::string {
    std::optional<int64_t> millis = ParseNginxDuration(value);
    if (!millis.has_value()) return "not a duration (\"60s\", \"5m\", or seconds)";
    if (*millis == 0) return "must be above zero";
    SetDuration((out.cluster_defaults.*field)(), *millis);
    return "";
  };
}

std::string NextUpstream(std::string_view value, Settings& out) {
  std::optional<v1::RetryPolicy> parsed = ParseNextUpstream(value);
  if (!parsed.has_value()) {
    return "want \"off\" or conditions such as \"error timeout http_502\"";
  }
  v1::RetryPolicy* retry = out.cluster_defaults.mutable_retry();
  retry->clear_conditions();
  retry->set_off(parsed->off());
  for (int c : parsed->conditions()) {
    retry->add_conditions(static_cast<v1::RetryPolicy::Condition>(c));
  }
  return "";
}

std::string NextUpstreamTries(std::string_view value, Settings& out) {
  constexpr uint64_t kMaxTries = 100;
  std::optional<uint64_t> n = ParseUint(value, 0, kMaxTries);
  if (!n) return "must be a whole number from 0 (unlimited) to 100";
  out.cluster_defaults.mutable_retry()->set_tries(static_cast<uint32_t>(*n == 0 ? kMaxTries : *n));
  return "";
}

std::string NextUpstreamTimeout(std::string_view value, Settings& out) {
  std::optional<int64_t> millis = ParseNginxDuration(value);
  if (!millis.has_value()) return "not a duration (\"60s\", \"5m\", or seconds; 0: unlimited)";
  SetDuration(out.cluster_defaults.mutable_retry()->mutable_timeout(), *millis);
  return "";
}

struct Key {
  std::string_view name;
  KeyParser parse;
};

const std::vector<Key>& Keys() {
  static const auto* keys = new std::vector<Key>{
      {"brotli-level", CompressionLevel(&v1::Compression::set_brotli_level, 0, 11)},
      {"client-body-timeout", Duration(&v1::GlobalSettings::mutable_client_body_timeout)},
      {"enable-brotli", CompressionBool(&v1::Compression::set_brotli)},
      {"gzip-level", CompressionLevel(&v1::Compression::set_gzip_level, 1, 9)},
      {"gzip-min-length", CompressionMinLength},
      {"gzip-types", CompressionTypes},
      {"client-header-timeout", Duration(&v1::GlobalSettings::mutable_client_header_timeout)},
      {"force-ssl-redirect", Bool([](Settings& s) { return &s.https.force_ssl_redirect; })},
      {"hide-backend-identity", GlobalBool(&v1::GlobalSettings::set_hide_backend_identity)},
      {"hide-headers", HideHeaders},
      {"hsts", Bool([](Settings& s) { return &s.https.hsts.enabled; })},
      {"hsts-include-subdomains",
       Bool([](Settings& s) { return &s.https.hsts.include_subdomains; })},
      {"hsts-max-age", HstsMaxAge},
      {"hsts-preload", Bool([](Settings& s) { return &s.https.hsts.preload; })},
      {"http-redirect-code", RedirectCode},
      {"keep-alive", Duration(&v1::GlobalSettings::mutable_keepalive_timeout)},
      {"keep-alive-requests", Count(&v1::GlobalSettings::set_max_keepalive_requests)},
      {"large-client-header-buffers", HeaderBuffers},
      {"limit-block-after", RateLimitCount(&v1::RateLimitSettings::set_block_after, 1000000)},
      {"limit-block-duration", RateLimitDuration(&v1::RateLimitSettings::mutable_block_duration)},
      {"limit-block-window", RateLimitDuration(&v1::RateLimitSettings::mutable_block_window)},
      {"limit-conn-status-code", RejectStatus(&v1::RateLimitSettings::set_connections_status_code)},
      {"limit-max-clients", RateLimitCount(&v1::RateLimitSettings::set_max_clients, 16777216)},
      {"limit-req-status-code", RejectStatus(&v1::RateLimitSettings::set_status_code)},
      {"proxy-body-size", BodySize},
      {"proxy-connect-timeout", ClusterTimeout(&v1::Cluster::mutable_connect_timeout)},
      {"proxy-next-upstream", NextUpstream},
      {"proxy-next-upstream-timeout", NextUpstreamTimeout},
      {"proxy-next-upstream-tries", NextUpstreamTries},
      {"proxy-read-timeout", ClusterTimeout(&v1::Cluster::mutable_response_timeout)},
      {"proxy-send-timeout", ClusterTimeout(&v1::Cluster::mutable_send_timeout)},
      {"server-tokens", GlobalBool(&v1::GlobalSettings::set_server_tokens)},
      {"ssl-redirect", Bool([](Settings& s) { return &s.https.ssl_redirect; })},
      {"use-brotli", CompressionBool(&v1::Compression::set_brotli)},
      {"use-gzip", CompressionBool(&v1::Compression::set_gzip)},
      {"use-proxy-protocol", GlobalBool(&v1::GlobalSettings::set_use_proxy_protocol)},
  };
  return *keys;
}

// use-forwarded-headers and proxy-real-ip-cidr act together (as in
// ingress-nginx): forwarded headers are believed only with
// use-forwarded-headers, from the proxy-real-ip-cidr peers, which default to
// everyone.
void TrustedProxies(const ConfigMap& config_map, v1::GlobalSettings& out,
                    DiagnosticSink& diagnostics) {
  auto invalid = [&](std::string_view key, std::string_view why) {
    diagnostics.Error("ConfigMap", config_map.meta, "InvalidSetting",
                      portico::StrCat("key \"", key, "\": ", why, "; ignored"));
  };
  bool use = false;
  if (auto it = config_map.data.find("use-forwarded-headers"); it != config_map.data.end()) {
    std::optional<bool> parsed = ParseBool(ToStd(absl::StripAsciiWhitespace(it->second)));
    if (parsed.has_value()) {
      use = *parsed;
    } else {
      invalid(it->first, "must be \"true\" or \"false\"");
    }
  }
  std::vector<std::string> cidrs = {"0.0.0.0/0", "::/0"};
  if (auto it = config_map.data.find("proxy-real-ip-cidr"); it != config_map.data.end()) {
    cidrs.clear();
    for (absl::string_view part : absl::StrSplit(ToAbsl(it->second), ',', absl::SkipWhitespace())) {
      part = absl::StripAsciiWhitespace(part);
      absl::StatusOr<net::Cidr> cidr = net::Cidr::Parse(ToStd(part));
      if (!cidr.ok()) {
        invalid(it->first, portico::StrCat("\"", ToStd(part), "\" is not a CIDR"));
        cidrs.clear();
        break;
      }
      cidrs.push_back(cidr->ToString());
    }
    if (cidrs.empty()) {
      if (absl::StripAsciiWhitespace(it->second).empty()) invalid(it->first, "empty value");
      // Falling back to the default (everyone) would widen trust because of a
      // typo: believe no forwarded headers instead.
      return;
    }
    if (!use) {
      diagnostics.Warn("ConfigMap", config_map.meta, "IgnoredSetting",
                       "key \"proxy-real-ip-cidr\" has no effect without "
                       "use-forwarded-headers: \"true\"");
    }
  }
  if (use) {
    for (std::string& c : cidrs) out.add_trusted_proxies(std::move(c));
  }
}

// whitelist-source-range and denylist-source-range fail closed: an invalid
// list refuses every request of the Ingresses without a list of their own.
bool IsIpFilterKey(std::string_view key) {
  return key == "whitelist-source-range" || key == "denylist-source-range";
}

void IpFilterLists(const ConfigMap& config_map, IpFilterDefaults& out,
                   DiagnosticSink& diagnostics) {
  for (const auto& [key, raw] : config_map.data) {
    if (!IsIpFilterKey(key)) continue;
    CidrListOption& option = key == "whitelist-source-range" ? out.allow : out.deny;
    option.set = true;
    absl::StatusOr<std::vector<std::string>> cidrs =
        ParseCidrList(ToStd(absl::StripAsciiWhitespace(raw)));
    if (cidrs.ok()) {
      option.cidrs = *std::move(cidrs);
      continue;
    }
    option.invalid = true;
    diagnostics.Error(
        "ConfigMap", config_map.meta, "InvalidSetting",
        portico::StrCat("key \"", key, "\" is not a CIDR list (", cidrs.status().message(),
                        "); fail closed: every request to an Ingress without its "
                        "own list is refused (403) until it is fixed"));
  }
}

}  // namespace

std::optional<int64_t> ParseNginxDuration(std::string_view text) {
  if (text.empty()) return std::nullopt;
  int64_t seconds = 0;
  if (text.find_first_not_of("0123456789") == std::string_view::npos) {
    if (!portico::SimpleAtoi(text, &seconds) || seconds > kMaxMillis / 1000) return std::nullopt;
    return seconds * 1000;
  }
  struct Unit {
    std::string_view suffix;
    int64_t millis;
  };
  // Longest suffix first so that "ms" is not read as "m".
  static constexpr Unit kUnits[] = {
      {"ms", 1}, {"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}};
  int64_t total = 0;
  int64_t last_unit = std::numeric_limits<int64_t>::max();
  size_t pos = 0;
  while (pos < text.size()) {
    size_t digits_end = text.find_first_not_of("0123456789", pos);
    if (digits_end == pos || digits_end == std::string_view::npos) return std::nullopt;
    int64_t n = 0;
    if (!portico::SimpleAtoi(text.substr(pos, digits_end - pos), &n) || n > kMaxMillis) {
      return std::nullopt;
    }
    const Unit* unit = nullptr;
    for (const Unit& u : kUnits) {
      if (text.substr(digits_end, u.suffix.size()) == u.suffix) {
        unit = &u;
        break;
      }
    }
    if (unit == nullptr || unit->millis >= last_unit) return std::nullopt;
    last_unit = unit->millis;
    if (n > (kMaxMillis - total) / unit->millis) return std::nullopt;
    total += n * unit->millis;
    pos = digits_end + unit->suffix.size();
  }
  return total;
}

std::optional<uint64_t> ParseNginxSize(std::string_view text) {
  if (text.empty()) return std::nullopt;
  uint64_t multiplier = 1;
  switch (text.back()) {
    case 'k':
    case 'K':
      multiplier = uint64_t{1} << 10;
      break;
    case 'm':
    case 'M':
      multiplier = uint64_t{1} << 20;
      break;
    case 'g':
    case 'G':
      multiplier = uint64_t{1} << 30;
      break;
  }
  if (multiplier != 1) text.remove_suffix(1);
  if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  uint64_t n = 0;
  if (!portico::SimpleAtoi(text, &n) || n > std::numeric_limits<uint64_t>::max() / multiplier) {
    return std::nullopt;
  }
  return n * multiplier;
}

Settings ParseSettings(const ConfigMap& config_map, DiagnosticSink& diagnostics) {
  Settings out;
  for (const auto& [key, raw] : config_map.data) {
    if (key == "use-forwarded-headers" || key == "proxy-real-ip-cidr" || IsIpFilterKey(key)) {
      continue;
    }
    const Key* known = nullptr;
    for (const Key& k : Keys()) {
      if (k.name == key) known = &k;
    }
    if (known == nullptr) {
      diagnostics.Warn("ConfigMap", config_map.meta, "UnknownSetting",
                       portico::StrCat("key \"", key, "\" is not supported; it is ignored"));
      continue;
    }
    std::string value(absl::StripAsciiWhitespace(raw));
    Settings parsed = out;  // a failed parse must leave `out` untouched
    std::string problem = value.empty() ? "empty value" : known->parse(value, parsed);
    if (!problem.empty()) {
      diagnostics.Error(
          "ConfigMap", config_map.meta, "InvalidSetting",
          portico::StrCat("key \"", key, "\" = \"", value, "\": ", problem, "; ignored"));
      continue;
    }
    out = std::move(parsed);
  }
  TrustedProxies(config_map, out.global, diagnostics);
  IpFilterLists(config_map, out.ip_filter, diagnostics);
  return out;
}

}  // namespace portico::controller::translate
