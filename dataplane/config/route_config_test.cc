// The route part of Compile (route_config.cc): actions, per-route policies and
// the snapshots they make Compile refuse.
#include "dataplane/config/route_config.h"

#include <string>
#include <vector>

#include "common/strings.h"
#include "dataplane/config/config.h"
#include "dataplane/config/config_test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace portico::dataplane::config {
namespace {

using testing::ErrorCase;
using testing::FromJson;
using ::testing::HasSubstr;
using testing::MustCompile;
using testing::WithCluster;
using testing::WithRoute;

TEST(RouteConfigTest, EmptyDirectResponseStatusIs200) {
  v1::Snapshot snapshot = FromJson(R"json({"virtualHosts": [{"name": "v", "routes": [
    {"name": "r", "match": {"path": "/"}, "action": {"directResponse": {}}}]}]})json");
  std::shared_ptr<const Config> config = MustCompile(snapshot);
  ASSERT_NE(config, nullptr);
  const router::Route* route = config->routes->Match("h", "/").route;
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(route->action.direct_response->status, 200);
}

TEST(RouteConfigTest, EveryRedirectCodeIsAccepted) {
  for (int code : {301, 302, 303, 307, 308}) {
    v1::Snapshot snapshot;
    v1::Route* route = snapshot.add_virtual_hosts()->add_routes();
    route->mutable_match()->set_path("/");
    route->mutable_action()->mutable_redirect()->set_code(code);
    std::shared_ptr<const Config> config = MustCompile(snapshot);
    ASSERT_NE(config, nullptr);
    EXPECT_EQ(config->routes->Match("", "/").route->action.redirect->code, code);
  }
}

TEST(RouteConfigTest, HttpsRedirectAndHsts) {
  v1::Snapshot snapshot = FromJson(R"json({"clusters": [{"name": "c"}], "virtualHosts": [
    {"name": "v", "routes": [
      {"name": "default-code", "match": {"type": "TYPE_EXACT", "path": "/a"},
       "action": {"cluster": "c"}, "httpsRedirect": {}},
      {"name": "moved", "match": {"type": "TYPE_EXACT", "path": "/b"},
       "action": {"cluster": "c"}, "httpsRedirect": {"code": 301},
       "hsts": {"maxAgeSeconds": 600, "includeSubdomains": true, "preload": true}},
      {"name": "hsts-only", "match": {"type": "TYPE_EXACT", "path": "/c"},
       "action": {"cluster": "c"}, "hsts": {"maxAgeSeconds": 31536000}},
      {"name": "forget", "match": {"type": "TYPE_EXACT", "path": "/d"},
       "action": {"cluster": "c"}, "hsts": {}},
      {"name": "plain", "match": {"type": "TYPE_EXACT", "path": "/e"},
       "action": {"cluster": "c"}}]}]})json");
  std::shared_ptr<const Config> config = MustCompile(snapshot);
  ASSERT_NE(config, nullptr);
  auto route = [&](std::string_view path) { return config->routes->Match("h", path).route; };
  EXPECT_EQ(route("/a")->https_redirect_code, 308);
  EXPECT_EQ(route("/a")->hsts, "");
  EXPECT_EQ(route("/b")->https_redirect_code, 301);
  EXPECT_EQ(route("/b")->hsts, "max-age=600; includeSubDomains; preload");
  EXPECT_EQ(route("/c")->https_redirect_code, 0);
  EXPECT_EQ(route("/c")->hsts, "max-age=31536000");
  EXPECT_EQ(route("/d")->hsts, "max-age=0");
  EXPECT_EQ(route("/e")->https_redirect_code, 0);
  EXPECT_EQ(route("/e")->hsts, "");
}

