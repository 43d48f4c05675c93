#pragma once
// One ClusterState assembled from many files' decoded states (in file order),
// and patching such an assembly in place when files changed their objects'
// contents but not which objects they define: a one-Ingress edit among
// 10,000 files then copies one Ingress instead of all of them.

#include <array>
#include <cstddef>

#include "controller/translate/cluster_state.h"

namespace portico::controller::source {

// Where one file's objects sit in an assembled ClusterState: for each kind
// (in ClusterState's member order), the first index and how many.
struct Placement {
  static constexpr size_t kKinds = 6;
  std::array<size_t, kKinds> start{};
  std::array<size_t, kKinds> count{};
};

// Appends `from`'s objects to `to`; `placed` (may be null) says where they went.
void AppendPlaced(const translate::ClusterState& from, translate::ClusterState& to,
                  Placement* placed);

// Whether `now` defines the same objects (kind, namespace and name, in order)
// as those `where` covers in `assembled`.
bool SameObjects(const translate::ClusterState& assembled, const Placement& where,
                 const translate::ClusterState& now);

// Copies `now`'s objects over those `where` covers; SameObjects must hold.
void Overwrite(translate::ClusterState& assembled, const Placement& where,
               const translate::ClusterState& now);

}  // namespace portico::controller::source
