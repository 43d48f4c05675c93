#include "dataplane/router/route_table.h"

#include <cstdlib>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

// Counts heap allocations so a test can check that Match does none.
namespace {
thread_local bool count_allocations = false;
thread_local int allocations = 0;
}  // namespace

void* operator new(size_t size) {
  if (count_allocations) ++allocations;
  if (void* p = std::malloc(size == 0 ? 1 : size)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, size_t) noexcept { std::free(p); }

namespace portico::dataplane::router {
namespace {

using ::testing::HasSubstr;
using ::testing::Optional;

// A route whose name is also its single cluster, so tests can read which
// backend a request reached.
Route MakeRoute(std::string name, PathMatchType type, std::string path) {
  Route route;
  route.match_type = type;
  route.path = std::move(path);
  route.action.clusters.push_back({name, 1});
  route.name = std::move(name);
  return route;
}

Route PrefixRoute(std::string name, std::string path) {
  return MakeRoute(std::move(name), PathMatchType::kPrefix, std::move(path));
}
Route ExactRoute(std::string name, std::string path) {
  return MakeRoute(std::move(name), PathMatchType::kExact, std::move(path));
}
Route RegexRoute(std::string name, std::string path) {
  return MakeRoute(std::move(name), PathMatchType::kRegex, std::move(path));
}

VirtualHostSpec VHost(std::string name, std::vector<std::string> hostnames,
                      std::vector<Route> routes) {
  VirtualHostSpec vh;
  vh.name = std::move(name);
  vh.hostnames = std::move(hostnames);
  vh.routes = std::move(routes);
  return vh;
}

std::unique_ptr<RouteTable> MustBuild(std::vector<VirtualHostSpec> vhosts,
                                      std::optional<RouteAction> default_action = std::nullopt) {
  auto table = RouteTable::Build(std::move(vhosts), std::move(default_action));
  EXPECT_TRUE(table.ok()) << table.status();
  return table.ok() ? std::move(*table) : nullptr;
}

// Name of the matched route, or "404" when nothing matched.
std::string RouteName(const RouteTable& table, std::string_view host, std::string_view path) {
  MatchResult m = table.Match(host, path);
  return m.route == nullptr ? "404" : m.route->name;
}

struct MatchCase {
  std::string host;
  std::string path;
  std::string want;  // route name, or "404"
};

std::ostream& operator<<(std::ostream& os, const MatchCase& c) {
  return os << "http://" << c.host << c.path << " -> " << c.want;
}

// --- Kubernetes ingress conformance: features/path_rules.feature ---------------

std::unique_ptr<RouteTable> ConformancePathTable() {
  return MustBuild({
      VHost("exact", {"exact-path-rules"}, {ExactRoute("foo-exact", "/foo")}),
      VHost("prefix", {"prefix-path-rules"},
            {PrefixRoute("foo-prefix", "/foo"), PrefixRoute("aaa-slash-bbb-prefix", "/aaa/bbb"),
             PrefixRoute("aaa-prefix", "/aaa")}),
      VHost("mixed", {"mixed-path-rules"},
            {PrefixRoute("foo-prefix", "/foo"), ExactRoute("foo-exact", "/foo")}),
      VHost("trailing", {"trailing-slash-path-rules"},
            {PrefixRoute("aaa-slash-bbb-slash-prefix", "/aaa/bbb/"),
             ExactRoute("foo-slash-exact", "/foo/")}),
  });
}

class ConformancePathTest : public ::testing::TestWithParam<MatchCase> {};

TEST_P(ConformancePathTest, Matches) {
  static const auto* table = ConformancePathTable().release();
  const MatchCase& c = GetParam();
  EXPECT_EQ(RouteName(*table, c.host, c.path), c.want) << c;
}

INSTANTIATE_TEST_SUITE_P(
    PathRules, ConformancePathTest,
    ::testing::Values(
        // Exact.
        MatchCase{"exact-path-rules", "/foo", "foo-exact"},
        MatchCase{"exact-path-rules", "/foo/", "404"},  // no trailing slash
        MatchCase{"exact-path-rules", "/FOO", "404"},   // case sensitive
        MatchCase{"exact-path-rules", "/bar", "404"},
        // Prefix.
        MatchCase{"prefix-path-rules", "/foo", "foo-prefix"},
        MatchCase{"prefix-path-rules", "/foo/", "foo-prefix"},
        MatchCase{"prefix-path-rules", "/FOO", "404"},
        MatchCase{"prefix-path-rules", "/aaa/bbb", "aaa-slash-bbb-prefix"},
        MatchCase{"prefix-path-rules", "/aaa/bbb/ccc", "aaa-slash-bbb-prefix"},
        MatchCase{"prefix-path-rules", "/aaa/ccc", "aaa-prefix"},
        MatchCase{"prefix-path-rules", "/aaaccc", "404"},  // whole elements only
        // Mixed: Exact is preferred on equal paths.
        MatchCase{"mixed-path-rules", "/foo", "foo-exact"},
        MatchCase{"mixed-path-rules", "/foo/", "foo-prefix"},
        MatchCase{"mixed-path-rules", "/foo/x", "foo-prefix"},
        // Trailing slash on the configured path.
        MatchCase{"trailing-slash-path-rules", "/aaa/bbb", "aaa-slash-bbb-slash-prefix"},
        MatchCase{"trailing-slash-path-rules", "/aaa/bbb/", "aaa-slash-bbb-slash-prefix"},
        MatchCase{"trailing-slash-path-rules", "/aaa/bbbccc", "404"},
        MatchCase{"trailing-slash-path-rules", "/foo", "404"},  // exact /foo/ is not /foo
        MatchCase{"trailing-slash-path-rules", "/foo/", "foo-slash-exact"}));

// --- Kubernetes ingress conformance: features/host_rules.feature --------------

class ConformanceHostTest : public ::testing::TestWithParam<MatchCase> {};

TEST_P(ConformanceHostTest, Matches) {
  static const auto* table =
      MustBuild({VHost("wildcard", {"*.foo.com"}, {PrefixRoute("wildcard-foo-com", "/")}),
                 VHost("exact", {"foo.bar.com"}, {PrefixRoute("foo-bar-com", "/")})})
          .release();
  const MatchCase& c = GetParam();
  EXPECT_EQ(RouteName(*table, c.host, c.path), c.want) << c;
}

INSTANTIATE_TEST_SUITE_P(
    HostRules, ConformanceHostTest,
    ::testing::Values(MatchCase{"foo.bar.com", "/", "foo-bar-com"},
                      MatchCase{"subdomain.bar.com", "/", "404"},
                      MatchCase{"bar.foo.com", "/", "wildcard-foo-com"},
                      MatchCase{"baz.bar.foo.com", "/", "404"},  // one label only
                      MatchCase{"foo.com", "/", "404"},          // not the bare domain
                      // Host matching details beyond the suite.
                      MatchCase{"FOO.Bar.COM", "/", "foo-bar-com"},
                      MatchCase{"foo.bar.com:8080", "/x", "foo-bar-com"},
                      MatchCase{"foo.bar.com.", "/", "foo-bar-com"},
                      MatchCase{"foo.bar.com.:443", "/", "foo-bar-com"},
                      MatchCase{"BAR.foo.com:80", "/", "wildcard-foo-com"},
                      MatchCase{".foo.com", "/", "404"}, MatchCase{"", "/", "404"},
                      MatchCase{"[::1]:8080", "/", "404"}));

// --- Kubernetes ingress conformance: features/default_backend.feature ---------

TEST(RouteTableTest, NoRulesLeavesEveryRequestToTheDefaultAction) {
  RouteAction backend;
  backend.clusters.push_back({"echo-service", 1});
  auto table = MustBuild({}, backend);
  for (const char* host : {"my-host", "some-host", ""}) {
    for (const char* path : {"/", "/sub-path", "/resource"}) {
      MatchResult m = table->Match(host, path);
      EXPECT_EQ(m.route, nullptr);
      EXPECT_TRUE(m.virtual_host.empty());
    }
  }
  ASSERT_TRUE(table->default_action().has_value());
  EXPECT_EQ(table->default_action()->clusters[0].cluster, "echo-service");
}

// --- Hosts ---------------------------------------------------------------------

TEST(RouteTableTest, ExactHostBeatsWildcardBeatsCatchAll) {
  auto table = MustBuild({
      VHost("any", {}, {PrefixRoute("any", "/")}),
      VHost("wild", {"*.example.com"}, {PrefixRoute("wild", "/")}),
      VHost("exact", {"www.example.com"}, {PrefixRoute("exact", "/")}),
  });
  EXPECT_EQ(RouteName(*table, "www.example.com", "/"), "exact");
  EXPECT_EQ(RouteName(*table, "api.example.com", "/"), "wild");
  EXPECT_EQ(RouteName(*table, "example.com", "/"), "any");
  EXPECT_EQ(RouteName(*table, "a.b.example.com", "/"), "any");
  EXPECT_EQ(RouteName(*table, "other.org", "/"), "any");
  EXPECT_EQ(RouteName(*table, "", "/"), "any");                   // HTTP/1.0 without Host
  EXPECT_EQ(RouteName(*table, "[2001:DB8::1]:443", "/"), "any");  // IP literal
  EXPECT_EQ(RouteName(*table, "10.0.0.1:80", "/"), "any");
  EXPECT_EQ(RouteName(*table, "bad host", "/"), "any");  // malformed: catch-all only
  EXPECT_EQ(table->Match("api.example.com", "/").virtual_host, "wild");
}

TEST(RouteTableTest, ConfiguredHostnamesAreCaseInsensitive) {
  auto table =
      MustBuild({VHost("a", {"Foo.Example.COM", "*.Wild.Example.com"}, {PrefixRoute("a", "/")})});
  EXPECT_EQ(RouteName(*table, "foo.example.com", "/"), "a");
  EXPECT_EQ(RouteName(*table, "X.WILD.example.com", "/"), "a");
}

TEST(RouteTableTest, IpHostnamesMatchExactly) {
  auto table = MustBuild({VHost("ip", {"10.0.0.1"}, {PrefixRoute("ip", "/")})});
  EXPECT_EQ(RouteName(*table, "10.0.0.1:8080", "/"), "ip");
  EXPECT_EQ(RouteName(*table, "10.0.0.2", "/"), "404");
}

TEST(RouteTableTest, MatchedVirtualHostDoesNotFallThrough) {
  auto table = MustBuild({
      VHost("any", {}, {PrefixRoute("any", "/")}),
      VHost("api", {"api.example.com"}, {PrefixRoute("v1", "/v1")}),
  });
  MatchResult m = table->Match("api.example.com", "/v2");
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.virtual_host, "api");
  EXPECT_EQ(RouteName(*table, "api.example.com", "/v1/users"), "v1");
}

TEST(RouteTableTest, SameHostnameTwiceInOneVirtualHostIsAccepted) {
  auto table = MustBuild({VHost("a", {"a.com", "A.com"}, {PrefixRoute("a", "/")})});
  EXPECT_EQ(RouteName(*table, "a.com", "/"), "a");
}

// --- Paths ---------------------------------------------------------------------

TEST(RouteTableTest, LongestPrefixWins) {
  auto table = MustBuild({VHost("h", {},
                                {
                                    PrefixRoute("root", "/"),
                                    PrefixRoute("a", "/a"),
                                    PrefixRoute("abc", "/a/b/c"),
                                    PrefixRoute("ab", "/a/b"),
                                })});
  const std::vector<MatchCase> cases = {
      {"", "/", "root"},     {"", "/x", "root"},     {"", "/ab", "root"},
      {"", "/a", "a"},       {"", "/a/", "a"},       {"", "/a/bb", "a"},
      {"", "/a/b", "ab"},    {"", "/a/b/", "ab"},    {"", "/a/b/cd", "ab"},
      {"", "/a/b/c", "abc"}, {"", "/a/b/c/", "abc"}, {"", "/a/b/c/d/e", "abc"},
      {"", "/a//b", "a"},    {"", "/A/b", "root"},   {"", "//a", "root"},
  };
  for (const MatchCase& c : cases) EXPECT_EQ(RouteName(*table, c.host, c.path), c.want) << c;
}

TEST(RouteTableTest, SlashPrefixMatchesEverything) {
  for (const char* root : {"/", "//"}) {
    auto table = MustBuild({VHost("h", {}, {PrefixRoute("root", root)})});
    for (const char* path : {"/", "/a", "/a/b/c", "//", "/%2e"}) {
      EXPECT_EQ(RouteName(*table, "x", path), "root") << root << " " << path;
    }
  }
}

TEST(RouteTableTest, ExactBeatsPrefixOnlyOnTheExactPath) {
  auto table = MustBuild({VHost("h", {},
                                {
                                    PrefixRoute("prefix-long", "/api/v1"),
                                    PrefixRoute("prefix", "/api"),
                                    ExactRoute("exact", "/api"),
                                })});
  EXPECT_EQ(RouteName(*table, "", "/api"), "exact");
  EXPECT_EQ(RouteName(*table, "", "/api/"), "prefix");
  EXPECT_EQ(RouteName(*table, "", "/api/v1"), "prefix-long");
  EXPECT_EQ(RouteName(*table, "", "/api/v1/x"), "prefix-long");
}

TEST(RouteTableTest, ExactOnRootOnlyMatchesRoot) {
  auto table = MustBuild({VHost("h", {}, {ExactRoute("root", "/")})});
  EXPECT_EQ(RouteName(*table, "", "/"), "root");
  EXPECT_EQ(RouteName(*table, "", "/a"), "404");
}

TEST(RouteTableTest, RegexIsTriedAfterExactAndPrefixInConfiguredOrder) {
  auto table = MustBuild({VHost("h", {},
                                {
                                    RegexRoute("re-users", "/users/[0-9]+"),
                                    RegexRoute("re-any-users", "/users/.*"),
                                    PrefixRoute("static", "/static"),
                                    RegexRoute("re-static", "/static/.*\\.css"),
                                    ExactRoute("exact", "/users/1"),
                                })});
  EXPECT_EQ(RouteName(*table, "", "/users/42"), "re-users");
  EXPECT_EQ(RouteName(*table, "", "/users/42/posts"), "re-users");  // anchored at start only
  EXPECT_EQ(RouteName(*table, "", "/users/bob"), "re-any-users");
  EXPECT_EQ(RouteName(*table, "", "/users/1"), "exact");
  EXPECT_EQ(RouteName(*table, "", "/static/a.css"), "static");  // prefix first
  EXPECT_EQ(RouteName(*table, "", "/x/users/42"), "404");       // anchored at the start
  EXPECT_EQ(RouteName(*table, "", "/USERS/42"), "404");         // case sensitive
}

TEST(RouteTableTest, RegexIsAnchoredAtTheStart) {
  auto table = MustBuild({VHost("h", {}, {RegexRoute("re", "api")})});
  EXPECT_EQ(RouteName(*table, "", "/api"), "404");
  auto alt = MustBuild({VHost("h", {}, {RegexRoute("re", "/(a|b)pi")})});
  EXPECT_EQ(RouteName(*alt, "", "/bpi/x"), "re");
  EXPECT_EQ(RouteName(*alt, "", "/x/api"), "404");
}

TEST(RouteTableTest, DuplicateMatchesKeepTheFirstConfiguredRoute) {
  auto table = MustBuild({VHost("h", {},
                                {
                                    PrefixRoute("first", "/foo"),
                                    PrefixRoute("second", "/foo/"),
                                    ExactRoute("exact-first", "/bar"),
                                    ExactRoute("exact-second", "/bar"),
                                })});
  EXPECT_EQ(RouteName(*table, "", "/foo/x"), "first");
  EXPECT_EQ(RouteName(*table, "", "/bar"), "exact-first");
}

TEST(RouteTableTest, PathsThatAreNotOriginFormMatchNothing) {
  auto table = MustBuild({VHost("h", {}, {PrefixRoute("root", "/"), RegexRoute("re", ".*")})});
  EXPECT_EQ(RouteName(*table, "", ""), "404");
  EXPECT_EQ(RouteName(*table, "", "*"), "404");
}

TEST(RouteTableTest, ActionsAreKept) {
  Route redirect;
  redirect.name = "redir";
  redirect.path = "/old";
  redirect.action.redirect = RedirectAction{.scheme = "https", .code = 308};
  Route direct;
  direct.name = "direct";
  direct.match_type = PathMatchType::kExact;
  direct.path = "/healthz";
  direct.action.direct_response = DirectResponseAction{.status = 204};
  Route split = PrefixRoute("split", "/");
  split.action.clusters = {{"a", 90}, {"b", 10}};
  split.origin = {.ns = "default", .ingress = "web", .service = "a", .service_port = "http"};
  auto table = MustBuild({VHost("h", {}, {redirect, direct, split})});

  const Route* r = table->Match("x", "/old/page").route;
  ASSERT_NE(r, nullptr);
  ASSERT_TRUE(r->action.redirect.has_value());
  EXPECT_EQ(r->action.redirect->code, 308);
  r = table->Match("x", "/healthz").route;
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->action.direct_response->status, 204);
  r = table->Match("x", "/other").route;
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->action.clusters.size(), 2u);
  EXPECT_EQ(r->action.clusters[1].weight, 10u);
  EXPECT_EQ(r->origin.ingress, "web");
}

