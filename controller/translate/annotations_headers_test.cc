// Header annotations: CORS defaults and validation, the request-headers /
// response-headers grammar, custom-headers' ConfigMap lookup.
#include "controller/translate/annotations_headers.h"

#include <map>
#include <string>
#include <vector>

#include "controller/translate/annotations.h"
#include "controller/translate/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace portico::controller::translate {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::vector<std::string> Strings(const google::protobuf::RepeatedPtrField<std::string>& items) {
  return {items.begin(), items.end()};
}

TEST(CorsAnnotationsTest, IngressNginxDefaults) {
  std::vector<Diagnostic> diagnostics;
  auto parsed = testing::ParseIngressAnnotations(
      {{"nginx.ingress.kubernetes.io/enable-cors", "true"}}, &diagnostics);
  EXPECT_TRUE(diagnostics.empty());
  ASSERT_TRUE(parsed.route_policy.has_cors());
  const v1::Cors& cors = parsed.route_policy.cors();
  EXPECT_THAT(Strings(cors.allow_origins()), ElementsAre("*"));
  EXPECT_THAT(Strings(cors.allow_methods()),
              ElementsAre("GET", "PUT", "POST", "DELETE", "PATCH", "OPTIONS"));
  EXPECT_THAT(
      Strings(cors.allow_headers()),
      ElementsAre("DNT", "Keep-Alive", "User-Agent", "X-Requested-With", "If-Modified-Since",
                  "Cache-Control", "Content-Type", "Range", "Authorization"));
  EXPECT_TRUE(cors.expose_headers().empty());
  EXPECT_TRUE(cors.allow_credentials());
  EXPECT_EQ(cors.max_age_seconds(), 1728000u);
}

TEST(CorsAnnotationsTest, Values) {
  std::vector<Diagnostic> diagnostics;
  auto parsed = testing::ParseIngressAnnotations(
      {{"portico.dev/enable-cors", "true"},
       {"portico.dev/cors-allow-origin",
        "https://App.Example:443, https://*.example.com, http://localhost:3000"},
       {"nginx.ingress.kubernetes.io/cors-allow-methods", "GET,POST"},
       {"portico.dev/cors-allow-headers", "X-Custom, Content-Type"},
       {"portico.dev/cors-expose-headers", "X-Total-Count"},
       {"portico.dev/cors-allow-credentials", "false"},
       {"portico.dev/cors-max-age", "600"}},
      &diagnostics);
  EXPECT_TRUE(diagnostics.empty());
  const v1::Cors& cors = parsed.route_policy.cors();
  EXPECT_THAT(Strings(cors.allow_origins()),
              ElementsAre("https://app.example", "https://*.example.com", "http://localhost:3000"));
  EXPECT_THAT(Strings(cors.allow_methods()), ElementsAre("GET", "POST"));
  EXPECT_THAT(Strings(cors.allow_headers()), ElementsAre("X-Custom", "Content-Type"));
  EXPECT_THAT(Strings(cors.expose_headers()), ElementsAre("X-Total-Count"));
  EXPECT_FALSE(cors.allow_credentials());
  EXPECT_EQ(cors.max_age_seconds(), 600u);
}

TEST(CorsAnnotationsTest, AnInvalidValueDisablesCors) {
  for (auto [name, value] : std::vector<std::pair<std::string, std::string>>{
           {"cors-allow-origin", "https://ok.example, https://bad.example/path"},
           {"cors-allow-origin", "*.example.com"},
           {"cors-allow-origin", "https://a.example\r\nX-Evil: 1"},
           {"cors-allow-origin", ""},
           {"cors-allow-methods", "GET;POST"},
           {"cors-allow-headers", "X-A, X(B)"},
           {"cors-expose-headers", "X A"},
           {"cors-allow-credentials", "yes"},
           {"cors-max-age", "-1"}}) {
    std::vector<Diagnostic> diagnostics;
    auto parsed = testing::ParseIngressAnnotations(
        {{"portico.dev/enable-cors", "true"}, {"portico.dev/" + name, value}}, &diagnostics);
    EXPECT_FALSE(parsed.route_policy.has_cors()) << name << "=" << value;
    ASSERT_EQ(diagnostics.size(), 1u) << name;
    EXPECT_EQ(diagnostics[0].reason, "InvalidAnnotation");
    EXPECT_THAT(diagnostics[0].message, HasSubstr("CORS is disabled"));
  }
}

TEST(CorsAnnotationsTest, OptionsWithoutEnableCorsAreReported) {
  std::vector<Diagnostic> diagnostics;
  auto parsed = testing::ParseIngressAnnotations(
      {{"portico.dev/cors-allow-origin", "https://a.example"}}, &diagnostics);
  EXPECT_FALSE(parsed.route_policy.has_cors());
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_EQ(diagnostics[0].reason, "IgnoredAnnotation");
}

TEST(HeaderRewriteTest, Grammar) {
  absl::StatusOr<v1::HeaderRewrite> parsed = ParseHeaderRewrite(
      "set X-Env: prod\n"
      "  add   Cache-Control:   no-store  \n"
      "\n"
      "remove X-Debug\r\n"
      "set X-Empty:\n"
      "set X-Colon: a:b");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->ops_size(), 5);
  EXPECT_EQ(parsed->ops(0).kind(), v1::HeaderOp::KIND_SET);
  EXPECT_EQ(parsed->ops(0).name(), "x-env");
  EXPECT_EQ(parsed->ops(0).value(), "prod");
  EXPECT_EQ(parsed->ops(1).kind(), v1::HeaderOp::KIND_ADD);
  EXPECT_EQ(parsed->ops(1).name(), "cache-control");
  EXPECT_EQ(parsed->ops(1).value(), "no-store");
  EXPECT_EQ(parsed->ops(2).kind(), v1::HeaderOp::KIND_REMOVE);
  EXPECT_EQ(parsed->ops(2).name(), "x-debug");
  EXPECT_EQ(parsed->ops(3).value(), "");
  EXPECT_EQ(parsed->ops(4).value(), "a:b");
}

