// Route.rewrite and Redirect.query through Compile: what the router tables
// hold, and the snapshots that are refused.
#include <string>

#include "common/strings.h"
#include "dataplane/config/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace portico::dataplane::config {
namespace {

using ::testing::HasSubstr;

std::string Snapshot(std::string_view match, std::string_view route_rest) {
  return portico::StrCat(R"json({"clusters": [{"name": "c"}], "virtualHosts": [{"name": "vh",
      "hostnames": ["a.example.com"], "routes": [{"name": "r", "match": )json",
                         match, R"json(, "action": {"cluster": "c"})json", route_rest, "}]}]}");
}

absl::StatusOr<std::shared_ptr<const Config>> CompileJson(const std::string& json) {
  absl::StatusOr<v1::Snapshot> snapshot = ParseSnapshotJson(json);
  if (!snapshot.ok()) return snapshot.status();
  return Compile(*snapshot, net::CidrSet());
}

TEST(RewriteConfigTest, RegexRouteKeepsItsRegexForCaptures) {
  auto config = CompileJson(Snapshot(R"json({"type": "TYPE_REGEX", "path": "/s(/|$)(.*)"})json",
                                     R"json(, "rewrite": {"target": "/$2",
                                     "forwardedPrefix": "/s", "upstreamHost": "in.svc:8080"})json"));
  ASSERT_TRUE(config.ok()) << config.status();
  router::MatchResult m = (*config)->routes->Match("a.example.com", "/s/x");
  ASSERT_NE(m.route, nullptr);
  ASSERT_TRUE(m.route->rewrite);
  EXPECT_EQ(m.route->rewrite->target, "/$2");
  ASSERT_NE(m.route->rewrite->regex, nullptr);
  EXPECT_EQ(m.route->rewrite->regex->pattern(), "/s(/|$)(.*)");
  EXPECT_EQ(m.route->rewrite->forwarded_prefix, "/s");
  EXPECT_EQ(m.route->rewrite->upstream_host, "in.svc:8080");
}

TEST(RewriteConfigTest, PrefixRouteKeepsItsPrefix) {
  auto config = CompileJson(Snapshot(R"json({"type": "TYPE_PREFIX", "path": "/api/"})json",
                                     R"json(, "rewrite": {"target": "/v1"})json"));
  ASSERT_TRUE(config.ok()) << config.status();
  router::MatchResult m = (*config)->routes->Match("a.example.com", "/api/x");
  ASSERT_NE(m.route, nullptr);
  ASSERT_TRUE(m.route->rewrite);
  EXPECT_EQ(m.route->rewrite->prefix, "/api");
  EXPECT_EQ(m.route->rewrite->regex, nullptr);
}

TEST(RewriteConfigTest, InvalidRewritesAreRefused) {
  struct Case {
    const char* match;
    const char* rewrite;
    const char* error;
  };
  for (const Case& c : std::vector<Case>{
           {R"({"path": "/"})", R"({"target": "x"})", "must start with '/'"},
           {R"({"path": "/"})", R"({"target": "/$0"})", "other than as $1..$9"},
           {R"({"path": "/"})", R"({"target": "/$1"})", "capture groups of a non-regex path"},
           {R"({"path": "/"})", R"({"target": "/a b"})", "outside a URI path"},
           {R"({"path": "/"})", R"({"target": "/a\r\nx: y"})", "outside a URI path"},
           {R"({"path": "/"})", R"({"forwardedPrefix": "/a\nb"})", "not a header value"},
           {R"({"path": "/"})", R"({"upstreamHost": "a b"})", "not host[:port]"},
       }) {
    auto config = CompileJson(Snapshot(c.match, portico::StrCat(", \"rewrite\": ", c.rewrite)));
    ASSERT_FALSE(config.ok()) << c.rewrite;
    EXPECT_THAT(std::string(config.status().message()), HasSubstr(c.error)) << c.rewrite;
  }
}

TEST(RewriteConfigTest, RedirectQueryIsCompiledAndChecked) {
  std::string base = R"json({"virtualHosts": [{"name": "vh", "routes": [{"name": "r",
      "match": {"path": "/"}, "action": {"redirect": {"host": "b.example.com", "query": )json";
  auto ok = CompileJson(base + R"json("a=1&b=/c?"}}}]}]})json");
  ASSERT_TRUE(ok.ok()) << ok.status();
  const router::Route* r = (*ok)->routes->Match("x", "/").route;
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->action.redirect->query, "a=1&b=/c?");
  auto bad = CompileJson(base + R"json("a=1\r\nSet-Cookie: x"}}}]}]})json");
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("redirect query"));
  auto bad_path = CompileJson(R"json({"virtualHosts": [{"name": "vh", "routes": [{"name": "r",
      "match": {"path": "/"}, "action": {"redirect": {"path": "/a\nb"}}}]}]})json");
  ASSERT_FALSE(bad_path.ok());
  EXPECT_THAT(std::string(bad_path.status().message()), HasSubstr("redirect path"));
}

}  // namespace
}  // namespace portico::dataplane::config
