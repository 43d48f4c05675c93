#include "dataplane/http/header_pool.h"

#include <thread>
#include <vector>

#include "dataplane/http/message.h"
#include "gtest/gtest.h"

namespace portico::dataplane::http {
namespace {

TEST(HeaderPoolTest, SizesRoundUpToTheirClass) {
  EXPECT_EQ(HeaderPoolClassSize(1), 32u);
  EXPECT_EQ(HeaderPoolClassSize(32), 32u);
  EXPECT_EQ(HeaderPoolClassSize(33), 64u);
  EXPECT_EQ(HeaderPoolClassSize(700), 768u);
  EXPECT_EQ(HeaderPoolClassSize(768), 768u);
  EXPECT_EQ(HeaderPoolClassSize(769), 0u);  // operator new
}

TEST(HeaderPoolTest, FreedSlotsAreReusedByTheirClass) {
  void* a = HeaderPoolAllocate(40);
  const size_t free_before = HeaderPoolFreeSlots(40);
  HeaderPoolFree(a, 40);
  EXPECT_EQ(HeaderPoolFreeSlots(40), free_before + 1);
  EXPECT_EQ(HeaderPoolFreeSlots(20), HeaderPoolFreeSlots(20));  // another class, untouched
  void* b = HeaderPoolAllocate(64);  // same class (33..64): the freed slot
  EXPECT_EQ(b, a);
  EXPECT_EQ(HeaderPoolFreeSlots(40), free_before);
  HeaderPoolFree(b, 64);
}

TEST(HeaderPoolTest, LargeBlocksGoToOperatorNew) {
  void* p = HeaderPoolAllocate(4096);
  ASSERT_NE(p, nullptr);
  static_cast<char*>(p)[4095] = 1;
  HeaderPoolFree(p, 4096);
  EXPECT_EQ(HeaderPoolFreeSlots(4096), 0u);
}

TEST(HeaderPoolTest, StringsLongerThanTheInlineRoomUseThePool) {
  const size_t free_before = HeaderPoolFreeSlots(32);
  {
    HeaderString name("x-forwarded-proto");  // 17 bytes: past the inline 15
    EXPECT_EQ(name, "x-forwarded-proto");
    EXPECT_EQ(std::string_view(name), "x-forwarded-proto");
  }
  EXPECT_EQ(HeaderPoolFreeSlots(32), free_before + 1);
}

TEST(HeaderPoolTest, HeaderMapsKeepWorkingAcrossGrowthAndCopies) {
  HeaderMap h;
  for (int i = 0; i < 40; ++i) {  // beyond the 12-entry initial capacity
    h.Add("x-a-rather-long-header-name-" + std::to_string(i), std::string(100, 'v'));
  }
  HeaderMap copy = h;
  EXPECT_EQ(copy.size(), 40u);
  EXPECT_EQ(*copy.Get("x-a-rather-long-header-name-39"), std::string(100, 'v'));
  h.Set("x-a-rather-long-header-name-0", "short");
  EXPECT_EQ(*h.Get("x-a-rather-long-header-name-0"), "short");
  EXPECT_EQ(*copy.Get("x-a-rather-long-header-name-0"), std::string(100, 'v'));
}

TEST(HeaderPoolTest, BlocksFreedOnAnotherThreadJoinThatThreadsList) {
  auto* map = new HeaderMap;
  map->Add("x-forwarded-host", "a-host-name-longer-than-fifteen");
  std::thread([map] {
    const size_t free_before = HeaderPoolFreeSlots(32);
    delete map;
    EXPECT_EQ(HeaderPoolFreeSlots(32), free_before + 2);
  }).join();
}

}  // namespace
}  // namespace portico::dataplane::http
