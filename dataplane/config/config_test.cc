#include "dataplane/config/config.h"

#include <arpa/inet.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "common/strings.h"
#include "dataplane/config/config_test_util.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace portico::dataplane::config {
namespace {

using std::chrono::milliseconds;
using ::testing::ElementsAre;
using testing::ErrorCase;
using testing::FromJson;
using ::testing::HasSubstr;
using testing::MustCompile;
using testing::WithCluster;
using testing::WithRoute;

net::IpAddress Ip(std::string_view text) {
  absl::StatusOr<net::IpAddress> ip = net::IpAddress::Parse(text);
  EXPECT_TRUE(ip.ok()) << ip.status();
  return ip.ok() ? *ip : net::IpAddress();
}

std::string WriteFile(const std::string& name, const std::string& contents) {
  std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << contents;
  return path;
}

// Every resource kind and every action kind, in proto3 JSON.
constexpr char kFullSnapshot[] = R"json({
  "version": "42",
  "settings": {
    "trustedProxies": ["10.0.0.0/8", "2001:db8::/32"],
    "clientHeaderTimeout": "10s",
    "clientBodyTimeout": "20.500s",
    "keepaliveTimeout": "0.000000001s",
    "maxRequestHeaderBytes": 65536,
    "maxRequestHeaders": 50,
    "maxRequestLineBytes": 4096,
    "maxRequestBodyBytes": "1048576",
    "maxKeepaliveRequests": 10,
    "addViaHeader": true
  },
  "virtualHosts": [
    {
      "name": "shop",
      "hostnames": ["Shop.Example.com", "*.shop.example.com"],
      "tlsSecret": "shop-tls",
      "routes": [
        {
          "name": "api",
          "match": {"type": "TYPE_PREFIX", "path": "/api"},
          "action": {"cluster": "api"},
          "origin": {"namespace": "prod", "ingress": "shop", "service": "api", "servicePort": "http"}
        },
        {
          "name": "canary",
          "match": {"type": "TYPE_EXACT", "path": "/checkout"},
          "action": {"weightedClusters": {"clusters": [
            {"cluster": "web", "weight": 90}, {"cluster": "web-canary", "weight": 10}]}}
        },
        {
          "name": "legacy",
          "match": {"type": "TYPE_REGEX", "path": "/old/[0-9]+"},
          "action": {"redirect": {"scheme": "https", "host": "new.example.com", "port": 8443,
                                  "path": "/new", "code": 308, "stripQuery": true}}
        },
        {
          "name": "moved",
          "match": {"path": "/moved"},
          "action": {"redirect": {"path": "/here"}}
        },
        {
          "name": "health",
          "match": {"type": "TYPE_EXACT", "path": "/healthz"},
          "action": {"directResponse": {"status": 204, "body": "ok", "contentType": "text/plain"}}
        }
      ]
    },
    {
      "name": "catch-all",
      "routes": [{"name": "root", "match": {"type": "TYPE_PREFIX", "path": "/"},
                  "action": {"cluster": "web"}}]
    }
  ],
  "clusters": [
    {
      "name": "api",
      "lbPolicy": "LB_POLICY_LEAST_REQUEST",
      "protocol": "PROTOCOL_H2C",
      "connectTimeout": "2.500s",
      "responseTimeout": "30s",
      "idleTimeout": "90s",
      "maxIdleConnections": 8,
      "maxConnections": 100,
      "connectRetries": 5,
      "outlierDetection": {"consecutiveFailures": 3, "baseEjectionTime": "10s",
                           "maxEjectionPercent": 20},
      "origin": {"namespace": "prod", "service": "api"}
    },
    {"name": "web", "lbPolicy": "LB_POLICY_RANDOM", "protocol": "PROTOCOL_HTTPS",
     "outlierDetection": {"disabled": true}},
    {"name": "web-canary", "lbPolicy": "LB_POLICY_ROUND_ROBIN", "protocol": "PROTOCOL_H2"},
    {"name": "backend", "protocol": "PROTOCOL_HTTP1"}
  ],
  "endpoints": [
    {
      "cluster": "api",
      "endpoints": [
        {"address": "10.0.0.2", "port": 8080, "weight": 3, "ready": true, "serving": true,
         "zone": "zone-a"},
        {"address": "2001:DB8::1", "port": 8080, "ready": true},
        {"address": "10.0.0.10", "port": 8080, "terminating": true, "serving": true},
        {"address": "::ffff:10.0.0.3", "port": 9090, "ready": true},
        {"address": "[::1]", "port": 80, "ready": true}
      ]
    },
    {"cluster": "web", "endpoints": [{"address": "192.168.1.1", "port": 443, "ready": true}]},
    {"cluster": "web-canary", "endpoints": []}
  ],
  "secrets": [{"name": "shop-tls", "certificateChain": "PEM", "privateKey": "KEY"}],
  "defaultAction": {"cluster": "backend"}
})json";

