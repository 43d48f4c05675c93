#include "controller/translate/annotations_redirect.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "common/net/dns_name.h"
#include "common/net/ip_address.h"
#include "common/strings.h"
#include "controller/translate/annotation_values.h"

namespace portico::controller::translate {
namespace {

constexpr std::string_view kSnippetSuffix = "-snippet";

bool IsUnreserved(char c) {
  return absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}
bool IsSubDelim(char c) {
  return c == '!' || c == '$' || c == '&' || c == '\'' || c == '(' || c == ')' || c == '*' ||
         c == '+' || c == ',' || c == ';' || c == '=';
}

// RFC 3986 characters of a path ("/" and pchar) or a query (also "?"), with
// complete percent-escapes. `dollar` = false: '$' is not allowed (the caller
// gives it a meaning of its own).
bool IsUriPart(std::string_view text, bool query, bool dollar = true) {
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return false;
      if (!absl::ascii_isxdigit(text[i + 1]) || !absl::ascii_isxdigit(text[i + 2])) return false;
      i += 2;
      continue;
    }
    if (c == '$' && !dollar) return false;
    if (IsUnreserved(c) || IsSubDelim(c) || c == ':' || c == '@' || c == '/') continue;
    if (query && c == '?') continue;
    return false;
  }
  return true;
}

absl::Status UrlError(std::string why) { return absl::InvalidArgumentError(ToAbsl(why)); }

bool IsRedirectCode(uint64_t code) {
  return code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
}

// One of permanent-redirect / temporal-redirect with its -code annotation;
// nullopt when absent or invalid (reported).
std::optional<v1::Redirect> ReadRedirect(AnnotationReader& read, std::string_view name,
                                         uint32_t default_code) {
  std::optional<AnnotationReader::Found> url = read.Find(name);
  const std::string code_name = portico::StrCat(name, "-code");
  std::optional<AnnotationReader::Found> code = read.Find(code_name);
  if (!url) {
    if (code) {
      read.Warn("IgnoredAnnotation",
                portico::StrCat("annotation ", code->key, " has no effect without ", name));
    }
    return std::nullopt;
  }
  absl::StatusOr<RedirectUrl> parsed = ParseRedirectUrl(url->value);
  if (!parsed.ok()) {
    read.Invalid(*url,
                 portico::StrCat("is not a valid redirect URL (", parsed.status().message(), ")"),
                 "the redirect is disabled");
    return std::nullopt;
  }
  uint32_t status = default_code;
  if (code) {
    std::optional<uint64_t> n = ParseUint(code->value, 300, 399);
    if (!n || !IsRedirectCode(*n)) {
      read.Invalid(*code, "must be 301, 302, 303, 307 or 308", "the redirect is disabled");
      return std::nullopt;
    }
    status = static_cast<uint32_t>(*n);
  }
  // nginx's `return <code> <url>`: the URL as given, nothing of the request
  // appended. The port is explicit so that the data plane does not keep the
  // request's (its default is omitted from Location).
  v1::Redirect redirect;
  redirect.set_scheme(parsed->scheme);
  redirect.set_host(parsed->host);
  redirect.set_port(parsed->port != 0 ? parsed->port : (parsed->scheme == "https" ? 443 : 80));
  redirect.set_path(parsed->path.empty() ? "/" : parsed->path);
  redirect.set_strip_query(true);
  redirect.set_query(parsed->query);
  redirect.set_code(status);
  return redirect;
}

// host or host:port for upstream-vhost.
bool IsHostAndPort(std::string_view value) {
  std::string_view host = value;
  size_t colon = value.rfind(':');
  if (colon != std::string_view::npos && value.find(']', colon) == std::string_view::npos) {
    if (!ParseUint(value.substr(colon + 1), 1, 65535)) return false;
    host = value.substr(0, colon);
  }
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    auto ip = net::IpAddress::Parse(host.substr(1, host.size() - 2));
    return ip.ok() && ip->is_v6();
  }
  std::string lower = absl::AsciiStrToLower(ToAbsl(host));
  if (net::IsDnsName(lower)) return true;
  auto ip = net::IpAddress::Parse(host);
  return ip.ok() && ip->is_v4();
}

void ParseRewrite(AnnotationReader& read, v1::Route& route_policy, bool* captures) {
  v1::Rewrite rewrite;
  if (auto found = read.Find("rewrite-target")) {
    if (ParseRewriteTarget(found->value, captures)) {
      rewrite.set_target(std::string(found->value));
    } else {
      *captures = false;
      read.Invalid(*found,
                   "must be a path starting with '/', without query or fragment, using '$' only "
                   "as $1..$9");
    }
  }
  if (auto found = read.Find("x-forwarded-prefix")) {
    if (!found->value.empty() && IsHeaderValue(found->value)) {
      rewrite.set_forwarded_prefix(std::string(found->value));
    } else {
      read.Invalid(*found, "must be a non-empty header value");
    }
  }
  if (auto found = read.Find("upstream-vhost")) {
    if (IsHostAndPort(found->value)) {
      rewrite.set_upstream_host(absl::AsciiStrToLower(ToAbsl(found->value)));
    } else {
      read.Invalid(*found, "must be a host name or IP address, optionally with :port");
    }
  }
  if (!rewrite.target().empty() || !rewrite.forwarded_prefix().empty() ||
      !rewrite.upstream_host().empty()) {
    *route_policy.mutable_rewrite() = std::move(rewrite);
  }
}

}  // namespace