TEST(RouteConfigTest, BasicAuthSharesOneListPerCredentials) {
  v1::Snapshot snapshot = FromJson(R"json({"clusters": [{"name": "c"}],
    "credentials": [{"name": "ns/team", "users": [
      {"user": "alice", "hash": "{SHA}/vNB+F2HQ559kaLUZbmHHvZrXpg="}]}],
    "virtualHosts": [{"name": "v", "routes": [
      {"name": "a", "match": {"type": "TYPE_EXACT", "path": "/a"}, "action": {"cluster": "c"},
       "basicAuth": {"realm": "Team", "credentials": "ns/team"}},
      {"name": "b", "match": {"type": "TYPE_EXACT", "path": "/b"}, "action": {"cluster": "c"},
       "basicAuth": {"realm": "Other", "credentials": "ns/team"}},
      {"name": "closed", "match": {"type": "TYPE_EXACT", "path": "/c"}, "action": {"cluster": "c"},
       "basicAuth": {"realm": "X", "denyAll": true}},
      {"name": "open", "match": {"type": "TYPE_EXACT", "path": "/d"},
       "action": {"cluster": "c"}}]}]})json");
  std::shared_ptr<const Config> config = MustCompile(snapshot);
  ASSERT_NE(config, nullptr);
  auto route = [&](std::string_view path) { return config->routes->Match("h", path).route; };
  const router::BasicAuthRule& a = route("/a")->basic_auth;
  EXPECT_TRUE(a.active);
  EXPECT_FALSE(a.deny_all);
  EXPECT_EQ(a.challenge, "Basic realm=\"Team\"");
  ASSERT_NE(a.users, nullptr);
  EXPECT_EQ(a.users->at("alice"), "{SHA}/vNB+F2HQ559kaLUZbmHHvZrXpg=");
  EXPECT_EQ(route("/b")->basic_auth.users, a.users);
  EXPECT_EQ(route("/b")->basic_auth.challenge, "Basic realm=\"Other\"");
  EXPECT_TRUE(route("/c")->basic_auth.deny_all);
  EXPECT_EQ(route("/c")->basic_auth.users, nullptr);
  EXPECT_FALSE(route("/d")->basic_auth.active);
}

TEST(RouteConfigTest, CompileVirtualHostKeepsTheRouteOrder) {
  v1::VirtualHost vh;
  vh.set_name("v");
  vh.add_hostnames("a.example.com");
  for (const char* path : {"/b", "/a"}) {
    v1::Route* r = vh.add_routes();
    r->set_name(path);
    r->mutable_match()->set_path(path);
    r->mutable_action()->set_cluster("c");
  }
  auto known = [](const std::string& name) { return name == "c"; };
  absl::StatusOr<router::VirtualHostSpec> spec = CompileVirtualHost(vh, known, CredentialsMap());
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->name, "v");
  ASSERT_EQ(spec->routes.size(), 2u);
  EXPECT_EQ(spec->routes[0].path, "/b");
  EXPECT_EQ(spec->routes[1].path, "/a");

  vh.mutable_routes(1)->mutable_action()->set_cluster("zzz");
  spec = CompileVirtualHost(vh, known, CredentialsMap());
  ASSERT_FALSE(spec.ok());
  EXPECT_THAT(std::string(spec.status().message()),
              HasSubstr("virtual host \"v\" route \"/a\": unknown cluster \"zzz\""));
}

// --- Errors ---------------------------------------------------------------------