TEST(CompileTest, FullSnapshot) {
  v1::Snapshot snapshot = FromJson(kFullSnapshot);
  absl::StatusOr<net::CidrSet> extra = net::CidrSet::Parse("192.0.2.1");
  ASSERT_TRUE(extra.ok());
  std::shared_ptr<const Config> config = MustCompile(snapshot, *extra);
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(config->version, 42u);

  const GlobalConfig& g = config->settings;
  EXPECT_EQ(g.trusted_proxies.size(), 3u);
  EXPECT_TRUE(g.trusted_proxies.Contains(Ip("10.1.2.3")));
  EXPECT_TRUE(g.trusted_proxies.Contains(Ip("2001:db8::7")));
  EXPECT_TRUE(g.trusted_proxies.Contains(Ip("192.0.2.1")));  // from the flag
  EXPECT_FALSE(g.trusted_proxies.Contains(Ip("192.0.2.2")));
  EXPECT_EQ(g.client_header_timeout, milliseconds(10000));
  EXPECT_EQ(g.client_body_timeout, milliseconds(20500));
  EXPECT_EQ(g.keepalive_timeout, milliseconds(1));  // 1ns rounds up, not down to "default"
  EXPECT_EQ(g.max_request_header_bytes, 65536u);
  EXPECT_EQ(g.max_request_headers, 50u);
  EXPECT_EQ(g.max_request_line_bytes, 4096u);
  EXPECT_EQ(g.max_request_body_bytes, 1048576u);
  EXPECT_EQ(g.max_keepalive_requests, 10u);
  EXPECT_TRUE(g.add_via_header);

  // Routes.
  const router::RouteTable& routes = *config->routes;
  router::MatchResult m = routes.Match("shop.example.com:443", "/api/v1");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.virtual_host, "shop");
  EXPECT_EQ(m.route->name, "api");
  EXPECT_EQ(m.route->match_type, router::PathMatchType::kPrefix);
  ASSERT_EQ(m.route->action.clusters.size(), 1u);
  EXPECT_EQ(m.route->action.clusters[0].cluster, "api");
  EXPECT_EQ(m.route->action.clusters[0].weight, 1u);
  EXPECT_EQ(m.route->origin.ns, "prod");
  EXPECT_EQ(m.route->origin.ingress, "shop");
  EXPECT_EQ(m.route->origin.service, "api");
  EXPECT_EQ(m.route->origin.service_port, "http");

  m = routes.Match("eu.shop.example.com", "/checkout");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->match_type, router::PathMatchType::kExact);
  ASSERT_EQ(m.route->action.clusters.size(), 2u);
  EXPECT_EQ(m.route->action.clusters[0].cluster, "web");
  EXPECT_EQ(m.route->action.clusters[0].weight, 90u);
  EXPECT_EQ(m.route->action.clusters[1].cluster, "web-canary");
  EXPECT_EQ(m.route->action.clusters[1].weight, 10u);

  m = routes.Match("shop.example.com", "/old/12/x");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->match_type, router::PathMatchType::kRegex);
  ASSERT_TRUE(m.route->action.redirect.has_value());
  const router::RedirectAction& r = *m.route->action.redirect;
  EXPECT_EQ(r.scheme, "https");
  EXPECT_EQ(r.host, "new.example.com");
  EXPECT_EQ(r.port, 8443u);
  EXPECT_EQ(r.path, "/new");
  EXPECT_EQ(r.code, 308);
  EXPECT_TRUE(r.strip_query);
  EXPECT_TRUE(m.route->action.clusters.empty());

  m = routes.Match("shop.example.com", "/moved/x");  // unspecified match type: Prefix
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->match_type, router::PathMatchType::kPrefix);
  ASSERT_TRUE(m.route->action.redirect.has_value());
  EXPECT_EQ(m.route->action.redirect->code, 301);  // unset code
  EXPECT_EQ(m.route->action.redirect->path, "/here");
  EXPECT_TRUE(m.route->action.redirect->scheme.empty());
  EXPECT_EQ(m.route->action.redirect->port, 0u);

  m = routes.Match("shop.example.com", "/healthz");
  ASSERT_NE(m.route, nullptr);
  ASSERT_TRUE(m.route->action.direct_response.has_value());
  EXPECT_EQ(m.route->action.direct_response->status, 204);
  EXPECT_EQ(m.route->action.direct_response->body, "ok");
  EXPECT_EQ(m.route->action.direct_response->content_type, "text/plain");

  m = routes.Match("shop.example.com", "/other");  // no fallthrough to the catch-all
  EXPECT_EQ(m.route, nullptr);
  EXPECT_EQ(m.virtual_host, "shop");
  m = routes.Match("unknown.example.org", "/anything");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->name, "root");

  ASSERT_TRUE(routes.default_action().has_value());
  ASSERT_EQ(routes.default_action()->clusters.size(), 1u);
  EXPECT_EQ(routes.default_action()->clusters[0].cluster, "backend");

  // Clusters.
  ASSERT_EQ(config->clusters.size(), 4u);
  const upstream::ClusterConfig* api = config->FindCluster("api");
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api->name, "api");
  EXPECT_EQ(api->lb_policy, upstream::LbPolicy::kLeastRequest);
  EXPECT_EQ(api->protocol, upstream::Protocol::kH2c);
  EXPECT_EQ(api->connect_timeout, milliseconds(2500));
  EXPECT_EQ(api->response_timeout, milliseconds(30000));
  EXPECT_EQ(api->idle_timeout, milliseconds(90000));
  EXPECT_EQ(api->max_idle_connections, 8u);
  EXPECT_EQ(api->max_connections, 100u);
  EXPECT_EQ(api->connect_retries, 5u);
  EXPECT_TRUE(api->outlier.enabled);
  EXPECT_EQ(api->outlier.consecutive_failures, 3u);
  EXPECT_EQ(api->outlier.base_ejection_time, milliseconds(10000));
  EXPECT_EQ(api->outlier.max_ejection_percent, 20u);

  std::vector<std::string> keys;
  for (const upstream::EndpointConfig& ep : api->endpoints) keys.push_back(ep.key);
  EXPECT_THAT(keys, ElementsAre("10.0.0.10:8080", "10.0.0.2:8080", "10.0.0.3:9090",
                                "[2001:db8::1]:8080", "[::1]:80"));
  const upstream::EndpointConfig& ten = api->endpoints[0];
  EXPECT_FALSE(ten.ready);
  EXPECT_TRUE(ten.terminating);
  EXPECT_EQ(ten.weight, 1u);  // unset weight
  const upstream::EndpointConfig& two = api->endpoints[1];
  EXPECT_TRUE(two.ready);
  EXPECT_FALSE(two.terminating);
  EXPECT_EQ(two.weight, 3u);
  EXPECT_EQ(two.zone, "zone-a");
  EXPECT_EQ(two.port, 8080);
  EXPECT_EQ(two.address, Ip("10.0.0.2"));
  EXPECT_TRUE(api->endpoints[2].address.is_v4());  // IPv4-mapped is IPv4

  const upstream::ClusterConfig* web = config->FindCluster("web");
  ASSERT_NE(web, nullptr);
  EXPECT_EQ(web->lb_policy, upstream::LbPolicy::kRandom);
  EXPECT_EQ(web->protocol, upstream::Protocol::kHttps);
  EXPECT_FALSE(web->outlier.enabled);
  ASSERT_EQ(web->endpoints.size(), 1u);
  const upstream::ClusterConfig* canary = config->FindCluster("web-canary");
  ASSERT_NE(canary, nullptr);
  EXPECT_EQ(canary->lb_policy, upstream::LbPolicy::kRoundRobin);
  EXPECT_EQ(canary->protocol, upstream::Protocol::kH2);
  EXPECT_TRUE(canary->endpoints.empty());
  const upstream::ClusterConfig* backend = config->FindCluster("backend");
  ASSERT_NE(backend, nullptr);
  EXPECT_EQ(backend->protocol, upstream::Protocol::kHttp1);
  EXPECT_TRUE(backend->endpoints.empty());  // no ClusterEndpoints: valid, answers 503
  EXPECT_EQ(config->FindCluster("nope"), nullptr);
}

