#pragma once
// What the proxy needs to know about gRPC (an HTTP/2 protocol with its status
// in trailers): recognising a call, its deadline, and answering a call the
// proxy itself fails in gRPC's terms, so clients see UNAVAILABLE or
// DEADLINE_EXCEEDED rather than an HTTP status they do not read.

#include <optional>
#include <string_view>

#include "dataplane/http/message.h"

namespace portico::dataplane::proxy {

// content-type application/grpc, application/grpc+proto, ...
bool IsGrpcRequest(const http::HeaderMap& headers);

// The grpc-timeout header ("100m", "5S", "1H"; at most 8 digits) in seconds.
std::optional<double> ParseGrpcTimeout(std::string_view value);

// gRPC status code for an HTTP status the proxy answers with, after gRPC's
// own HTTP-to-gRPC mapping (502/503 UNAVAILABLE, 504 DEADLINE_EXCEEDED, ...).
int GrpcStatusFor(int http_status);

// A trailers-only gRPC response: HTTP 200, the status in the headers.
http::ResponseHead GrpcErrorResponse(int http_status, std::string_view message);

}  // namespace portico::dataplane::proxy
