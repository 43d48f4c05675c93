#include "dataplane/policy/compression.h"

#include <brotli/encode.h>
#include <zlib.h>

#include <algorithm>
#include <cctype>

namespace portico::dataplane::policy {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "q=0.5" -> 500; invalid -> nullopt. RFC 9110 12.4.2: up to three decimals.
std::optional<int> ParseQ(std::string_view param) {
  param = Trim(param);
  if (param.size() < 3 || (param[0] != 'q' && param[0] != 'Q') || param[1] != '=') {
    return std::nullopt;
  }
  std::string_view v = param.substr(2);
  if (v.empty() || (v[0] != '0' && v[0] != '1')) return std::nullopt;
  int q = (v[0] - '0') * 1000;
  if (v.size() == 1) return q;
  if (v[1] != '.' || v.size() > 5) return std::nullopt;
  int scale = 100;
  for (char c : v.substr(2)) {
    if (c < '0' || c > '9') return std::nullopt;
    q += (c - '0') * scale;
    scale /= 10;
  }
  return q > 1000 ? std::nullopt : std::optional<int>(q);
}

// Window bits enough for a body of `size` bytes, between `min` and `max`: a
// window larger than the whole body buys nothing but memory to allocate and
// clear on every response.
int WindowBitsFor(std::optional<uint64_t> size, int min, int max) {
  if (!size) return max;
  int bits = min;
  while (bits < max && (uint64_t{1} << bits) < *size) ++bits;
  return bits;
}

class GzipCompressor : public Compressor {
 public:
  GzipCompressor(int level, std::optional<uint64_t> size_hint) {
    // As nginx's gzip filter: a known length shrinks the window (15 bits, 32 KiB,
    // by default) and memLevel with it (8: a 128 KiB hash table); deflate's state
    // is ~256 KiB at the defaults and a few KiB at the smallest. Bits 9 is zlib's
    // smallest window for deflate; + 16 asks for a gzip wrapper.
    const int bits = WindowBitsFor(size_hint, 9, 15);
    const int mem_level = std::max(1, 8 - (15 - bits));
    ok_ = deflateInit2(&z_, level, Z_DEFLATED, bits + 16, mem_level, Z_DEFAULT_STRATEGY) == Z_OK;
  }
  ~GzipCompressor() override {
    if (ok_) deflateEnd(&z_);
  }
  bool ok() const { return ok_; }

  bool Process(std::string_view data, bool end, std::string& out) override {
    if (!ok_ || finished_) return false;
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    z_.avail_in = static_cast<uInt>(data.size());
    const int flush = end ? Z_FINISH : Z_SYNC_FLUSH;
    char buf[16384];
    while (true) {
      z_.next_out = reinterpret_cast<Bytef*>(buf);
      z_.avail_out = sizeof(buf);
      int rc = deflate(&z_, flush);
      if (rc == Z_STREAM_ERROR) return false;
      out.append(buf, sizeof(buf) - z_.avail_out);
      if (end) {
        if (rc == Z_STREAM_END) {
          finished_ = true;
          return true;
        }
        continue;
      }
      // Room left in the buffer: the sync flush has written everything.
      if (z_.avail_out != 0) return true;
    }
  }

 private:
  z_stream z_{};
  bool ok_ = false;
  bool finished_ = false;
};

class BrotliCompressor : public Compressor {
 public:
  BrotliCompressor(int level, std::optional<uint64_t> size_hint)
      : state_(BrotliEncoderCreateInstance(nullptr, nullptr, nullptr)) {
    if (state_ != nullptr) {
      BrotliEncoderSetParameter(state_, BROTLI_PARAM_QUALITY, static_cast<uint32_t>(level));
      // A 4 MiB window at most (lgwin 22): the decoder side's memory stays
      // bounded. A known length shrinks it (the encoder's ring buffer and hash
      // tables follow the window: at 22 bits an 8 KiB page cost ~130 µs of
      // allocation and clearing, 4x the compression itself).
      BrotliEncoderSetParameter(
          state_, BROTLI_PARAM_LGWIN,
          static_cast<uint32_t>(WindowBitsFor(size_hint, BROTLI_MIN_WINDOW_BITS, 22)));
      if (size_hint) {
        BrotliEncoderSetParameter(
            state_, BROTLI_PARAM_SIZE_HINT,
            static_cast<uint32_t>(std::min<uint64_t>(*size_hint, uint32_t{1} << 30)));
      }
    }
  }
  ~BrotliCompressor() override {
    if (state_ != nullptr) BrotliEncoderDestroyInstance(state_);
  }
  bool ok() const { return state_ != nullptr; }

  bool Process(std::string_view data, bool end, std::string& out) override {
    if (state_ == nullptr || BrotliEncoderIsFinished(state_)) return false;
    const uint8_t* next_in = reinterpret_cast<const uint8_t*>(data.data());
    size_t avail_in = data.size();
    const BrotliEncoderOperation op = end ? BROTLI_OPERATION_FINISH : BROTLI_OPERATION_FLUSH;
    while (true) {
      uint8_t buf[16384];
      uint8_t* next_out = buf;
      size_t avail_out = sizeof(buf);
      if (!BrotliEncoderCompressStream(state_, op, &avail_in, &next_in, &avail_out, &next_out,
                                       nullptr)) {
        return false;
      }
      out.append(reinterpret_cast<const char*>(buf), sizeof(buf) - avail_out);
      if (avail_in == 0 && !BrotliEncoderHasMoreOutput(state_)) {
        if (!end || BrotliEncoderIsFinished(state_)) return true;
      }
    }
  }