TEST(CompileTest, SockaddrIsReadyForConnect) {
  v1::Snapshot snapshot = FromJson(R"json({
    "clusters": [{"name": "c"}],
    "endpoints": [{"cluster": "c", "endpoints": [
      {"address": "192.0.2.7", "port": 8080}, {"address": "2001:db8::42", "port": 443}]}]})json");
  std::shared_ptr<const Config> config = MustCompile(snapshot);
  ASSERT_NE(config, nullptr);
  const upstream::ClusterConfig* c = config->FindCluster("c");
  ASSERT_NE(c, nullptr);
  ASSERT_EQ(c->endpoints.size(), 2u);

  const upstream::EndpointConfig& v4 = c->endpoints[0];
  EXPECT_EQ(v4.key, "192.0.2.7:8080");
  ASSERT_EQ(v4.sockaddr_len, sizeof(sockaddr_in));
  const auto* sin = reinterpret_cast<const sockaddr_in*>(&v4.sockaddr);
  EXPECT_EQ(sin->sin_family, AF_INET);
  EXPECT_EQ(ntohs(sin->sin_port), 8080);
  char text[INET6_ADDRSTRLEN];
  ASSERT_NE(inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text)), nullptr);
  EXPECT_STREQ(text, "192.0.2.7");

  const upstream::EndpointConfig& v6 = c->endpoints[1];
  EXPECT_EQ(v6.key, "[2001:db8::42]:443");
  ASSERT_EQ(v6.sockaddr_len, sizeof(sockaddr_in6));
  const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(&v6.sockaddr);
  EXPECT_EQ(sin6->sin6_family, AF_INET6);
  EXPECT_EQ(ntohs(sin6->sin6_port), 443);
  ASSERT_NE(inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text)), nullptr);
  EXPECT_STREQ(text, "2001:db8::42");
  EXPECT_EQ(sin6->sin6_flowinfo, 0u);
  EXPECT_EQ(sin6->sin6_scope_id, 0u);
}