const std::vector<ErrorCase>& ErrorCases() {
  static const auto* cases = new std::vector<ErrorCase>{
      {"route to unknown cluster",
       WithRoute(R"json({"path": "/"})json", R"json({"cluster": "zzz"})json"),
       "virtual host \"vh\" route \"r\": unknown cluster \"zzz\""},
      {"route to empty cluster",
       WithRoute(R"json({"path": "/"})json", R"json({"cluster": ""})json"),
       "route \"r\": unknown cluster \"\""},
      {"weighted to unknown cluster",
       WithRoute(R"json({"path": "/"})json",
                 R"json({"weightedClusters": {"clusters": [{"cluster": "c", "weight": 1},
                                                          {"cluster": "zzz", "weight": 1}]}})json"),
       "route \"r\": unknown cluster \"zzz\""},
      {"weighted zero total",
       WithRoute(
           R"json({"path": "/"})json",
           R"json({"weightedClusters": {"clusters": [{"cluster": "c"}, {"cluster": "c"}]}})json"),
       "route \"r\": weighted clusters have a total weight of zero"},
      {"weighted empty",
       WithRoute(R"json({"path": "/"})json", R"json({"weightedClusters": {}})json"),
       "total weight of zero"},
      {"default action to unknown cluster",
       WithCluster(R"json("defaultAction": {"cluster": "zzz"})json"),
       "default action: unknown cluster \"zzz\""},
      {"default action to unknown weighted cluster",
       WithCluster(
           R"json("defaultAction": {"weightedClusters": {"clusters": [{"cluster": "x", "weight": 1}]}})json"),
       "default action: unknown cluster \"x\""},
      {"redirect code",
       WithRoute(R"json({"path": "/"})json", R"json({"redirect": {"code": 304}})json"),
       "route \"r\": redirect code 304 is not one of 301, 302, 303, 307, 308"},
      {"redirect code 200",
       WithRoute(R"json({"path": "/"})json", R"json({"redirect": {"code": 200}})json"),
       "redirect code 200"},
      {"redirect port",
       WithRoute(R"json({"path": "/"})json", R"json({"redirect": {"port": 65536}})json"),
       "redirect port 65536"},
      {"redirect scheme",
       WithRoute(R"json({"path": "/"})json", R"json({"redirect": {"scheme": "ftp"}})json"),
       "redirect scheme \"ftp\""},
      {"redirect path",
       WithRoute(R"json({"path": "/"})json", R"json({"redirect": {"path": "x"}})json"),
       "redirect path \"x\" must start with '/'"},
      {"https redirect 303",
       WithRoute(R"json({"path": "/"})json",
                 R"json({"cluster": "c"}, "httpsRedirect": {"code": 303})json"),
       "route \"r\": https_redirect code 303 is not one of 301, 302, 307, 308"},
      {"https redirect 200",
       WithRoute(R"json({"path": "/"})json",
                 R"json({"cluster": "c"}, "httpsRedirect": {"code": 200})json"),
       "https_redirect code 200"},
      {"direct status low",
       WithRoute(R"json({"path": "/"})json", R"json({"directResponse": {"status": 101}})json"),
       "direct response status 101"},
      {"direct status high",
       WithRoute(R"json({"path": "/"})json", R"json({"directResponse": {"status": 600}})json"),
       "direct response status 600"},
      {"basic auth unknown credentials",
       WithRoute(R"json({"path": "/"})json",
                 R"json({"cluster": "c"}, "basicAuth": {"realm": "r", "credentials": "ns/x"})json"),
       "route \"r\": basic_auth names unknown credentials \"ns/x\""},
      {"basic auth realm quote",
       WithRoute(R"json({"path": "/"})json",
                 R"json({"cluster": "c"}, "basicAuth": {"realm": "a\"b", "denyAll": true})json"),
       "basic_auth realm"},
      {"credentials plain text", WithCluster(R"json("credentials": [{"name": "ns/x", "users": [
                     {"user": "alice", "hash": "s3cret"}]}])json"),
       "credentials \"ns/x\": user \"alice\" has an unsupported hash"},
      {"credentials duplicate user", WithCluster(R"json("credentials": [{"name": "ns/x", "users": [
                     {"user": "a", "hash": "{SHA}x"}, {"user": "a", "hash": "{SHA}y"}]}])json"),
       "duplicate user \"a\""},
  };
  return *cases;
}

class RouteConfigErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(RouteConfigErrorTest, IsRejected) { testing::ExpectRejected(GetParam()); }

INSTANTIATE_TEST_SUITE_P(All, RouteConfigErrorTest, ::testing::ValuesIn(ErrorCases()));

}  // namespace
}  // namespace portico::dataplane::config
