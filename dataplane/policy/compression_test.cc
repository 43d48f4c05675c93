// Compression: Accept-Encoding negotiation, the decision and header rewrite,
// and gzip / brotli streams that decode to the original bytes chunk by chunk.
#include "dataplane/policy/compression.h"

#include <brotli/decode.h>
#include <zlib.h>

#include <random>

#include "gtest/gtest.h"

namespace portico::dataplane::policy {
namespace {

using C = ContentCoding;

TEST(NegotiateTest, QValuesAndPreferences) {
  EXPECT_EQ(NegotiateEncoding(std::nullopt, true, true), C::kIdentity);
  EXPECT_EQ(NegotiateEncoding("gzip", true, true), C::kGzip);
  EXPECT_EQ(NegotiateEncoding("gzip, br", true, true), C::kBrotli);  // tie: br
  EXPECT_EQ(NegotiateEncoding("gzip, br", true, false), C::kGzip);
  EXPECT_EQ(NegotiateEncoding("br;q=0.5, gzip;q=0.8", true, true), C::kGzip);
  EXPECT_EQ(NegotiateEncoding("br;q=0, gzip;q=0", true, true), C::kIdentity);
  EXPECT_EQ(NegotiateEncoding("*", true, true), C::kBrotli);
  EXPECT_EQ(NegotiateEncoding("*;q=0.1, br;q=0", true, true), C::kGzip);
  EXPECT_EQ(NegotiateEncoding("identity", true, true), C::kIdentity);
  EXPECT_EQ(NegotiateEncoding("X-GZIP", true, true), C::kGzip);
  EXPECT_EQ(NegotiateEncoding("deflate, zstd", true, true), C::kIdentity);
  EXPECT_EQ(NegotiateEncoding("gzip;q=1.000, br;q=0.999", true, true), C::kGzip);
  // Malformed weights make the item count for nothing.
  EXPECT_EQ(NegotiateEncoding("br;q=2, gzip;q=abc", true, true), C::kIdentity);
  EXPECT_EQ(NegotiateEncoding(",,;,", true, true), C::kIdentity);
  EXPECT_EQ(NegotiateEncoding("gzip", false, false), C::kIdentity);
}

std::string Gunzip(const std::string& in) {
  z_stream z{};
  EXPECT_EQ(inflateInit2(&z, 15 + 16), Z_OK);
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = in.size();
  std::string out;
  char buf[4096];
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof(buf);
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(buf, sizeof(buf) - z.avail_out);
    if (rc == Z_BUF_ERROR && z.avail_in == 0) break;
  }
  inflateEnd(&z);
  return out;
}

std::string Unbrotli(const std::string& in) {
  BrotliDecoderState* s = BrotliDecoderCreateInstance(nullptr, nullptr, nullptr);
  const uint8_t* next_in = reinterpret_cast<const uint8_t*>(in.data());
  size_t avail_in = in.size();
  std::string out;
  while (true) {
    uint8_t buf[4096];
    uint8_t* next_out = buf;
    size_t avail_out = sizeof(buf);
    auto rc = BrotliDecoderDecompressStream(s, &avail_in, &next_in, &avail_out, &next_out, nullptr);
    out.append(reinterpret_cast<char*>(buf), sizeof(buf) - avail_out);
    if (rc != BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT) break;
  }
  BrotliDecoderDestroyInstance(s);
  return out;
}

std::string Text(size_t n) {
  std::mt19937 rng(7);
  const char* words[] = {"alpha ", "beta ", "gamma ", "delta\n", "portico "};
  std::string s;
  while (s.size() < n) s += words[rng() % 5];
  s.resize(n);
  return s;
}

class StreamTest : public ::testing::TestWithParam<C> {};

TEST_P(StreamTest, ChunksDecodeToTheOriginalAndEachFlushIsDecodable) {
  CompressionSettings s;
  auto c = MakeCompressor(GetParam(), s);
  ASSERT_NE(c, nullptr);
  const std::string original = Text(300000);
  std::string encoded;
  size_t off = 0;
  bool first = true;
  for (size_t chunk : {1u, 100u, 16384u, 70000u, 1000u}) {
    ASSERT_TRUE(c->Process(std::string_view(original).substr(off, chunk), false, encoded));
    off += chunk;
    if (first && GetParam() == C::kGzip) {
      // Streaming: what was flushed so far decodes to what went in.
      EXPECT_EQ(Gunzip(encoded), original.substr(0, off));
      first = false;
    }
  }
  ASSERT_TRUE(c->Process(std::string_view(original).substr(off), true, encoded));
  EXPECT_LT(encoded.size(), original.size() / 2);
  EXPECT_EQ(GetParam() == C::kGzip ? Gunzip(encoded) : Unbrotli(encoded), original);
  EXPECT_FALSE(c->Process("more", false, encoded));  // finished
}

// A length hint only sizes the window: a wrong (too small) hint still
// round-trips, and a right one on a small body too.
TEST_P(StreamTest, SizeHintKeepsTheEncodingCorrect) {
  for (auto [hint, size] :
       {std::pair<uint64_t, size_t>{8192, 8192}, {100, 8192}, {1, 3}, {200000, 200000}, {0, 0}}) {
    auto c = MakeCompressor(GetParam(), {}, hint);
    ASSERT_NE(c, nullptr);
    const std::string original = Text(size);
    std::string encoded;
    ASSERT_TRUE(c->Process(original.substr(0, size / 2), false, encoded));
    ASSERT_TRUE(c->Process(original.substr(size / 2), true, encoded));
    EXPECT_EQ(GetParam() == C::kGzip ? Gunzip(encoded) : Unbrotli(encoded), original)
        << "hint " << hint << " size " << size;
    if (size >= 8192) {
      EXPECT_LT(encoded.size(), original.size() / 2);
    }
  }
}

TEST_P(StreamTest, EmptyBody) {
  auto c = MakeCompressor(GetParam(), {});
  std::string encoded;
  ASSERT_TRUE(c->Process("", true, encoded));
  EXPECT_EQ(GetParam() == C::kGzip ? Gunzip(encoded) : Unbrotli(encoded), "");
}

INSTANTIATE_TEST_SUITE_P(Codings, StreamTest, ::testing::Values(C::kGzip, C::kBrotli));

http::ResponseHead Head(std::string type, std::optional<uint64_t> length = 1000) {
  http::ResponseHead head;
  head.status = 200;
  head.headers.Add("content-type", std::move(type));
  head.content_length = length;
  return head;
}

TEST(StartCompressionTest, RewritesTheHead) {
  CompressionSettings s;
  s.gzip = true;
  auto head = Head("text/html; charset=utf-8");
  head.headers.Add("etag", "\"abc\"");
  auto c = StartCompression(s, "gzip, deflate", head);
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(head.headers.Get("content-encoding"), "gzip");
  EXPECT_EQ(head.headers.Get("vary"), "Accept-Encoding");
  EXPECT_EQ(head.headers.Get("etag"), "W/\"abc\"");
  EXPECT_FALSE(head.content_length);
}

TEST(StartCompressionTest, LeavesAlone) {
  CompressionSettings s;
  s.gzip = s.brotli = true;
  s.min_length = 100;
  {
    auto head = Head("text/plain");
    head.headers.Add("content-encoding", "gzip");  // never recompressed
    EXPECT_EQ(StartCompression(s, "gzip", head), nullptr);
    EXPECT_EQ(head.content_length, 1000u);
  }
  {
    auto head = Head("image/png");
    EXPECT_EQ(StartCompression(s, "gzip", head), nullptr);
    EXPECT_FALSE(head.headers.Has("vary"));
  }
  {
    auto head = Head("text/plain", 99);
    EXPECT_EQ(StartCompression(s, "gzip", head), nullptr);
  }
  {
    auto head = Head("text/plain");
    head.headers.Add("cache-control", "public, no-transform");
    EXPECT_EQ(StartCompression(s, "gzip", head), nullptr);
  }
  {
    auto head = Head("text/plain");
    head.status = 206;
    EXPECT_EQ(StartCompression(s, "gzip", head), nullptr);
  }
  {
    // Not asked for: identity, but caches learn that it varies.
    auto head = Head("text/plain");
    EXPECT_EQ(StartCompression(s, std::nullopt, head), nullptr);
    EXPECT_EQ(head.headers.Get("vary"), "Accept-Encoding");
    EXPECT_EQ(head.content_length, 1000u);
  }
  {
    auto head = Head("text/plain", std::nullopt);  // streamed: compressed
    s.mime_types = {"text/*"};
    EXPECT_NE(StartCompression(s, "br", head), nullptr);
    EXPECT_EQ(head.headers.Get("content-encoding"), "br");
  }
}

}  // namespace
}  // namespace portico::dataplane::policy
