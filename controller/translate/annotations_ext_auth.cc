#include "controller/translate/annotations_ext_auth.h"

#include <uriparser/Uri.h>

#include <memory>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "common/net/ip_address.h"
#include "common/strings.h"
#include "controller/translate/annotation_values.h"
#include "controller/translate/annotations_traffic.h"

namespace portico::controller::translate {
namespace {

constexpr std::string_view kFailClosed =
    "fail closed: every request to this Ingress is refused (503) until it is fixed";

std::string_view Text(const UriTextRangeA& range) {
  if (range.first == nullptr || range.afterLast == nullptr) return {};
  return std::string_view(range.first, static_cast<size_t>(range.afterLast - range.first));
}

bool IsDnsLabel(std::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
    return false;
  }
  return label.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") == std::string::npos;
}

// The variables auth-signin may use (policy/ext_auth.h SigninLocation expands them).
constexpr std::string_view kSigninVariables[] = {
    "escaped_request_uri", "pass_access_scheme", "request_uri", "http_host", "scheme", "host"};

// The template with each variable replaced by a harmless stand-in, so that
// the URL parser can check the rest; nullopt for an unknown variable.
std::optional<std::string> WithoutVariables(std::string_view value) {
  std::string out;
  size_t i = 0;
  while (i < value.size()) {
    if (value[i] != '$') {
      out.push_back(value[i++]);
      continue;
    }
    std::string_view rest = value.substr(i + 1);
    const bool braced = !rest.empty() && rest.front() == '{';
    if (braced) rest.remove_prefix(1);
    size_t len = 0;
    while (len < rest.size() && (absl::ascii_isalnum(rest[len]) || rest[len] == '_')) ++len;
    std::string_view name = rest.substr(0, len);
    bool known = false;
    for (std::string_view v : kSigninVariables) known |= name == v;
    if (!known || (braced && (len == rest.size() || rest[len] != '}'))) return std::nullopt;
    out += "x";
    i += 1 + (braced ? 2 : 0) + len;
  }
  return out;
}

// auth-cache-key: nginx variables run together ("$http_authorization$cookie_s").
std::optional<std::vector<v1::HashPolicy>> ParseCacheKey(std::string_view value) {
  if (value.empty() || value.front() != '$') return std::nullopt;
  std::vector<v1::HashPolicy> parts;
  for (absl::string_view piece : absl::StrSplit(ToAbsl(value), '$', absl::SkipEmpty())) {
    std::string variable = portico::StrCat("$", piece);
    if (variable == "$host" || variable == "${host}") {
      v1::HashPolicy host;
      host.set_source(v1::HashPolicy::SOURCE_HEADER);
      host.set_name("host");
      parts.push_back(std::move(host));
      continue;
    }
    std::optional<v1::HashPolicy> part = ParseHashBy(variable);
    if (!part) return std::nullopt;
    parts.push_back(std::move(*part));
  }
  if (parts.empty()) return std::nullopt;
  return parts;
}

// auth-cache-duration: "[codes...] duration" entries separated by commas
// ("200 202 401 5m", "200 10m, 401 30s"), as nginx's proxy_cache_valid.
// Only allowing answers are cached: the duration of the first entry that
// lists a 2xx code (or "any"; an entry without codes means 200 301 302).
// Returns nullopt when invalid, zero when no entry covers a 2xx answer.
std::optional<absl::Duration> ParseCacheDuration(std::string_view value) {
  if (!IsSafeText(value)) return std::nullopt;
  std::optional<absl::Duration> allow;
  for (absl::string_view entry : absl::StrSplit(ToAbsl(value), ',')) {
    std::vector<absl::string_view> words =
        absl::StrSplit(entry, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (words.empty()) return std::nullopt;
    std::optional<absl::Duration> duration = ParseDuration(ToStd(words.back()));
    if (!duration) return std::nullopt;
    bool covers_2xx = words.size() == 1;
    for (size_t i = 0; i + 1 < words.size(); ++i) {
      if (words[i] == "any") {
        covers_2xx = true;
        continue;
      }
      std::optional<uint64_t> code = ParseUint(ToStd(words[i]), 100, 599);
      if (!code) return std::nullopt;
      covers_2xx |= *code >= 200 && *code < 300;
    }
    if (covers_2xx && !allow) allow = *duration;
  }
  return allow.value_or(absl::ZeroDuration());
}

void ParseCache(AnnotationReader& read, v1::ExternalAuth& auth) {
  std::optional<AnnotationReader::Found> key = read.Find("auth-cache-key");
  std::optional<AnnotationReader::Found> duration = read.Find("auth-cache-duration");
  if (!key) {
    if (duration) {
      read.Warn("IgnoredAnnotation", "auth-cache-duration has no effect without auth-cache-key");
    }
    return;
  }
  std::optional<std::vector<v1::HashPolicy>> parts = ParseCacheKey(key->value);
  if (!parts) {
    read.Invalid(*key,
                 "must be nginx variables run together: $http_<name>, $cookie_<name>, "
                 "$remote_addr, $request_uri, $host",
                 "auth answers are not cached");
    return;
  }
  // ingress-nginx's default auth-cache-duration: "200 202 401 5m".
  absl::Duration allow = absl::Minutes(5);
  if (duration) {
    std::optional<absl::Duration> parsed = ParseCacheDuration(duration->value);
    if (!parsed) {
      read.Invalid(*duration, "must be \"[codes...] duration\" entries, as \"200 202 401 5m\"",
                   "auth answers are not cached");
      return;
    }
    allow = *parsed;
  }
  if (allow <= absl::ZeroDuration()) return;  // only denials were to be cached
  for (v1::HashPolicy& part : *parts) *auth.add_cache_key() = std::move(part);
  int64_t ms = absl::ToInt64Milliseconds(allow);
  auth.mutable_cache_duration()->set_seconds(ms / 1000);
  auth.mutable_cache_duration()->set_nanos(static_cast<int32_t>(ms % 1000) * 1000000);
}

bool IsMethod(std::string_view m) {
  for (std::string_view known :
       {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "CONNECT", "TRACE"}) {
    if (m == known) return true;
  }
  return false;
}

}  // namespace

std::optional<AuthUrl> ParseAuthUrl(std::string_view value) {
  if (value.empty() || !IsSafeText(value)) return std::nullopt;
  // uriparser: a strict RFC 3986 parser (no spaces, no raw non-ASCII, every
  // character where the grammar allows it).
  UriUriA uri;
  const char* error = nullptr;
  if (uriParseSingleUriExA(&uri, value.data(), value.data() + value.size(), &error) !=
      URI_SUCCESS) {
    return std::nullopt;
  }
  std::unique_ptr<UriUriA, void (*)(UriUriA*)> owned(&uri,
                                                     [](UriUriA* u) { uriFreeUriMembersA(u); });
  AuthUrl out;
  const std::string scheme = absl::AsciiStrToLower(ToAbsl(Text(uri.scheme)));
  if (scheme != "http" && scheme != "https") return std::nullopt;
  out.tls = scheme == "https";
  if (uri.userInfo.first != nullptr) return std::nullopt;
  std::string_view host = Text(uri.hostText);
  if (host.empty()) return std::nullopt;
  if (uri.hostData.ipFuture.first != nullptr) return std::nullopt;
  out.host = absl::AsciiStrToLower(ToAbsl(host));
  if (uri.hostData.ip6 != nullptr) out.host = portico::StrCat("[", out.host, "]");
  out.port = out.tls ? 443 : 80;
  if (uri.portText.first != nullptr) {
    std::optional<uint64_t> n = ParseUint(Text(uri.portText), 1, 65535);
    if (!n) return std::nullopt;
    out.port = static_cast<uint32_t>(*n);
  }
  for (const UriPathSegmentA* segment = uri.pathHead; segment != nullptr; segment = segment->next) {
    out.target += "/";
    out.target += Text(segment->text);
  }
  if (out.target.empty()) out.target = "/";
  if (uri.query.first != nullptr) out.target += portico::StrCat("?", Text(uri.query));
  // The fragment stays with the URL: it is never sent.
  return out;
}

std::optional<std::pair<std::string, std::string>> ServiceFromHost(std::string_view host) {
  std::vector<std::string> labels = absl::StrSplit(ToAbsl(host), '.');
  if (!labels.empty() && labels.back().empty()) labels.pop_back();  // a trailing dot
  const size_t n = labels.size();
  const bool forms =
      n == 2 || (n == 3 && labels[2] == "svc") ||
      (n == 5 && labels[2] == "svc" && labels[3] == "cluster" && labels[4] == "local");
  if (!forms || !IsDnsLabel(labels[0]) || !IsDnsLabel(labels[1])) return std::nullopt;
  return std::make_pair(labels[1], labels[0]);
}

std::optional<ExternalAuthTarget> ParseExternalAuth(AnnotationReader& read,
                                                    v1::Route& route_policy) {
  std::optional<AnnotationReader::Found> url = read.Find("auth-url");
  std::optional<AnnotationReader::Found> method = read.Find("auth-method");
  std::optional<AnnotationReader::Found> signin = read.Find("auth-signin");
  std::optional<AnnotationReader::Found> param = read.Find("auth-signin-redirect-param");
  std::optional<AnnotationReader::Found> headers = read.Find("auth-response-headers");
  std::optional<AnnotationReader::Found> redirect = read.Find("auth-request-redirect");
  if (!url) {
    const bool key = read.Find("auth-cache-key").has_value();
    const bool duration = read.Find("auth-cache-duration").has_value();
    if (method || signin || param || headers || redirect || key || duration) {
      read.Warn("IgnoredAnnotation", "auth-* annotations have no effect without auth-url");
    }
    return std::nullopt;
  }
  v1::ExternalAuth& auth = *route_policy.mutable_external_auth();
  auto fail = [&](const AnnotationReader::Found& found, std::string_view why) {
    auth.Clear();
    auth.set_deny_all(true);
    read.Invalid(found, why, kFailClosed);
    return std::nullopt;
  };
  std::optional<AuthUrl> parsed = ParseAuthUrl(url->value);
  if (!parsed) return fail(*url, "is not an http or https URL with a host");
  ExternalAuthTarget target;
  target.port = parsed->port;
  target.tls = parsed->tls;
  std::string bare_host = parsed->host;
  if (bare_host.size() > 2 && bare_host.front() == '[' && bare_host.back() == ']') {
    bare_host = bare_host.substr(1, bare_host.size() - 2);
  }
  if (absl::StatusOr<net::IpAddress> ip = net::IpAddress::Parse(bare_host); ip.ok()) {
    target.ip = ip->ToString();
  } else if (auto service = ServiceFromHost(parsed->host)) {
    target.ns = service->first;
    target.service = service->second;
  } else {
    return fail(*url,
                portico::StrCat("names host \"", parsed->host,
                                "\", which the data plane cannot resolve: use an IP address or a "
                                "Service name (<service>.<namespace>[.svc[.cluster.local]])"));
  }
  auth.set_host(parsed->host);
  auth.set_path(parsed->target);
  auth.set_tls(parsed->tls);
  if (method) {
    const std::string upper = absl::AsciiStrToUpper(ToAbsl(method->value));
    if (!IsMethod(upper)) return fail(*method, "is not an HTTP method");
    if (upper != "GET") auth.set_method(upper);
  }
  if (signin) {
    std::optional<std::string> checked = WithoutVariables(signin->value);
    if (!checked || !ParseAuthUrl(*checked)) {
      return fail(*signin,
                  "is not an http or https URL (variables: $scheme, $host, $http_host, "
                  "$request_uri, $escaped_request_uri)");
    }
    std::string rd = "rd";
    if (param) {
      if (param->value.empty() ||
          param->value.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") !=
              std::string_view::npos) {
        return fail(*param, "is not a query parameter name");
      }
      rd = std::string(param->value);
    }
    // As ingress-nginx: the original URL goes into the redirect parameter
    // unless the signin URL already carries it.
    std::string signin_url(signin->value);
    size_t query = signin_url.find('?');
    bool has_param = false;
    if (query != std::string::npos) {
      for (absl::string_view pair : absl::StrSplit(ToAbsl(signin_url).substr(query + 1), '&')) {
        has_param |= pair.substr(0, pair.find('=')) == ToAbsl(rd);
      }
    }
    if (!has_param) {
      signin_url += portico::StrCat(query == std::string::npos ? "?" : "&", rd,
                                    "=$pass_access_scheme://$http_host$escaped_request_uri");
    }
    auth.set_signin_url(std::move(signin_url));
  } else if (param) {
    read.Warn("IgnoredAnnotation", "auth-signin-redirect-param has no effect without auth-signin");
  }
  if (headers) {
    std::optional<std::vector<std::string>> names = ParseList(headers->value);
    if (!names || names->empty()) return fail(*headers, "is not a list of header names");
    for (const std::string& name : *names) {
      if (!IsHeaderName(name)) {
        return fail(*headers, portico::StrCat("names \"", name, "\", not a header name"));
      }
      auth.add_response_headers(absl::AsciiStrToLower(name));
    }
  }
  if (redirect) {
    if (!IsHeaderValue(redirect->value)) return fail(*redirect, "is not a header value");
    auth.set_request_redirect(std::string(redirect->value));
  }
  ParseCache(read, auth);
  return target;
}

void ResolveExternalAuth(const Ingress& ingress, const ExternalAuthTarget& target,
                         BackendResolver& backends, v1::Route& route_policy,
                         DiagnosticSink& diagnostics) {
  const v1::Cluster::Protocol protocol =
      target.tls ? v1::Cluster::PROTOCOL_HTTPS : v1::Cluster::PROTOCOL_HTTP1;
  v1::ExternalAuth& auth = *route_policy.mutable_external_auth();
  if (!target.ip.empty()) {
    auth.set_cluster(backends.AddStaticCluster(target.ip, target.port, protocol));
    return;
  }
  IngressBackend backend;
  backend.service_name = target.service;
  backend.port.number = static_cast<int32_t>(target.port);
  const BackendOwner owner{"Ingress", &ingress.meta, ingress.meta.name, protocol, nullptr};
  ResolvedBackend resolved = backends.Resolve(target.ns, backend, owner, diagnostics);
  if (!resolved.action.has_cluster()) {
    auth.Clear();
    auth.set_deny_all(true);
    return;
  }
  auth.set_cluster(resolved.action.cluster());
}

}  // namespace portico::controller::translate
