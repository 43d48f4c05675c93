#include "dataplane/policy/rewrite.h"

#include <memory>

#include "gtest/gtest.h"

namespace portico::dataplane::policy {
namespace {

using router::PathMatchType;

router::RewriteRule Regex(std::string pattern, std::string target) {
  router::RewriteRule rule;
  rule.regex = std::make_shared<const RE2>(pattern);
  rule.target = std::move(target);
  return rule;
}

router::RewriteRule Prefix(std::string prefix, std::string target) {
  router::RewriteRule rule;
  rule.prefix = std::move(prefix);
  rule.target = std::move(target);
  return rule;
}

TEST(RewritePathTest, RegexCapturesReplaceTheWholePath) {
  auto rule = Regex("/something(/|$)(.*)", "/$2");
  EXPECT_EQ(RewritePath(rule, PathMatchType::kRegex, "/something/new/x"), "/new/x");
  EXPECT_EQ(RewritePath(rule, PathMatchType::kRegex, "/something"), "/");
  EXPECT_EQ(RewritePath(rule, PathMatchType::kRegex, "/something/"), "/");
}

TEST(RewritePathTest, RegexGroupsInAnyOrderAndMissingOnesEmpty) {
  auto rule = Regex("/(a+)/(b+)(c)?", "/$2/$1/$3/$9");
  EXPECT_EQ(RewritePath(rule, PathMatchType::kRegex, "/aa/bbb/rest"), "/bbb/aa//");
}

TEST(RewritePathTest, RegexWithoutCapturesIsTheTarget) {
  auto rule = Regex("/api/v[0-9]+", "/v2");
  EXPECT_EQ(RewritePath(rule, PathMatchType::kRegex, "/api/v1/users"), "/v2");
}

TEST(RewritePathTest, PrefixIsReplaced) {
  auto rule = Prefix("/api", "/v1");
  EXPECT_EQ(RewritePath(rule, PathMatchType::kPrefix, "/api"), "/v1");
  EXPECT_EQ(RewritePath(rule, PathMatchType::kPrefix, "/api/x/y"), "/v1/x/y");
  EXPECT_EQ(RewritePath(rule, PathMatchType::kPrefix, "/api/"), "/v1/");
  auto root = Prefix("/api", "/");
  EXPECT_EQ(RewritePath(root, PathMatchType::kPrefix, "/api/x"), "/x");
  EXPECT_EQ(RewritePath(root, PathMatchType::kPrefix, "/api"), "/");
  auto slash = Prefix("/api", "/v1/");
  EXPECT_EQ(RewritePath(slash, PathMatchType::kPrefix, "/api/x"), "/v1/x");
  auto from_root = Prefix("", "/app");
  EXPECT_EQ(RewritePath(from_root, PathMatchType::kPrefix, "/x"), "/app/x");
}

TEST(RewritePathTest, ExactIsTheTargetAndEmptyTargetKeepsThePath) {
  EXPECT_EQ(RewritePath(Prefix("/a", "/b"), PathMatchType::kExact, "/a"), "/b");
  router::RewriteRule headers_only;
  headers_only.forwarded_prefix = "/p";
  EXPECT_EQ(RewritePath(headers_only, PathMatchType::kPrefix, "/keep/me"), "/keep/me");
}

TEST(RewriteHeadersTest, SetsPrefixAndHostReplacingTheClients) {
  router::RewriteRule rule;
  rule.forwarded_prefix = "/svc";
  rule.upstream_host = "internal.svc:8080";
  http::HeaderMap headers;
  headers.Add("host", "public.example.com");
  headers.Add("x-forwarded-prefix", "/spoofed");
  ApplyRewriteHeaders(rule, headers);
  EXPECT_EQ(headers.Get("host"), "internal.svc:8080");
  EXPECT_EQ(headers.Get("x-forwarded-prefix"), "/svc");
}

}  // namespace
}  // namespace portico::dataplane::policy
