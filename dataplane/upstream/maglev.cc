#include "dataplane/upstream/maglev.h"

#include <algorithm>
#include <numeric>

namespace portico::dataplane::upstream {

uint64_t StableHash(std::string_view data) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : data) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  // splitmix64's finalizer: FNV alone leaves the low bits (which `% size`
  // reads) poorly mixed for short keys.
  h ^= h >> 30;
  h *= 0xbf58476d1ce4e5b9ULL;
  h ^= h >> 27;
  h *= 0x94d049bb133111ebULL;
  h ^= h >> 31;
  return h;
}

MaglevTable::MaglevTable(const std::vector<std::string_view>& names, std::vector<uint32_t> ids)
    : ids_(std::move(ids)) {
  const size_t n = names.size();
  if (n == 0 || ids_.size() != n) {
    ids_.clear();
    return;
  }
  constexpr uint64_t m = kTableSize;
  std::vector<uint64_t> offset(n), skip(n), next(n, 0);
  for (size_t i = 0; i < n; ++i) {
    const uint64_t h = StableHash(names[i]);
    offset[i] = (h >> 32) % m;
    skip[i] = (h & 0xffffffffULL) % (m - 1) + 1;
  }
  constexpr uint32_t kEmpty = UINT32_MAX;
  slots_.assign(m, kEmpty);
  uint64_t filled = 0;
  // Turns go by name, so the table does not depend on the order given.
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return names[a] < names[b]; });
  // Round-robin over endpoints, each claiming the next free slot of its own
  // permutation (offset + j * skip mod m; m prime makes it a permutation).
  while (true) {
    for (size_t i : order) {
      uint64_t c = (offset[i] + next[i] * skip[i]) % m;
      while (slots_[c] != kEmpty) {
        ++next[i];
        c = (offset[i] + next[i] * skip[i]) % m;
      }
      slots_[c] = static_cast<uint32_t>(i);
      ++next[i];
      if (++filled == m) return;
    }
  }
}

}  // namespace portico::dataplane::upstream
