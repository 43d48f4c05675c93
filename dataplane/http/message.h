#pragma once
// Codec-independent HTTP messages. HTTP/1.1 and HTTP/2 codecs produce and
// consume these; routing, policies and upstreams see nothing else.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/http/header_pool.h"

namespace portico::dataplane::http {

// Name and value live in the per-thread header pool (header_pool.h).
struct Header {
  Header() = default;
  Header(std::string_view n, std::string_view v) : name(n), value(v) {}
  HeaderString name;  // lower case
  HeaderString value;
};

// Ordered multimap of headers with lower-case names. Small (tens of entries),
// so linear scans beat hashing.
class HeaderMap {
 public:
  void Add(std::string_view name, std::string_view value);
  void Add(Header header);
  // First value of `name` (lower case), if present.
  std::optional<std::string_view> Get(std::string_view name) const;
  // All values of `name` joined with ", " (RFC 9110 list semantics).
  std::optional<std::string> GetJoined(std::string_view name) const;
  bool Has(std::string_view name) const;
  // Replaces every `name` header with one entry.
  void Set(std::string_view name, std::string_view value);
  // Returns how many entries were removed.
  size_t Remove(std::string_view name);
  size_t size() const { return headers_.size(); }
  bool empty() const { return headers_.empty(); }
  auto begin() const { return headers_.begin(); }
  auto end() const { return headers_.end(); }
  auto begin() { return headers_.begin(); }
  auto end() { return headers_.end(); }
  void Clear() { headers_.clear(); }
  // Erases entries for which pred(header) is true.
  template <typename Pred>
  void EraseIf(Pred pred) {
    std::erase_if(headers_, pred);
  }

 private:
  std::vector<Header, HeaderPoolAllocator<Header>> headers_;
};

struct RequestHead {
  std::string method;
  std::string scheme;     // "http" or "https" as seen by the client
  std::string authority;  // Host header or :authority, as received
  std::string path;       // origin-form target: path and query
  HeaderMap headers;      // without pseudo-headers; Host kept for HTTP/1.1
  int version = 11;       // 10, 11 or 20
  // Request body framing as received: known length, or unknown (chunked / h2
  // without content-length), or none.
  std::optional<uint64_t> content_length;
  bool has_body = false;
  bool expect_continue = false;
  // An HTTP/1.1 GET without a body that asked for "Connection: upgrade" and
  // "Upgrade: websocket": proxied as a websocket (the two headers kept).
  bool upgrade_websocket = false;
};

struct ResponseHead {
  int status = 200;
  HeaderMap headers;
  std::optional<uint64_t> content_length;
  bool has_body = true;  // false for HEAD, 1xx, 204, 304
};

// True for the headers that describe one connection hop (RFC 9110 7.6.1):
// Connection, Keep-Alive, Proxy-Connection, TE, Transfer-Encoding, Upgrade.
// `name` is lower case.
bool IsHopByHopHeader(std::string_view name);

// Removes hop-by-hop headers and every header named in Connection. Keeps
// `te: trailers` when keep_te_trailers is set (HTTP/2 and gRPC upstreams).
void StripHopByHop(HeaderMap& headers, bool keep_te_trailers = false);

// Canonical reason phrase for a status code ("Not Found"); "Unknown" otherwise.
std::string_view ReasonPhrase(int status);

}  // namespace portico::dataplane::http
