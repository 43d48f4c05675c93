#include "controller/kube/informer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>

#include "controller/kube/test_api_server.h"

namespace portico::controller::kube {
namespace {

using nlohmann::json;

json Ingress(const std::string& name, const std::string& rv) {
  return {{"metadata",
           {{"namespace", "a"},
            {"name", name},
            {"resourceVersion", rv},
            {"managedFields", json::array({{{"manager", "kubectl"}}})}}}};
}

std::string Event(const std::string& type, const json& object) {
  return json{{"type", type}, {"object", object}}.dump() + "\n";
}

TEST(DiffCaches, CountsByResourceVersion) {
  ObjectCache before = {{"a/x", Ingress("x", "1")}, {"a/y", Ingress("y", "2")}};
  ObjectCache after = {
      {"a/x", Ingress("x", "1")}, {"a/y", Ingress("y", "3")}, {"a/z", Ingress("z", "4")}};
  CacheDiff diff = DiffCaches(before, after);
  EXPECT_EQ(diff.added, 1u);
  EXPECT_EQ(diff.updated, 1u);
  EXPECT_EQ(diff.deleted, 0u);
  EXPECT_EQ(DiffCaches(after, before).deleted, 1u);
  EXPECT_TRUE(DiffCaches(before, before).empty());
}

TEST(Resource, CollectionPaths) {
  Resource ingress{"Ingress", "networking.k8s.io/v1", "ingresses"};
  EXPECT_EQ(ingress.CollectionPath(""), "/apis/networking.k8s.io/v1/ingresses");
  EXPECT_EQ(ingress.CollectionPath("a"), "/apis/networking.k8s.io/v1/namespaces/a/ingresses");
  Resource klass{"IngressClass", "networking.k8s.io/v1", "ingressclasses", false};
  EXPECT_EQ(klass.CollectionPath("a"), "/apis/networking.k8s.io/v1/ingressclasses");
  Resource secret{"Secret", "v1", "secrets"};
  EXPECT_EQ(secret.CollectionPath(""), "/api/v1/secrets");
}

// A scripted API server: a two-page LIST, a watch with every event type that
// ends in a 410 ERROR, a second LIST with different contents, then a watch
// that stays open until the test ends.
class InformerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.server().Get("/apis/networking.k8s.io/v1/ingresses", [this](const httplib::Request& req,
                                                                        httplib::Response& res) {
      if (req.has_param("watch")) return Watch(req, res);
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back("list " + req.get_param_value("continue") + " " +
                          req.get_param_value("fieldSelector"));
      json page = {{"kind", "IngressList"}, {"apiVersion", "networking.k8s.io/v1"}};
      if (lists_ == 0 && !req.has_param("continue")) {
        page["items"] = {Ingress("a", "1"), Ingress("b", "2")};
        page["metadata"] = {{"resourceVersion", "10"}, {"continue", "next"}};
      } else if (lists_ == 0) {
        page["items"] = {Ingress("c", "3")};
        page["metadata"] = {{"resourceVersion", "10"}};
        ++lists_;
      } else {
        page["items"] = {Ingress("a", "20"), Ingress("d", "21")};
        page["metadata"] = {{"resourceVersion", "22"}};
        ++lists_;
      }
      res.set_content(page.dump(), "application/json");
    });
    server_.Start();
    auto client = ApiClient::Create(server_.Config());
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = std::move(*client);
  }

  void Watch(const httplib::Request& req, httplib::Response& res) {
    std::string body;
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back("watch " + req.get_param_value("resourceVersion"));
      ++watches_;
      if (watches_ > 1) {
        res.set_chunked_content_provider("application/json", [this](size_t, httplib::DataSink&) {
          // Held open; ends when the client goes away or the test is over.
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          return !done_.load();
        });
        return;
      }
    }
    body = Event("ADDED", Ingress("e", "11")) + Event("MODIFIED", Ingress("a", "12")) +
           Event("BOOKMARK", {{"metadata", {{"resourceVersion", "13"}}}}) +
           Event("DELETED", Ingress("b", "14")) +
           Event("ERROR", {{"kind", "Status"}, {"code", 410}, {"message", "too old"}});
    res.set_content(body, "application/json");
  }

  std::set<std::string> Keys(const Informer& informer) {
    std::set<std::string> keys;
    for (const json& o : informer.Objects()) {
      EXPECT_EQ(o["kind"], "Ingress");
      EXPECT_FALSE(o["metadata"].contains("managedFields"));
      keys.insert(ObjectKey(o));
    }
    return keys;
  }

  template <typename Pred>
  bool WaitFor(Pred pred) {
    for (int i = 0; i < 500; ++i) {
      if (pred()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return pred();
  }

  testing::TestApiServer server_;
  std::unique_ptr<ApiClient> client_;
  std::mutex mu_;
  std::vector<std::string> requests_;  // guarded by mu_
  int lists_ = 0, watches_ = 0;        // guarded by mu_
  std::atomic<bool> done_{false};
};

TEST_F(InformerTest, ListsPagesWatchesAndRelistsOnGone) {
  std::atomic<int> changes{0};
  InformerOptions options;
  options.page_size = 2;
  options.backoff = {std::chrono::milliseconds(10), std::chrono::milliseconds(50), 0.5};
  Resource resource{"Ingress", "networking.k8s.io/v1", "ingresses", true, "a=b"};
  Informer informer(*client_, resource, "", options, [&] { changes.fetch_add(1); });
  informer.Start();
  ASSERT_TRUE(WaitFor([&] { return informer.relists() == 1 && informer.synced(); }));
  ASSERT_TRUE(WaitFor([&] {
    std::lock_guard<std::mutex> lock(mu_);
    return watches_ == 2;
  }));
  EXPECT_EQ(Keys(informer), (std::set<std::string>{"a/a", "a/d"}));
  EXPECT_EQ(informer.lists(), 2u);
  // First sync, four watch events (the bookmark is not a change), the relist's difference.
  EXPECT_EQ(changes.load(), 1 + 3 + 1);
  {
    std::lock_guard<std::mutex> lock(mu_);
    EXPECT_EQ(requests_, (std::vector<std::string>{"list  a=b", "list next a=b", "watch 10",
                                                   "list  a=b", "watch 22"}));
  }
  client_->Shutdown();
  done_ = true;
  informer.Stop();
}

TEST_F(InformerTest, RetriesWithBackoffWhileTheServerIsDown) {
  server_.Stop();
  InformerOptions options;
  options.backoff = {std::chrono::milliseconds(10), std::chrono::milliseconds(20), 0.5};
  Informer informer(*client_, {"Ingress", "networking.k8s.io/v1", "ingresses"}, "", options, [] {});
  informer.Start();
  ASSERT_TRUE(WaitFor([&] { return informer.errors() >= 3; }));
  EXPECT_FALSE(informer.synced());
  client_->Shutdown();
  informer.Stop();
}

}  // namespace
}  // namespace portico::controller::kube
