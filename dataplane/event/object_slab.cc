#include "dataplane/event/object_slab.h"

#include <cstdlib>

namespace portico::dataplane::event {

ObjectSlab::ObjectSlab(size_t object_size, size_t alignment)
    : slot_size_(
          ((object_size < sizeof(FreeSlot) ? sizeof(FreeSlot) : object_size) + alignment - 1) /
          alignment * alignment) {}

void* ObjectSlab::Allocate() {
  if (free_ != nullptr) {
    FreeSlot* slot = free_;
    free_ = slot->next;
    --free_count_;
    return slot;
  }
  if (chunk_left_ < slot_size_) {
    // The rest of the old chunk (less than one slot) is left unused. Pages of
    // a fresh chunk become resident only as slots are used.
    chunk_ = static_cast<char*>(std::malloc(kChunkBytes > slot_size_ ? kChunkBytes : slot_size_));
    if (chunk_ == nullptr) throw std::bad_alloc();
    chunk_left_ = kChunkBytes > slot_size_ ? kChunkBytes : slot_size_;
    ++chunks_;
  }
  void* slot = chunk_;
  chunk_ += slot_size_;
  chunk_left_ -= slot_size_;
  return slot;
}

void ObjectSlab::Free(void* slot) {
  if (slot == nullptr) return;
  auto* node = static_cast<FreeSlot*>(slot);
  node->next = free_;
  free_ = node;
  ++free_count_;
}

}  // namespace portico::dataplane::event
