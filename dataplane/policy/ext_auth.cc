#include "dataplane/policy/ext_auth.h"

#include <cctype>

#include "common/strings.h"
#include "dataplane/policy/cookies.h"
#include "dataplane/router/route_table.h"

namespace portico::dataplane::policy {
namespace {

void AppendPart(std::string& key, std::string_view value) {
  key += portico::StrCat(value.size(), ":");
  key.append(value);
}

}  // namespace

AuthVerdict ClassifyAuthStatus(int status) {
  if (status >= 200 && status < 300) return AuthVerdict::kAllow;
  if (status == 401) return AuthVerdict::kUnauthorized;
  if (status == 403) return AuthVerdict::kForbidden;
  return AuthVerdict::kError;
}

std::string OriginalUrl(const OriginalRequest& original) {
  return portico::StrCat(original.scheme, "://", original.authority, original.request_uri);
}

http::RequestHead BuildAuthRequest(const router::ExternalAuthRule& rule,
                                   const OriginalRequest& original,
                                   const http::HeaderMap& client_headers) {
  http::RequestHead head;
  head.method = rule.method;
  head.scheme = "http";
  head.authority = rule.host;
  head.path = rule.path;
  head.version = 11;
  head.headers = client_headers;
  http::StripHopByHop(head.headers);
  // The body stays with the client request: the auth service sees none.
  head.headers.Remove("content-length");
  head.headers.Remove("transfer-encoding");
  head.headers.Remove("expect");
  head.headers.Set("host", rule.host);
  head.headers.Set("x-original-url", OriginalUrl(original));
  head.headers.Set("x-original-method", std::string(original.method));
  head.headers.Set("x-auth-request-redirect", rule.request_redirect.empty()
                                                  ? std::string(original.request_uri)
                                                  : rule.request_redirect);
  head.has_body = false;
  head.content_length = 0;
  return head;
}

std::vector<http::Header> AuthResponseHeaders(const router::ExternalAuthRule& rule,
                                              const http::HeaderMap& response) {
  std::vector<http::Header> out;
  for (const std::string& name : rule.response_headers) {
    if (auto value = response.GetJoined(name)) out.push_back({name, std::move(*value)});
  }
  return out;
}

void ApplyAuthResponseHeaders(const router::ExternalAuthRule& rule,
                              const std::vector<http::Header>& copied, http::HeaderMap& headers) {
  for (const std::string& name : rule.response_headers) headers.Remove(name);
  for (const http::Header& h : copied) headers.Add(h.name, h.value);
}

std::string EscapeUriComponent(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

std::string SigninLocation(std::string_view url_template, const OriginalRequest& original) {
  struct Variable {
    std::string_view name;
    std::string value;
  };
  // A name matches only when no name character follows ("$hostname" is not
  // "$host"), so the order does not matter.
  const Variable variables[] = {
      {"escaped_request_uri", EscapeUriComponent(original.request_uri)},
      {"pass_access_scheme", std::string(original.scheme)},
      {"request_uri", std::string(original.request_uri)},
      {"http_host", std::string(original.authority)},
      {"scheme", std::string(original.scheme)},
      {"host", router::NormalizeHost(original.authority)},
  };
  std::string out;
  size_t i = 0;
  while (i < url_template.size()) {
    char c = url_template[i];
    if (c != '$') {
      out.push_back(c);
      ++i;
      continue;
    }
    std::string_view rest = url_template.substr(i + 1);
    bool braced = !rest.empty() && rest.front() == '{';
    if (braced) rest.remove_prefix(1);
    bool matched = false;
    for (const Variable& v : variables) {
      if (rest.substr(0, v.name.size()) != v.name) continue;
      size_t end = v.name.size();
      if (braced) {
        if (rest.size() <= end || rest[end] != '}') continue;
        ++end;
      } else if (rest.size() > end &&
                 (std::isalnum(static_cast<unsigned char>(rest[end])) || rest[end] == '_')) {
        continue;  // a longer name that is not ours
      }
      out += v.value;
      i += 1 + (braced ? 1 : 0) + end;
      matched = true;
      break;
    }
    if (!matched) {
      out.push_back(c);  // the controller validated the template; keep what is left
      ++i;
    }
  }
  return out;
}

std::optional<std::string> AuthCacheKey(const router::ExternalAuthRule& rule,
                                        std::string_view route, const http::RequestHead& head,
                                        std::string_view request_uri,
                                        const net::IpAddress& client) {
  if (rule.cache_key.empty() || rule.cache_duration.count() <= 0) return std::nullopt;
  std::string key;
  AppendPart(key, route);
  for (const router::AuthKeyPart& part : rule.cache_key) {
    switch (part.source) {
      case router::AuthKeyPart::Source::kClientIp:
        AppendPart(key, client.ToString());
        break;
      case router::AuthKeyPart::Source::kRequestUri:
        AppendPart(key, request_uri);
        break;
      case router::AuthKeyPart::Source::kHeader:
        if (part.name == "host") {
          AppendPart(key, head.authority);  // HTTP/2 has :authority, not Host
        } else {
          AppendPart(key, head.headers.GetJoined(part.name).value_or(std::string()));
        }
        break;
      case router::AuthKeyPart::Source::kCookie:
        AppendPart(key, FindCookie(head.headers, part.name).value_or(std::string_view()));
        break;
    }
  }
  return key;
}

const std::vector<http::Header>* AuthCache::Find(const std::string& key, Clock::time_point now) {
  auto it = index_.find(key);
  if (it == index_.end()) return nullptr;
  if (it->second->expires <= now) {
    entries_.erase(it->second);
    index_.erase(it);
    return nullptr;
  }
  entries_.splice(entries_.begin(), entries_, it->second);
  return &it->second->headers;
}

void AuthCache::Insert(const std::string& key, std::vector<http::Header> headers,
                       Clock::time_point expires) {
  if (capacity_ == 0) return;
  auto it = index_.find(key);
  if (it != index_.end()) {
    it->second->headers = std::move(headers);
    it->second->expires = expires;
    entries_.splice(entries_.begin(), entries_, it->second);
    return;
  }
  if (index_.size() >= capacity_) {
    index_.erase(entries_.back().key);
    entries_.pop_back();
  }
  entries_.push_front(Entry{key, std::move(headers), expires});
  index_.emplace(key, entries_.begin());
}

}  // namespace portico::dataplane::policy
