#include "controller/kube/api_client.h"

#include <gtest/gtest.h>

#include "controller/kube/backoff.h"
#include "controller/kube/line_buffer.h"
#include "controller/kube/test_api_server.h"

namespace portico::controller::kube {
namespace {

using testing::TestApiServer;

TEST(DescribeRequest, NamesVerbResourceAndScope) {
  struct Case {
    const char* method;
    const char* path;
    RequestInfo want;
  } cases[] = {
      {"GET",
       "/apis/networking.k8s.io/v1/ingresses?limit=500",
       {"list", "networking.k8s.io", "ingresses", "", ""}},
      {"GET",
       "/apis/networking.k8s.io/v1/namespaces/a/ingresses?watch=1&x=y",
       {"watch", "networking.k8s.io", "ingresses", "a", ""}},
      {"PATCH",
       "/apis/networking.k8s.io/v1/namespaces/a/ingresses/web/status",
       {"patch", "networking.k8s.io", "ingresses/status", "a", "web"}},
      {"POST", "/api/v1/namespaces/a/events", {"create", "", "events", "a", ""}},
      {"GET", "/api/v1/namespaces/a/services/s", {"get", "", "services", "a", "s"}},
      {"GET", "/api/v1/namespaces", {"list", "", "namespaces", "", ""}},
      {"PUT",
       "/apis/coordination.k8s.io/v1/namespaces/p/leases/l",
       {"update", "coordination.k8s.io", "leases", "p", "l"}},
      {"GET", "/apis/discovery.k8s.io", {"get", "discovery.k8s.io", "", "", ""}},
  };
  for (const auto& c : cases) {
    RequestInfo got = DescribeRequest(c.method, c.path);
    EXPECT_EQ(got.verb, c.want.verb) << c.path;
    EXPECT_EQ(got.group, c.want.group) << c.path;
    EXPECT_EQ(got.resource, c.want.resource) << c.path;
    EXPECT_EQ(got.ns, c.want.ns) << c.path;
    EXPECT_EQ(got.name, c.want.name) << c.path;
  }
}

TEST(StatusFromResponse, MapsCodesAndNamesTheMissingPermission) {
  absl::Status forbidden =
      StatusFromResponse(403, R"({"kind":"Status","message":"ingresses is forbidden"})", "GET",
                         "/apis/networking.k8s.io/v1/namespaces/a/ingresses?watch=1");
  EXPECT_EQ(forbidden.code(), absl::StatusCode::kPermissionDenied);
  std::string text(forbidden.message());
  EXPECT_NE(text.find("verb \"watch\" on ingresses.networking.k8s.io in namespace a"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("ingresses is forbidden"), std::string::npos) << text;
  EXPECT_EQ(StatusFromResponse(401, "", "GET", "/api").code(), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(StatusFromResponse(404, "", "GET", "/api").code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(StatusFromResponse(409, "", "PUT", "/api").code(), absl::StatusCode::kAborted);
  EXPECT_EQ(StatusFromResponse(410, "", "GET", "/api").code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(StatusFromResponse(503, "<html>", "GET", "/api").code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(StatusFromResponse(422, "{}", "POST", "/api").code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(LineBuffer, SplitsAcrossChunksAndCapsPartialLines) {
  std::vector<std::string> lines;
  auto collect = [&](std::string_view l) {
    lines.emplace_back(l);
    return true;
  };
  LineBuffer buffer(16);
  EXPECT_TRUE(buffer.Append("{\"a\":", collect));
  EXPECT_TRUE(buffer.Append("1}\r\n\n{\"b\":2}\n{\"c\"", collect));
  EXPECT_EQ(lines, (std::vector<std::string>{"{\"a\":1}", "{\"b\":2}"}));
  EXPECT_EQ(buffer.pending(), 4u);
  EXPECT_FALSE(buffer.Append(std::string(20, 'x'), collect));
  EXPECT_TRUE(buffer.overflowed());

  LineBuffer stop(100);
  int calls = 0;
  EXPECT_FALSE(stop.Append("a\nb\nc\n", [&](std::string_view) { return ++calls < 2; }));
  EXPECT_EQ(calls, 2);
}

TEST(Backoff, GrowsToTheCapWithJitterAndResets) {
  Backoff backoff({std::chrono::milliseconds(100), std::chrono::milliseconds(1000), 0.5}, 7);
  std::vector<int64_t> waits;
  for (int i = 0; i < 8; ++i) waits.push_back(backoff.Next().count());
  EXPECT_GE(waits[0], 50);
  EXPECT_LE(waits[0], 100);
  EXPECT_GE(waits[2], 200);
  EXPECT_LE(waits[2], 400);
  for (int i = 4; i < 8; ++i) {
    EXPECT_GE(waits[i], 500);
    EXPECT_LE(waits[i], 1000);
  }
  backoff.Reset();
  EXPECT_LE(backoff.Next().count(), 100);
}

class ApiClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.server().Get("/api/v1/namespaces/a/services/s",
                         [](const httplib::Request& req, httplib::Response& res) {
                           if (req.get_header_value("Authorization") != "Bearer test-token") {
                             res.status = 401;
                             return;
                           }
                           res.set_content(R"({"kind":"Service"})", "application/json");
                         });
    server_.server().Get("/api/v1/secrets", [](const httplib::Request&, httplib::Response& res) {
      res.status = 403;
      res.set_content(R"({"kind":"Status","code":403,"message":"no"})", "application/json");
    });
    server_.server().Get("/api/v1/garbage", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("{not json", "application/json");
    });
    server_.server().Get("/api/v1/stream", [](const httplib::Request&, httplib::Response& res) {
      res.set_chunked_content_provider("application/json", [](size_t, httplib::DataSink& sink) {
        sink.write("{\"n\":1}\n{\"n\"", 12);
        sink.write(":2}\n", 4);
        sink.done();
        return true;
      });
    });
    server_.server().Patch(
        "/api/v1/namespaces/a/services/s", [](const httplib::Request& req, httplib::Response& res) {
          res.set_content(nlohmann::json{{"type", req.get_header_value("Content-Type")},
                                         {"body", nlohmann::json::parse(req.body)}}
                              .dump(),
                          "application/json");
        });
    server_.Start();
  }

  std::unique_ptr<ApiClient> Client(ClientConfig config) {
    auto client = ApiClient::Create(std::move(config));
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? std::move(*client) : nullptr;
  }

  TestApiServer server_;
};

TEST_F(ApiClientTest, RequestsWithTokenOverVerifiedTls) {
  auto client = Client(server_.Config());
  auto got = client->Get("/api/v1/namespaces/a/services/s");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ((*got)["kind"], "Service");

  auto patched = client->MergePatch("/api/v1/namespaces/a/services/s", {{"x", 1}});
  ASSERT_TRUE(patched.ok()) << patched.status();
  EXPECT_EQ((*patched)["type"], "application/merge-patch+json");
  EXPECT_EQ((*patched)["body"]["x"], 1);

  ClientConfig bad_token = server_.Config();
  bad_token.token = "wrong";
  EXPECT_EQ(Client(bad_token)->Get("/api/v1/namespaces/a/services/s").status().code(),
            absl::StatusCode::kUnauthenticated);
}

TEST_F(ApiClientTest, ErrorsSayWhatWentWrong) {
  auto client = Client(server_.Config());
  absl::Status forbidden = client->Get("/api/v1/secrets").status();
  EXPECT_EQ(forbidden.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_NE(std::string(forbidden.message()).find("\"list\" on secrets"), std::string::npos)
      << forbidden;
  EXPECT_EQ(client->Get("/api/v1/garbage").status().code(), absl::StatusCode::kDataLoss);

  // A server whose certificate does not chain to the configured CA.
  absl::Status untrusted = Client(server_.Config("other"))->Get("/api/v1/secrets").status();
  EXPECT_EQ(untrusted.code(), absl::StatusCode::kUnavailable) << untrusted;

  ClientConfig nobody = server_.Config();
  nobody.port = 1;  // nothing listens on loopback port 1
  absl::Status unreachable = Client(nobody)->Get("/api").status();
  EXPECT_EQ(unreachable.code(), absl::StatusCode::kUnavailable);
  EXPECT_NE(std::string(unreachable.message()).find("unreachable"), std::string::npos);

  ClientConfig no_ca = server_.Config();
  no_ca.ca_pem = "not a certificate";
  EXPECT_FALSE(ApiClient::Create(no_ca).ok());
}

TEST_F(ApiClientTest, StreamsLinesAsTheyArrive) {
  auto client = Client(server_.Config());
  std::vector<int> seen;
  absl::Status status =
      client->Stream("/api/v1/stream", std::chrono::seconds(5), [&](std::string_view line) {
        seen.push_back(nlohmann::json::parse(line)["n"].get<int>());
        return true;
      });
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_EQ(seen, (std::vector<int>{1, 2}));
  EXPECT_EQ(client
                ->Stream("/api/v1/secrets", std::chrono::seconds(5),
                         [](std::string_view) { return true; })
                .code(),
            absl::StatusCode::kPermissionDenied);
  client->Shutdown();
  EXPECT_EQ(client->Get("/api/v1/namespaces/a/services/s").status().code(),
            absl::StatusCode::kCancelled);
}

}  // namespace
}  // namespace portico::controller::kube