TEST(CompileTest, DuplicateEndpointsCollapseToTheFirst) {
  v1::Snapshot snapshot = FromJson(R"json({
    "clusters": [{"name": "c"}],
    "endpoints": [{"cluster": "c", "endpoints": [
      {"address": "10.0.0.1", "port": 80, "ready": true, "weight": 2},
      {"address": "10.0.0.1", "port": 81},
      {"address": "10.0.0.1", "port": 80, "weight": 7}]}]})json");
  std::shared_ptr<const Config> config = MustCompile(snapshot);
  ASSERT_NE(config, nullptr);
  const upstream::ClusterConfig* c = config->FindCluster("c");
  ASSERT_EQ(c->endpoints.size(), 2u);
  EXPECT_EQ(c->endpoints[0].key, "10.0.0.1:80");
  EXPECT_EQ(c->endpoints[0].weight, 2u);
  EXPECT_TRUE(c->endpoints[0].ready);
  EXPECT_EQ(c->endpoints[1].key, "10.0.0.1:81");
}

TEST(CompileTest, EmptySnapshotHasDefaults) {
  std::shared_ptr<const Config> config = MustCompile(v1::Snapshot());
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(config->version, 0u);
  ASSERT_NE(config->routes, nullptr);
  EXPECT_EQ(config->routes->Match("any", "/").route, nullptr);
  EXPECT_FALSE(config->routes->default_action().has_value());
  EXPECT_TRUE(config->clusters.empty());

  const GlobalConfig& g = config->settings;
  const GlobalConfig want;
  EXPECT_TRUE(g.trusted_proxies.empty());
  EXPECT_EQ(g.client_header_timeout, milliseconds(60000));
  EXPECT_EQ(g.client_body_timeout, milliseconds(60000));
  EXPECT_EQ(g.keepalive_timeout, milliseconds(75000));
  EXPECT_EQ(g.max_request_header_bytes, 32768u);
  EXPECT_EQ(g.max_request_headers, 100u);
  EXPECT_EQ(g.max_request_line_bytes, 8192u);
  EXPECT_EQ(g.max_request_body_bytes, 0u);
  EXPECT_EQ(g.max_keepalive_requests, 1000u);
  EXPECT_EQ(g.add_via_header, want.add_via_header);
}

