// Upstream behaviour annotations: body size, timeouts and retry policy, their
// bad values, and how an Ingress's values lie over the ConfigMap's defaults.
#include "controller/translate/annotations_upstream.h"

#include <map>
#include <string>
#include <vector>

#include "controller/translate/annotations.h"
#include "controller/translate/settings.h"
#include "controller/translate/test_util.h"
#include "gtest/gtest.h"

namespace portico::controller::translate {
namespace {

using C = v1::RetryPolicy;

std::vector<int> Conditions(const v1::RetryPolicy& p) {
  return std::vector<int>(p.conditions().begin(), p.conditions().end());
}

TEST(NextUpstreamTest, Conditions) {
  auto p = ParseNextUpstream("error timeout http_502  http_502\tnon_idempotent");
  ASSERT_TRUE(p);
  EXPECT_FALSE(p->off());
  EXPECT_EQ(Conditions(*p), (std::vector<int>{C::CONDITION_ERROR, C::CONDITION_TIMEOUT,
                                              C::CONDITION_HTTP_502, C::CONDITION_NON_IDEMPOTENT}));
  auto all =
      ParseNextUpstream("invalid_header http_500 http_503 http_504 http_403 http_404 http_429");
  ASSERT_TRUE(all);
  EXPECT_EQ(all->conditions_size(), 7);
  auto off = ParseNextUpstream("off");
  ASSERT_TRUE(off);
  EXPECT_TRUE(off->off());
  EXPECT_EQ(off->conditions_size(), 0);
  for (const char* bad :
       {"", " ", "off error", "error,timeout", "http_501", "ERROR", "updating", "error\ntimeout"}) {
    EXPECT_FALSE(ParseNextUpstream(bad)) << bad;
  }
}

TEST(UpstreamAnnotationsTest, ValuesBecomeTypedFields) {
  std::vector<Diagnostic> diagnostics;
  auto parsed = testing::ParseIngressAnnotations(
      {{"nginx.ingress.kubernetes.io/proxy-body-size", "8m"},
       {"nginx.ingress.kubernetes.io/proxy-connect-timeout", "3"},
       {"portico.dev/proxy-send-timeout", "1500ms"},
       {"nginx.ingress.kubernetes.io/proxy-read-timeout", "120"},
       {"nginx.ingress.kubernetes.io/proxy-next-upstream", "error http_502"},
       {"nginx.ingress.kubernetes.io/proxy-next-upstream-tries", "2"},
       {"nginx.ingress.kubernetes.io/proxy-next-upstream-timeout", "10"}},
      &diagnostics);
  EXPECT_TRUE(diagnostics.empty()) << diagnostics[0].message;
  ASSERT_TRUE(parsed.route_policy.has_max_request_body_bytes());
  EXPECT_EQ(parsed.route_policy.max_request_body_bytes(), 8u << 20);
  const v1::Cluster& c = parsed.cluster_policy;
  EXPECT_EQ(c.connect_timeout().seconds(), 3);
  EXPECT_EQ(c.send_timeout().seconds(), 1);
  EXPECT_EQ(c.send_timeout().nanos(), 500000000);
  EXPECT_EQ(c.response_timeout().seconds(), 120);
  EXPECT_EQ(Conditions(c.retry()), (std::vector<int>{C::CONDITION_ERROR, C::CONDITION_HTTP_502}));
  EXPECT_EQ(c.retry().tries(), 2u);
  EXPECT_EQ(c.retry().timeout().seconds(), 10);
}

TEST(UpstreamAnnotationsTest, ZeroBodySizeIsUnlimitedAndZeroTriesUnlimited) {
  std::vector<Diagnostic> diagnostics;
  auto parsed = testing::ParseIngressAnnotations({{"portico.dev/proxy-body-size", "0"},
                                                  {"portico.dev/proxy-next-upstream-tries", "0"},
                                                  {"portico.dev/proxy-next-upstream-timeout", "0"}},
                                                 &diagnostics);
  EXPECT_TRUE(diagnostics.empty());
  ASSERT_TRUE(parsed.route_policy.has_max_request_body_bytes());
  EXPECT_EQ(parsed.route_policy.max_request_body_bytes(), 0u);
  EXPECT_EQ(parsed.cluster_policy.retry().tries(), 100u);
  EXPECT_TRUE(parsed.cluster_policy.retry().has_timeout());
  EXPECT_EQ(parsed.cluster_policy.retry().conditions_size(), 0);  // the defaults
}

TEST(UpstreamAnnotationsTest, BadValuesAreReportedAndIgnored) {
  std::vector<Diagnostic> diagnostics;
  auto parsed =
      testing::ParseIngressAnnotations({{"portico.dev/proxy-body-size", "1.5m"},
                                        {"portico.dev/proxy-connect-timeout", "0"},
                                        {"portico.dev/proxy-send-timeout", "-1"},
                                        {"portico.dev/proxy-read-timeout", "soon"},
                                        {"portico.dev/proxy-next-upstream", "off error"},
                                        {"portico.dev/proxy-next-upstream-tries", "101"},
                                        {"portico.dev/proxy-next-upstream-timeout", "5 s"}},
                                       &diagnostics);
  EXPECT_EQ(diagnostics.size(), 7u);
  EXPECT_FALSE(parsed.route_policy.has_max_request_body_bytes());
  EXPECT_EQ(parsed.cluster_policy.ByteSizeLong(), 0u);  // shared cluster kept
}

TEST(MergeClusterDefaultsTest, IngressValuesOverrideFieldByField) {
  v1::Cluster defaults;
  defaults.mutable_response_timeout()->set_seconds(60);
  defaults.mutable_connect_timeout()->set_seconds(5);
  defaults.mutable_retry()->add_conditions(C::CONDITION_HTTP_503);
  defaults.mutable_retry()->set_tries(5);
  v1::Cluster policy;
  policy.mutable_response_timeout()->set_nanos(500000000);  // 0.5s, not 60.5s
  policy.mutable_retry()->set_tries(2);
  policy.set_lb_policy(v1::Cluster::LB_POLICY_RANDOM);
  v1::Cluster merged = MergeClusterDefaults(defaults, policy);
  EXPECT_EQ(merged.response_timeout().seconds(), 0);
  EXPECT_EQ(merged.response_timeout().nanos(), 500000000);
  EXPECT_EQ(merged.connect_timeout().seconds(), 5);
  EXPECT_EQ(Conditions(merged.retry()), (std::vector<int>{C::CONDITION_HTTP_503}));
  EXPECT_EQ(merged.retry().tries(), 2u);
  EXPECT_EQ(merged.lb_policy(), v1::Cluster::LB_POLICY_RANDOM);

  v1::Cluster off;
  off.mutable_retry()->set_off(true);
  merged = MergeClusterDefaults(defaults, off);
  EXPECT_TRUE(merged.retry().off());
  EXPECT_EQ(merged.retry().conditions_size(), 0);
  EXPECT_EQ(merged.retry().tries(), 5u);
  EXPECT_FALSE(MergeClusterDefaults(v1::Cluster(), v1::Cluster()).has_retry());
}

TEST(UpstreamSettingsTest, ConfigMapKeysAreClusterDefaults) {
  ConfigMap cm;
  cm.meta = testing::Meta("portico", "settings");
  cm.data = {{"proxy-connect-timeout", "2"},     {"proxy-send-timeout", "30s"},
             {"proxy-read-timeout", "1m30s"},    {"proxy-next-upstream", "error timeout http_503"},
             {"proxy-next-upstream-tries", "4"}, {"proxy-next-upstream-timeout", "0"}};
  std::vector<Diagnostic> diagnostics;
  DiagnosticSink sink(&diagnostics);
  Settings s = ParseSettings(cm, sink);
  EXPECT_TRUE(diagnostics.empty());
  const v1::Cluster& c = s.cluster_defaults;
  EXPECT_EQ(c.connect_timeout().seconds(), 2);
  EXPECT_EQ(c.send_timeout().seconds(), 30);
  EXPECT_EQ(c.response_timeout().seconds(), 90);
  EXPECT_EQ(c.retry().conditions_size(), 3);
  EXPECT_EQ(c.retry().tries(), 4u);
  EXPECT_TRUE(c.retry().has_timeout());

  cm.data = {{"proxy-read-timeout", "0"},
             {"proxy-next-upstream", "sometimes"},
             {"proxy-next-upstream-tries", "-1"}};
  diagnostics.clear();
  s = ParseSettings(cm, sink);
  EXPECT_EQ(diagnostics.size(), 3u);
  EXPECT_EQ(s.cluster_defaults.ByteSizeLong(), 0u);
}

}  // namespace
}  // namespace portico::controller::translate
