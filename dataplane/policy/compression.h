#pragma once
// Response compression as a streaming filter: Accept-Encoding negotiation
// (RFC 9110 12.5.3), the decision whether a response is worth compressing,
// the header rewrite, and gzip (zlib) / brotli encoders that flush after every
// upstream chunk so that nothing waits for the whole body.
// Encoders are owned by one stream on one worker thread.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dataplane/http/message.h"

namespace portico::dataplane::policy {

enum class ContentCoding { kIdentity, kGzip, kBrotli };

struct CompressionSettings {
  bool gzip = false;
  bool brotli = false;
  int gzip_level = 1;    // 1..9
  int brotli_level = 4;  // 0..11
  // Responses with a Content-Length below this are left alone.
  uint64_t min_length = 256;
  // Lower-case media types without parameters; "type/*" matches a whole type.
  // Empty: DefaultCompressibleTypes().
  std::vector<std::string> mime_types;

  bool enabled() const { return gzip || brotli; }
};

// ingress-nginx's gzip-types default, plus text/html (which nginx always compresses).
const std::vector<std::string>& DefaultCompressibleTypes();

// The coding for a response given the request's Accept-Encoding (all its
// values joined; nullopt: no header, which means identity here, as nginx does).
// Highest q-value wins among the enabled codings; brotli on a tie; "*" stands
// for codings not listed; q=0 refuses. "x-gzip" is gzip.
ContentCoding NegotiateEncoding(std::optional<std::string_view> accept_encoding, bool gzip,
                                bool brotli);

class Compressor {
 public:
  virtual ~Compressor() = default;
  // Appends the encoding of `data` to `out` and flushes, so that everything
  // given so far can be decoded from `out`; `end` finishes the stream.
  // False: the encoder failed (the response must be cut off).
  virtual bool Process(std::string_view data, bool end, std::string& out) = 0;
};

// nullptr for kIdentity or when the library cannot allocate its state.
// `size_hint`: the body's length when known; the encoder's window (and so its
// memory and set-up cost) is sized to it. Any length still encodes correctly.
std::unique_ptr<Compressor> MakeCompressor(ContentCoding coding, const CompressionSettings& s,
                                           std::optional<uint64_t> size_hint = std::nullopt);

// Decides for one response and, when compressing, rewrites its head:
// Content-Encoding set, Content-Length dropped (the body is streamed), an ETag
// made weak, "Vary: Accept-Encoding" added. Compressible responses that are
// not compressed for this client get the Vary too (a cache must not serve the
// identity form to one that asked for gzip). Never recompresses: a response
// with a Content-Encoding, a 206, "Cache-Control: no-transform", no body, or a
// type outside the list is left as it is.
// `gzip`/`brotli`: the codings on offer (the route's choice, else the settings').
std::unique_ptr<Compressor> StartCompression(const CompressionSettings& settings, bool gzip,
                                             bool brotli,
                                             std::optional<std::string_view> accept_encoding,
                                             http::ResponseHead& head);
inline std::unique_ptr<Compressor> StartCompression(const CompressionSettings& settings,
                                                    std::optional<std::string_view> accept_encoding,
                                                    http::ResponseHead& head) {
  return StartCompression(settings, settings.gzip, settings.brotli, accept_encoding, head);
}

}  // namespace portico::dataplane::policy