TEST(CompileTest, ZeroValuesMeanDefaults) {
  v1::Snapshot snapshot = FromJson(R"json({
    "settings": {"clientHeaderTimeout": "0s", "maxRequestHeaders": 0},
    "clusters": [{"name": "c", "connectTimeout": "0s", "outlierDetection": {}}],
    "endpoints": [{"cluster": "c", "endpoints": [{"address": "10.0.0.1", "port": 80,
                                                   "weight": 0}]}]})json");
  std::shared_ptr<const Config> config = MustCompile(snapshot);
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(config->settings.client_header_timeout, milliseconds(60000));
  EXPECT_EQ(config->settings.max_request_headers, 100u);
  const upstream::ClusterConfig* c = config->FindCluster("c");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->endpoints[0].weight, 1u);
  const upstream::ClusterConfig want;
  EXPECT_EQ(c->lb_policy, upstream::LbPolicy::kRoundRobin);
  EXPECT_EQ(c->protocol, upstream::Protocol::kHttp1);
  EXPECT_EQ(c->connect_timeout, milliseconds(5000));
  EXPECT_EQ(c->response_timeout, milliseconds(60000));
  EXPECT_EQ(c->idle_timeout, milliseconds(60000));
  EXPECT_EQ(c->max_idle_connections, 1024u);
  EXPECT_EQ(c->max_connections, 0u);
  EXPECT_EQ(c->connect_retries, 2u);
  EXPECT_TRUE(c->outlier.enabled);
  EXPECT_EQ(c->outlier.consecutive_failures, 5u);
  EXPECT_EQ(c->outlier.base_ejection_time, milliseconds(30000));
  EXPECT_EQ(c->outlier.max_ejection_percent, 50u);
  EXPECT_EQ(c->max_idle_connections, want.max_idle_connections);
}

TEST(CompileTest, RouteBodyLimitsAndTheCodecLimit) {
  v1::Snapshot snapshot = FromJson(R"json({"settings": {"maxRequestBodyBytes": "4096"},
    "clusters": [{"name": "c"}], "virtualHosts": [{"name": "v", "routes": [
      {"name": "small", "match": {"type": "TYPE_EXACT", "path": "/a"},
       "action": {"cluster": "c"}, "maxRequestBodyBytes": "1024"},
      {"name": "big", "match": {"type": "TYPE_EXACT", "path": "/b"},
       "action": {"cluster": "c"}, "maxRequestBodyBytes": "1048576"},
      {"name": "plain", "match": {"type": "TYPE_EXACT", "path": "/c"},
       "action": {"cluster": "c"}}]}]})json");
  std::shared_ptr<const Config> config = MustCompile(snapshot);
  ASSERT_NE(config, nullptr);
  auto route = [&](std::string_view path) { return config->routes->Match("h", path).route; };
  EXPECT_EQ(route("/a")->max_body_bytes, 1024u);
  EXPECT_EQ(route("/b")->max_body_bytes, 1048576u);
  EXPECT_FALSE(route("/c")->max_body_bytes.has_value());
  EXPECT_EQ(config->settings.max_request_body_bytes, 4096u);
  // The codecs refuse only what no route accepts.
  EXPECT_EQ(config->settings.codec_max_request_body_bytes, 1048576u);

  snapshot.mutable_virtual_hosts(0)->mutable_routes(2)->set_max_request_body_bytes(0);
  config = MustCompile(snapshot);
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(config->routes->Match("h", "/c").route->max_body_bytes, 0u);
  EXPECT_EQ(config->settings.codec_max_request_body_bytes, 0u);  // one route is unlimited
}

