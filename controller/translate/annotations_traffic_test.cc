// pol-traffic annotations: hash keys in nginx variable syntax, compression
// choices, and the typed fields each annotation sets (or reports).
#include "controller/translate/annotations_traffic.h"

#include <map>
#include <string>
#include <vector>

#include "controller/translate/annotations.h"
#include "controller/translate/test_util.h"
#include "gtest/gtest.h"

namespace portico::controller::translate {
namespace {

TEST(HashByTest, AcceptsTheFourForms) {
  auto ip = ParseHashBy("$remote_addr");
  ASSERT_TRUE(ip);
  EXPECT_EQ(ip->source(), v1::HashPolicy::SOURCE_CLIENT_IP);
  EXPECT_EQ(ParseHashBy("${binary_remote_addr}")->source(), v1::HashPolicy::SOURCE_CLIENT_IP);
  EXPECT_EQ(ParseHashBy("$request_uri")->source(), v1::HashPolicy::SOURCE_REQUEST_URI);
  auto header = ParseHashBy("$http_x_User_Id");
  ASSERT_TRUE(header);
  EXPECT_EQ(header->source(), v1::HashPolicy::SOURCE_HEADER);
  EXPECT_EQ(header->name(), "x-user-id");
  auto cookie = ParseHashBy("$cookie_session_ID");
  ASSERT_TRUE(cookie);
  EXPECT_EQ(cookie->source(), v1::HashPolicy::SOURCE_COOKIE);
  EXPECT_EQ(cookie->name(), "session_ID");
}

TEST(HashByTest, RejectsEverythingElse) {
  for (const char* bad : {"", "$", "remote_addr", "$host", "$remote_addr$request_uri",
                          "$request_uri ", "prefix$remote_addr", "$http_", "$cookie_",
                          "${remote_addr", "$http_x;y", "$cookie_a=b", "$args", "$http_x\nfoo"}) {
    EXPECT_FALSE(ParseHashBy(bad)) << bad;
  }
}

TEST(CompressionOverrideTest, Values) {
  auto on = ParseCompressionOverride("on");
  ASSERT_TRUE(on);
  EXPECT_TRUE(on->gzip() && on->brotli());
  auto off = ParseCompressionOverride("off");
  ASSERT_TRUE(off);
  EXPECT_FALSE(off->gzip() || off->brotli());
  auto gzip = ParseCompressionOverride("gzip");
  EXPECT_TRUE(gzip->gzip() && !gzip->brotli());
  auto br = ParseCompressionOverride("br");
  EXPECT_TRUE(!br->gzip() && br->brotli());
  auto both = ParseCompressionOverride("gzip, br");
  EXPECT_TRUE(both->gzip() && both->brotli());
  for (const char* bad : {"", "zstd", "gzip,", ",", "yes", "gzip;br"}) {
    EXPECT_FALSE(ParseCompressionOverride(bad)) << bad;
  }
}

TEST(TrafficAnnotationsTest, AffinityDefaultsAndValues) {
  std::vector<Diagnostic> diagnostics;
  auto parsed = testing::ParseIngressAnnotations(
      {{"nginx.ingress.kubernetes.io/affinity", "cookie"},
       {"nginx.ingress.kubernetes.io/session-cookie-samesite", "lax"},
       {"nginx.ingress.kubernetes.io/session-cookie-max-age", "3600"},
       {"portico.dev/affinity-mode", "persistent"}},
      &diagnostics);
  EXPECT_TRUE(diagnostics.empty());
  const v1::SessionAffinity& a = parsed.cluster_policy.affinity();
  EXPECT_EQ(a.cookie_name(), "INGRESSCOOKIE");
  EXPECT_EQ(a.samesite(), "Lax");
  EXPECT_EQ(a.max_age_seconds(), 3600u);
  EXPECT_EQ(a.mode(), v1::SessionAffinity::MODE_PERSISTENT);
}

TEST(TrafficAnnotationsTest, BadValuesAreReportedAndIgnored) {
  std::vector<Diagnostic> diagnostics;
  auto parsed = testing::ParseIngressAnnotations({{"portico.dev/affinity", "ip"},
                                                  {"portico.dev/load-balance", "ip_hash"},
                                                  {"portico.dev/upstream-hash-by", "$host"},
                                                  {"portico.dev/compression", "zstd"}},
                                                 &diagnostics);
  EXPECT_EQ(diagnostics.size(), 4u);
  EXPECT_FALSE(parsed.cluster_policy.has_affinity());
  EXPECT_FALSE(parsed.cluster_policy.has_hash_policy());
  EXPECT_EQ(parsed.cluster_policy.lb_policy(), v1::Cluster::LB_POLICY_UNSPECIFIED);
  EXPECT_FALSE(parsed.route_policy.has_compression());
  EXPECT_EQ(parsed.cluster_policy.ByteSizeLong(), 0u);  // shared cluster kept
}

TEST(TrafficAnnotationsTest, CanaryRules) {
  std::vector<Diagnostic> diagnostics;
  auto parsed = testing::ParseIngressAnnotations(
      {{"nginx.ingress.kubernetes.io/canary", "true"},
       {"nginx.ingress.kubernetes.io/canary-weight", "30"},
       {"nginx.ingress.kubernetes.io/canary-by-header", "X-Canary"},
       {"nginx.ingress.kubernetes.io/canary-by-header-pattern", "^(beta|rc)$"},
       {"nginx.ingress.kubernetes.io/canary-by-cookie", "canary"}},
      &diagnostics);
  EXPECT_TRUE(diagnostics.empty());
  ASSERT_TRUE(parsed.traffic.is_canary);
  ASSERT_TRUE(parsed.traffic.canary);
  EXPECT_EQ(parsed.traffic.canary->weight(), 30u);
  EXPECT_EQ(parsed.traffic.canary->header(), "x-canary");
  EXPECT_EQ(parsed.traffic.canary->header_pattern(), "^(beta|rc)$");
  EXPECT_EQ(parsed.traffic.canary->cookie(), "canary");
}

TEST(TrafficAnnotationsTest, InvalidCanaryRuleDisablesTheCanary) {
  for (auto [name, value] :
       std::vector<std::pair<std::string, std::string>>{{"canary-weight", "101"},
                                                        {"canary-weight", "-1"},
                                                        {"canary-by-header-pattern", "(unclosed"},
                                                        {"canary-by-header", "bad header"},
                                                        {"canary-by-cookie", "a;b"},
                                                        {"canary-weight-total", "0"}}) {
    std::vector<Diagnostic> diagnostics;
    std::map<std::string, std::string> a = {{"portico.dev/canary", "true"},
                                            {"portico.dev/canary-by-header", "x-canary"}};
    a["portico.dev/" + name] = value;
    auto parsed = testing::ParseIngressAnnotations(a, &diagnostics);
    EXPECT_TRUE(parsed.traffic.is_canary) << name;
    EXPECT_FALSE(parsed.traffic.canary) << name << "=" << value;
    EXPECT_EQ(diagnostics.size(), 1u) << name;
  }
}

}  // namespace
}  // namespace portico::controller::translate
