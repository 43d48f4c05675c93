#include "dataplane/http/message.h"

#include "gtest/gtest.h"

namespace portico::dataplane::http {
namespace {

TEST(HeaderMapTest, GetSetRemove) {
  HeaderMap h;
  h.Add("x-a", "1");
  h.Add("x-b", "2");
  h.Add("x-a", "3");
  EXPECT_EQ(*h.Get("x-a"), "1");
  EXPECT_EQ(*h.GetJoined("x-a"), "1, 3");
  EXPECT_FALSE(h.Get("x-c").has_value());
  h.Set("x-a", "9");
  EXPECT_EQ(*h.GetJoined("x-a"), "9");
  EXPECT_EQ(h.size(), 2u);
  EXPECT_EQ(h.begin()->name, "x-a");
  EXPECT_EQ(h.Remove("x-b"), 1u);
  EXPECT_EQ(h.size(), 1u);
}

TEST(HeaderMapTest, StripHopByHopRemovesListedHeaders) {
  HeaderMap h;
  h.Add("connection", "keep-alive, X-Secret");
  h.Add("keep-alive", "timeout=5");
  h.Add("x-secret", "s");
  h.Add("transfer-encoding", "chunked");
  h.Add("te", "trailers, deflate");
  h.Add("upgrade", "h2c");
  h.Add("proxy-connection", "close");
  h.Add("x-kept", "k");
  StripHopByHop(h);
  ASSERT_EQ(h.size(), 1u);
  EXPECT_EQ(h.begin()->name, "x-kept");
}

TEST(HeaderMapTest, StripHopByHopKeepsTeTrailersWhenAsked) {
  HeaderMap h;
  h.Add("te", "deflate, Trailers");
  StripHopByHop(h, /*keep_te_trailers=*/true);
  EXPECT_EQ(*h.Get("te"), "trailers");
}

TEST(ReasonPhraseTest, Known) {
  EXPECT_EQ(ReasonPhrase(404), "Not Found");
  EXPECT_EQ(ReasonPhrase(799), "Unknown");
}

}  // namespace
}  // namespace portico::dataplane::http