TEST(CompileTest, RetryPolicyAndSendTimeout) {
  v1::Snapshot snapshot = FromJson(R"json({"clusters": [
    {"name": "default"},
    {"name": "legacy", "connectRetries": 4},
    {"name": "custom", "sendTimeout": "1.5s", "retry": {
      "conditions": ["CONDITION_HTTP_502", "CONDITION_NON_IDEMPOTENT"],
      "tries": 5, "timeout": "10s"}},
    {"name": "only-tries", "retry": {"tries": 2}},
    {"name": "off", "retry": {"off": true, "tries": 4}}]})json");
  std::shared_ptr<const Config> config = MustCompile(snapshot);
  ASSERT_NE(config, nullptr);
  const upstream::ClusterConfig* c = config->FindCluster("default");
  EXPECT_EQ(c->send_timeout, milliseconds(60000));
  EXPECT_EQ(c->retry.conditions, upstream::kRetryError | upstream::kRetryTimeout);
  EXPECT_EQ(c->retry.max_tries, 3u);
  EXPECT_EQ(c->retry.timeout, milliseconds(0));
  EXPECT_EQ(config->FindCluster("legacy")->retry.max_tries, 5u);
  c = config->FindCluster("custom");
  EXPECT_EQ(c->send_timeout, milliseconds(1500));
  EXPECT_EQ(c->retry.conditions, upstream::kRetryHttp502 | upstream::kRetryNonIdempotent);
  EXPECT_EQ(c->retry.max_tries, 5u);
  EXPECT_EQ(c->retry.timeout, milliseconds(10000));
  c = config->FindCluster("only-tries");
  EXPECT_EQ(c->retry.conditions, upstream::kRetryError | upstream::kRetryTimeout);
  EXPECT_EQ(c->retry.max_tries, 2u);
  c = config->FindCluster("off");
  EXPECT_EQ(c->retry.conditions, 0u);
  EXPECT_EQ(c->retry.max_tries, 1u);

  v1::Snapshot bad;
  bad.add_clusters()->set_name("x");
  bad.mutable_clusters(0)->mutable_retry()->add_conditions(
      static_cast<v1::RetryPolicy::Condition>(99));
  absl::StatusOr<std::shared_ptr<const Config>> rejected = Compile(bad, net::CidrSet());
  EXPECT_FALSE(rejected.ok());
  EXPECT_THAT(std::string(rejected.status().message()), HasSubstr("unknown retry condition"));
}

TEST(RetryOnStatusTest, NamedStatusesOnly) {
  EXPECT_EQ(upstream::RetryOnStatus(502), upstream::kRetryHttp502);
  EXPECT_EQ(upstream::RetryOnStatus(429), upstream::kRetryHttp429);
  EXPECT_EQ(upstream::RetryOnStatus(200), 0u);
  EXPECT_EQ(upstream::RetryOnStatus(501), 0u);
}

// --- Errors ---------------------------------------------------------------------

std::string WithEndpoint(std::string_view endpoint) {
  return WithCluster(
      portico::StrCat(R"json("endpoints": [{"cluster": "c", "endpoints": [)json", endpoint, "]}]"));
}

