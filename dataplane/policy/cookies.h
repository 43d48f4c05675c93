#pragma once
// Request cookies (RFC 6265 5.4): "name=value" pairs separated by "; ", in
// one Cookie header (HTTP/1.1) or several (HTTP/2 splits them, RFC 9113 8.2.3).

#include <optional>
#include <string_view>

#include "dataplane/http/message.h"

namespace portico::dataplane::policy {

// The value of the first cookie called `name`, without surrounding quotes;
// views into `headers`.
std::optional<std::string_view> FindCookie(const http::HeaderMap& headers, std::string_view name);

}  // namespace portico::dataplane::policy
