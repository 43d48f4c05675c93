#include "controller/source/assembly.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace portico::controller::source {
namespace {

using translate::ClusterState;

translate::ConfigMap Cm(std::string ns, std::string name, std::string value) {
  translate::ConfigMap cm;
  cm.meta.ns = std::move(ns);
  cm.meta.name = std::move(name);
  cm.data["k"] = std::move(value);
  return cm;
}

translate::Service Svc(std::string name) {
  translate::Service svc;
  svc.meta.ns = "default";
  svc.meta.name = std::move(name);
  return svc;
}

TEST(AssemblyTest, PlacesEachFilesObjectsAndPatchesThemInPlace) {
  ClusterState one, two, assembled;
  one.config_maps = {Cm("default", "a", "1"), Cm("default", "b", "1")};
  two.config_maps = {Cm("default", "c", "1")};
  two.services = {Svc("s")};
  Placement first, second;
  AppendPlaced(one, assembled, &first);
  AppendPlaced(two, assembled, &second);
  AppendPlaced(one, assembled, nullptr);
  ASSERT_EQ(assembled.config_maps.size(), 5u);
  EXPECT_EQ(first.start[5], 0u);
  EXPECT_EQ(first.count[5], 2u);
  EXPECT_EQ(second.start[5], 2u);
  EXPECT_EQ(second.count[5], 1u);
  EXPECT_EQ(second.start[2], 0u);
  EXPECT_EQ(second.count[2], 1u);

  ClusterState edited = two;
  edited.config_maps[0].data["k"] = "2";
  ASSERT_TRUE(SameObjects(assembled, second, edited));
  Overwrite(assembled, second, edited);
  EXPECT_EQ(assembled.config_maps[2].data.at("k"), "2");
  EXPECT_EQ(assembled.config_maps[1].data.at("k"), "1");
  EXPECT_EQ(assembled.config_maps[3].data.at("k"), "1");

  ClusterState renamed = two;
  renamed.config_maps[0].meta.name = "z";
  EXPECT_FALSE(SameObjects(assembled, second, renamed));
  ClusterState moved = two;
  moved.config_maps[0].meta.ns = "other";
  EXPECT_FALSE(SameObjects(assembled, second, moved));
  ClusterState more = two;
  more.config_maps.push_back(Cm("default", "d", "1"));
  EXPECT_FALSE(SameObjects(assembled, second, more));
  ClusterState fewer = two;
  fewer.services.clear();
  EXPECT_FALSE(SameObjects(assembled, second, fewer));
  EXPECT_TRUE(SameObjects(assembled, Placement{}, ClusterState{}));
}

}  // namespace
}  // namespace portico::controller::source
