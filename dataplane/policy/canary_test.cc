// Canary precedence (header, cookie, weight) and cookie parsing.
#include "dataplane/policy/canary.h"

#include "dataplane/policy/cookies.h"
#include "gtest/gtest.h"

namespace portico::dataplane::policy {
namespace {

http::HeaderMap Headers(std::vector<std::pair<std::string, std::string>> list) {
  http::HeaderMap h;
  for (auto& [n, v] : list) h.Add(n, v);
  return h;
}

TEST(CookiesTest, FindsAcrossHeadersAndTrims) {
  auto h = Headers({{"cookie", "a=1; b=two"}, {"cookie", "c=\"q\";d=4"}});
  EXPECT_EQ(FindCookie(h, "a"), "1");
  EXPECT_EQ(FindCookie(h, "b"), "two");
  EXPECT_EQ(FindCookie(h, "c"), "q");
  EXPECT_EQ(FindCookie(h, "d"), "4");
  EXPECT_FALSE(FindCookie(h, "e"));
  EXPECT_FALSE(FindCookie(h, ""));
  EXPECT_FALSE(FindCookie(Headers({{"cookie", "ab"}}), "ab"));
}

TEST(CanaryTest, HeaderThenCookieThenWeight) {
  router::CanaryRule rule;
  rule.cluster = "canary";
  rule.header = "x-canary";
  rule.cookie = "canary";
  rule.weight = 0;
  std::mt19937_64 rng(1);
  EXPECT_TRUE(UseCanary(rule, Headers({{"x-canary", "always"}}), rng));
  EXPECT_FALSE(UseCanary(rule, Headers({{"x-canary", "never"}, {"cookie", "canary=always"}}), rng));
  // A header value that decides nothing leaves it to the cookie.
  EXPECT_TRUE(UseCanary(rule, Headers({{"x-canary", "maybe"}, {"cookie", "canary=always"}}), rng));
  EXPECT_FALSE(UseCanary(rule, Headers({{"cookie", "canary=never"}}), rng));
  EXPECT_FALSE(UseCanary(rule, Headers({}), rng));
  rule.weight = 100;
  EXPECT_TRUE(UseCanary(rule, Headers({}), rng));
  EXPECT_FALSE(UseCanary(rule, Headers({{"cookie", "canary=never"}}), rng));
}

TEST(CanaryTest, HeaderValueAndPattern) {
  router::CanaryRule rule;
  rule.header = "x-version";
  rule.header_value = "v2";
  std::mt19937_64 rng(1);
  EXPECT_TRUE(UseCanary(rule, Headers({{"x-version", "v2"}}), rng));
  EXPECT_FALSE(UseCanary(rule, Headers({{"x-version", "always"}}), rng));  // the value rules
  rule.header_value.clear();
  rule.header_pattern = std::make_shared<RE2>("beta|rc[0-9]+");
  EXPECT_TRUE(UseCanary(rule, Headers({{"x-version", "rc12"}}), rng));
  EXPECT_FALSE(UseCanary(rule, Headers({{"x-version", "rc12x"}}), rng));  // full match
}

TEST(CanaryTest, WeightSplitsInProportion) {
  router::CanaryRule rule;
  rule.weight = 30;
  rule.weight_total = 100;
  std::mt19937_64 rng(42);
  int canary = 0;
  for (int i = 0; i < 10000; ++i) canary += UseCanary(rule, {}, rng) ? 1 : 0;
  EXPECT_GT(canary, 2700);
  EXPECT_LT(canary, 3300);
}

}  // namespace
}  // namespace portico::dataplane::policy
