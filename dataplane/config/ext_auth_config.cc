#include "dataplane/config/ext_auth_config.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "common/strings.h"

namespace portico::dataplane::config {
namespace {

std::string Quote(std::string_view text) {
  return portico::StrCat("\"", absl::CHexEscape(ToAbsl(text)), "\"");
}

absl::Status Invalid(std::string message) { return absl::InvalidArgumentError(std::move(message)); }

bool IsToken(std::string_view s) {
  return !s.empty() && s.find_first_not_of(
                           "!#$%&'*+-.^_`|~0123456789"
                           "abcdefghijklmnopqrstuvwxyz"
                           "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == std::string_view::npos;
}

// What goes into a request line or a header value: visible ASCII only.
bool IsVisible(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c > ' ' && c < 0x7f; });
}

}  // namespace

absl::Status CompileExternalAuth(const v1::Route& r, std::string_view where,
                                 absl::FunctionRef<bool(const std::string&)> known_cluster,
                                 router::Route& route) {
  if (!r.has_external_auth()) return absl::OkStatus();
  const v1::ExternalAuth& a = r.external_auth();
  router::ExternalAuthRule rule;
  if (a.deny_all()) {
    rule.deny_all = true;
    route.external_auth = std::move(rule);
    return absl::OkStatus();
  }
  if (!known_cluster(a.cluster())) {
    return Invalid(
        portico::StrCat(where, ": external_auth names unknown cluster ", Quote(a.cluster())));
  }
  rule.cluster = a.cluster();
  if (a.host().empty() || !IsVisible(a.host())) {
    return Invalid(portico::StrCat(where, ": external_auth host ", Quote(a.host()), " is invalid"));
  }
  rule.host = a.host();
  if (a.path().empty() || a.path().front() != '/' || !IsVisible(a.path())) {
    return Invalid(portico::StrCat(where, ": external_auth path ", Quote(a.path()),
                                   " must be an origin-form target"));
  }
  rule.path = a.path();
  if (!a.method().empty()) {
    if (!IsToken(a.method())) {
      return Invalid(
          portico::StrCat(where, ": external_auth method ", Quote(a.method()), " is not a token"));
    }
    rule.method = a.method();
  }
  if (!IsVisible(a.signin_url()) || !IsVisible(a.request_redirect())) {
    return Invalid(portico::StrCat(where,
                                   ": external_auth signin_url or request_redirect has "
                                   "characters a header value cannot carry"));
  }
  rule.signin_url = a.signin_url();
  rule.request_redirect = a.request_redirect();
  for (const std::string& name : a.response_headers()) {
    if (!IsToken(name)) {
      return Invalid(portico::StrCat(where, ": external_auth response header ", Quote(name),
                                     " is not a header name"));
    }
    rule.response_headers.push_back(absl::AsciiStrToLower(name));
  }
  for (const v1::HashPolicy& part : a.cache_key()) {
    router::AuthKeyPart key;
    switch (part.source()) {
      case v1::HashPolicy::SOURCE_CLIENT_IP:
        key.source = router::AuthKeyPart::Source::kClientIp;
        break;
      case v1::HashPolicy::SOURCE_REQUEST_URI:
        key.source = router::AuthKeyPart::Source::kRequestUri;
        break;
      case v1::HashPolicy::SOURCE_HEADER:
      case v1::HashPolicy::SOURCE_COOKIE:
        if (!IsToken(part.name())) {
          return Invalid(portico::StrCat(where, ": external_auth cache key name ",
                                         Quote(part.name()), " is not a token"));
        }
        if (part.source() == v1::HashPolicy::SOURCE_HEADER) {
          key.source = router::AuthKeyPart::Source::kHeader;
          key.name = absl::AsciiStrToLower(part.name());
        } else {
          key.source = router::AuthKeyPart::Source::kCookie;
          key.name = part.name();
        }
        break;
      default:
        return Invalid(portico::StrCat(where, ": external_auth cache key source ",
                                       static_cast<int>(part.source()), " is unknown"));
    }
    rule.cache_key.push_back(std::move(key));
  }
  const google::protobuf::Duration& d = a.cache_duration();
  if (d.seconds() < 0 || d.nanos() < 0 || d.seconds() > 315576000000 || d.nanos() > 999999999) {
    return Invalid(portico::StrCat(where, ": external_auth cache_duration is out of range"));
  }
  rule.cache_duration = std::chrono::milliseconds(d.seconds() * 1000 + d.nanos() / 1000000);
  route.external_auth = std::move(rule);
  return absl::OkStatus();
}

}  // namespace portico::dataplane::config
