#pragma once
// Header names that configuration may not edit, for the translator (which
// refuses them in request-headers, response-headers and custom-headers) and
// the data plane's config compiler (which refuses a snapshot naming them):
// both must agree, or the data plane would NACK what the controller produced.

#include <string_view>

namespace portico {

// `name` in lower case. Hop-by-hop headers (RFC 9110 7.6.1: they describe one
// connection and the codecs own them), pseudo-headers (":path"...), Host (the
// route was chosen by it; upstream-vhost is the way to change it), and the
// framing headers Content-Length and Transfer-Encoding (a wrong one is
// request smuggling or a truncated response).
inline bool IsReservedHeaderName(std::string_view name) {
  if (!name.empty() && name.front() == ':') return true;
  for (std::string_view reserved : {"connection", "keep-alive", "proxy-connection", "te", "trailer",
                                    "transfer-encoding", "upgrade", "host", "content-length"}) {
    if (name == reserved) return true;
  }
  return false;
}

}  // namespace portico
