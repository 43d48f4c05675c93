#include "controller/translate/settings.h"

#include <string>

#include "controller/translate/test_util.h"
#include "controller/translate/translator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace portico::controller::translate {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Optional;

TEST(ParseNginxDurationTest, AcceptsNginxTimeSyntax) {
  EXPECT_THAT(ParseNginxDuration("60"), Optional(60000));
  EXPECT_THAT(ParseNginxDuration("60s"), Optional(60000));
  EXPECT_THAT(ParseNginxDuration("500ms"), Optional(500));
  EXPECT_THAT(ParseNginxDuration("5m"), Optional(300000));
  EXPECT_THAT(ParseNginxDuration("1h"), Optional(3600000));
  EXPECT_THAT(ParseNginxDuration("1d"), Optional(86400000));
  EXPECT_THAT(ParseNginxDuration("1m30s"), Optional(90000));
  EXPECT_THAT(ParseNginxDuration("0"), Optional(0));
}

TEST(ParseNginxDurationTest, RejectsEverythingElse) {
  for (const char* bad :
       {"", "s", "-1", "1.5s", "1x", "10 s", "30s1m", "1s1s", "99999999999999d", "1m 30s", "+5"}) {
    EXPECT_EQ(ParseNginxDuration(bad), std::nullopt) << bad;
  }
}

TEST(ParseNginxSizeTest, AcceptsNginxSizeSyntax) {
  EXPECT_THAT(ParseNginxSize("0"), Optional(0u));
  EXPECT_THAT(ParseNginxSize("1024"), Optional(1024u));
  EXPECT_THAT(ParseNginxSize("8k"), Optional(8192u));
  EXPECT_THAT(ParseNginxSize("1m"), Optional(1048576u));
  EXPECT_THAT(ParseNginxSize("1M"), Optional(1048576u));
  EXPECT_THAT(ParseNginxSize("2g"), Optional(2147483648u));
  for (const char* bad : {"", "m", "1.5m", "1mb", "-1", "1t", "99999999999999999999g"}) {
    EXPECT_EQ(ParseNginxSize(bad), std::nullopt) << bad;
  }
}

std::vector<std::string> Reasons(const std::vector<Diagnostic>& diagnostics) {
  std::vector<std::string> out;
  for (const Diagnostic& d : diagnostics) out.push_back(d.reason);
  return out;
}

Settings ParseAll(std::map<std::string, std::string> data, std::vector<Diagnostic>* diagnostics) {
  ConfigMap cm;
  cm.meta = testing::Meta("portico", "settings");
  cm.data = std::move(data);
  DiagnosticSink sink(diagnostics);
  Settings settings = ParseSettings(cm, sink);
  SortDiagnostics(*diagnostics);
  return settings;
}

v1::GlobalSettings Parse(std::map<std::string, std::string> data,
                         std::vector<Diagnostic>* diagnostics) {
  return ParseAll(std::move(data), diagnostics).global;
}

TEST(ParseSettingsTest, SupportedKeys) {
  std::vector<Diagnostic> diagnostics;
  v1::GlobalSettings s = Parse({{"client-header-timeout", "30s"},
                                {"client-body-timeout", "90"},
                                {"keep-alive", "75"},
                                {"keep-alive-requests", "500"},
                                {"proxy-body-size", "8m"},
                                {"large-client-header-buffers", "4 16k"}},
                               &diagnostics);
  EXPECT_THAT(diagnostics, IsEmpty());
  EXPECT_EQ(s.client_header_timeout().seconds(), 30);
  EXPECT_EQ(s.client_body_timeout().seconds(), 90);
  EXPECT_EQ(s.keepalive_timeout().seconds(), 75);
  EXPECT_EQ(s.max_keepalive_requests(), 500u);
  EXPECT_EQ(s.max_request_body_bytes(), 8u << 20);
  EXPECT_EQ(s.max_request_line_bytes(), 16384u);
  EXPECT_EQ(s.max_request_header_bytes(), 65536u);
  EXPECT_EQ(s.trusted_proxies_size(), 0);
}

TEST(ParseSettingsTest, SubSecondDurations) {
  std::vector<Diagnostic> diagnostics;
  v1::GlobalSettings s = Parse({{"client-header-timeout", "1500ms"}}, &diagnostics);
  EXPECT_EQ(s.client_header_timeout().seconds(), 1);
  EXPECT_EQ(s.client_header_timeout().nanos(), 500000000);
}

