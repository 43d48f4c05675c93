#include "controller/source/kube_source.h"

#include <gtest/gtest.h>

namespace portico::controller::source {
namespace {

TEST(ChooseEndpointSliceVersion, PrefersV1ThenV1beta1) {
  auto both = nlohmann::json::parse(R"({"versions":[
      {"groupVersion":"discovery.k8s.io/v1beta1"},{"groupVersion":"discovery.k8s.io/v1"}]})");
  EXPECT_EQ(*ChooseEndpointSliceVersion(both), "discovery.k8s.io/v1");
  auto beta =
      nlohmann::json::parse(R"({"versions":[{"groupVersion":"discovery.k8s.io/v1beta1"}]})");
  EXPECT_EQ(*ChooseEndpointSliceVersion(beta), "discovery.k8s.io/v1beta1");
  EXPECT_FALSE(ChooseEndpointSliceVersion(nlohmann::json::parse(R"({"versions":[]})")).ok());
  EXPECT_FALSE(ChooseEndpointSliceVersion(nlohmann::json::parse("[]")).ok());
}

}  // namespace
}  // namespace portico::controller::source
