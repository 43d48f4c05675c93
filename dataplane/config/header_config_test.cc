// The header policies' part of the config compiler: CORS rules, header edits
// and the hide/server settings compile, and what the controller never sends
// (an unparsable origin, a reserved header, a control character) is refused.
#include <string>

#include "dataplane/config/config.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace portico::dataplane::config {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

v1::Snapshot WithRoute(std::string_view route_fields, std::string_view settings = "{}") {
  std::string json = std::string(R"({"settings": )") + std::string(settings) +
                     R"(, "clusters": [{"name": "c"}],
      "virtualHosts": [{"name": "vh", "routes": [{"name": "r", "match": {"path": "/"},
        "action": {"cluster": "c"})" +
                     std::string(route_fields) + "}]}]}";
  absl::StatusOr<v1::Snapshot> snapshot = ParseSnapshotJson(json);
  EXPECT_TRUE(snapshot.ok()) << snapshot.status() << "\n" << json;
  return snapshot.ok() ? *snapshot : v1::Snapshot();
}

const router::Route* OnlyRoute(const Config& config) {
  return config.routes->Match("any.test", "/").route;
}

TEST(HeaderConfigTest, CompilesCorsEditsAndSettings) {
  absl::StatusOr<std::shared_ptr<const Config>> config = Compile(
      WithRoute(R"(, "cors": {"allowOrigins": ["*", "https://A.example", "https://*.example.com"],
          "allowMethods": ["GET", "POST"], "allowHeaders": ["Content-Type"],
          "exposeHeaders": ["X-Total"], "allowCredentials": true, "maxAgeSeconds": 0},
        "requestHeaders": {"ops": [{"kind": "KIND_SET", "name": "X-Tenant", "value": "blue"}]},
        "responseHeaders": {"ops": [{"kind": "KIND_REMOVE", "name": "x-debug"}]})",
                R"({"hideHeaders": ["X-Runtime"], "hideBackendIdentity": true,
                    "serverTokens": true})"),
      net::CidrSet());
  ASSERT_TRUE(config.ok()) << config.status();
  const router::Route* route = OnlyRoute(**config);
  ASSERT_NE(route, nullptr);
  ASSERT_TRUE(route->cors.has_value());
  EXPECT_TRUE(route->cors->any_origin);
  ASSERT_EQ(route->cors->origins.size(), 2u);
  EXPECT_EQ(route->cors->origins[0].Serialize(), "https://a.example");
  EXPECT_TRUE(route->cors->origins[1].wildcard);
  EXPECT_EQ(route->cors->allow_methods, "GET, POST");
  EXPECT_EQ(route->cors->expose_headers, "X-Total");
  EXPECT_TRUE(route->cors->allow_credentials);
  EXPECT_EQ(route->cors->max_age_seconds, 0u);
  ASSERT_EQ(route->request_headers.size(), 1u);
  EXPECT_EQ(route->request_headers[0].name, "x-tenant");
  EXPECT_EQ(route->request_headers[0].value, "blue");
  ASSERT_EQ(route->response_headers.size(), 1u);
  EXPECT_EQ(route->response_headers[0].kind, router::HeaderEdit::Kind::kRemove);
  EXPECT_THAT((*config)->settings.hide_headers, ElementsAre("x-runtime", "server", "x-powered-by"));
  EXPECT_TRUE((*config)->settings.server_tokens);
}

TEST(HeaderConfigTest, RefusesWhatTheControllerNeverSends) {
  for (std::string_view fields :
       {R"(, "cors": {"allowOrigins": ["https://a.example/path"]})",
        R"(, "cors": {"allowOrigins": []})",
        R"(, "cors": {"allowOrigins": ["*"], "allowMethods": ["GET POST"]})",
        R"(, "requestHeaders": {"ops": [{"kind": "KIND_SET", "name": "host", "value": "x"}]})",
        R"(, "requestHeaders": {"ops": [{"kind": "KIND_SET", "name": "x-a", "value": "a\r\nb"}]})",
        R"(, "responseHeaders": {"ops": [{"kind": "KIND_ADD", "name": "transfer-encoding"}]})",
        R"(, "responseHeaders": {"ops": [{"kind": "KIND_UNSPECIFIED", "name": "x-a"}]})",
        R"(, "responseHeaders": {"ops": [{"kind": "KIND_SET", "name": "x a", "value": "1"}]})"}) {
    absl::StatusOr<std::shared_ptr<const Config>> config =
        Compile(WithRoute(fields), net::CidrSet());
    ASSERT_FALSE(config.ok()) << fields;
    EXPECT_THAT(std::string(config.status().message()), HasSubstr("route \"r\"")) << fields;
  }
  EXPECT_FALSE(
      Compile(WithRoute("", R"({"hideHeaders": ["content-length"]})"), net::CidrSet()).ok());
  EXPECT_FALSE(Compile(WithRoute("", R"({"hideHeaders": ["x y"]})"), net::CidrSet()).ok());
}

}  // namespace
}  // namespace portico::dataplane::config
