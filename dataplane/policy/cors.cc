#include "dataplane/policy/cors.h"

#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/net/origin.h"
#include "common/strings.h"

namespace portico::dataplane::policy {
namespace {

constexpr std::string_view kOwnedHeaders[] = {
    "access-control-allow-origin",   "access-control-allow-credentials",
    "access-control-allow-methods",  "access-control-allow-headers",
    "access-control-expose-headers", "access-control-max-age"};

bool VaryNamesOrigin(const http::HeaderMap& headers) {
  for (const http::Header& h : headers) {
    if (h.name != "vary") continue;
    for (absl::string_view token : absl::StrSplit(ToAbsl(h.value), ',')) {
      token = absl::StripAsciiWhitespace(token);
      if (token == "*" || absl::EqualsIgnoreCase(token, "origin")) return true;
    }
  }
  return false;
}

void AddVaryOrigin(http::HeaderMap& headers) {
  if (!VaryNamesOrigin(headers)) headers.Add("vary", "Origin");
}

}  // namespace

CorsDecision EvaluateCors(const router::CorsRule& rule, const http::RequestHead& head) {
  CorsDecision decision;
  std::optional<std::string_view> origin = head.headers.Get("origin");
  if (!origin) return decision;
  decision.preflight =
      head.method == "OPTIONS" && head.headers.Has("access-control-request-method");
  // "null" (sandboxed documents, file: pages) and malformed values match
  // nothing but "*" without credentials: echoing them would let any sandbox in.
  std::optional<net::WebOrigin> parsed = net::ParseWebOrigin(*origin);
  bool listed = false;
  if (parsed) {
    for (const net::WebOrigin& allowed : rule.origins) {
      if (net::OriginMatches(allowed, *parsed)) {
        listed = true;
        break;
      }
    }
  }
  if (rule.any_origin && !rule.allow_credentials) {
    decision.allowed = true;
    decision.allow_origin.assign(1, '*');  // (GCC 12 misreports a const char* assign)
  } else if (listed || (rule.any_origin && parsed)) {
    decision.allowed = true;
    decision.allow_origin = std::string(*origin);
  }
  return decision;
}

std::vector<http::Header> CorsPreflightHeaders(const router::CorsRule& rule,
                                               const CorsDecision& decision) {
  std::vector<http::Header> headers;
  headers.push_back({"access-control-allow-origin", decision.allow_origin});
  if (rule.allow_credentials) headers.push_back({"access-control-allow-credentials", "true"});
  headers.push_back({"access-control-allow-methods", rule.allow_methods});
  if (!rule.allow_headers.empty()) {
    headers.push_back({"access-control-allow-headers", rule.allow_headers});
  }
  if (rule.max_age_seconds) {
    headers.push_back({"access-control-max-age", portico::StrCat(*rule.max_age_seconds)});
  }
  headers.push_back({"vary", "Origin"});
  return headers;
}

void ApplyCorsResponse(const router::CorsRule& rule, const CorsDecision& decision,
                       http::HeaderMap& headers) {
  for (std::string_view name : kOwnedHeaders) headers.Remove(name);
  AddVaryOrigin(headers);
  if (!decision.allowed) return;
  headers.Add("access-control-allow-origin", decision.allow_origin);
  if (rule.allow_credentials) headers.Add("access-control-allow-credentials", "true");
  if (!rule.expose_headers.empty()) {
    headers.Add("access-control-expose-headers", rule.expose_headers);
  }
}

}  // namespace portico::dataplane::policy