TEST(ParseSettingsTest, BadValuesAreIgnoredOneByOne) {
  std::vector<Diagnostic> diagnostics;
  v1::GlobalSettings s = Parse({{"client-header-timeout", "soon"},
                                {"keep-alive", "0"},
                                {"keep-alive-requests", "-3"},
                                {"proxy-body-size", "1 m"},
                                {"large-client-header-buffers", "4"},
                                {"client-body-timeout", "10s"},
                                {"worker-processes", "4"}},
                               &diagnostics);
  EXPECT_THAT(Reasons(diagnostics),
              ElementsAre("InvalidSetting", "InvalidSetting", "InvalidSetting", "InvalidSetting",
                          "InvalidSetting", "UnknownSetting"));
  EXPECT_EQ(diagnostics[0].kind, "ConfigMap");
  EXPECT_EQ(diagnostics[0].ns, "portico");
  EXPECT_FALSE(s.has_client_header_timeout());
  EXPECT_FALSE(s.has_keepalive_timeout());
  EXPECT_EQ(s.max_keepalive_requests(), 0u);
  EXPECT_EQ(s.max_request_line_bytes(), 0u);
  EXPECT_EQ(s.client_body_timeout().seconds(), 10);
}

TEST(ParseSettingsTest, ForwardedHeadersTrustEveryoneByDefaultAsInIngressNginx) {
  std::vector<Diagnostic> diagnostics;
  v1::GlobalSettings s = Parse({{"use-forwarded-headers", "true"}}, &diagnostics);
  EXPECT_THAT(s.trusted_proxies(), ElementsAre("0.0.0.0/0", "::/0"));
  EXPECT_THAT(diagnostics, IsEmpty());
}

TEST(ParseSettingsTest, RealIpCidrsNarrowTheTrust) {
  std::vector<Diagnostic> diagnostics;
  v1::GlobalSettings s = Parse(
      {{"use-forwarded-headers", "true"}, {"proxy-real-ip-cidr", "10.0.0.0/8, 2001:db8::/32"}},
      &diagnostics);
  EXPECT_THAT(s.trusted_proxies(), ElementsAre("10.0.0.0/8", "2001:db8::/32"));
  EXPECT_THAT(diagnostics, IsEmpty());
}

TEST(ParseSettingsTest, ABadCidrListTrustsNobody) {
  std::vector<Diagnostic> diagnostics;
  v1::GlobalSettings s =
      Parse({{"use-forwarded-headers", "true"}, {"proxy-real-ip-cidr", "10.0.0.0/8,10.0.0.1/8"}},
            &diagnostics);
  EXPECT_EQ(s.trusted_proxies_size(), 0);
  EXPECT_THAT(Reasons(diagnostics), ElementsAre("InvalidSetting"));
}

TEST(ParseSettingsTest, CidrsWithoutForwardedHeadersHaveNoEffect) {
  std::vector<Diagnostic> diagnostics;
  v1::GlobalSettings s = Parse({{"proxy-real-ip-cidr", "10.0.0.0/8"}}, &diagnostics);
  EXPECT_EQ(s.trusted_proxies_size(), 0);
  EXPECT_THAT(Reasons(diagnostics), ElementsAre("IgnoredSetting"));

  diagnostics.clear();
  s = Parse({{"use-forwarded-headers", "yes"}}, &diagnostics);
  EXPECT_EQ(s.trusted_proxies_size(), 0);
  EXPECT_THAT(Reasons(diagnostics), ElementsAre("InvalidSetting"));
}

TEST(ParseSettingsTest, HttpsDefaultsAsInIngressNginx) {
  std::vector<Diagnostic> diagnostics;
  Settings s = ParseAll({}, &diagnostics);
  EXPECT_TRUE(s.https.ssl_redirect);
  EXPECT_FALSE(s.https.force_ssl_redirect);
  EXPECT_EQ(s.https.redirect_code, 308u);
  EXPECT_TRUE(s.https.hsts.enabled);
  EXPECT_EQ(s.https.hsts.max_age_seconds, 31536000u);
  EXPECT_TRUE(s.https.hsts.include_subdomains);
  EXPECT_FALSE(s.https.hsts.preload);
  EXPECT_THAT(diagnostics, IsEmpty());
}

TEST(ParseSettingsTest, HttpsKeys) {
  std::vector<Diagnostic> diagnostics;
  Settings s = ParseAll({{"ssl-redirect", "false"},
                         {"force-ssl-redirect", "true"},
                         {"http-redirect-code", "301"},
                         {"hsts", "false"},
                         {"hsts-max-age", "0"},
                         {"hsts-include-subdomains", "false"},
                         {"hsts-preload", "true"}},
                        &diagnostics);
  EXPECT_THAT(diagnostics, IsEmpty());
  EXPECT_FALSE(s.https.ssl_redirect);
  EXPECT_TRUE(s.https.force_ssl_redirect);
  EXPECT_EQ(s.https.redirect_code, 301u);
  EXPECT_FALSE(s.https.hsts.enabled);
  EXPECT_EQ(s.https.hsts.max_age_seconds, 0u);
  EXPECT_FALSE(s.https.hsts.include_subdomains);
  EXPECT_TRUE(s.https.hsts.preload);
  // They configure routes, not the data plane's global settings.
  EXPECT_EQ(s.global.ByteSizeLong(), 0u);
  for (const char* code : {"302", "307", "308"}) {
    EXPECT_EQ(ParseAll({{"http-redirect-code", code}}, &diagnostics).https.redirect_code,
              static_cast<uint32_t>(std::stoi(code)));
  }
  EXPECT_THAT(diagnostics, IsEmpty());
}

