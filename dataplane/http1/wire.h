#pragma once
// HTTP/1.1 wire format shared by the server and client codecs: field
// validation, request-target parsing, and message head serialisation.

#include <string_view>

#include "dataplane/event/buffer.h"
#include "dataplane/http/message.h"

namespace portico::dataplane::http1 {

// RFC 9110 token characters only.
bool IsValidFieldName(std::string_view name);
// No NUL, CR, LF or other control bytes except HTAB (response splitting and
// smuggling die here rather than upstream).
bool IsValidFieldValue(std::string_view value);
std::string_view TrimOws(std::string_view value);

// Fills head.path and head.authority from the request-target and Host header.
// Returns 0 or the status to reject with: origin-form ("/p?q"), absolute-form
// ("http://h/p"; its authority wins over Host), "*" for OPTIONS; anything
// else, or a fragment, is 400.
int ParseRequestTarget(std::string_view target, http::RequestHead& head);

// Host rules (exactly one Host on HTTP/1.1, sane characters) and methods we
// refuse to proxy (CONNECT, TRACE → 405). Returns 0 or a status.
int ValidateRequestHeaders(http::RequestHead& head);

struct ResponseFraming {
  bool chunked = false;
  bool close_delimited = false;  // HTTP/1.0 client and no length: EOF ends the body
};

// Status line, headers and framing headers for a downstream response.
ResponseFraming AppendResponseHead(const http::ResponseHead& head, bool http10_client,
                                   bool close_connection, event::Buffer& out);
void AppendChunk(std::string_view data, event::Buffer& out);
void AppendInformational(int status, event::Buffer& out);
// A complete short plain-text response that closes the connection.
void AppendErrorResponse(int status, event::Buffer& out);

// Request line and headers for an upstream request; framing from
// head.content_length / head.has_body (chunked when the length is unknown).
// Returns true when the body must be sent chunked.
bool AppendRequestHead(const http::RequestHead& head, event::Buffer& out);

}  // namespace portico::dataplane::http1
