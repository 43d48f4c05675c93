#include "dataplane/http1/wire.h"

#include "gtest/gtest.h"

namespace portico::dataplane::http1 {
namespace {

TEST(WireTest, FieldValidation) {
  EXPECT_TRUE(IsValidFieldName("x-custom_1"));
  EXPECT_FALSE(IsValidFieldName("bad name"));
  EXPECT_FALSE(IsValidFieldName("bad:name"));
  EXPECT_FALSE(IsValidFieldName(""));
  EXPECT_TRUE(IsValidFieldValue("a\tb c"));
  EXPECT_FALSE(IsValidFieldValue(std::string("a\0b", 3)));
  EXPECT_FALSE(IsValidFieldValue("a\rb"));
  EXPECT_FALSE(IsValidFieldValue("a\nb"));
  EXPECT_EQ(TrimOws(" \tv \t"), "v");
}

TEST(WireTest, RequestTargets) {
  http::RequestHead h;
  h.method = "GET";
  EXPECT_EQ(ParseRequestTarget("/a?b", h), 0);
  EXPECT_EQ(h.path, "/a?b");
  EXPECT_EQ(ParseRequestTarget("http://Example.com:8080?x", h), 0);
  EXPECT_EQ(h.path, "/?x");
  EXPECT_EQ(*h.headers.Get("host"), "Example.com:8080");
  EXPECT_EQ(ParseRequestTarget("*", h), 400);
  h.method = "OPTIONS";
  EXPECT_EQ(ParseRequestTarget("*", h), 0);
  EXPECT_EQ(ParseRequestTarget("/a#frag", h), 400);
  EXPECT_EQ(ParseRequestTarget("ftp://x/", h), 400);
  EXPECT_EQ(ParseRequestTarget("http://user@x/", h), 400);
}

TEST(WireTest, HostRules) {
  http::RequestHead h;
  h.method = "GET";
  h.version = 11;
  EXPECT_EQ(ValidateRequestHeaders(h), 400);  // no Host on HTTP/1.1
  h.version = 10;
  EXPECT_EQ(ValidateRequestHeaders(h), 0);
  h.version = 11;
  h.headers.Add("host", "a.example");
  EXPECT_EQ(ValidateRequestHeaders(h), 0);
  EXPECT_EQ(h.authority, "a.example");
  h.headers.Add("host", "b.example");
  EXPECT_EQ(ValidateRequestHeaders(h), 400);
  http::RequestHead c;
  c.method = "CONNECT";
  EXPECT_EQ(ValidateRequestHeaders(c), 405);
}

TEST(WireTest, ResponseFraming) {
  http::ResponseHead r;
  r.status = 200;
  event::Buffer out;
  auto f = AppendResponseHead(r, false, false, out);
  EXPECT_TRUE(f.chunked);
  EXPECT_EQ(out.view(), "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n");
  out.Clear();
  f = AppendResponseHead(r, true, false, out);
  EXPECT_TRUE(f.close_delimited);
  EXPECT_EQ(out.view(), "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n");
  out.Clear();
  r.content_length = 5;
  r.headers.Add("connection", "x");  // never copied through
  AppendResponseHead(r, false, false, out);
  EXPECT_EQ(out.view(), "HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\n");
}

TEST(WireTest, RequestHeadChunkedWhenLengthUnknown) {
  http::RequestHead h;
  h.method = "POST";
  h.path = "/up";
  h.has_body = true;
  h.headers.Add("host", "x");
  event::Buffer out;
  EXPECT_TRUE(AppendRequestHead(h, out));
  EXPECT_EQ(out.view(), "POST /up HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n");
}

}  // namespace
}  // namespace portico::dataplane::http1
