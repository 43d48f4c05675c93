// Islands: which Ingresses can meet on a host.
#include "controller/translate/islands.h"

#include <string>
#include <vector>

#include "controller/translate/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace portico::controller::translate {
namespace {

using namespace testing;  // NOLINT: the test builders
using ::testing::ElementsAre;
using ::testing::IsEmpty;

std::vector<std::vector<size_t>> Group(const std::vector<std::vector<std::string>>& keys) {
  std::vector<const std::vector<std::string>*> pointers;
  for (const auto& k : keys) pointers.push_back(&k);
  return GroupIntoIslands(pointers);
}

TEST(HostKeysTest, RuleHostsWithTheirWwwCounterparts) {
  Ingress ingress = MakeIngress("a", "Shop.Example.com", {Path("/", "Prefix", Backend("s", 80))});
  ingress.rules.push_back(IngressRule{"www.docs.example.com", {}});
  ingress.rules.push_back(IngressRule{"*.apps.example.com", {}});
  ingress.rules.push_back(IngressRule{"not a host", {}});
  EXPECT_THAT(HostKeys(ingress),
              ElementsAre("www.shop.example.com", "shop.example.com", "docs.example.com",
                          "www.docs.example.com", "*.apps.example.com"));
}

TEST(HostKeysTest, TheCatchAllForADefaultBackendWithoutRules) {
  Ingress ingress = MakeIngress("a", "", {});
  ingress.rules.clear();
  EXPECT_THAT(HostKeys(ingress), IsEmpty());
  ingress.default_backend = Backend("s", 80);
  EXPECT_THAT(HostKeys(ingress), ElementsAre(""));
}

TEST(GroupIntoIslandsTest, IngressesSharingAKeyShareAnIsland) {
  EXPECT_THAT(Group({}), IsEmpty());
  EXPECT_THAT(Group({{"a"}, {"b"}, {"a", "c"}, {}, {"c"}, {"b"}}),
              ElementsAre(ElementsAre(0, 2, 4), ElementsAre(1, 5), ElementsAre(3)));
}

TEST(GroupIntoIslandsTest, ALaterIngressCanJoinTwoIslands) {
  // 2 links 0 and 1; 3 joins through 1's second key.
  EXPECT_THAT(Group({{"x"}, {"y", "z"}, {"y", "x"}, {"z"}, {"w"}}),
              ElementsAre(ElementsAre(0, 1, 2, 3), ElementsAre(4)));
}

}  // namespace
}  // namespace portico::controller::translate
