#include "dataplane/config/delta.h"

#include <algorithm>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "common/strings.h"

namespace portico::dataplane::config {
namespace {

template <typename T>
using Repeated = google::protobuf::RepeatedPtrField<T>;

template <typename T, typename Key>
absl::Status CheckNames(const Repeated<T>& upserts, Key key, std::string_view kind) {
  for (const T& r : upserts) {
    if (key(r).empty()) {
      return absl::InvalidArgumentError(
          ToAbsl(StrCat("delta upserts a ", kind, " without a name")));
    }
  }
  return absl::OkStatus();
}

// The general form: any order, duplicates collapse to the last.
template <typename T, typename Key>
void MergeThroughMap(Repeated<T>* state, const Repeated<T>& upserts,
                     const Repeated<std::string>& removed, Key key) {
  std::map<std::string, T> by_name;
  for (T& r : *state) {
    std::string name = key(r);
    by_name.insert_or_assign(std::move(name), std::move(r));
  }
  for (const std::string& name : removed) by_name.erase(name);
  for (const T& r : upserts) by_name.insert_or_assign(key(r), r);
  state->Clear();
  state->Reserve(static_cast<int>(by_name.size()));
  for (auto& [name, r] : by_name) *state->Add() = std::move(r);
}

// Returns false when it had to go through the map: the state was not sorted
// by unique names, so resources the delta does not name may have moved or
// collapsed.
template <typename T, typename Key>
bool Merge(Repeated<T>* state, const Repeated<T>& upserts, const Repeated<std::string>& removed,
           Key key) {
  if (upserts.empty() && removed.empty()) return true;
  // The state is normally sorted by name already (full snapshots are, and so
  // is what this leaves): then one pass that moves element pointers, instead
  // of moving ten thousand virtual hosts through a map for a one-Ingress delta.
  for (int i = 1; i < state->size(); ++i) {
    if (!(key(state->Get(i - 1)) < key(state->Get(i)))) {
      MergeThroughMap(state, upserts, removed, key);
      return false;
    }
  }
  // The last upsert of a name wins, as in the map form.
  std::vector<const T*> ups;
  ups.reserve(upserts.size());
  for (const T& r : upserts) ups.push_back(&r);
  std::stable_sort(ups.begin(), ups.end(),
                   [&](const T* a, const T* b) { return key(*a) < key(*b); });
  std::vector<const T*> last;
  last.reserve(ups.size());
  for (size_t i = 0; i < ups.size(); ++i) {
    if (i + 1 < ups.size() && key(*ups[i]) == key(*ups[i + 1])) continue;
    last.push_back(ups[i]);
  }
  std::vector<std::string_view> gone(removed.begin(), removed.end());
  std::sort(gone.begin(), gone.end());
  auto removed_name = [&](std::string_view name) {
    return std::binary_search(gone.begin(), gone.end(), name);
  };

  std::vector<T*> old(static_cast<size_t>(state->size()));
  state->ExtractSubrange(0, state->size(), old.data());  // ownership moves to `old`
  state->Reserve(static_cast<int>(old.size() + last.size()));
  size_t u = 0;
  for (T* r : old) {
    const std::string& name = key(*r);
    while (u < last.size() && key(*last[u]) < name) {
      state->Add()->CopyFrom(*last[u++]);
    }
    if (u < last.size() && key(*last[u]) == name) {
      // Removals go first: an upsert of a removed name stays.
      state->Add()->CopyFrom(*last[u++]);
      delete r;
    } else if (removed_name(name)) {
      delete r;
    } else {
      state->AddAllocated(r);
    }
  }
  for (; u < last.size(); ++u) state->Add()->CopyFrom(*last[u]);
  return true;
}

template <typename T, typename Key>
void Note(const Repeated<T>& upserts, const Repeated<std::string>& removed, Key key,
          absl::flat_hash_set<std::string>& names) {
  for (const T& r : upserts) names.insert(key(r));
  for (const std::string& name : removed) names.insert(name);
}

}  // namespace

absl::Status ApplyDelta(v1::Snapshot& state, const v1::Delta& delta, ChangedNames* changed) {
  if (delta.base_version() != state.version()) {
    return absl::FailedPreconditionError(
        ToAbsl(StrCat("delta from version ", delta.base_version(), " does not apply to version ",
                      state.version())));
  }
  auto vhost_name = [](const v1::VirtualHost& r) -> const std::string& { return r.name(); };
  auto cluster_name = [](const v1::Cluster& r) -> const std::string& { return r.name(); };
  auto endpoints_name = [](const v1::ClusterEndpoints& r) -> const std::string& {
    return r.cluster();
  };
  auto secret_name = [](const v1::Secret& r) -> const std::string& { return r.name(); };
  auto credentials_name = [](const v1::Credentials& r) -> const std::string& { return r.name(); };

  for (absl::Status s : {CheckNames(delta.virtual_hosts(), vhost_name, "virtual host"),
                         CheckNames(delta.clusters(), cluster_name, "cluster"),
                         CheckNames(delta.endpoints(), endpoints_name, "endpoints resource"),
                         CheckNames(delta.secrets(), secret_name, "secret"),
                         CheckNames(delta.credentials(), credentials_name, "credentials")}) {
    if (!s.ok()) return s;
  }

  bool in_place = Merge(state.mutable_virtual_hosts(), delta.virtual_hosts(),
                        delta.removed_virtual_hosts(), vhost_name);
  in_place &=
      Merge(state.mutable_clusters(), delta.clusters(), delta.removed_clusters(), cluster_name);
  in_place &= Merge(state.mutable_endpoints(), delta.endpoints(), delta.removed_endpoints(),
                    endpoints_name);
  if (changed != nullptr) {
    if (!in_place) changed->everything = true;
    Note(delta.virtual_hosts(), delta.removed_virtual_hosts(), vhost_name, changed->virtual_hosts);
    Note(delta.clusters(), delta.removed_clusters(), cluster_name, changed->clusters);
    Note(delta.endpoints(), delta.removed_endpoints(), endpoints_name, changed->endpoints);
  }
  Merge(state.mutable_secrets(), delta.secrets(), delta.removed_secrets(), secret_name);
  Merge(state.mutable_credentials(), delta.credentials(), delta.removed_credentials(),
        credentials_name);
  if (delta.settings_changed()) {
    if (delta.has_settings()) {
      *state.mutable_settings() = delta.settings();
    } else {
      state.clear_settings();
    }
  }
  if (delta.default_action_changed()) {
    if (delta.has_default_action()) {
      *state.mutable_default_action() = delta.default_action();
    } else {
      state.clear_default_action();
    }
  }
  return absl::OkStatus();
}

}  // namespace portico::dataplane::config
