#include "controller/translate/islands.h"

#include <numeric>
#include <string_view>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/match.h"
#include "controller/translate/paths.h"

namespace portico::controller::translate {

std::vector<std::string> HostKeys(const Ingress& ingress) {
  std::vector<std::string> keys;
  for (const IngressRule& rule : ingress.rules) {
    std::optional<std::string> host = NormalizeHost(rule.host);
    if (!host.has_value()) continue;
    if (!host->empty() && !absl::StartsWith(*host, "*.")) {
      keys.push_back(absl::StartsWith(*host, "www.") ? host->substr(4) : "www." + *host);
    }
    keys.push_back(std::move(*host));
  }
  if (ingress.default_backend.has_value() && ingress.rules.empty()) keys.emplace_back();
  return keys;
}

namespace {

size_t Root(std::vector<size_t>& parent, size_t i) {
  while (parent[i] != i) {
    parent[i] = parent[parent[i]];  // path halving
    i = parent[i];
  }
  return i;
}

}  // namespace

std::vector<std::vector<size_t>> GroupIntoIslands(
    const std::vector<const std::vector<std::string>*>& keys) {
  std::vector<size_t> parent(keys.size());
  std::iota(parent.begin(), parent.end(), 0);
  absl::flat_hash_map<std::string_view, size_t> owner;  // host key -> first Ingress naming it
  owner.reserve(keys.size() * 2);
  for (size_t i = 0; i < keys.size(); ++i) {
    for (const std::string& key : *keys[i]) {
      auto [it, inserted] = owner.try_emplace(key, i);
      if (inserted) continue;
      // The smaller index becomes the root: a root is its island's first.
      size_t a = Root(parent, it->second);
      size_t b = Root(parent, i);
      if (a != b) parent[std::max(a, b)] = std::min(a, b);
    }
  }
  std::vector<std::vector<size_t>> islands;
  std::vector<size_t> island_of(keys.size());
  for (size_t i = 0; i < keys.size(); ++i) {
    size_t root = Root(parent, i);
    if (root == i) {
      island_of[i] = islands.size();
      islands.emplace_back();
    }
    islands[island_of[root]].push_back(i);
  }
  return islands;
}

}  // namespace portico::controller::translate
