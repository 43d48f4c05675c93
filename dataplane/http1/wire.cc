#include "dataplane/http1/wire.h"

#include <charconv>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "common/strings.h"

namespace portico::dataplane::http1 {
namespace {

bool IsTchar(unsigned char c) {
  if (absl::ascii_isalnum(c)) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~':
      return true;
    default:
      return false;
  }
}

void AppendHeader(std::string_view name, std::string_view value, event::Buffer& out) {
  out.Append(name);
  out.Append(": ", 2);
  out.Append(value);
  out.Append("\r\n", 2);
}

// std::to_chars, not snprintf: no format parsing on every response head.
void AppendDecimal(uint64_t v, event::Buffer& out) {
  char buf[24];
  char* end = std::to_chars(buf, buf + sizeof(buf), v).ptr;
  out.Append(buf, static_cast<size_t>(end - buf));
}

// Headers that describe one hop's framing; codecs write their own.
bool IsFramingHeader(std::string_view name) {
  return name == "content-length" || name == "transfer-encoding" || name == "connection" ||
         name == "keep-alive";
}

bool IsValidHost(std::string_view host) {
  if (host.empty()) return false;
  for (unsigned char c : host) {
    if (!(absl::ascii_isalnum(c) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']' ||
          c == '_')) {
      return false;
    }
  }
  return true;
}

}  // namespace

bool IsValidFieldName(std::string_view name) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    if (!IsTchar(c)) return false;
  }
  return true;
}

bool IsValidFieldValue(std::string_view value) {
  for (unsigned char c : value) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

std::string_view TrimOws(std::string_view value) {
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  return value;
}

int ParseRequestTarget(std::string_view target, http::RequestHead& head) {
  if (target.empty() || target.find('#') != std::string_view::npos) return 400;
  if (target.front() == '/') {
    head.path = std::string(target);
  } else if (target == "*") {
    if (head.method != "OPTIONS") return 400;
    head.path = "*";
  } else {
    // absolute-form: scheme "://" authority [path-abempty] ["?" query]
    size_t sep = target.find("://");
    if (sep == std::string_view::npos) return 400;
    std::string scheme = absl::AsciiStrToLower(ToAbsl(target.substr(0, sep)));
    if (scheme != "http" && scheme != "https") return 400;
    std::string_view rest = target.substr(sep + 3);
    size_t path_start = rest.find_first_of("/?");
    std::string_view authority = rest.substr(0, path_start);
    if (authority.find('@') != std::string_view::npos || !IsValidHost(authority)) return 400;
    head.path = path_start == std::string_view::npos ? "/" : std::string(rest.substr(path_start));
    if (head.path.front() == '?') head.path.insert(0, "/");
    // RFC 9112 3.2.2: the target's authority replaces Host.
    head.headers.Set("host", std::string(authority));
  }
  return 0;
}

int ValidateRequestHeaders(http::RequestHead& head) {
  if (head.method == "CONNECT" || head.method == "TRACE") return 405;
  size_t hosts = 0;
  std::string_view host;
  for (const http::Header& h : head.headers) {
    if (h.name == "host") {
      ++hosts;
      host = h.value;
    }
  }
  if (hosts > 1) return 400;
  if (hosts == 0) return head.version >= 11 ? 400 : 0;
  if (!IsValidHost(host)) return 400;
  head.authority = std::string(host);
  return 0;
}

ResponseFraming AppendResponseHead(const http::ResponseHead& head, bool http10_client,
                                   bool close_connection, event::Buffer& out) {
  ResponseFraming framing;
  out.Append("HTTP/1.1 ");
  AppendDecimal(static_cast<uint64_t>(head.status), out);
  out.Append(" ", 1);
  out.Append(http::ReasonPhrase(head.status));
  out.Append("\r\n", 2);
  for (const http::Header& h : head.headers) {
    if (!IsFramingHeader(h.name)) AppendHeader(h.name, h.value, out);
  }
  const bool bodiless_status = head.status < 200 || head.status == 204 || head.status == 304;
  if (bodiless_status) {
    // No framing headers at all.
  } else if (!head.has_body) {
    if (head.content_length) {  // HEAD: the length the body would have had
      out.Append("content-length: ");
      AppendDecimal(*head.content_length, out);
      out.Append("\r\n", 2);
    }
  } else if (head.content_length) {
    out.Append("content-length: ");
    AppendDecimal(*head.content_length, out);
    out.Append("\r\n", 2);
  } else if (!http10_client) {
    out.Append("transfer-encoding: chunked\r\n");
    framing.chunked = true;
  } else {
    framing.close_delimited = true;
  }
  if (head.status == 101) {
    // Switching Protocols names the upgrade as hop-by-hop (RFC 9110 7.8).
    out.Append("connection: upgrade\r\n");
  } else if (close_connection || framing.close_delimited) {
    out.Append("connection: close\r\n");
  } else if (http10_client) {
    out.Append("connection: keep-alive\r\n");
  }
  out.Append("\r\n", 2);
  return framing;
}

void AppendChunk(std::string_view data, event::Buffer& out) {
  char size[20];
  char* end = std::to_chars(size, size + sizeof(size) - 2, data.size(), 16).ptr;
  *end++ = '\r';
  *end++ = '\n';
  out.Append(size, static_cast<size_t>(end - size));
  out.Append(data);
  out.Append("\r\n", 2);
}

void AppendInformational(int status, event::Buffer& out) {
  out.Append("HTTP/1.1 ");
  AppendDecimal(static_cast<uint64_t>(status), out);
  out.Append(" ", 1);
  out.Append(http::ReasonPhrase(status));
  out.Append("\r\n\r\n", 4);
}

void AppendErrorResponse(int status, event::Buffer& out) {
  std::string body = StrCat(status, " ", http::ReasonPhrase(status), "\n");
  http::ResponseHead head;
  head.status = status;
  head.headers.Add("content-type", "text/plain; charset=utf-8");
  head.content_length = body.size();
  AppendResponseHead(head, false, true, out);
  out.Append(body);
}

bool AppendRequestHead(const http::RequestHead& head, event::Buffer& out) {
  out.Append(head.method);
  out.Append(" ", 1);
  out.Append(head.path);
  out.Append(" HTTP/1.1\r\n");
  for (const http::Header& h : head.headers) {
    if (!IsFramingHeader(h.name)) AppendHeader(h.name, h.value, out);
  }
  bool chunked = false;
  if (head.content_length) {
    out.Append("content-length: ");
    AppendDecimal(*head.content_length, out);
    out.Append("\r\n", 2);
  } else if (head.has_body) {
    out.Append("transfer-encoding: chunked\r\n");
    chunked = true;
  }
  if (head.upgrade_websocket) out.Append("connection: upgrade\r\n");
  out.Append("\r\n", 2);
  return chunked;
}

}  // namespace portico::dataplane::http1
