// External auth annotations: the URL parser, which hosts are reachable, and
// what each invalid value does (fail closed, or only no caching).
#include "controller/translate/annotations_ext_auth.h"

#include <map>
#include <string>
#include <vector>

#include "controller/translate/annotations.h"
#include "gtest/gtest.h"

namespace portico::controller::translate {
namespace {

TEST(AuthUrlTest, ParsesHttpAndHttps) {
  auto url = ParseAuthUrl("http://10.0.0.9:9000/verify?a=1&b=%20#frag");
  ASSERT_TRUE(url);
  EXPECT_FALSE(url->tls);
  EXPECT_EQ(url->host, "10.0.0.9");
  EXPECT_EQ(url->port, 9000u);
  EXPECT_EQ(url->target, "/verify?a=1&b=%20");
  url = ParseAuthUrl("HTTPS://Auth.NS.svc");
  ASSERT_TRUE(url);
  EXPECT_TRUE(url->tls);
  EXPECT_EQ(url->host, "auth.ns.svc");
  EXPECT_EQ(url->port, 443u);
  EXPECT_EQ(url->target, "/");
  url = ParseAuthUrl("http://[fd00::9]/a/b/");
  ASSERT_TRUE(url);
  EXPECT_EQ(url->host, "[fd00::9]");
  EXPECT_EQ(url->port, 80u);
  EXPECT_EQ(url->target, "/a/b/");
}

TEST(AuthUrlTest, RejectsTheRest) {
  for (const char* bad :
       {"", "/verify", "auth.ns:80/verify", "ftp://10.0.0.1/", "http://user:pw@10.0.0.1/",
        "http:///path", "http://10.0.0.1:0/", "http://10.0.0.1:65536/", "http://10.0.0.1/a b",
        "http://10.0.0.1/\r\nX: y", "http://[v1.x]/", "http://10.0.0.1:port/"}) {
    EXPECT_FALSE(ParseAuthUrl(bad)) << bad;
  }
}

TEST(AuthUrlTest, ServiceNames) {
  using Pair = std::pair<std::string, std::string>;
  EXPECT_EQ(ServiceFromHost("oauth.auth"), Pair("auth", "oauth"));
  EXPECT_EQ(ServiceFromHost("oauth.auth.svc"), Pair("auth", "oauth"));
  EXPECT_EQ(ServiceFromHost("oauth.auth.svc.cluster.local"), Pair("auth", "oauth"));
  EXPECT_EQ(ServiceFromHost("oauth.auth.svc.cluster.local."), Pair("auth", "oauth"));
  for (const char* other : {"oauth", "auth.example.org", "a.b.c", "oauth.auth.svc.cluster",
                            "-x.auth", "oauth.auth.svc.other.local", "o_a.auth"}) {
    EXPECT_FALSE(ServiceFromHost(other)) << other;
  }
}

struct Parsed {
  v1::Route route;
  std::optional<ExternalAuthTarget> target;
  std::vector<Diagnostic> diagnostics;
};

Parsed Parse(std::map<std::string, std::string> annotations) {
  Ingress ingress;
  ingress.meta.ns = "default";
  ingress.meta.name = "app";
  for (auto& [k, v] : annotations) ingress.meta.annotations[k] = v;
  Parsed out;
  DiagnosticSink sink(&out.diagnostics);
  AnnotationReader read(ingress, sink);
  out.target = ParseExternalAuth(read, out.route);
  read.ReportUnknown();
  return out;
}

constexpr char kUrl[] = "nginx.ingress.kubernetes.io/auth-url";

TEST(ExternalAuthAnnotationsTest, InvalidValuesFailClosed) {
  for (auto [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"portico.dev/auth-method", "FETCH"},
           {"portico.dev/auth-signin", "https://$server_name/"},
           {"portico.dev/auth-signin", "not a url"},
           {"portico.dev/auth-response-headers", "X-User, bad header"},
           {"portico.dev/auth-request-redirect", " lead"}}) {
    Parsed p = Parse({{kUrl, "http://10.0.0.9/"}, {key, value}});
    EXPECT_FALSE(p.target) << key << "=" << value;
    EXPECT_TRUE(p.route.external_auth().deny_all()) << key << "=" << value;
    ASSERT_EQ(p.diagnostics.size(), 1u) << key;
    EXPECT_EQ(p.diagnostics[0].reason, "InvalidAnnotation");
  }
}

TEST(ExternalAuthAnnotationsTest, CacheKnobs) {
  Parsed p = Parse({{kUrl, "http://10.0.0.9/"},
                    {"portico.dev/auth-cache-key", "${http_authorization}$cookie_s$host"},
                    {"portico.dev/auth-cache-duration", "401 1m, any 90s"}});
  ASSERT_TRUE(p.target);
  EXPECT_EQ(p.route.external_auth().cache_key_size(), 3);
  EXPECT_EQ(p.route.external_auth().cache_key(2).name(), "host");
  EXPECT_EQ(p.route.external_auth().cache_duration().seconds(), 90);
  EXPECT_TRUE(p.diagnostics.empty());
  // Only denials cached: nothing is.
  p = Parse({{kUrl, "http://10.0.0.9/"},
             {"portico.dev/auth-cache-key", "$remote_addr"},
             {"portico.dev/auth-cache-duration", "401 5m"}});
  EXPECT_EQ(p.route.external_auth().cache_key_size(), 0);
  for (auto [key, duration] :
       std::vector<std::pair<std::string, std::string>>{{"$remote_user", "5m"},
                                                        {"$http_x:", "5m"},
                                                        {"literal", "5m"},
                                                        {"$remote_addr", "200 soon"},
                                                        {"$remote_addr", "99 5m"}}) {
    p = Parse({{kUrl, "http://10.0.0.9/"},
               {"portico.dev/auth-cache-key", key},
               {"portico.dev/auth-cache-duration", duration}});
    ASSERT_TRUE(p.target) << key;  // auth stays on
    EXPECT_FALSE(p.route.external_auth().deny_all());
    EXPECT_EQ(p.route.external_auth().cache_key_size(), 0) << key << " " << duration;
    EXPECT_EQ(p.diagnostics.size(), 1u) << key << " " << duration;
  }
}

TEST(ExternalAuthAnnotationsTest, SigninGetsTheRedirectParameter) {
  Parsed p = Parse(
      {{kUrl, "http://auth.ns/"}, {"portico.dev/auth-signin", "https://login.example/start?x=1"}});
  ASSERT_TRUE(p.target);
  EXPECT_EQ(p.target->service, "auth");
  EXPECT_EQ(p.target->ns, "ns");
  EXPECT_EQ(p.route.external_auth().signin_url(),
            "https://login.example/start?x=1&rd=$pass_access_scheme://$http_host"
            "$escaped_request_uri");
  p = Parse({{kUrl, "http://auth.ns/"},
             {"portico.dev/auth-signin", "https://login.example/?next=$request_uri"},
             {"portico.dev/auth-signin-redirect-param", "next"}});
  EXPECT_EQ(p.route.external_auth().signin_url(), "https://login.example/?next=$request_uri");
}

}  // namespace
}  // namespace portico::controller::translate