const std::vector<ErrorCase>& ErrorCases() {
  static const auto* cases = new std::vector<ErrorCase>{
      {"duplicate cluster",
       R"json({"clusters": [{"name": "a"}, {"name": "b"}, {"name": "a"}]})json",
       "duplicate cluster \"a\""},
      {"unnamed cluster", R"json({"clusters": [{"name": ""}]})json", "empty name"},
      {"duplicate endpoints",
       WithCluster(R"json("endpoints": [{"cluster": "c"}, {"cluster": "c"}])json"),
       "duplicate endpoints for cluster \"c\""},
      {"endpoints of unknown cluster", WithCluster(R"json("endpoints": [{"cluster": "zzz"}])json"),
       "endpoints for unknown cluster \"zzz\""},
      {"empty default action", WithCluster(R"json("defaultAction": {})json"),
       "default action has no action"},
      {"bad address", WithEndpoint(R"json({"address": "10.0.0.256", "port": 80})json"),
       "endpoints of cluster \"c\" [0]"},
      {"hostname address", WithEndpoint(R"json({"address": "backend.local", "port": 80})json"),
       "endpoints of cluster \"c\" [0]"},
      {"empty address", WithEndpoint(R"json({"port": 80})json"), "endpoints of cluster \"c\" [0]"},
      {"zero port", WithEndpoint(R"json({"address": "10.0.0.1"})json"),
       "endpoints of cluster \"c\" [0]: port 0 is not in 1..65535"},
      {"big port",
       WithEndpoint(
           R"json({"address": "10.0.0.1", "port": 80}, {"address": "10.0.0.1", "port": 65536})json"),
       "endpoints of cluster \"c\" [1]: port 65536 is not in 1..65535"},
      {"bad CIDR", R"json({"settings": {"trustedProxies": ["10.0.0.0/8", "10.0.0.0/33"]}})json",
       "settings.trusted_proxies[1]"},
      {"CIDR with host bits", R"json({"settings": {"trustedProxies": ["10.0.0.1/8"]}})json",
       "settings.trusted_proxies[0]"},
      {"CIDR garbage", R"json({"settings": {"trustedProxies": ["localhost"]}})json",
       "settings.trusted_proxies[0]"},
      {"bad regex",
       WithRoute(R"json({"type": "TYPE_REGEX", "path": "/(a"})json", R"json({"cluster": "c"})json"),
       "virtual host \"vh\" route \"r\": invalid regex"},
      {"relative prefix",
       WithRoute(R"json({"type": "TYPE_PREFIX", "path": "api"})json",
                 R"json({"cluster": "c"})json"),
       "route \"r\": path \"api\" must start with '/'"},
      {"relative exact",
       WithRoute(R"json({"type": "TYPE_EXACT", "path": "api"})json", R"json({"cluster": "c"})json"),
       "must start with '/'"},
      {"no match", WithRoute("{}", R"json({"cluster": "c"})json"), "route \"r\": empty path"},
      {"no action", WithRoute(R"json({"path": "/"})json", "{}"), "route \"r\": has no action"},
      {"bad hostname",
       WithCluster(R"json("virtualHosts": [{"name": "vh", "hostnames": ["*foo.com"]}])json"),
       "virtual host \"vh\": invalid hostname \"*foo.com\""},
      {"mid wildcard",
       WithCluster(R"json("virtualHosts": [{"name": "vh", "hostnames": ["a.*.com"]}])json"),
       "invalid hostname"},
      {"empty label",
       WithCluster(R"json("virtualHosts": [{"name": "vh", "hostnames": ["a..com"]}])json"),
       "invalid hostname"},
      {"hostname twice",
       WithCluster(R"json("virtualHosts": [{"name": "one", "hostnames": ["a.com"]},
                                           {"name": "two", "hostnames": ["A.COM"]}])json"),
       "virtual host \"two\": hostname \"a.com\" is already claimed by virtual host \"one\""},
      {"two catch-alls",
       WithCluster(R"json("virtualHosts": [{"name": "one"}, {"name": "two"}])json"),
       "virtual host \"two\" is a second catch-all"},
      {"negative global duration", R"json({"settings": {"keepaliveTimeout": "-1s"}})json",
       "settings.keepalive_timeout: negative duration"},
      {"negative cluster duration",
       R"json({"clusters": [{"name": "c", "idleTimeout": "-0.5s"}]})json",
       "cluster \"c\" idle_timeout: negative duration"},
      {"ejection percent",
       R"json({"clusters": [{"name": "c", "outlierDetection": {"maxEjectionPercent": 101}}]})json",
       "cluster \"c\": outlier_detection.max_ejection_percent 101 is above 100"},
  };
  return *cases;
}

class CompileErrorTest : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(CompileErrorTest, IsRejected) { testing::ExpectRejected(GetParam()); }

INSTANTIATE_TEST_SUITE_P(All, CompileErrorTest, ::testing::ValuesIn(ErrorCases()));

TEST(CompileTest, UnknownEnumValuesFromANewerControllerAreRejected) {
  v1::Snapshot snapshot;
  v1::Cluster* cluster = snapshot.add_clusters();
  cluster->set_name("c");
  cluster->set_lb_policy(static_cast<v1::Cluster::LbPolicy>(99));
  auto config = Compile(snapshot, net::CidrSet());
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr("cluster \"c\": unknown lb_policy 99"));

  cluster->set_lb_policy(v1::Cluster::LB_POLICY_UNSPECIFIED);
  cluster->set_protocol(static_cast<v1::Cluster::Protocol>(42));
  config = Compile(snapshot, net::CidrSet());
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("unknown protocol 42"));

  cluster->set_protocol(v1::Cluster::PROTOCOL_UNSPECIFIED);
  v1::Route* route = snapshot.add_virtual_hosts()->add_routes();
  route->set_name("r");
  route->mutable_match()->set_type(static_cast<v1::PathMatch::Type>(7));
  route->mutable_match()->set_path("/");
  route->mutable_action()->set_cluster("c");
  config = Compile(snapshot, net::CidrSet());
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()), HasSubstr("unknown path match type 7"));
}

