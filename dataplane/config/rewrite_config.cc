#include "dataplane/config/rewrite_config.h"

#include <memory>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "common/strings.h"

namespace portico::dataplane::config {
namespace {

absl::Status Invalid(std::string message) { return absl::InvalidArgumentError(ToAbsl(message)); }

std::string Quote(std::string_view text) {
  return portico::StrCat("\"", absl::CHexEscape(ToAbsl(text)), "\"");
}

// RFC 3986 pchar and '/' ('?' too in a query), complete percent-escapes.
bool IsUriText(std::string_view text, bool query) {
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size() || !absl::ascii_isxdigit(text[i + 1]) ||
          !absl::ascii_isxdigit(text[i + 2])) {
        return false;
      }
      i += 2;
      continue;
    }
    if (absl::ascii_isalnum(c)) continue;
    switch (c) {
      case '-':
      case '.':
      case '_':
      case '~':  // unreserved
      case '!':
      case '$':
      case '&':
      case '\'':
      case '(':
      case ')':  // sub-delims
      case '*':
      case '+':
      case ',':
      case ';':
      case '=':
      case ':':
      case '@':
      case '/':
        continue;
      case '?':
        if (query) continue;
        return false;
      default:
        return false;
    }
  }
  return true;
}

// Visible ASCII and spaces inside (RFC 9110 field-value without obs-text).
bool IsFieldValue(std::string_view value) {
  if (value.empty() || value.front() == ' ' || value.back() == ' ') return false;
  for (char c : value) {
    if (c != ' ' && c != '\t' && (c < 0x21 || c > 0x7e)) return false;
  }
  return true;
}

bool IsHostValue(std::string_view value) {
  if (value.empty() || value.size() > 261) return false;
  for (char c : value) {
    if (!(absl::ascii_isalnum(c) || c == '-' || c == '.' || c == ':' || c == '[' || c == ']' ||
          c == '_')) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool IsRedirectPath(std::string_view path) { return IsUriText(path, /*query=*/false); }

bool IsRedirectQuery(std::string_view query) { return IsUriText(query, /*query=*/true); }

absl::Status CompileRewrite(const v1::Route& r, std::string_view where, router::Route& route) {
  if (!r.has_rewrite()) return absl::OkStatus();
  const v1::Rewrite& w = r.rewrite();
  router::RewriteRule rule;
  if (!w.target().empty()) {
    const std::string& target = w.target();
    if (target.front() != '/') {
      return Invalid(
          portico::StrCat(where, ": rewrite target ", Quote(target), " must start with '/'"));
    }
    bool captures = false;
    std::string plain;
    for (size_t i = 0; i < target.size(); ++i) {
      if (target[i] != '$') {
        plain += target[i];
        continue;
      }
      if (i + 1 >= target.size() || target[i + 1] < '1' || target[i + 1] > '9') {
        return Invalid(portico::StrCat(where, ": rewrite target ", Quote(target),
                                       " uses '$' other than as $1..$9"));
      }
      captures = true;
      ++i;
    }
    if (!IsUriText(plain, /*query=*/false)) {
      return Invalid(portico::StrCat(where, ": rewrite target ", Quote(target),
                                     " has characters outside a URI path"));
    }
    switch (route.match_type) {
      case router::PathMatchType::kRegex: {
        RE2::Options options;
        options.set_log_errors(false);
        auto re = std::make_shared<const RE2>(route.path, options);
        if (!re->ok()) {
          return Invalid(portico::StrCat(where, ": invalid regex ", Quote(route.path)));
        }
        rule.regex = std::move(re);
        break;
      }
      case router::PathMatchType::kPrefix:
      case router::PathMatchType::kExact:
        if (captures) {
          return Invalid(portico::StrCat(where, ": rewrite target ", Quote(target),
                                         " refers to capture groups of a non-regex path"));
        }
        rule.prefix = route.path;
        while (!rule.prefix.empty() && rule.prefix.back() == '/') rule.prefix.pop_back();
        break;
    }
    rule.target = target;
  }
  if (!w.forwarded_prefix().empty()) {
    if (!IsFieldValue(w.forwarded_prefix())) {
      return Invalid(portico::StrCat(where, ": forwarded prefix ", Quote(w.forwarded_prefix()),
                                     " is not a header value"));
    }
    rule.forwarded_prefix = w.forwarded_prefix();
  }
  if (!w.upstream_host().empty()) {
    if (!IsHostValue(w.upstream_host())) {
      return Invalid(portico::StrCat(where, ": upstream host ", Quote(w.upstream_host()),
                                     " is not host[:port]"));
    }
    rule.upstream_host = w.upstream_host();
  }
  route.rewrite = std::move(rule);
  return absl::OkStatus();
}

}  // namespace portico::dataplane::config
