#pragma once
// Storage for the long-lived objects every connection has (its codec
// connection, its transport): fixed-size slots carved from 64 KiB chunks, one
// slab per object type and thread, with freed slots on a free list. The
// objects of idle connections then sit densely in their own pages instead of
// between the short-lived allocations of the requests that ran in the
// meantime (glibc cannot give back a page that one live object pins), and
// they carry no malloc header. Chunks are kept for the next connections, as
// nginx keeps its connection array: the memory is bounded by the peak number
// of connections a worker held.
//
// Use through a class's operator new/delete (PORTICO_SLAB_ALLOCATED below).
// Threading: a thread allocates from its own slab; a slot freed on another
// thread joins that thread's free list (a slot is plain memory of the right
// size, whichever slab carved it).

#include <cstddef>
#include <new>
#include <type_traits>

namespace portico::dataplane::event {

class ObjectSlab {
 public:
  static constexpr size_t kChunkBytes = 64 * 1024;

  // Slots are `object_size` rounded up to `alignment` (a power of two, at
  // least a pointer's): a T needs only alignof(T), and a 312-byte connection
  // then takes 312 bytes, not 320.
  explicit ObjectSlab(size_t object_size, size_t alignment = alignof(std::max_align_t));
  ObjectSlab(const ObjectSlab&) = delete;
  ObjectSlab& operator=(const ObjectSlab&) = delete;

  void* Allocate();
  void Free(void* slot);

  size_t slot_size() const { return slot_size_; }
  size_t free_slots() const { return free_count_; }
  size_t chunks() const { return chunks_; }

 private:
  struct FreeSlot {
    FreeSlot* next;
  };
  const size_t slot_size_;
  FreeSlot* free_ = nullptr;
  size_t free_count_ = 0;
  char* chunk_ = nullptr;  // the chunk being carved
  size_t chunk_left_ = 0;  // bytes of it not carved yet
  size_t chunks_ = 0;
};

// The calling thread's slab for objects of type T.
template <typename T>
ObjectSlab& ThreadSlab() {
  // Trivially destructible: chunks outlive the thread.
  thread_local ObjectSlab slab(sizeof(T),
                               alignof(T) < alignof(void*) ? alignof(void*) : alignof(T));
  return slab;
}

}  // namespace portico::dataplane::event

// Inside a final class T: allocate T from the thread's slab. A subclass
// (size differs) would corrupt the slab, hence `final` classes only.
#define PORTICO_SLAB_ALLOCATED(T)                                                      \
  static void* operator new(size_t size) {                                             \
    static_assert(std::is_final_v<T>, "slab-allocated classes must be final");         \
    return size == sizeof(T) ? ::portico::dataplane::event::ThreadSlab<T>().Allocate() \
                             : ::operator new(size);                                   \
  }                                                                                    \
  static void operator delete(void* p, size_t size) {                                  \
    if (size == sizeof(T)) {                                                           \
      ::portico::dataplane::event::ThreadSlab<T>().Free(p);                            \
    } else {                                                                           \
      ::operator delete(p);                                                            \
    }                                                                                  \
  }