TEST(RouteTableTest, MatchDoesNotAllocate) {
  auto table = MustBuild({
      VHost("any", {}, {PrefixRoute("any", "/")}),
      VHost("wild", {"*.example.com"}, {PrefixRoute("wild", "/static"), ExactRoute("x", "/x")}),
      VHost("exact", {"www.example.com"}, {PrefixRoute("a", "/a/b"), PrefixRoute("root", "/")}),
  });
  std::string long_host(300, 'h');
  count_allocations = true;
  auto probe = std::make_unique<std::string>(100, 'x');  // the counter itself works
  count_allocations = false;
  EXPECT_GE(allocations, 2);
  allocations = 0;
  count_allocations = true;
  int matched = 0;
  matched += table->Match("WWW.Example.com:443", "/a/b/c/d/e/f").route != nullptr;
  matched += table->Match("api.example.com", "/static/css/site.css").route != nullptr;
  matched += table->Match("api.example.com", "/x").route != nullptr;
  matched += table->Match("api.example.com", "/nothing/here").route != nullptr;
  matched += table->Match("[::1]:80", "/").route != nullptr;
  matched += table->Match(long_host, "/").route != nullptr;
  count_allocations = false;
  EXPECT_EQ(allocations, 0);
  EXPECT_EQ(matched, 5);
}

