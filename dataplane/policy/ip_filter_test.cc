#include "dataplane/policy/ip_filter.h"

#include "gtest/gtest.h"

namespace portico::dataplane::policy {
namespace {

net::IpAddress Ip(std::string_view text) { return *net::IpAddress::Parse(text); }

router::IpFilterRule Rule(std::string_view allow, std::string_view deny, bool deny_all = false) {
  router::IpFilterRule rule;
  rule.active = true;
  rule.allow = *net::CidrSet::Parse(allow);
  rule.deny = *net::CidrSet::Parse(deny);
  rule.deny_all = deny_all;
  return rule;
}

TEST(IpFilterTest, InactiveRuleAllowsEveryone) {
  EXPECT_TRUE(IpFilterAllows(router::IpFilterRule{}, Ip("203.0.113.9")));
  EXPECT_TRUE(IpFilterAllows(router::IpFilterRule{}, net::IpAddress()));
}

TEST(IpFilterTest, AllowListAdmitsOnlyItsRangesIPv4AndIPv6) {
  auto rule = Rule("10.0.0.0/8, 2001:db8::/32", "");
  EXPECT_TRUE(IpFilterAllows(rule, Ip("10.1.2.3")));
  EXPECT_TRUE(IpFilterAllows(rule, Ip("::ffff:10.1.2.3")));
  EXPECT_TRUE(IpFilterAllows(rule, Ip("2001:db8:1::5")));
  EXPECT_FALSE(IpFilterAllows(rule, Ip("11.0.0.1")));
  EXPECT_FALSE(IpFilterAllows(rule, Ip("2001:db9::1")));
  EXPECT_FALSE(IpFilterAllows(rule, net::IpAddress()));
}

TEST(IpFilterTest, DenyListWinsOverAllowList) {
  auto rule = Rule("10.0.0.0/8", "10.1.0.0/16");
  EXPECT_TRUE(IpFilterAllows(rule, Ip("10.2.0.1")));
  EXPECT_FALSE(IpFilterAllows(rule, Ip("10.1.0.1")));
  auto deny_only = Rule("", "192.0.2.0/24");
  EXPECT_TRUE(IpFilterAllows(deny_only, Ip("198.51.100.1")));
  EXPECT_FALSE(IpFilterAllows(deny_only, Ip("192.0.2.200")));
}

TEST(IpFilterTest, FailClosedDeniesEveryone) {
  auto rule = Rule("0.0.0.0/0, ::/0", "", /*deny_all=*/true);
  EXPECT_FALSE(IpFilterAllows(rule, Ip("10.0.0.1")));
  EXPECT_FALSE(IpFilterAllows(rule, Ip("::1")));
}

}  // namespace
}  // namespace portico::dataplane::policy
