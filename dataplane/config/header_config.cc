#include "dataplane/config/header_config.h"

#include <algorithm>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_join.h"
#include "common/http_fields.h"
#include "common/net/origin.h"
#include "common/strings.h"
#include "dataplane/config/config.h"

namespace portico::dataplane::config {
namespace {

absl::Status Invalid(std::string message) { return absl::InvalidArgumentError(std::move(message)); }

std::string Quote(std::string_view text) {
  return portico::StrCat("\"", absl::CHexEscape(ToAbsl(text)), "\"");
}

// RFC 9110 5.1 token.
bool IsToken(std::string_view s) {
  return !s.empty() && s.find_first_not_of(
                           "!#$%&'*+-.^_`|~0123456789"
                           "abcdefghijklmnopqrstuvwxyz"
                           "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == std::string_view::npos;
}

// RFC 9110 5.5 field value: no control characters but HTAB.
bool IsFieldValue(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && u != '\t') || u == 0x7f;
  });
}

absl::Status CheckName(std::string_view name, std::string_view where) {
  if (!IsToken(name))
    return Invalid(portico::StrCat(where, ": header ", Quote(name), " is not a token"));
  std::string lower = absl::AsciiStrToLower(ToAbsl(name));
  if (IsReservedHeaderName(lower)) {
    return Invalid(portico::StrCat(where, ": header ", Quote(name), " may not be edited"));
  }
  return absl::OkStatus();
}

absl::Status CompileEdits(const v1::HeaderRewrite& rewrite, std::string_view where,
                          std::vector<router::HeaderEdit>& out) {
  for (int i = 0; i < rewrite.ops_size(); ++i) {
    const v1::HeaderOp& op = rewrite.ops(i);
    const std::string at = portico::StrCat(where, " [", i, "]");
    if (absl::Status s = CheckName(op.name(), at); !s.ok()) return s;
    router::HeaderEdit edit;
    edit.name = absl::AsciiStrToLower(op.name());
    switch (op.kind()) {
      case v1::HeaderOp::KIND_SET:
        edit.kind = router::HeaderEdit::Kind::kSet;
        break;
      case v1::HeaderOp::KIND_ADD:
        edit.kind = router::HeaderEdit::Kind::kAdd;
        break;
      case v1::HeaderOp::KIND_REMOVE:
        edit.kind = router::HeaderEdit::Kind::kRemove;
        break;
      default:
        return Invalid(
            portico::StrCat(at, ": unknown header op kind ", static_cast<int>(op.kind())));
    }
    if (edit.kind != router::HeaderEdit::Kind::kRemove) {
      if (!IsFieldValue(op.value())) {
        return Invalid(
            portico::StrCat(at, ": value of ", Quote(op.name()), " has control characters"));
      }
      edit.value = op.value();
    }
    out.push_back(std::move(edit));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> JoinTokens(const google::protobuf::RepeatedPtrField<std::string>& items,
                                       std::string_view what, bool allow_star) {
  for (const std::string& item : items) {
    if (!IsToken(item) || (item == "*" && !allow_star)) {
      return Invalid(portico::StrCat(what, ": ", Quote(item), " is not a token"));
    }
  }
  return absl::StrJoin(items, ", ");
}

absl::Status CompileCors(const v1::Cors& c, std::string_view where, router::CorsRule& rule) {
  for (const std::string& origin : c.allow_origins()) {
    if (origin == "*") {
      rule.any_origin = true;
      continue;
    }
    std::optional<net::WebOrigin> parsed = net::ParseWebOrigin(origin, /*allow_wildcard=*/true);
    if (!parsed) {
      return Invalid(portico::StrCat(where, ": cors origin ", Quote(origin), " is not an origin"));
    }
    rule.origins.push_back(std::move(*parsed));
  }
  if (!rule.any_origin && rule.origins.empty()) {
    return Invalid(portico::StrCat(where, ": cors allows no origin"));
  }
  const std::string at = portico::StrCat(where, ": cors");
  absl::StatusOr<std::string> joined = JoinTokens(c.allow_methods(), at, false);
  if (!joined.ok()) return joined.status();
  rule.allow_methods = *std::move(joined);
  joined = JoinTokens(c.allow_headers(), at, true);
  if (!joined.ok()) return joined.status();
  rule.allow_headers = *std::move(joined);
  joined = JoinTokens(c.expose_headers(), at, true);
  if (!joined.ok()) return joined.status();
  rule.expose_headers = *std::move(joined);
  rule.allow_credentials = c.allow_credentials();
  if (c.has_max_age_seconds()) rule.max_age_seconds = c.max_age_seconds();
  return absl::OkStatus();
}

}  // namespace

absl::Status CompileRouteHeaders(const v1::Route& r, std::string_view where, router::Route& route) {
  if (r.has_cors()) {
    router::CorsRule rule;
    if (absl::Status s = CompileCors(r.cors(), where, rule); !s.ok()) return s;
    route.cors = std::move(rule);
  }
  if (absl::Status s = CompileEdits(r.request_headers(), portico::StrCat(where, " request_headers"),
                                    route.request_headers);
      !s.ok()) {
    return s;
  }
  return CompileEdits(r.response_headers(), portico::StrCat(where, " response_headers"),
                      route.response_headers);
}

absl::Status CompileHeaderSettings(const v1::GlobalSettings& s, GlobalConfig& g) {
  auto hide = [&](std::string name) {
    if (std::find(g.hide_headers.begin(), g.hide_headers.end(), name) == g.hide_headers.end()) {
      g.hide_headers.push_back(std::move(name));
    }
  };
  for (const std::string& name : s.hide_headers()) {
    if (!IsToken(name)) {
      return Invalid(portico::StrCat("settings.hide_headers: ", Quote(name), " is not a token"));
    }
    std::string lower = absl::AsciiStrToLower(name);
    if (IsReservedHeaderName(lower)) {
      return Invalid(portico::StrCat("settings.hide_headers: ", Quote(name), " may not be hidden"));
    }
    hide(std::move(lower));
  }
  if (s.hide_backend_identity()) {
    hide("server");
    hide("x-powered-by");
  }
  g.server_tokens = s.server_tokens();
  return absl::OkStatus();
}

}  // namespace portico::dataplane::config