// --- Build errors ----------------------------------------------------------------

struct BuildErrorCase {
  std::string label;
  std::vector<VirtualHostSpec> vhosts;
  std::string want;  // substring of the error message
};

std::vector<BuildErrorCase> BuildErrorCases() {
  std::vector<BuildErrorCase> cases;
  for (const char* bad :
       {"*foo.com", "a.*.com", "*", "*.", "foo..com", ".foo.com", "foo.com.", "foo_bar.com",
        "foo bar", "-foo.com", "foo-.com", "*.*.com", "foo.com:80", "[::1]", "f\xc3\xbc.com", ""}) {
    cases.push_back({std::string("hostname ") + bad,
                     {VHost("vh", {bad}, {PrefixRoute("r", "/")})},
                     std::string("virtual host \"vh\": invalid hostname")});
  }
  cases.push_back({"escaped in the message",
                   {VHost("vh", {"a\nb.com"}, {PrefixRoute("r", "/")})},
                   "invalid hostname \"a\\nb.com\""});
  cases.push_back({"long label",
                   {VHost("vh", {std::string(64, 'a') + ".com"}, {PrefixRoute("r", "/")})},
                   "invalid hostname"});
  cases.push_back({"hostname in two vhosts",
                   {VHost("one", {"a.com"}, {}), VHost("two", {"b.com", "A.com"}, {})},
                   "virtual host \"two\": hostname \"a.com\" is already claimed by virtual host "
                   "\"one\""});
  cases.push_back({"wildcard in two vhosts",
                   {VHost("one", {"*.a.com"}, {}), VHost("two", {"*.a.com"}, {})},
                   "already claimed"});
  cases.push_back({"two catch-alls",
                   {VHost("one", {}, {}), VHost("two", {}, {})},
                   "virtual host \"two\" is a second catch-all"});
  cases.push_back({"bad regex",
                   {VHost("vh", {}, {RegexRoute("r", "/(unclosed")})},
                   "virtual host \"vh\" route \"r\": invalid regex"});
  cases.push_back({"empty regex", {VHost("vh", {}, {RegexRoute("r", "")})}, "route \"r\": empty"});
  cases.push_back({"relative prefix",
                   {VHost("vh", {}, {PrefixRoute("r", "foo")})},
                   "virtual host \"vh\" route \"r\": path \"foo\" must start with '/'"});
  cases.push_back(
      {"relative exact", {VHost("vh", {}, {ExactRoute("r", "foo")})}, "must start with '/'"});
  cases.push_back({"empty prefix", {VHost("vh", {}, {PrefixRoute("r", "")})}, "empty path"});
  Route no_action = PrefixRoute("r", "/");
  no_action.action.clusters.clear();
  cases.push_back({"empty action", {VHost("vh", {}, {no_action})}, "route \"r\": has no action"});
  Route two_actions = PrefixRoute("r", "/");
  two_actions.action.redirect = RedirectAction{};
  cases.push_back(
      {"two actions", {VHost("vh", {}, {two_actions})}, "route \"r\": has more than one action"});
  Route zero_weight = PrefixRoute("r", "/");
  zero_weight.action.clusters = {{"a", 0}, {"b", 0}};
  cases.push_back({"zero weight", {VHost("vh", {}, {zero_weight})}, "total cluster weight"});
  Route unnamed_cluster = PrefixRoute("r", "/");
  unnamed_cluster.action.clusters = {{"", 1}};
  cases.push_back({"empty cluster name", {VHost("vh", {}, {unnamed_cluster})}, "empty cluster"});
  return cases;
}

