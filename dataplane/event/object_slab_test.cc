#include "dataplane/event/object_slab.h"

#include <memory>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace portico::dataplane::event {
namespace {

TEST(ObjectSlabTest, ReusesFreedSlotsAndPacksChunks) {
  ObjectSlab slab(100);
  EXPECT_EQ(slab.slot_size(), 112u);  // rounded to the allocator's alignment
  void* a = slab.Allocate();
  void* b = slab.Allocate();
  EXPECT_EQ(static_cast<char*>(b) - static_cast<char*>(a), 112);  // dense, no headers
  slab.Free(a);
  EXPECT_EQ(slab.free_slots(), 1u);
  EXPECT_EQ(slab.Allocate(), a);
  std::vector<void*> many;
  for (size_t i = 0; i < 2 * ObjectSlab::kChunkBytes / 112; ++i) many.push_back(slab.Allocate());
  EXPECT_GE(slab.chunks(), 3u);
  EXPECT_EQ(std::set<void*>(many.begin(), many.end()).size(), many.size());
  for (void* p : many) slab.Free(p);
  slab.Free(a);
  slab.Free(b);
}

TEST(ObjectSlabTest, SlotsFollowTheRequestedAlignment) {
  ObjectSlab slab(100, 8);
  EXPECT_EQ(slab.slot_size(), 104u);
  void* a = slab.Allocate();
  void* b = slab.Allocate();
  EXPECT_EQ(static_cast<char*>(b) - static_cast<char*>(a), 104);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(b) % 8, 0u);
  slab.Free(a);
  slab.Free(b);
  struct alignas(8) Odd {
    char bytes[312];
  };
  EXPECT_EQ(ObjectSlab(sizeof(Odd), alignof(Odd)).slot_size(), 312u);
}

struct Tracked final {
  PORTICO_SLAB_ALLOCATED(Tracked)
  explicit Tracked(int v) : value(v) {}
  int value;
  char padding[60];
};

TEST(ObjectSlabTest, ClassAllocatesFromItsThreadSlab) {
  ObjectSlab& slab = ThreadSlab<Tracked>();
  auto first = std::make_unique<Tracked>(1);
  void* where = first.get();
  first.reset();
  const size_t free_before = slab.free_slots();
  auto second = std::make_unique<Tracked>(2);
  EXPECT_EQ(static_cast<void*>(second.get()), where);  // the freed slot, again
  EXPECT_EQ(slab.free_slots(), free_before - 1);
  EXPECT_EQ(second->value, 2);
}

}  // namespace
}  // namespace portico::dataplane::event