TEST(ParseSettingsTest, BadHttpsValuesFallBackToTheirDefaults) {
  std::vector<Diagnostic> diagnostics;
  Settings s = ParseAll({{"ssl-redirect", "no"},
                         {"force-ssl-redirect", "1"},
                         {"http-redirect-code", "303"},
                         {"hsts", "True"},
                         {"hsts-max-age", "1y"},
                         {"hsts-include-subdomains", ""},
                         {"hsts-preload", "yes"}},
                        &diagnostics);
  ASSERT_EQ(diagnostics.size(), 7u);
  for (const Diagnostic& d : diagnostics) EXPECT_EQ(d.reason, "InvalidSetting") << d.message;
  EXPECT_THAT(diagnostics[0].message, ::testing::HasSubstr("key \"force-ssl-redirect\" = \"1\""));
  HttpsOptions defaults;
  EXPECT_EQ(s.https.ssl_redirect, defaults.ssl_redirect);
  EXPECT_EQ(s.https.force_ssl_redirect, defaults.force_ssl_redirect);
  EXPECT_EQ(s.https.redirect_code, defaults.redirect_code);
  EXPECT_EQ(s.https.hsts.enabled, defaults.hsts.enabled);
  EXPECT_EQ(s.https.hsts.max_age_seconds, defaults.hsts.max_age_seconds);
  EXPECT_EQ(s.https.hsts.include_subdomains, defaults.hsts.include_subdomains);
  EXPECT_EQ(s.https.hsts.preload, defaults.hsts.preload);
  for (const char* bad : {"-1", "+5", "1.5", "4294967296", " 60"}) {
    diagnostics.clear();
    s = ParseAll({{"hsts-max-age", bad}}, &diagnostics);
    // " 60": values are trimmed first, as for every key.
    if (std::string_view(bad) == " 60") {
      EXPECT_EQ(s.https.hsts.max_age_seconds, 60u);
      continue;
    }
    EXPECT_THAT(Reasons(diagnostics), ElementsAre("InvalidSetting")) << bad;
    EXPECT_EQ(s.https.hsts.max_age_seconds, 31536000u) << bad;
  }
}

TEST(SettingsConfigMapTest, TranslateReadsTheNamedConfigMap) {
  ClusterState state;
  ConfigMap cm;
  cm.meta = testing::Meta("portico", "settings");
  cm.data["keep-alive"] = "30s";
  state.config_maps.push_back(cm);
  Options options;
  options.settings_config_map = "portico/settings";
  Result r = Translate(state, options);
  EXPECT_EQ(r.snapshot.settings().keepalive_timeout().seconds(), 30);
  EXPECT_THAT(r.diagnostics, IsEmpty());

  options.settings_config_map = "portico/missing";
  r = Translate(state, options);
  EXPECT_FALSE(r.snapshot.has_settings());
  EXPECT_THAT(Reasons(r.diagnostics), ElementsAre("ConfigMapNotFound"));
}

}  // namespace
}  // namespace portico::controller::translate

namespace portico::controller::translate {
namespace {

TEST(HeaderSettingsTest, HideHeadersBackendIdentityServerTokens) {
  std::vector<Diagnostic> diagnostics;
  Settings s = ParseAll({{"hide-headers", "X-Powered-By, X-AspNet-Version,x-powered-by"},
                         {"hide-backend-identity", "true"},
                         {"server-tokens", "true"}},
                        &diagnostics);
  EXPECT_THAT(diagnostics, IsEmpty());
  EXPECT_THAT(
      std::vector<std::string>(s.global.hide_headers().begin(), s.global.hide_headers().end()),
      ElementsAre("x-powered-by", "x-aspnet-version"));
  EXPECT_TRUE(s.global.hide_backend_identity());
  EXPECT_TRUE(s.global.server_tokens());
}

TEST(HeaderSettingsTest, BadValuesAreReportedAndIgnored) {
  for (const char* bad : {"X-A, X B", "content-length", "Transfer-Encoding", "X-A;X-B", ","}) {
    std::vector<Diagnostic> diagnostics;
    Settings s = ParseAll({{"hide-headers", bad}}, &diagnostics);
    EXPECT_THAT(Reasons(diagnostics), ElementsAre("InvalidSetting")) << bad;
    EXPECT_THAT(s.global.hide_headers(), IsEmpty()) << bad;
  }
  std::vector<Diagnostic> diagnostics;
  Settings s = ParseAll({{"server-tokens", "on"}, {"hide-backend-identity", "1"}}, &diagnostics);
  EXPECT_THAT(Reasons(diagnostics), ElementsAre("InvalidSetting", "InvalidSetting"));
  EXPECT_FALSE(s.global.server_tokens());
  EXPECT_FALSE(s.global.hide_backend_identity());
}

}  // namespace
}  // namespace portico::controller::translate