absl::StatusOr<RedirectUrl> ParseRedirectUrl(std::string_view url) {
  RedirectUrl result;
  size_t sep = url.find("://");
  if (sep == std::string_view::npos) return UrlError("not an absolute URL (scheme://host)");
  result.scheme = absl::AsciiStrToLower(ToAbsl(url.substr(0, sep)));
  if (result.scheme != "http" && result.scheme != "https") {
    return UrlError("the scheme must be http or https");
  }
  std::string_view rest = url.substr(sep + 3);
  if (size_t hash = rest.find('#'); hash != std::string_view::npos) {
    return UrlError("fragments are not supported");
  }
  size_t end = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, end);
  rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
  if (authority.find('@') != std::string_view::npos) {
    return UrlError("user information (user@host) is not allowed");
  }
  std::string_view host = authority;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) return UrlError("unterminated IPv6 literal");
    host = authority.substr(0, close + 1);
    auto ip = net::IpAddress::Parse(host.substr(1, host.size() - 2));
    if (!ip.ok() || !ip->is_v6()) return UrlError("invalid IPv6 literal");
    authority.remove_prefix(close + 1);
    if (!authority.empty() && authority.front() != ':') return UrlError("junk after IPv6 literal");
  } else {
    size_t colon = authority.find(':');
    host = authority.substr(0, colon);
    authority = colon == std::string_view::npos ? std::string_view() : authority.substr(colon);
    std::string lower = absl::AsciiStrToLower(ToAbsl(host));
    auto ip = net::IpAddress::Parse(lower);
    if (!(ip.ok() && ip->is_v4()) && !net::IsDnsName(lower)) {
      return UrlError(portico::StrCat("host \"", absl::CHexEscape(ToAbsl(host)),
                                      "\" is not a DNS name or IP address"));
    }
  }
  result.host = absl::AsciiStrToLower(ToAbsl(host));
  if (!authority.empty()) {  // ":port"
    std::optional<uint64_t> port = ParseUint(authority.substr(1), 1, 65535);
    if (!port) return UrlError("the port must be a number from 1 to 65535");
    result.port = static_cast<uint32_t>(*port);
  }
  size_t q = rest.find('?');
  std::string_view path = rest.substr(0, q);
  if (!IsUriPart(path, /*query=*/false)) {
    return UrlError("the path has characters that must be percent-encoded");
  }
  result.path = std::string(path);
  if (q != std::string_view::npos) {
    std::string_view query = rest.substr(q + 1);
    if (!IsUriPart(query, /*query=*/true)) {
      return UrlError("the query has characters that must be percent-encoded");
    }
    result.query = std::string(query);
    result.has_query = true;
  }
  return result;
}

bool ParseRewriteTarget(std::string_view target, bool* captures) {
  *captures = false;
  if (target.empty() || target.front() != '/') return false;
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] != '$') continue;
    if (i + 1 >= target.size() || target[i + 1] < '1' || target[i + 1] > '9') return false;
    *captures = true;
  }
  // '$' is checked above; everything else must be a path character.
  std::string without_refs;
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == '$') {
      ++i;
      continue;
    }
    without_refs += target[i];
  }
  return IsUriPart(without_refs, /*query=*/false, /*dollar=*/false);
}

RedirectAnnotations ParseRedirectAnnotations(AnnotationReader& read, v1::Route& route_policy) {
  RedirectAnnotations result;
  // As ingress-nginx: temporal-redirect is consulted first.
  result.redirect = ReadRedirect(read, "temporal-redirect", 302);
  std::optional<v1::Redirect> permanent = ReadRedirect(read, "permanent-redirect", 301);
  if (result.redirect && permanent) {
    read.Warn("IgnoredAnnotation",
              "permanent-redirect is ignored: temporal-redirect is set too and takes precedence");
  } else if (permanent) {
    result.redirect = std::move(permanent);
  }
  if (auto found = read.Find("app-root")) {
    if (found->value.size() > 1 && found->value.front() == '/' &&
        IsUriPart(found->value, /*query=*/false)) {
      result.app_root = std::string(found->value);
    } else {
      read.Invalid(*found, "must be a path other than \"/\", such as /app, without query");
    }
  }
  if (auto www = read.Bool("from-to-www-redirect")) result.from_to_www = *www;
  ParseRewrite(read, route_policy, &result.rewrite_captures);
  return result;
}

void RefuseSnippets(AnnotationReader& read) {
  for (const auto& [key, value] : read.ingress().meta.annotations) {
    for (std::string_view prefix : {kPorticoPrefix, kNginxPrefix}) {
      if (!absl::StartsWith(key, ToAbsl(prefix)) || !absl::EndsWith(key, ToAbsl(kSnippetSuffix))) {
        continue;
      }
      read.Known(std::string_view(key).substr(prefix.size()));
      read.Warn(
          "SnippetRefused",
          portico::StrCat("annotation ", key,
                          " is refused: Portico has no raw configuration escape hatch (every "
                          "annotation is parsed into typed settings); the rest of the Ingress "
                          "is served"));
    }
  }
}

}  // namespace portico::controller::translate