TEST(HeaderRewriteTest, RefusesBadLines) {
  for (const char* bad :
       {"set X-A", "Set X-A: 1", "append X-A: 1", "remove", "remove X-A extra", "set : v",
        "set X A: v", "set X-A : v", "set Host: evil", "remove content-length",
        "set Transfer-Encoding: chunked", "add Connection: close", "set :path: /x",
        "set Upgrade: h2c", "set TE: trailers", "set Keep-Alive: 1", "set X-A: a\x01b"}) {
    EXPECT_FALSE(ParseHeaderRewrite(bad).ok()) << bad;
  }
  absl::StatusOr<v1::HeaderRewrite> second = ParseHeaderRewrite("set X-A: 1\nfrobnicate X-B");
  ASSERT_FALSE(second.ok());
  EXPECT_THAT(std::string(second.status().message()), HasSubstr("line 2"));
  std::string many;
  for (int i = 0; i < 65; ++i) many += "add X-A: 1\n";
  EXPECT_FALSE(ParseHeaderRewrite(many).ok());
}

TEST(HeaderRewriteTest, OneBadAnnotationDisablesOnlyItself) {
  std::vector<Diagnostic> diagnostics;
  auto parsed = testing::ParseIngressAnnotations(
      {{"portico.dev/request-headers", "set X-Tenant: blue\nset Host: other"},
       {"portico.dev/response-headers", "set X-Frame-Options: DENY"}},
      &diagnostics);
  ASSERT_EQ(diagnostics.size(), 1u);
  EXPECT_THAT(diagnostics[0].message, HasSubstr("portico.dev/request-headers"));
  EXPECT_THAT(diagnostics[0].message, HasSubstr("line 2"));
  EXPECT_FALSE(parsed.route_policy.has_request_headers());
  ASSERT_EQ(parsed.route_policy.response_headers().ops_size(), 1);
  EXPECT_EQ(parsed.route_policy.response_headers().ops(0).name(), "x-frame-options");
}

TEST(HeaderRewriteTest, NoNginxAlias) {
  std::vector<Diagnostic> diagnostics;
  auto parsed = testing::ParseIngressAnnotations(
      {{"nginx.ingress.kubernetes.io/response-headers", "set X-A: 1"}}, &diagnostics);
  EXPECT_FALSE(parsed.route_policy.has_response_headers());
}

ConfigMap Map(std::string ns, std::string name, std::map<std::string, std::string> data) {
  ConfigMap c;
  c.meta = testing::Meta(std::move(ns), std::move(name));
  c.data = std::move(data);
  return c;
}

TEST(CustomHeadersTest, SetsTheConfigMapsHeadersBeforeResponseHeaders) {
  Ingress ingress = testing::MakeIngress("web", "web.example.com", {});
  ingress.meta.annotations["nginx.ingress.kubernetes.io/custom-headers"] = "default/security";
  std::vector<ConfigMap> maps = {
      Map("other", "security", {{"X-Other", "no"}}),
      Map("default", "security",
          {{"X-Frame-Options", "DENY"}, {"Referrer-Policy", " no-referrer "}})};
  v1::Route policy;
  policy.mutable_response_headers()->add_ops()->set_name("x-own");
  std::vector<Diagnostic> diagnostics;
  DiagnosticSink sink(&diagnostics);
  ResolveCustomHeaders(ingress, maps, policy, sink);
  EXPECT_TRUE(diagnostics.empty());
  ASSERT_EQ(policy.response_headers().ops_size(), 3);
  EXPECT_EQ(policy.response_headers().ops(0).name(), "referrer-policy");
  EXPECT_EQ(policy.response_headers().ops(0).value(), "no-referrer");
  EXPECT_EQ(policy.response_headers().ops(0).kind(), v1::HeaderOp::KIND_SET);
  EXPECT_EQ(policy.response_headers().ops(1).name(), "x-frame-options");
  EXPECT_EQ(policy.response_headers().ops(2).name(), "x-own");
  // A bare name means the Ingress's namespace too.
  ingress.meta.annotations["nginx.ingress.kubernetes.io/custom-headers"] = "security";
  v1::Route bare;
  ResolveCustomHeaders(ingress, maps, bare, sink);
  EXPECT_EQ(bare.response_headers().ops_size(), 2);
}

TEST(CustomHeadersTest, ProblemsAreReportedAndIgnored) {
  std::vector<ConfigMap> maps = {Map("default", "bad-key", {{"Content-Length", "1"}}),
                                 Map("default", "bad-value", {{"X-A", "a\nb"}}),
                                 Map("other", "elsewhere", {{"X-A", "1"}})};
  for (const char* value : {"other/elsewhere", "missing", "bad-key", "bad-value", "a/b/c", ""}) {
    Ingress ingress = testing::MakeIngress("web", "web.example.com", {});
    ingress.meta.annotations["nginx.ingress.kubernetes.io/custom-headers"] = value;
    v1::Route policy;
    std::vector<Diagnostic> diagnostics;
    DiagnosticSink sink(&diagnostics);
    ResolveCustomHeaders(ingress, maps, policy, sink);
    EXPECT_FALSE(policy.has_response_headers()) << value;
    ASSERT_EQ(diagnostics.size(), 1u) << value;
    EXPECT_EQ(diagnostics[0].reason, "InvalidAnnotation");
  }
}

}  // namespace
}  // namespace portico::controller::translate