std::ostream& operator<<(std::ostream& os, const BuildErrorCase& c) { return os << c.label; }

class BuildErrorTest : public ::testing::TestWithParam<BuildErrorCase> {};

TEST_P(BuildErrorTest, IsRejected) {
  const BuildErrorCase& c = GetParam();
  auto table = RouteTable::Build(c.vhosts, std::nullopt);
  ASSERT_FALSE(table.ok()) << c.label;
  EXPECT_EQ(table.status().code(), absl::StatusCode::kInvalidArgument) << c.label;
  EXPECT_THAT(table.status().message(), HasSubstr(c.want)) << c.label;
}

INSTANTIATE_TEST_SUITE_P(All, BuildErrorTest, ::testing::ValuesIn(BuildErrorCases()));

TEST(RouteTableTest, EmptyDefaultActionIsRejected) {
  auto table = RouteTable::Build({}, RouteAction{});
  ASSERT_FALSE(table.ok());
  EXPECT_THAT(table.status().message(), HasSubstr("default action has no action"));
}

TEST(RouteTableTest, ValidHostnamesAreAccepted) {
  for (const char* good : {"a", "a.b", "foo-bar.example.com", "*.com", "*.example.com", "1.2.3.4",
                           "xn--bcher-kva.example", "A.COM"}) {
    EXPECT_TRUE(RouteTable::Build({VHost("vh", {good}, {})}, std::nullopt).ok()) << good;
  }
}

