#include "dataplane/policy/cors.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace portico::dataplane::policy {
namespace {

using ::testing::Contains;
using ::testing::Optional;

router::CorsRule Rule(std::vector<std::string_view> origins, bool credentials) {
  router::CorsRule rule;
  for (std::string_view origin : origins) {
    if (origin == "*") {
      rule.any_origin = true;
      continue;
    }
    std::optional<net::WebOrigin> parsed = net::ParseWebOrigin(origin, true);
    EXPECT_TRUE(parsed.has_value()) << origin;
    if (parsed) rule.origins.push_back(*parsed);
  }
  rule.allow_methods = "GET, PUT, POST";
  rule.allow_headers = "Content-Type, Authorization";
  rule.expose_headers = "X-Total";
  rule.allow_credentials = credentials;
  rule.max_age_seconds = 600;
  return rule;
}

http::RequestHead Request(std::string method, std::optional<std::string> origin,
                          bool request_method = false) {
  http::RequestHead head;
  head.method = std::move(method);
  if (origin) head.headers.Add("origin", *origin);
  if (request_method) head.headers.Add("access-control-request-method", "PUT");
  return head;
}

TEST(CorsTest, ExactAndWildcardOriginsAreEchoed) {
  router::CorsRule rule = Rule({"https://app.example", "https://*.example.com"}, true);
  CorsDecision d = EvaluateCors(rule, Request("GET", "https://app.example"));
  EXPECT_TRUE(d.allowed);
  EXPECT_FALSE(d.preflight);
  EXPECT_EQ(d.allow_origin, "https://app.example");
  d = EvaluateCors(rule, Request("GET", "https://shop.example.com"));
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.allow_origin, "https://shop.example.com");
}

TEST(CorsTest, OtherOriginsAndNoOriginAreNotAllowed) {
  router::CorsRule rule = Rule({"https://*.example.com"}, true);
  for (std::optional<std::string> origin : std::vector<std::optional<std::string>>{
           std::nullopt, "https://example.com", "https://a.b.example.com", "http://a.example.com",
           "null", "https://a.example.com/", "garbage"}) {
    EXPECT_FALSE(EvaluateCors(rule, Request("GET", origin)).allowed) << origin.value_or("(none)");
  }
}

TEST(CorsTest, StarWithoutCredentialsSaysStar) {
  router::CorsRule rule = Rule({"*"}, false);
  CorsDecision d = EvaluateCors(rule, Request("GET", "https://anyone.example"));
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.allow_origin, "*");
  EXPECT_TRUE(EvaluateCors(rule, Request("GET", "null")).allowed);
}

TEST(CorsTest, StarWithCredentialsEchoesTheOriginButNeverNull) {
  router::CorsRule rule = Rule({"*"}, true);
  CorsDecision d = EvaluateCors(rule, Request("GET", "https://anyone.example"));
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.allow_origin, "https://anyone.example");
  EXPECT_FALSE(EvaluateCors(rule, Request("GET", "null")).allowed);
}

TEST(CorsTest, PreflightNeedsOptionsOriginAndRequestMethod) {
  router::CorsRule rule = Rule({"https://app.example"}, true);
  EXPECT_TRUE(EvaluateCors(rule, Request("OPTIONS", "https://app.example", true)).preflight);
  EXPECT_FALSE(EvaluateCors(rule, Request("OPTIONS", "https://app.example")).preflight);
  EXPECT_FALSE(EvaluateCors(rule, Request("GET", "https://app.example", true)).preflight);
  EXPECT_FALSE(EvaluateCors(rule, Request("OPTIONS", std::nullopt, true)).preflight);
}

TEST(CorsTest, PreflightAnswerHeaders) {
  router::CorsRule rule = Rule({"https://app.example"}, true);
  CorsDecision d = EvaluateCors(rule, Request("OPTIONS", "https://app.example", true));
  http::HeaderMap headers;
  for (auto& h : CorsPreflightHeaders(rule, d)) headers.Add(h.name, h.value);
  EXPECT_THAT(headers.Get("access-control-allow-origin"),
              Optional(std::string_view("https://app.example")));
  EXPECT_THAT(headers.Get("access-control-allow-credentials"), Optional(std::string_view("true")));
  EXPECT_THAT(headers.Get("access-control-allow-methods"),
              Optional(std::string_view("GET, PUT, POST")));
  EXPECT_THAT(headers.Get("access-control-allow-headers"),
              Optional(std::string_view("Content-Type, Authorization")));
  EXPECT_THAT(headers.Get("access-control-max-age"), Optional(std::string_view("600")));
  EXPECT_THAT(headers.Get("vary"), Optional(std::string_view("Origin")));
}

TEST(CorsTest, ResponseGetsTheRulesHeadersInsteadOfTheUpstreams) {
  router::CorsRule rule = Rule({"https://app.example"}, true);
  http::HeaderMap headers;
  headers.Add("access-control-allow-origin", "*");
  headers.Add("access-control-max-age", "5");
  headers.Add("vary", "Accept-Encoding");
  ApplyCorsResponse(rule, EvaluateCors(rule, Request("GET", "https://app.example")), headers);
  EXPECT_THAT(headers.GetJoined("access-control-allow-origin"),
              Optional(std::string("https://app.example")));
  EXPECT_THAT(headers.Get("access-control-allow-credentials"), Optional(std::string_view("true")));
  EXPECT_THAT(headers.Get("access-control-expose-headers"), Optional(std::string_view("X-Total")));
  EXPECT_FALSE(headers.Has("access-control-max-age"));
  EXPECT_THAT(headers.GetJoined("vary"), Optional(std::string("Accept-Encoding, Origin")));
}

TEST(CorsTest, NotAllowedResponseHasNoCorsHeadersButVaries) {
  router::CorsRule rule = Rule({"https://app.example"}, true);
  http::HeaderMap headers;
  headers.Add("access-control-allow-origin", "https://evil.example");
  headers.Add("vary", "origin");
  ApplyCorsResponse(rule, EvaluateCors(rule, Request("GET", "https://evil.example")), headers);
  EXPECT_FALSE(headers.Has("access-control-allow-origin"));
  EXPECT_FALSE(headers.Has("access-control-allow-credentials"));
  EXPECT_THAT(headers.GetJoined("vary"), Optional(std::string("origin")));  // not twice
}

}  // namespace
}  // namespace portico::dataplane::policy
