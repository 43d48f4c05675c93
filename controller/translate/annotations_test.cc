// Ingress annotations: typed values, the portico.dev/ form over the nginx
// alias, bad values reported and replaced by the ConfigMap's defaults.
#include "controller/translate/annotations.h"

#include <map>
#include <string>
#include <vector>

#include "controller/translate/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace portico::controller::translate {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<std::string> Messages(const std::vector<Diagnostic>& diagnostics) {
  std::vector<std::string> out;
  for (const Diagnostic& d : diagnostics) out.push_back(d.reason + ": " + d.message);
  return out;
}

TEST(AnnotationsTest, NoneKeepTheDefaults) {
  std::vector<Diagnostic> diagnostics;
  HttpsOptions defaults;
  defaults.ssl_redirect = false;
  defaults.redirect_code = 301;
  defaults.hsts.max_age_seconds = 60;
  IngressAnnotations a = testing::ParseIngressAnnotations({}, &diagnostics, defaults);
  EXPECT_FALSE(a.use_regex);
  EXPECT_FALSE(a.https.ssl_redirect);
  EXPECT_FALSE(a.https.force_ssl_redirect);
  EXPECT_EQ(a.https.redirect_code, 301u);
  EXPECT_TRUE(a.https.hsts.enabled);
  EXPECT_EQ(a.https.hsts.max_age_seconds, 60u);
  EXPECT_THAT(diagnostics, IsEmpty());
}

TEST(AnnotationsTest, HttpsOverrides) {
  std::vector<Diagnostic> diagnostics;
  IngressAnnotations a =
      testing::ParseIngressAnnotations({{"portico.dev/ssl-redirect", "false"},
                                        {"portico.dev/force-ssl-redirect", "true"},
                                        {"portico.dev/hsts", "false"},
                                        {"portico.dev/hsts-max-age", "600"},
                                        {"portico.dev/hsts-include-subdomains", "false"},
                                        {"portico.dev/hsts-preload", "true"}},
                                       &diagnostics);
  EXPECT_THAT(diagnostics, IsEmpty());
  EXPECT_FALSE(a.https.ssl_redirect);
  EXPECT_TRUE(a.https.force_ssl_redirect);
  EXPECT_EQ(a.https.redirect_code, 308u);
  EXPECT_FALSE(a.https.hsts.enabled);
  EXPECT_EQ(a.https.hsts.max_age_seconds, 600u);
  EXPECT_FALSE(a.https.hsts.include_subdomains);
  EXPECT_TRUE(a.https.hsts.preload);
}

TEST(AnnotationsTest, NginxAliasesForTheRedirectOnly) {
  std::vector<Diagnostic> diagnostics;
  IngressAnnotations a =
      testing::ParseIngressAnnotations({{"nginx.ingress.kubernetes.io/ssl-redirect", "false"},
                                        {"nginx.ingress.kubernetes.io/force-ssl-redirect", "true"},
                                        // ingress-nginx has no such annotations: quietly ignored.
                                        {"nginx.ingress.kubernetes.io/hsts", "false"},
                                        {"nginx.ingress.kubernetes.io/hsts-max-age", "1"}},
                                       &diagnostics);
  EXPECT_THAT(diagnostics, IsEmpty());
  EXPECT_FALSE(a.https.ssl_redirect);
  EXPECT_TRUE(a.https.force_ssl_redirect);
  EXPECT_TRUE(a.https.hsts.enabled);
  EXPECT_EQ(a.https.hsts.max_age_seconds, 31536000u);
}

TEST(AnnotationsTest, PorticoWinsOverTheAlias) {
  std::vector<Diagnostic> diagnostics;
  IngressAnnotations a = testing::ParseIngressAnnotations(
      {{"portico.dev/ssl-redirect", "true"}, {"nginx.ingress.kubernetes.io/ssl-redirect", "false"}},
      &diagnostics);
  EXPECT_TRUE(a.https.ssl_redirect);
  // Even a bad portico.dev/ value is not replaced by the alias: the default applies.
  a = testing::ParseIngressAnnotations({{"portico.dev/force-ssl-redirect", "yes"},
                                        {"nginx.ingress.kubernetes.io/force-ssl-redirect", "true"}},
                                       &diagnostics);
  EXPECT_FALSE(a.https.force_ssl_redirect);
  EXPECT_THAT(Messages(diagnostics),
              ElementsAre("InvalidAnnotation: annotation portico.dev/force-ssl-redirect must be "
                          "\"true\" or \"false\"; it is ignored"));
}

TEST(AnnotationsTest, EachBadValueFallsBackAlone) {
  std::vector<Diagnostic> diagnostics;
  HttpsOptions defaults;
  defaults.hsts.max_age_seconds = 86400;
  IngressAnnotations a =
      testing::ParseIngressAnnotations({{"nginx.ingress.kubernetes.io/ssl-redirect", "False"},
                                        {"portico.dev/hsts", "on"},
                                        {"portico.dev/hsts-max-age", "1y"},
                                        {"portico.dev/hsts-include-subdomains", "false"},
                                        {"portico.dev/hsts-preload", ""},
                                        {"portico.dev/use-regex", "true"}},
                                       &diagnostics, defaults);
  EXPECT_THAT(
      Messages(diagnostics),
      ElementsAre("InvalidAnnotation: annotation nginx.ingress.kubernetes.io/ssl-redirect must "
                  "be \"true\" or \"false\"; it is ignored",
                  "InvalidAnnotation: annotation portico.dev/hsts must be \"true\" or \"false\"; "
                  "it is ignored",
                  "InvalidAnnotation: annotation portico.dev/hsts-max-age must be a whole number "
                  "of seconds; it is ignored",
                  "InvalidAnnotation: annotation portico.dev/hsts-preload must be \"true\" or "
                  "\"false\"; it is ignored"));
  for (const Diagnostic& d : diagnostics) {
    EXPECT_EQ(d.severity, Diagnostic::Severity::kError);
    EXPECT_EQ(d.kind, "Ingress");
    EXPECT_EQ(d.name, "web");
  }
  EXPECT_TRUE(a.https.ssl_redirect);
  EXPECT_TRUE(a.https.hsts.enabled);
  EXPECT_EQ(a.https.hsts.max_age_seconds, 86400u);
  EXPECT_FALSE(a.https.hsts.include_subdomains);  // the good one applies
  EXPECT_FALSE(a.https.hsts.preload);
  EXPECT_TRUE(a.use_regex);
}

TEST(AnnotationsTest, TyposAreWarnedAbout) {
  std::vector<Diagnostic> diagnostics;
  testing::ParseIngressAnnotations(
      {{"portico.dev/ssl-redirects", "false"}, {"portico.dev/hsts-maxage", "1"}}, &diagnostics);
  EXPECT_THAT(Messages(diagnostics),
              ElementsAre("UnknownAnnotation: annotation portico.dev/hsts-maxage is not "
                          "supported; it is ignored",
                          "UnknownAnnotation: annotation portico.dev/ssl-redirects is not "
                          "supported; it is ignored"));
}

}  // namespace
}  // namespace portico::controller::translate