 private:
  BrotliEncoderState* state_;
};

bool TypeListed(const std::vector<std::string>& types, std::string_view media_type) {
  const size_t slash = media_type.find('/');
  for (const std::string& t : types) {
    if (t == media_type) return true;
    if (slash != std::string_view::npos && t.size() == slash + 2 && t.back() == '*' &&
        t.compare(0, slash + 1, media_type.substr(0, slash + 1)) == 0) {
      return true;
    }
  }
  return false;
}

bool HasToken(std::string_view list, std::string_view token) {
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view item = Trim(list.substr(0, comma));
    if (Lower(item) == token) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

const std::vector<std::string>& DefaultCompressibleTypes() {
  static const auto* types = new std::vector<std::string>{
      "application/atom+xml",
      "application/javascript",
      "application/x-javascript",
      "application/json",
      "application/rss+xml",
      "application/vnd.ms-fontobject",
      "application/x-font-ttf",
      "application/x-web-app-manifest+json",
      "application/xhtml+xml",
      "application/xml",
      "font/opentype",
      "image/svg+xml",
      "image/x-icon",
      "text/css",
      "text/html",
      "text/javascript",
      "text/plain",
      "text/x-component",
  };
  return *types;
}

ContentCoding NegotiateEncoding(std::optional<std::string_view> accept_encoding, bool gzip,
                                bool brotli) {
  if (!accept_encoding || (!gzip && !brotli)) return ContentCoding::kIdentity;
  int q_gzip = -1, q_br = -1, q_any = -1;
  std::string_view rest = *accept_encoding;
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    size_t semi = item.find(';');
    std::string coding = Lower(Trim(item.substr(0, semi)));
    if (coding.empty()) continue;
    int q = 1000;
    if (semi != std::string_view::npos) {
      auto parsed = ParseQ(item.substr(semi + 1));
      if (!parsed) continue;  // a malformed weight: ignore the item
      q = *parsed;
    }
    if (coding == "gzip" || coding == "x-gzip") {
      q_gzip = std::max(q_gzip, q);
    } else if (coding == "br") {
      q_br = std::max(q_br, q);
    } else if (coding == "*") {
      q_any = std::max(q_any, q);
    }
  }
  if (q_gzip < 0) q_gzip = q_any;
  if (q_br < 0) q_br = q_any;
  if (!gzip) q_gzip = -1;
  if (!brotli) q_br = -1;
  if (q_br > 0 && q_br >= q_gzip) return ContentCoding::kBrotli;
  if (q_gzip > 0) return ContentCoding::kGzip;
  return ContentCoding::kIdentity;
}

std::unique_ptr<Compressor> MakeCompressor(ContentCoding coding, const CompressionSettings& s,
                                           std::optional<uint64_t> size_hint) {
  switch (coding) {
    case ContentCoding::kGzip: {
      auto c = std::make_unique<GzipCompressor>(std::clamp(s.gzip_level, 1, 9), size_hint);
      if (!c->ok()) return nullptr;
      return c;
    }
    case ContentCoding::kBrotli: {
      auto c = std::make_unique<BrotliCompressor>(std::clamp(s.brotli_level, 0, 11), size_hint);
      if (!c->ok()) return nullptr;
      return c;
    }
    case ContentCoding::kIdentity:
      break;
  }
  return nullptr;
}

std::unique_ptr<Compressor> StartCompression(const CompressionSettings& settings, bool gzip,
                                             bool brotli,
                                             std::optional<std::string_view> accept_encoding,
                                             http::ResponseHead& head) {
  if (!(gzip || brotli) || !head.has_body || head.status < 200 || head.status == 204 ||
      head.status == 206 || head.status == 304) {
    return nullptr;
  }
  if (auto encoding = head.headers.Get("content-encoding");
      encoding && Lower(Trim(*encoding)) != "identity") {
    return nullptr;
  }
  auto type = head.headers.Get("content-type");
  if (!type) return nullptr;
  std::string media_type = Lower(Trim(type->substr(0, type->find(';'))));
  if (!TypeListed(settings.mime_types.empty() ? DefaultCompressibleTypes() : settings.mime_types,
                  media_type)) {
    return nullptr;
  }
  if (auto cache = head.headers.GetJoined("cache-control");
      cache && HasToken(*cache, "no-transform")) {
    return nullptr;
  }
  if (head.content_length && *head.content_length < settings.min_length) return nullptr;
  auto vary = head.headers.GetJoined("vary");
  if (!vary || (!HasToken(*vary, "accept-encoding") && !HasToken(*vary, "*"))) {
    head.headers.Add("vary", "Accept-Encoding");
  }
  const ContentCoding coding = NegotiateEncoding(accept_encoding, gzip, brotli);
  std::unique_ptr<Compressor> compressor = MakeCompressor(coding, settings, head.content_length);
  if (compressor == nullptr) return nullptr;
  head.headers.Remove("content-encoding");
  head.headers.Add("content-encoding", coding == ContentCoding::kGzip ? "gzip" : "br");
  head.content_length.reset();
  head.headers.Remove("content-length");
  if (auto etag = head.headers.Get("etag"); etag && etag->substr(0, 2) != "W/") {
    head.headers.Set("etag", "W/" + std::string(*etag));
  }
  return compressor;
}

}  // namespace portico::dataplane::policy
