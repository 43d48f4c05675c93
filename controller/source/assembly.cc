#include "controller/source/assembly.h"

#include <algorithm>

namespace portico::controller::source {
namespace {

// Calls f(kind index, a's vector, b's vector) for every kind; a and b are
// ClusterStates, either of them const.
template <typename A, typename B, typename F>
void Kinds(A& a, B& b, F f) {
  f(0, a.ingresses, b.ingresses);
  f(1, a.ingress_classes, b.ingress_classes);
  f(2, a.services, b.services);
  f(3, a.endpoint_slices, b.endpoint_slices);
  f(4, a.secrets, b.secrets);
  f(5, a.config_maps, b.config_maps);
}

}  // namespace

void AppendPlaced(const translate::ClusterState& from, translate::ClusterState& to,
                  Placement* placed) {
  Kinds(from, to, [&](size_t kind, const auto& objects, auto& into) {
    if (placed != nullptr) {
      placed->start[kind] = into.size();
      placed->count[kind] = objects.size();
    }
    into.insert(into.end(), objects.begin(), objects.end());
  });
}

bool SameObjects(const translate::ClusterState& assembled, const Placement& where,
                 const translate::ClusterState& now) {
  bool same = true;
  Kinds(assembled, now, [&](size_t kind, const auto& in, const auto& objects) {
    if (!same) return;
    const size_t start = where.start[kind];
    if (objects.size() != where.count[kind] || start + objects.size() > in.size()) {
      same = false;
      return;
    }
    same = std::equal(objects.begin(), objects.end(), in.begin() + static_cast<ptrdiff_t>(start),
                      [](const auto& a, const auto& b) {
                        return a.meta.name == b.meta.name && a.meta.ns == b.meta.ns;
                      });
  });
  return same;
}

void Overwrite(translate::ClusterState& assembled, const Placement& where,
               const translate::ClusterState& now) {
  Kinds(assembled, now, [&](size_t kind, auto& in, const auto& objects) {
    std::copy(objects.begin(), objects.end(),
              in.begin() + static_cast<ptrdiff_t>(where.start[kind]));
  });
}

}  // namespace portico::controller::source
