#pragma once
// Maglev consistent hashing (Eisenbud et al., NSDI 2016): a lookup table of
// kTableSize slots, each naming an endpoint, filled from per-endpoint
// permutations so that every endpoint owns an equal share of slots and adding
// or removing one endpoint moves only about 1/N of the keys. Immutable once
// built; shared by every worker.

#include <cstdint>
#include <string_view>
#include <vector>

namespace portico::dataplane::upstream {

// A stable 64-bit hash (FNV-1a with a final avalanche): the same key gives
// the same value in every process, so that all data plane replicas agree.
uint64_t StableHash(std::string_view data);

class MaglevTable {
 public:
  // Prime, and well above 100x any endpoint count worth hashing over.
  static constexpr uint32_t kTableSize = 65537;

  MaglevTable() = default;
  // `names`: endpoint identities (EndpointConfig::key) of the candidates;
  // `ids[i]` is what Lookup returns for names[i]. Empty: an empty table.
  MaglevTable(const std::vector<std::string_view>& names, std::vector<uint32_t> ids);

  bool empty() const { return ids_.empty(); }
  // The id owning `hash`'s slot. Requires !empty().
  uint32_t Lookup(uint64_t hash) const { return ids_[slots_[hash % kTableSize]]; }

 private:
  std::vector<uint32_t> ids_;
  std::vector<uint32_t> slots_;  // index into ids_
};

}  // namespace portico::dataplane::upstream