// --- NormalizePath -------------------------------------------------------------

struct PathCase {
  std::string in;
  std::optional<std::string> want;
};

std::ostream& operator<<(std::ostream& os, const PathCase& c) {
  return os << '"' << c.in << "\" -> " << c.want.value_or("nullopt");
}

class NormalizePathTest : public ::testing::TestWithParam<PathCase> {};

TEST_P(NormalizePathTest, Normalizes) {
  EXPECT_EQ(NormalizePath(GetParam().in), GetParam().want) << GetParam().in;
}

INSTANTIATE_TEST_SUITE_P(
    All, NormalizePathTest,
    ::testing::Values(
        PathCase{"/", "/"}, PathCase{"/foo", "/foo"}, PathCase{"/foo/", "/foo/"},
        PathCase{"/foo?x=1", "/foo"}, PathCase{"/foo?a=/../b", "/foo"}, PathCase{"/?", "/"},
        PathCase{"/a#frag", "/a"},
        // RFC 3986 5.2.4 and 5.4 examples, as absolute paths.
        PathCase{"/a/b/c/./../../g", "/a/g"}, PathCase{"/mid/content=5/../6", "/mid/6"},
        PathCase{"/b/c/./g", "/b/c/g"}, PathCase{"/b/c/.", "/b/c/"}, PathCase{"/b/c/./", "/b/c/"},
        PathCase{"/b/c/..", "/b/"}, PathCase{"/b/c/../", "/b/"}, PathCase{"/b/c/../g", "/b/g"},
        PathCase{"/b/c/../..", "/"}, PathCase{"/b/c/../../g", "/g"},
        PathCase{"/b/c/../../../g", "/g"}, PathCase{"/./g", "/g"}, PathCase{"/../g", "/g"},
        PathCase{"/.", "/"}, PathCase{"/..", "/"}, PathCase{"/../..", "/"},
        PathCase{"/public/../admin", "/admin"}, PathCase{"/public/./../admin/", "/admin/"},
        // Segments that only look like dots.
        PathCase{"/g.", "/g."}, PathCase{"/.g", "/.g"}, PathCase{"/g..", "/g.."},
        PathCase{"/..g", "/..g"}, PathCase{"/.../x", "/.../x"}, PathCase{"/a.b/c", "/a.b/c"},
        // Percent-spelled dots.
        PathCase{"/public/%2e%2e/admin", "/admin"}, PathCase{"/public/%2E%2E/admin", "/admin"},
        PathCase{"/public/.%2e/admin", "/admin"}, PathCase{"/public/%2e./admin", "/admin"},
        PathCase{"/a/%2e/b", "/a/b"}, PathCase{"/a/%2E", "/a/"},
        PathCase{"/%2e%2e%2e", "/%2e%2e%2e"}, PathCase{"/%2e%2", "/%2e%2"}, PathCase{"/%2", "/%2"},
        // Other escapes are not decoded.
        PathCase{"/a%2fb", "/a%2fb"}, PathCase{"/a/..%2fadmin", "/a/..%2fadmin"},
        PathCase{"/caf%C3%A9/%20x", "/caf%C3%A9/%20x"},
        // Repeated slashes are merged (nginx's merge_slashes).
        PathCase{"//a//b", "/a/b"}, PathCase{"/a//..", "/"}, PathCase{"/a//../b", "/b"},
        PathCase{"//", "/"}, PathCase{"/a//", "/a/"}, PathCase{"///a", "/a"},
        // Not origin-form.
        PathCase{"", std::nullopt}, PathCase{"foo", std::nullopt}, PathCase{"*", std::nullopt},
        PathCase{"http://h/x", std::nullopt}, PathCase{"?x", std::nullopt}));

