#include "dataplane/http/header_pool.h"

#include <new>

#include "dataplane/event/object_slab.h"

namespace portico::dataplane::http {
namespace {

constexpr size_t kClasses = std::size(kHeaderPoolClasses);

size_t ClassIndex(size_t bytes) {
  for (size_t i = 0; i < kClasses; ++i) {
    if (bytes <= kHeaderPoolClasses[i]) return i;
  }
  return kClasses;
}

// Trivially destructible, as ThreadSlab: the slots outlive the thread.
event::ObjectSlab& Slab(size_t index) {
  thread_local event::ObjectSlab slabs[kClasses] = {
      event::ObjectSlab(kHeaderPoolClasses[0]), event::ObjectSlab(kHeaderPoolClasses[1]),
      event::ObjectSlab(kHeaderPoolClasses[2]), event::ObjectSlab(kHeaderPoolClasses[3]),
      event::ObjectSlab(kHeaderPoolClasses[4]), event::ObjectSlab(kHeaderPoolClasses[5]),
  };
  static_assert(kClasses == 6, "one slab per class above");
  return slabs[index];
}

}  // namespace

void* HeaderPoolAllocate(size_t bytes) {
  size_t index = ClassIndex(bytes);
  if (index == kClasses) return ::operator new(bytes);
  return Slab(index).Allocate();
}

void HeaderPoolFree(void* p, size_t bytes) {
  if (p == nullptr) return;
  size_t index = ClassIndex(bytes);
  if (index == kClasses) {
    ::operator delete(p);
    return;
  }
  Slab(index).Free(p);
}

size_t HeaderPoolFreeSlots(size_t bytes) {
  size_t index = ClassIndex(bytes);
  return index == kClasses ? 0 : Slab(index).free_slots();
}

}  // namespace portico::dataplane::http
