#include "dataplane/proxy/grpc.h"

#include <string>

#include "absl/strings/match.h"
#include "common/strings.h"

namespace portico::dataplane::proxy {

bool IsGrpcRequest(const http::HeaderMap& headers) {
  auto type = headers.Get("content-type");
  if (!type) return false;
  std::string_view t = *type;
  return absl::StartsWithIgnoreCase(ToAbsl(t), "application/grpc") &&
         (t.size() == 16 || t[16] == '+' || t[16] == ';');
}

std::optional<double> ParseGrpcTimeout(std::string_view value) {
  if (value.size() < 2 || value.size() > 9) return std::nullopt;
  double amount = 0;
  for (char c : value.substr(0, value.size() - 1)) {
    if (c < '0' || c > '9') return std::nullopt;
    amount = amount * 10 + (c - '0');
  }
  switch (value.back()) {
    case 'H':
      return amount * 3600;
    case 'M':
      return amount * 60;
    case 'S':
      return amount;
    case 'm':
      return amount / 1e3;
    case 'u':
      return amount / 1e6;
    case 'n':
      return amount / 1e9;
    default:
      return std::nullopt;
  }
}

int GrpcStatusFor(int http_status) {
  switch (http_status) {
    case 400:
      return 13;  // INTERNAL
    case 401:
      return 16;  // UNAUTHENTICATED
    case 403:
      return 7;  // PERMISSION_DENIED
    case 404:
      return 12;  // UNIMPLEMENTED
    case 413:
    case 429:
      return 8;  // RESOURCE_EXHAUSTED
    case 502:
    case 503:
      return 14;  // UNAVAILABLE
    case 504:
      return 4;  // DEADLINE_EXCEEDED
    default:
      return 2;  // UNKNOWN
  }
}

http::ResponseHead GrpcErrorResponse(int http_status, std::string_view message) {
  http::ResponseHead head;
  head.status = 200;
  head.has_body = false;
  head.headers.Add("content-type", "application/grpc");
  head.headers.Add("grpc-status", StrCat(GrpcStatusFor(http_status)));
  // grpc-message is percent-encoded; ours are plain ASCII without '%'.
  std::string text;
  for (char c : message) {
    if (c >= 0x20 && c < 0x7f && c != '%') text += c;
  }
  if (!text.empty()) head.headers.Add("grpc-message", std::move(text));
  return head;
}

}  // namespace portico::dataplane::proxy
