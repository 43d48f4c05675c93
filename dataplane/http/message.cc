#include "dataplane/http/message.h"

#include "dataplane/http/client_stream.h"

#include <algorithm>

#include "absl/container/inlined_vector.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/strings.h"

namespace portico::dataplane::http {

using ::portico::ToAbsl;

namespace {
// A request or response head has about ten fields (a proxied request gains the
// forwarded ones): room for them up front instead of growing 1, 2, 4, 8, 16
// with a move of every string at each step. 12 entries are 768 bytes, the
// header pool's largest class (header_pool.h).
constexpr size_t kInitialCapacity = 12;
}  // namespace

void HeaderMap::Add(std::string_view name, std::string_view value) {
  if (headers_.capacity() == 0) headers_.reserve(kInitialCapacity);
  headers_.emplace_back(name, value);
}

void HeaderMap::Add(Header header) {
  if (headers_.capacity() == 0) headers_.reserve(kInitialCapacity);
  headers_.push_back(std::move(header));
}

std::optional<std::string_view> HeaderMap::Get(std::string_view name) const {
  for (const Header& h : headers_) {
    if (h.name == name) return std::string_view(h.value);
  }
  return std::nullopt;
}

std::optional<std::string> HeaderMap::GetJoined(std::string_view name) const {
  std::optional<std::string> out;
  for (const Header& h : headers_) {
    if (h.name != name) continue;
    if (!out) {
      out.emplace(h.value);
    } else {
      out->append(", ");
      out->append(h.value);
    }
  }
  return out;
}

bool HeaderMap::Has(std::string_view name) const { return Get(name).has_value(); }

void HeaderMap::Set(std::string_view name, std::string_view value) {
  auto it = std::find_if(headers_.begin(), headers_.end(),
                         [&](const Header& h) { return h.name == name; });
  if (it == headers_.end()) {
    Add(name, value);
    return;
  }
  it->value.assign(value.data(), value.size());
  // Drop later duplicates so exactly one entry remains, at the first position.
  auto first = it - headers_.begin();
  std::erase_if(headers_,
                [&, i = 0l](const Header& h) mutable { return i++ > first && h.name == name; });
}

size_t HeaderMap::Remove(std::string_view name) {
  return std::erase_if(headers_, [&](const Header& h) { return h.name == name; });
}

bool IsHopByHopHeader(std::string_view name) {
  return name == "connection" || name == "keep-alive" || name == "proxy-connection" ||
         name == "te" || name == "transfer-encoding" || name == "upgrade";
}

void StripHopByHop(HeaderMap& headers, bool keep_te_trailers) {
  // Headers named by Connection are hop-by-hop too (RFC 9110 7.6.1).
  // Copies: the Connection header itself is erased below. Rarely more than one.
  absl::InlinedVector<std::string, 2> listed;
  for (const Header& h : headers) {
    if (h.name != "connection") continue;
    for (absl::string_view token : absl::StrSplit(ToAbsl(h.value), ',')) {
      std::string t = absl::AsciiStrToLower(absl::StripAsciiWhitespace(token));
      if (!t.empty()) listed.push_back(std::move(t));
    }
  }
  bool te_trailers = false;
  if (keep_te_trailers) {
    if (auto te = headers.GetJoined("te")) {
      for (absl::string_view token : absl::StrSplit(ToAbsl(*te), ',')) {
        if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(token), "trailers")) {
          te_trailers = true;
        }
      }
    }
  }
  headers.EraseIf([&](const Header& h) {
    return IsHopByHopHeader(h.name) ||
           std::find(listed.begin(), listed.end(), std::string_view(h.name)) != listed.end();
  });
  if (te_trailers) headers.Add("te", "trailers");
}

std::string_view ReasonPhrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 101:
      return "Switching Protocols";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 206:
      return "Partial Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 303:
      return "See Other";
    case 304:
      return "Not Modified";
    case 307:
      return "Temporary Redirect";
    case 308:
      return "Permanent Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 417:
      return "Expectation Failed";
    case 421:
      return "Misdirected Request";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

const char* UpstreamFailureName(UpstreamFailure failure) {
  switch (failure) {
    case UpstreamFailure::kConnectFailed:
      return "connect_failed";
    case UpstreamFailure::kConnectTimeout:
      return "connect_timeout";
    case UpstreamFailure::kResponseTimeout:
      return "response_timeout";
    case UpstreamFailure::kReset:
      return "reset";
    case UpstreamFailure::kProtocolError:
      return "protocol_error";
    case UpstreamFailure::kTlsHandshakeFailed:
      return "tls_handshake_failed";
    case UpstreamFailure::kSendTimeout:
      return "send_timeout";
  }
  return "unknown";
}

}  // namespace portico::dataplane::http
