#include "controller/translate/annotations_headers.h"

#include <algorithm>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/http_fields.h"
#include "common/net/dns_name.h"
#include "common/net/origin.h"
#include "common/strings.h"
#include "controller/translate/annotation_values.h"

namespace portico::controller::translate {
namespace {

constexpr std::string_view kCorsDisabled =
    "fail closed: CORS is disabled for this Ingress until it is fixed";
constexpr size_t kMaxHeaderOps = 64;

std::string Lower(std::string_view text) { return absl::AsciiStrToLower(ToAbsl(text)); }

// Comma-separated tokens ("GET, POST"; "X-A,X-B"); "*" where the CORS spec
// allows it. nullopt when an item is not a token or the list is empty.
std::optional<std::vector<std::string>> TokenList(std::string_view value, bool allow_star) {
  std::optional<std::vector<std::string>> items = ParseList(value);
  if (!items || items->empty()) return std::nullopt;
  for (const std::string& item : *items) {
    if (item == "*" ? !allow_star : !IsHeaderName(item)) return std::nullopt;
  }
  return items;
}

// The allow list as the snapshot carries it: "*" or serialized origins.
std::optional<std::vector<std::string>> OriginList(std::string_view value, std::string* bad) {
  std::optional<std::vector<std::string>> items = ParseList(value);
  if (!items || items->empty()) return std::nullopt;
  std::vector<std::string> origins;
  for (const std::string& item : *items) {
    std::string origin = item;
    if (item != "*") {
      std::optional<net::WebOrigin> parsed = net::ParseWebOrigin(item, /*allow_wildcard=*/true);
      if (!parsed) {
        *bad = item;
        return std::nullopt;
      }
      origin = parsed->Serialize();
    }
    if (std::find(origins.begin(), origins.end(), origin) == origins.end()) {
      origins.push_back(std::move(origin));
    }
  }
  return origins;
}

void ParseCors(AnnotationReader& read, v1::Route& route_policy) {
  static constexpr std::string_view kNames[] = {"cors-allow-origin",      "cors-allow-methods",
                                                "cors-allow-headers",     "cors-expose-headers",
                                                "cors-allow-credentials", "cors-max-age"};
  for (std::string_view name : kNames) read.Known(name);
  std::optional<bool> enabled = read.Bool("enable-cors");
  if (!enabled.value_or(false)) {
    if (!enabled.has_value()) {
      for (std::string_view name : kNames) {
        if (auto extra = read.Find(name)) {
          read.Warn("IgnoredAnnotation", portico::StrCat("annotation ", extra->key,
                                                         " has no effect without enable-cors"));
        }
      }
    }
    return;
  }
  v1::Cors cors;
  bool valid = true;
  if (auto found = read.Find("cors-allow-origin")) {
    std::string bad;
    std::optional<std::vector<std::string>> origins = OriginList(found->value, &bad);
    if (origins) {
      for (std::string& origin : *origins) cors.add_allow_origins(std::move(origin));
    } else {
      read.Invalid(*found,
                   bad.empty() ? std::string("must be a comma-separated list of origins or \"*\"")
                               : portico::StrCat("has \"", bad,
                                                 "\", which is not \"*\" or an origin "
                                                 "(scheme://host[:port], host may start with *.)"),
                   kCorsDisabled);
      valid = false;
    }
  } else {
    cors.add_allow_origins("*");
  }
  auto list = [&](std::string_view name, std::string_view fallback, bool allow_star,
                  google::protobuf::RepeatedPtrField<std::string>* out) {
    std::optional<AnnotationReader::Found> found = read.Find(name);
    std::optional<std::vector<std::string>> items =
        TokenList(found ? found->value : fallback, allow_star);
    if (!items) {
      if (found) {
        read.Invalid(*found,
                     allow_star ? "must be a comma-separated list of header names or \"*\""
                                : "must be a comma-separated list of tokens",
                     kCorsDisabled);
        valid = false;
      }
      return;
    }
    for (std::string& item : *items) out->Add(std::move(item));
  };
  list("cors-allow-methods", kDefaultCorsMethods, false, cors.mutable_allow_methods());
  list("cors-allow-headers", kDefaultCorsHeaders, true, cors.mutable_allow_headers());
  list("cors-expose-headers", "", true, cors.mutable_expose_headers());
  if (auto found = read.Find("cors-allow-credentials")) {
    if (found->value == "true" || found->value == "false") {
      cors.set_allow_credentials(found->value == "true");
    } else {
      read.Invalid(*found, "must be \"true\" or \"false\"", kCorsDisabled);
      valid = false;
    }
  } else {
    cors.set_allow_credentials(true);
  }
  cors.set_max_age_seconds(kDefaultCorsMaxAge);
  if (auto found = read.Find("cors-max-age")) {
    // Browsers cap it far lower (Chromium 2 h, Firefox 24 h); a signed 32-bit
    // number of seconds is what every cache can hold.
    if (auto seconds = ParseUint(found->value, 0, 2147483647)) {
      cors.set_max_age_seconds(static_cast<uint32_t>(*seconds));
    } else {
      read.Invalid(*found, "must be a whole number of seconds", kCorsDisabled);
      valid = false;
    }
  }
  if (valid) *route_policy.mutable_cors() = std::move(cors);
}

absl::Status LineError(size_t line, std::string_view why) {
  return absl::InvalidArgumentError(ToAbsl(portico::StrCat("line ", line, ": ", why)));
}

absl::Status CheckHeaderName(size_t line, std::string_view name) {
  if (!IsHeaderName(name)) {
    return LineError(line, portico::StrCat("\"", name, "\" is not a header name"));
  }
  if (IsReservedHeaderName(Lower(name))) {
    return LineError(line, portico::StrCat(name,
                                           " may not be edited (hop-by-hop, pseudo, Host, "
                                           "Content-Length or Transfer-Encoding)"));
  }
  return absl::OkStatus();
}

void ReadRewrite(AnnotationReader& read, std::string_view name, v1::HeaderRewrite* out) {
  std::optional<AnnotationReader::Found> found = read.Find(name, /*nginx_alias=*/false);
  if (!found) return;
  absl::StatusOr<v1::HeaderRewrite> parsed = ParseHeaderRewrite(found->value);
  if (!parsed.ok()) {
    read.Invalid(*found, portico::StrCat("is invalid (", parsed.status().message(), ")"));
    return;
  }
  *out = *std::move(parsed);
}

}  // namespace

absl::StatusOr<v1::HeaderRewrite> ParseHeaderRewrite(std::string_view text) {
  v1::HeaderRewrite rewrite;
  size_t number = 0;
  for (absl::string_view raw : absl::StrSplit(ToAbsl(text), '\n')) {
    ++number;
    absl::string_view line = absl::StripAsciiWhitespace(raw);
    if (line.empty()) continue;
    if (!IsSafeText(ToStd(line))) return LineError(number, "has control characters");
    size_t space = line.find_first_of(" \t");
    std::string_view verb = ToStd(line.substr(0, space));
    std::string_view rest = space == absl::string_view::npos
                                ? std::string_view()
                                : ToStd(absl::StripLeadingAsciiWhitespace(line.substr(space)));
    v1::HeaderOp op;
    if (verb == "remove") {
      if (absl::Status s = CheckHeaderName(number, rest); !s.ok()) return s;
      op.set_kind(v1::HeaderOp::KIND_REMOVE);
      op.set_name(Lower(rest));
    } else if (verb == "set" || verb == "add") {
      size_t colon = rest.find(':');
      if (colon == std::string_view::npos) {
        return LineError(number, portico::StrCat("want \"", verb, " Name: value\""));
      }
      std::string_view header = rest.substr(0, colon);
      if (absl::Status s = CheckHeaderName(number, header); !s.ok()) return s;
      std::string_view value = ToStd(absl::StripAsciiWhitespace(ToAbsl(rest.substr(colon + 1))));
      if (!IsHeaderValue(value)) {
        return LineError(number,
                         portico::StrCat("the value of ", header, " is not a header value"));
      }
      op.set_kind(verb == "set" ? v1::HeaderOp::KIND_SET : v1::HeaderOp::KIND_ADD);
      op.set_name(Lower(header));
      op.set_value(std::string(value));
    } else {
      return LineError(number, "must start with set, add or remove");
    }
    if (static_cast<size_t>(rewrite.ops_size()) == kMaxHeaderOps) {
      return LineError(number, portico::StrCat("more than ", kMaxHeaderOps, " operations"));
    }
    *rewrite.add_ops() = std::move(op);
  }
  return rewrite;
}

void ParseHeaderAnnotations(AnnotationReader& read, v1::Route& route_policy) {
  ParseCors(read, route_policy);
  ReadRewrite(read, "request-headers", route_policy.mutable_request_headers());
  ReadRewrite(read, "response-headers", route_policy.mutable_response_headers());
  if (route_policy.request_headers().ops().empty()) route_policy.clear_request_headers();
  if (route_policy.response_headers().ops().empty()) route_policy.clear_response_headers();
}

void ResolveCustomHeaders(const Ingress& ingress, const std::vector<ConfigMap>& config_maps,
                          v1::Route& route_policy, DiagnosticSink& diagnostics, ReadLog* reads) {
  if (ingress.meta.annotations.empty()) return;  // most Ingresses: no key to build
  const std::string key = portico::StrCat(kNginxPrefix, "custom-headers");
  auto it = ingress.meta.annotations.find(key);
  if (it == ingress.meta.annotations.end()) return;
  auto invalid = [&](std::string_view why) {
    diagnostics.Error("Ingress", ingress.meta, "InvalidAnnotation",
                      portico::StrCat("annotation ", key, " ", why, "; it is ignored"));
  };
  std::string_view value = ToStd(absl::StripAsciiWhitespace(it->second));
  if (!IsSafeText(value)) {
    invalid("must not contain control characters (CR, LF, NUL)");
    return;
  }
  std::string_view name = value;
  if (size_t slash = value.find('/'); slash != std::string_view::npos) {
    if (value.substr(0, slash) != ingress.meta.ns) {
      invalid("must name a ConfigMap in the Ingress's own namespace (\"<name>\" or \"" +
              ingress.meta.ns + "/<name>\")");
      return;
    }
    name = value.substr(slash + 1);
  }
  if (!net::IsDnsName(name)) {
    invalid(portico::StrCat("\"", value, "\" is not a ConfigMap name"));
    return;
  }
  if (reads != nullptr) reads->Note(ReadKind::kConfigMap, ingress.meta.ns, name);
  auto config_map = std::find_if(config_maps.begin(), config_maps.end(), [&](const ConfigMap& c) {
    return c.meta.ns == ingress.meta.ns && c.meta.name == name;
  });
  if (config_map == config_maps.end()) {
    invalid(portico::StrCat("names ConfigMap ", ingress.meta.ns, "/", name,
                            ", which does not exist (the kube source reads only the settings "
                            "ConfigMap: docs/headers.md)"));
    return;
  }
  v1::HeaderRewrite custom;
  for (const auto& [header, header_value] : config_map->data) {
    if (!IsHeaderName(header) || IsReservedHeaderName(Lower(header))) {
      invalid(portico::StrCat("names ConfigMap ", ingress.meta.ns, "/", name, " whose key \"",
                              IsSafeText(header) ? header : "(with control characters)",
                              "\" is not a header that may be set"));
      return;
    }
    std::string_view trimmed = ToStd(absl::StripAsciiWhitespace(header_value));
    if (!IsHeaderValue(trimmed)) {
      invalid(portico::StrCat("names ConfigMap ", ingress.meta.ns, "/", name, " whose value for ",
                              header, " is not a header value"));
      return;
    }
    v1::HeaderOp* op = custom.add_ops();
    op->set_kind(v1::HeaderOp::KIND_SET);
    op->set_name(Lower(header));
    op->set_value(std::string(trimmed));
  }
  if (custom.ops().empty()) return;
  // Before response-headers' own edits, which may then refine them.
  custom.mutable_ops()->MergeFrom(route_policy.response_headers().ops());
  *route_policy.mutable_response_headers() = std::move(custom);
}

}  // namespace portico::controller::translate
