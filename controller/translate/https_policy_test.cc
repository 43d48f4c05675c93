// Route.https_redirect and Route.hsts from the options and the host's certificate.
#include "controller/translate/https_policy.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace portico::controller::translate {
namespace {

using ::testing::Optional;

v1::Route Apply(const HttpsOptions& options, bool tls) {
  v1::Route route;
  ApplyHttpsOptions(options, tls, route);
  return route;
}

TEST(ApplyHttpsOptionsTest, DefaultsRedirectAndPinTlsHostsOnly) {
  v1::Route with_tls = Apply({}, true);
  ASSERT_TRUE(with_tls.has_https_redirect());
  EXPECT_EQ(with_tls.https_redirect().code(), 308u);
  ASSERT_TRUE(with_tls.has_hsts());
  EXPECT_EQ(with_tls.hsts().max_age_seconds(), 31536000u);
  EXPECT_TRUE(with_tls.hsts().include_subdomains());
  EXPECT_FALSE(with_tls.hsts().preload());

  v1::Route without = Apply({}, false);
  EXPECT_FALSE(without.has_https_redirect());
  EXPECT_FALSE(without.has_hsts());
}

TEST(ApplyHttpsOptionsTest, SslRedirectFalseKeepsHsts) {
  HttpsOptions o;
  o.ssl_redirect = false;
  v1::Route r = Apply(o, true);
  EXPECT_FALSE(r.has_https_redirect());
  EXPECT_TRUE(r.has_hsts());
}

TEST(ApplyHttpsOptionsTest, ForceRedirectsWithoutTlsAndOverridesSslRedirect) {
  HttpsOptions o;
  o.force_ssl_redirect = true;
  o.ssl_redirect = false;
  o.redirect_code = 301;
  for (bool tls : {false, true}) {
    v1::Route r = Apply(o, tls);
    ASSERT_TRUE(r.has_https_redirect()) << tls;
    EXPECT_EQ(r.https_redirect().code(), 301u);
    // HSTS only comes with a certificate of the host's own.
    EXPECT_EQ(r.has_hsts(), tls);
  }
}

TEST(ApplyHttpsOptionsTest, HstsValues) {
  HttpsOptions o;
  o.hsts.max_age_seconds = 0;
  o.hsts.include_subdomains = false;
  o.hsts.preload = true;
  v1::Route r = Apply(o, true);
  EXPECT_EQ(r.hsts().max_age_seconds(), 0u);
  EXPECT_FALSE(r.hsts().include_subdomains());
  EXPECT_TRUE(r.hsts().preload());
  o.hsts.enabled = false;
  EXPECT_FALSE(Apply(o, true).has_hsts());
}

TEST(ParseHstsMaxAgeTest, WholeSecondsOnly) {
  EXPECT_THAT(ParseHstsMaxAge("0"), Optional(0u));
  EXPECT_THAT(ParseHstsMaxAge("31536000"), Optional(31536000u));
  EXPECT_THAT(ParseHstsMaxAge("4294967295"), Optional(4294967295u));
  for (const char* bad : {"", "-1", "+1", "1s", "1.0", " 1", "4294967296", "0x10"}) {
    EXPECT_EQ(ParseHstsMaxAge(bad), std::nullopt) << bad;
  }
}

}  // namespace
}  // namespace portico::controller::translate
