#include "dataplane/policy/ext_auth.h"

#include "gtest/gtest.h"

namespace portico::dataplane::policy {
namespace {

using std::chrono::seconds;

net::IpAddress Ip(std::string_view text) { return *net::IpAddress::Parse(text); }

router::ExternalAuthRule Rule() {
  router::ExternalAuthRule rule;
  rule.cluster = "auth";
  rule.host = "auth.example:9000";
  rule.path = "/verify?x=1";
  return rule;
}

const OriginalRequest kOriginal{"POST", "https", "app.example", "/a b?q=1&r=2"};

TEST(ExtAuthTest, ClassifiesLikeAuthRequest) {
  EXPECT_EQ(ClassifyAuthStatus(200), AuthVerdict::kAllow);
  EXPECT_EQ(ClassifyAuthStatus(204), AuthVerdict::kAllow);
  EXPECT_EQ(ClassifyAuthStatus(401), AuthVerdict::kUnauthorized);
  EXPECT_EQ(ClassifyAuthStatus(403), AuthVerdict::kForbidden);
  EXPECT_EQ(ClassifyAuthStatus(302), AuthVerdict::kError);
  EXPECT_EQ(ClassifyAuthStatus(404), AuthVerdict::kError);
  EXPECT_EQ(ClassifyAuthStatus(0), AuthVerdict::kError);
}

TEST(ExtAuthTest, SubrequestCarriesOriginalAndNoBody) {
  http::HeaderMap client;
  client.Add("host", "app.example");
  client.Add("authorization", "Bearer t");
  client.Add("content-length", "42");
  client.Add("transfer-encoding", "chunked");
  client.Add("connection", "keep-alive");
  client.Add("x-original-url", "http://spoofed/");
  http::RequestHead head = BuildAuthRequest(Rule(), kOriginal, client);
  EXPECT_EQ(head.method, "GET");
  EXPECT_EQ(head.path, "/verify?x=1");
  EXPECT_EQ(head.authority, "auth.example:9000");
  EXPECT_FALSE(head.has_body);
  EXPECT_EQ(head.content_length, 0u);
  EXPECT_EQ(head.headers.Get("host"), "auth.example:9000");
  EXPECT_EQ(head.headers.Get("authorization"), "Bearer t");
  EXPECT_FALSE(head.headers.Has("content-length"));
  EXPECT_FALSE(head.headers.Has("transfer-encoding"));
  EXPECT_FALSE(head.headers.Has("connection"));
  EXPECT_EQ(head.headers.GetJoined("x-original-url"), "https://app.example/a b?q=1&r=2");
  EXPECT_EQ(head.headers.Get("x-original-method"), "POST");
  EXPECT_EQ(head.headers.Get("x-auth-request-redirect"), "/a b?q=1&r=2");
  router::ExternalAuthRule rule = Rule();
  rule.method = "POST";
  rule.request_redirect = "https://login.example/";
  head = BuildAuthRequest(rule, kOriginal, client);
  EXPECT_EQ(head.method, "POST");
  EXPECT_EQ(head.headers.Get("x-auth-request-redirect"), "https://login.example/");
}

TEST(ExtAuthTest, ResponseHeadersReplaceClientOnes) {
  router::ExternalAuthRule rule = Rule();
  rule.response_headers = {"x-user", "x-groups"};
  http::HeaderMap response;
  response.Add("x-user", "alice");
  response.Add("x-other", "no");
  std::vector<http::Header> copied = AuthResponseHeaders(rule, response);
  ASSERT_EQ(copied.size(), 1u);
  http::HeaderMap upstream;
  upstream.Add("x-user", "mallory");
  upstream.Add("x-groups", "admin");
  ApplyAuthResponseHeaders(rule, copied, upstream);
  EXPECT_EQ(upstream.GetJoined("x-user"), "alice");
  EXPECT_FALSE(upstream.Has("x-groups"));  // the auth service sent none
  EXPECT_FALSE(upstream.Has("x-other"));
}

TEST(ExtAuthTest, SigninExpandsNginxVariables) {
  EXPECT_EQ(EscapeUriComponent("/a b?q=1&r=~"), "%2Fa%20b%3Fq%3D1%26r%3D~");
  const OriginalRequest original{"GET", "https", "App.Example:8443", "/p?q=1"};
  EXPECT_EQ(
      SigninLocation("https://login.example/start?rd=$scheme://$http_host$escaped_request_uri",
                     original),
      "https://login.example/start?rd=https://App.Example:8443%2Fp%3Fq%3D1");
  EXPECT_EQ(SigninLocation("https://$host/oauth2/start?rd=${request_uri}", original),
            "https://app.example/oauth2/start?rd=/p?q=1");
  EXPECT_EQ(SigninLocation("https://login.example/$hostname", original),
            "https://login.example/$hostname");
}

TEST(ExtAuthTest, CacheKeyFromParts) {
  router::ExternalAuthRule rule = Rule();
  http::RequestHead head;
  head.authority = "app.example";
  head.path = "/x?y";
  head.headers.Add("authorization", "Bearer t");
  head.headers.Add("cookie", "a=1; session=s1");
  EXPECT_FALSE(AuthCacheKey(rule, "r", head, head.path, Ip("10.0.0.1")));  // no key: no caching
  rule.cache_key = {{router::AuthKeyPart::Source::kHeader, "authorization"},
                    {router::AuthKeyPart::Source::kCookie, "session"},
                    {router::AuthKeyPart::Source::kClientIp, ""},
                    {router::AuthKeyPart::Source::kRequestUri, ""},
                    {router::AuthKeyPart::Source::kHeader, "host"}};
  EXPECT_FALSE(
      AuthCacheKey(rule, "r", head, head.path, Ip("10.0.0.1")));  // no duration: no caching
  rule.cache_duration = seconds(60);
  EXPECT_EQ(AuthCacheKey(rule, "r", head, head.path, Ip("10.0.0.1")),
            "1:r8:Bearer t2:s18:10.0.0.14:/x?y11:app.example");
  EXPECT_NE(AuthCacheKey(rule, "other", head, head.path, Ip("10.0.0.1")),
            AuthCacheKey(rule, "r", head, head.path, Ip("10.0.0.1")));
}

TEST(ExtAuthTest, CacheExpiresAndEvictsLeastRecentlyUsed) {
  AuthCache cache(2);
  const auto now = AuthCache::Clock::now();
  cache.Insert("a", {{"x-user", "alice"}}, now + seconds(10));
  cache.Insert("b", {}, now + seconds(10));
  ASSERT_NE(cache.Find("a", now), nullptr);  // a is now the most recent
  EXPECT_EQ((*cache.Find("a", now))[0].value, "alice");
  cache.Insert("c", {}, now + seconds(10));  // evicts b
  EXPECT_EQ(cache.Find("b", now), nullptr);
  EXPECT_NE(cache.Find("c", now), nullptr);
  EXPECT_EQ(cache.Find("a", now + seconds(10)), nullptr);  // expired
  EXPECT_EQ(cache.size(), 1u);
}

}  // namespace
}  // namespace portico::dataplane::policy
