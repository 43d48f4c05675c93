#include "controller/status/event_recorder.h"

#include <gtest/gtest.h>

namespace portico::controller::status {
namespace {

translate::Diagnostic Diag(std::string kind, std::string ns, std::string name) {
  translate::Diagnostic d;
  d.kind = std::move(kind);
  d.ns = std::move(ns);
  d.name = std::move(name);
  d.reason = "InvalidAnnotation";
  d.message = "portico.dev/x: not a duration";
  return d;
}

TEST(EventFor, PointsAtTheObjectTheDiagnosticIsAbout) {
  EventOptions options;
  options.instance = "replica-1";
  nlohmann::json e =
      EventFor(Diag("Ingress", "shop", "web"), "web.0123", "2026-01-02T03:04:05.123456Z", options);
  EXPECT_EQ(e["metadata"]["namespace"], "shop");
  EXPECT_EQ(e["metadata"]["name"], "web.0123");
  EXPECT_EQ(e["involvedObject"],
            nlohmann::json::parse(R"({"apiVersion":"networking.k8s.io/v1","kind":"Ingress",
                                      "namespace":"shop","name":"web"})"));
  EXPECT_EQ(e["reason"], "InvalidAnnotation");
  EXPECT_EQ(e["type"], "Warning");
  EXPECT_EQ(e["source"]["component"], "portico-controller");
  EXPECT_EQ(e["firstTimestamp"], "2026-01-02T03:04:05Z");
  EXPECT_EQ(e["count"], 1);

  nlohmann::json klass =
      EventFor(Diag("IngressClass", "", "portico"), "n", "2026-01-02T03:04:05Z", options);
  EXPECT_EQ(klass["metadata"]["namespace"], "default");
  EXPECT_FALSE(klass["involvedObject"].contains("namespace"));

  EXPECT_TRUE(EventFor(Diag("File", "", "examples/x.yaml"), "n", "t", options).is_null());
  EXPECT_TRUE(EventFor(Diag("Ingress", "shop", ""), "n", "t", options).is_null());
}

}  // namespace
}  // namespace portico::controller::status