TEST(NormalizePathTest, PublicDotDotCannotReachAnotherRoute) {
  auto table = MustBuild(
      {VHost("h", {}, {PrefixRoute("public", "/public"), PrefixRoute("admin", "/admin")})});
  for (const char* target : {"/public/../admin", "/public/%2e%2e/admin/x?y", "/public/./%2E./admin",
                             "//admin", "/public/..//admin"}) {
    std::optional<std::string> path = NormalizePath(target);
    ASSERT_TRUE(path.has_value()) << target;
    EXPECT_EQ(RouteName(*table, "h", *path), "admin") << target;
  }
}

// --- NormalizeHost -------------------------------------------------------------

struct HostCase {
  std::string in;
  std::string want;
};

std::ostream& operator<<(std::ostream& os, const HostCase& c) {
  return os << '"' << c.in << "\" -> \"" << c.want << '"';
}

class NormalizeHostTest : public ::testing::TestWithParam<HostCase> {};

TEST_P(NormalizeHostTest, Normalizes) {
  EXPECT_EQ(NormalizeHost(GetParam().in), GetParam().want) << GetParam().in;
}

INSTANTIATE_TEST_SUITE_P(
    All, NormalizeHostTest,
    ::testing::Values(
        HostCase{"example.com", "example.com"}, HostCase{"Example.COM", "example.com"},
        HostCase{"example.com:8080", "example.com"}, HostCase{"example.com:", "example.com"},
        HostCase{"example.com.", "example.com"}, HostCase{"EXAMPLE.com.:80", "example.com"},
        HostCase{"localhost", "localhost"}, HostCase{"my_host.local", "my_host.local"},
        HostCase{"10.0.0.1:80", "10.0.0.1"}, HostCase{"[::1]", "[::1]"},
        HostCase{"[::1]:8443", "[::1]"}, HostCase{"[2001:DB8::A]:80", "[2001:db8::a]"},
        HostCase{"[::ffff:10.0.0.1]", "[::ffff:10.0.0.1]"},
        // Malformed.
        HostCase{"", ""}, HostCase{".", ""}, HostCase{":80", ""}, HostCase{".example.com", ""},
        HostCase{"a..b", ""}, HostCase{"example.com..", ""}, HostCase{"exa mple.com", ""},
        HostCase{"example.com/x", ""}, HostCase{"user@example.com", ""},
        HostCase{"example.com:http", ""}, HostCase{"example.com:65536", ""},
        HostCase{"example.com:123456", ""}, HostCase{"example.com:80:80", ""}, HostCase{"[::1", ""},
        HostCase{"[]", ""}, HostCase{"[::1]x", ""}, HostCase{"[::1]:x", ""},
        HostCase{"[fe80::1%eth0]", ""}, HostCase{"::1", ""}, HostCase{std::string("a\0b", 3), ""},
        HostCase{"*.example.com", ""}));

TEST(NormalizeHostTest, ValidPortsAreStripped) {
  EXPECT_EQ(NormalizeHost("a:0"), "a");
  EXPECT_EQ(NormalizeHost("a:65535"), "a");
}

TEST(RouteTableTest, VeryLongHostGoesToTheCatchAll) {
  auto table = MustBuild({VHost("any", {}, {PrefixRoute("any", "/")}),
                          VHost("a", {"a.com"}, {PrefixRoute("a", "/")})});
  std::string host(300, 'a');
  host += ".com";
  EXPECT_EQ(RouteName(*table, host, "/"), "any");
}

}  // namespace
}  // namespace portico::dataplane::router