TEST(CompileTest, OutOfRangeDurationFromBinaryIsRejected) {
  v1::Snapshot snapshot;
  snapshot.mutable_settings()->mutable_client_body_timeout()->set_seconds(INT64_MAX);
  auto config = Compile(snapshot, net::CidrSet());
  ASSERT_FALSE(config.ok());
  EXPECT_THAT(std::string(config.status().message()),
              HasSubstr("settings.client_body_timeout: duration out of range"));
}

// --- Parsing and loading ------------------------------------------------------------

TEST(ParseSnapshotJsonTest, UnknownFieldIsAnError) {
  absl::StatusOr<v1::Snapshot> s = ParseSnapshotJson(R"json({"clusterz": []})json");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("clusterz"));
  s = ParseSnapshotJson(
      R"json({"clusters": [{"name": "c", "lbPolicy": "LB_POLICY_FASTEST"}]})json");
  EXPECT_FALSE(s.ok());
}

TEST(ParseSnapshotJsonTest, MalformedJsonIsAnError) {
  for (const char* bad : {"", "{", "[]", "{\"version\": \"x\"}", "{\"version\": 1", "not json"}) {
    EXPECT_FALSE(ParseSnapshotJson(bad).ok()) << "[" << bad << "]";
  }
}

TEST(ParseSnapshotJsonTest, ProtoFieldNamesAreAcceptedToo) {
  v1::Snapshot s = FromJson(R"json({"virtual_hosts": [{"name": "v", "tls_secret": "t"}]})json");
  ASSERT_EQ(s.virtual_hosts_size(), 1);
  EXPECT_EQ(s.virtual_hosts(0).tls_secret(), "t");
}

TEST(SnapshotRoundTripTest, JsonAndBinaryAgree) {
  v1::Snapshot original = FromJson(kFullSnapshot);

  // JSON -> message -> JSON -> message.
  std::string json;
  ASSERT_TRUE(google::protobuf::util::MessageToJsonString(original, &json).ok());
  v1::Snapshot reparsed = FromJson(json);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(original, reparsed));

  // Binary file.
  std::string pb_path = WriteFile("snapshot_roundtrip.pb", original.SerializeAsString());
  absl::StatusOr<v1::Snapshot> from_pb = LoadSnapshotFile(pb_path);
  ASSERT_TRUE(from_pb.ok()) << from_pb.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(original, *from_pb));

  // JSON file (any other name).
  std::string json_path = WriteFile("snapshot_roundtrip.json", kFullSnapshot);
  absl::StatusOr<v1::Snapshot> from_json = LoadSnapshotFile(json_path);
  ASSERT_TRUE(from_json.ok()) << from_json.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(original, *from_json));

  std::shared_ptr<const Config> config = MustCompile(*from_pb);
  ASSERT_NE(config, nullptr);
  EXPECT_EQ(config->version, 42u);
  EXPECT_EQ(config->clusters.size(), 4u);
  std::remove(pb_path.c_str());
  std::remove(json_path.c_str());
}

TEST(LoadSnapshotFileTest, MissingFileNamesThePath) {
  std::string path = ::testing::TempDir() + "/does-not-exist.json";
  absl::StatusOr<v1::Snapshot> s = LoadSnapshotFile(path);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(s.status().message()), HasSubstr(path));
}

TEST(LoadSnapshotFileTest, DirectoryIsAnError) {
  absl::StatusOr<v1::Snapshot> s = LoadSnapshotFile(::testing::TempDir());
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr(::testing::TempDir()));
}

TEST(LoadSnapshotFileTest, BadContentNamesThePath) {
  std::string pb_path = WriteFile("bad_snapshot.pb", "\xff\xff\xff garbage");
  absl::StatusOr<v1::Snapshot> s = LoadSnapshotFile(pb_path);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr(pb_path));

  std::string json_path = WriteFile("bad_snapshot.json", R"json({"version": 1, "oops": true})json");
  s = LoadSnapshotFile(json_path);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()), HasSubstr(json_path));
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("oops"));
  std::remove(pb_path.c_str());
  std::remove(json_path.c_str());
}

TEST(LoadSnapshotFileTest, PbSuffixIsBinaryEvenWhenItLooksLikeJson) {
  // "{}" is not a valid binary Snapshot: the suffix, not the content, decides.
  std::string path = WriteFile("looks_like_json.pb", "{}");
  EXPECT_FALSE(LoadSnapshotFile(path).ok());
  std::remove(path.c_str());
}

}  // namespace
}  // namespace portico::dataplane::config
