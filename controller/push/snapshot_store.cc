#include "controller/push/snapshot_store.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <random>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/strings/escaping.h"
#include "common/log.h"
#include "portico/v1/wire_bytes.h"

namespace portico::controller::push {
namespace {

constexpr std::string_view kLog = "snapshot-store";

// 128 random bits: versions restart at 1 in every controller process, so a data
// plane must be able to tell two processes (or replicas) apart.
std::string NewInstanceId() {
  std::random_device rd;
  std::string bytes(16, '\0');
  for (size_t i = 0; i < bytes.size(); i += 4) {
    uint32_t r = rd();
    for (size_t j = 0; j < 4; ++j) bytes[i + j] = static_cast<char>(r >> (8 * j));
  }
  return absl::BytesToHexString(bytes);
}

using v1::SameWireBytes;
using v1::SerializeDeterministic;

// Same resource: shared pointer (unchanged since the version it came from) or equal content.
template <typename T>
bool Same(const std::shared_ptr<const T>& a, const std::shared_ptr<const T>& b) {
  if (a == b) return true;
  if (a == nullptr || b == nullptr) return false;
  return SameWireBytes(*a, *b);
}

// The name a resource is keyed by within its kind.
template <typename T>
const std::string& KeyOf(const T& r) {
  return r.name();
}
const std::string& KeyOf(const v1::ClusterEndpoints& r) { return r.cluster(); }

template <typename Entry>
bool SameEntry(const Entry& a, const Entry& b) {
  return a == b || a->wire == b->wire;
}

// Builds `to` from `count` resources sorted by name (at(i), and take(i) to
// own one), reusing the latest version's entry when the resource is the very
// object the latest holds or its bytes are unchanged, so that retained
// versions share it, and the latest's whole vector when nothing in the kind
// changed (then it returns true). `scratch` is a reusable buffer.
template <typename Kind, typename At, typename Take>
bool Build(size_t count, const At& at, const Take& take, const Kind* latest, Kind& to,
           std::string& scratch) {
  using Entry = typename Kind::element_type::value_type;
  using Stored = std::remove_const_t<typename Entry::element_type>;
  static const auto* const kEmpty = new std::vector<Entry>();
  const std::vector<Entry>& old = latest != nullptr ? **latest : *kEmpty;
  auto out = std::make_shared<std::vector<Entry>>();
  out->reserve(count);
  // Unchanged: the same names in the same order, every entry reused.
  bool same = latest != nullptr;
  size_t j = 0;  // walks `old` alongside, both sorted
  for (size_t i = 0; i < count; ++i) {
    const auto& resource = at(i);
    const std::string& name = KeyOf(resource);
    while (j < old.size() && KeyOf(*old[j]->resource) < name) {
      same = false;  // removed
      ++j;
    }
    const Entry* match = j < old.size() && KeyOf(*old[j]->resource) == name ? &old[j] : nullptr;
    if (match != nullptr && (*match)->resource.get() == &resource) {
      ++j;
      out->push_back(*match);
      continue;
    }
    const size_t size = resource.ByteSizeLong();
    std::string wire;
    if (match != nullptr) {
      ++j;
      // Equal bytes need equal sizes; only then serialize, into the reused buffer.
      if ((*match)->wire.size() == size) {
        SerializeDeterministic(resource, size, scratch);
        if (scratch == (*match)->wire) {
          out->push_back(*match);
          continue;
        }
        wire = scratch;
      }
    }
    same = false;
    if (wire.empty() && size > 0) SerializeDeterministic(resource, size, wire);
    auto stored = std::make_shared<Stored>();
    stored->resource = take(i);
    stored->wire = std::move(wire);
    out->push_back(std::move(stored));
  }
  if (j < old.size()) same = false;
  if (same) {
    to = *latest;
    return true;
  }
  to = std::move(out);
  return false;
}

// Build from the resources of `from`, moving each new one out of it.
template <typename T, typename Kind>
bool Index(google::protobuf::RepeatedPtrField<T>& from, const Kind* latest, Kind& to,
           std::string_view kind, std::string& scratch) {
  // The translator emits every kind sorted by name: then the input is taken in
  // its own order. Any other order (and duplicate names) goes through a stable
  // sort of indices, so that of equal names the first in the input is kept.
  bool sorted = true;
  for (int i = 1; i < from.size() && sorted; ++i) sorted = KeyOf(from[i - 1]) < KeyOf(from[i]);
  std::vector<int> order;
  if (!sorted) {
    order.resize(from.size());
    for (int i = 0; i < from.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(),
                     [&](int a, int b) { return KeyOf(from[a]) < KeyOf(from[b]); });
    size_t kept = 0;
    for (size_t i = 0; i < order.size(); ++i) {
      if (kept > 0 && KeyOf(from[order[kept - 1]]) == KeyOf(from[order[i]])) {
        LogError(kLog, "duplicate ", kind, " \"", KeyOf(from[order[i]]),
                 "\" in snapshot; keeping the first");
        continue;
      }
      order[kept++] = order[i];
    }
    order.resize(kept);
  }
  const size_t count = sorted ? static_cast<size_t>(from.size()) : order.size();
  auto at = [&](size_t i) -> T& { return from[sorted ? static_cast<int>(i) : order[i]]; };
  auto take = [&](size_t i) { return std::make_shared<const T>(std::move(at(i))); };
  return Build(count, at, take, latest, to, scratch);
}

// Build from resources the caller shares (the translator's virtual hosts,
// kept from one translation to the next): one that is the very object the
// latest version holds costs no serialization.
template <typename T, typename Kind>
bool IndexShared(const std::vector<std::shared_ptr<const T>>& from, const Kind* latest, Kind& to,
                 std::string_view kind, std::string& scratch) {
  bool sorted = true;
  for (size_t i = 1; i < from.size() && sorted; ++i) {
    sorted = KeyOf(*from[i - 1]) < KeyOf(*from[i]);
  }
  if (!sorted) {  // not from the translator: the general path sorts and reports
    google::protobuf::RepeatedPtrField<T> copies;
    for (const auto& r : from) *copies.Add() = *r;
    return Index(copies, latest, to, kind, scratch);
  }
  auto at = [&](size_t i) -> const T& { return *from[i]; };
  auto take = [&](size_t i) { return from[i]; };
  return Build(from.size(), at, take, latest, to, scratch);
}

template <typename T>
std::shared_ptr<const T> Shared(bool has, T& value, const std::shared_ptr<const T>& latest) {
  if (!has) return nullptr;
  if (latest != nullptr && SameWireBytes(*latest, value)) return latest;
  return std::make_shared<const T>(std::move(value));
}

// Appends to `upserts` what is new or changed from `base` to `to`, and to
// `removed` the names only `base` has. Both are sorted, so one merge pass.
template <typename T, typename Kind>
void Diff(const Kind& base_kind, const Kind& to_kind,
          google::protobuf::RepeatedPtrField<T>* upserts,
          google::protobuf::RepeatedPtrField<std::string>* removed) {
  if (base_kind == to_kind) return;
  const auto& base = *base_kind;
  const auto& to = *to_kind;
  size_t ib = 0;
  size_t it = 0;
  while (ib < base.size() || it < to.size()) {
    if (it == to.size() ||
        (ib < base.size() && KeyOf(*base[ib]->resource) < KeyOf(*to[it]->resource))) {
      *removed->Add() = KeyOf(*base[ib]->resource);
      ++ib;
    } else if (ib == base.size() || KeyOf(*to[it]->resource) < KeyOf(*base[ib]->resource)) {
      *upserts->Add() = *to[it]->resource;
      ++it;
    } else {
      if (!SameEntry(base[ib], to[it])) *upserts->Add() = *to[it]->resource;
      ++ib;
      ++it;
    }
  }
}

template <typename T, typename Kind>
void CopyAll(const Kind& from, google::protobuf::RepeatedPtrField<T>* to) {
  to->Reserve(static_cast<int>(from->size()));
  for (const auto& stored : *from) *to->Add() = *stored->resource;
}

}  // namespace

SnapshotStore::SnapshotStore(size_t history)
    : history_size_(history < 1 ? 1 : history),
      instance_(NewInstanceId()),
      reaper_([this] { Reap(); }) {}

SnapshotStore::~SnapshotStore() {
  {
    std::lock_guard lock(reap_mu_);
    stopping_ = true;
  }
  reap_cv_.notify_one();
  reaper_.join();
}

void SnapshotStore::Reap() {
  // Lowering one's own policy needs no privilege; if it fails the thread just
  // runs at normal priority.
  sched_param param{};
  pthread_setschedparam(pthread_self(), SCHED_IDLE, &param);
  std::unique_lock lock(reap_mu_);
  while (true) {
    reap_cv_.wait(lock, [this] { return stopping_ || !retired_.empty(); });
    if (retired_.empty()) return;  // stopping, nothing left
    std::vector<std::shared_ptr<const void>> batch;
    batch.swap(retired_);
    lock.unlock();
    batch.clear();
    lock.lock();
  }
}

void SnapshotStore::Retire(std::shared_ptr<const void> garbage) {
  {
    std::lock_guard lock(reap_mu_);
    if (retired_.size() < kMaxRetired) {
      retired_.push_back(std::move(garbage));
      garbage = nullptr;
    }
  }
  if (garbage == nullptr) reap_cv_.notify_one();
  // Else `garbage` is destroyed here, by the caller, as without a reaper.
}

uint64_t SnapshotStore::version() const {
  std::lock_guard lock(mu_);
  return history_.empty() ? 0 : history_.back()->version;
}

std::shared_ptr<SnapshotStore::Version> SnapshotStore::BuildVersion(
    v1::Snapshot& full, const std::vector<std::shared_ptr<const v1::VirtualHost>>& shared_hosts,
    const Version* latest, bool* same) {
  auto v = std::make_shared<Version>();
  std::string scratch;
  // Every kind is built (no short-circuit): the version needs them all.
  bool unchanged = latest != nullptr;
  if (!shared_hosts.empty()) {
    for (const v1::VirtualHost& vh : full.virtual_hosts()) {
      LogError(kLog, "virtual host \"", vh.name(),
               "\" in a snapshot with shared virtual hosts; ignored");
    }
    unchanged &= IndexShared(shared_hosts, latest ? &latest->virtual_hosts : nullptr,
                             v->virtual_hosts, "virtual host", scratch);
  } else {
    unchanged &= Index(*full.mutable_virtual_hosts(), latest ? &latest->virtual_hosts : nullptr,
                       v->virtual_hosts, "virtual host", scratch);
  }
  unchanged &= Index(*full.mutable_clusters(), latest ? &latest->clusters : nullptr, v->clusters,
                     "cluster", scratch);
  unchanged &= Index(*full.mutable_endpoints(), latest ? &latest->endpoints : nullptr, v->endpoints,
                     "endpoints of cluster", scratch);
  unchanged &= Index(*full.mutable_secrets(), latest ? &latest->secrets : nullptr, v->secrets,
                     "secret", scratch);
  unchanged &= Index(*full.mutable_credentials(), latest ? &latest->credentials : nullptr,
                     v->credentials, "credentials", scratch);
  // has_*() first: mutable_*() would create the field.
  const bool has_settings = full.has_settings();
  const bool has_default_action = full.has_default_action();
  v->settings = Shared(has_settings, *full.mutable_settings(), latest ? latest->settings : nullptr);
  v->default_action = Shared(has_default_action, *full.mutable_default_action(),
                             latest ? latest->default_action : nullptr);
  // Shared() returns the latest's pointer (or null for both unset) when equal.
  *same =
      unchanged && v->settings == latest->settings && v->default_action == latest->default_action;
  return v;
}

uint64_t SnapshotStore::Update(v1::Snapshot full,
                               std::vector<std::shared_ptr<const v1::VirtualHost>> virtual_hosts) {
  uint64_t version;
  bool created = false;
  // What was not moved into the new version (the translated duplicates of
  // unchanged resources) and the version leaving the history: destroyed by
  // the reaper once the listeners have run. The caller's `full` is left empty.
  auto leftovers = std::make_shared<v1::Snapshot>();
  std::shared_ptr<const Version> evicted;
  {
    std::lock_guard lock(mu_);
    const Version* latest = history_.empty() ? nullptr : history_.back().get();
    // Built under the lock only so that `latest` stays the latest; Update has one
    // caller (the translator loop) in practice, so nobody waits on this.
    bool same = false;
    auto next = BuildVersion(full, virtual_hosts, latest, &same);
    leftovers->Swap(&full);
    if (same) {
      version = latest->version;
    } else {
      created = true;
      version = latest == nullptr ? 1 : latest->version + 1;
      next->version = version;
      history_.push_back(std::move(next));
      if (history_.size() > history_size_) {
        evicted = std::move(history_.front());
        history_.pop_front();
      }
      cache_.clear();
    }
  }
  if (created) {
    std::lock_guard lock(listeners_mu_);
    for (auto& [id, listener] : listeners_) listener(version);
  }
  Retire(std::move(leftovers));
  if (evicted != nullptr) Retire(std::move(evicted));
  return version;
}

std::shared_ptr<v1::ServerMessage> SnapshotStore::FullMessage(const Version& v,
                                                              const std::string& instance) {
  auto msg = std::make_shared<v1::ServerMessage>();
  msg->set_version(v.version);
  msg->set_controller_instance(instance);
  v1::Snapshot* s = msg->mutable_full();
  s->set_version(v.version);
  if (v.settings) *s->mutable_settings() = *v.settings;
  if (v.default_action) *s->mutable_default_action() = *v.default_action;
  CopyAll(v.virtual_hosts, s->mutable_virtual_hosts());
  CopyAll(v.clusters, s->mutable_clusters());
  CopyAll(v.endpoints, s->mutable_endpoints());
  CopyAll(v.secrets, s->mutable_secrets());
  CopyAll(v.credentials, s->mutable_credentials());
  return msg;
}

std::shared_ptr<v1::ServerMessage> SnapshotStore::DeltaMessage(const Version& base,
                                                               const Version& to,
                                                               const std::string& instance) {
  auto msg = std::make_shared<v1::ServerMessage>();
  msg->set_version(to.version);
  msg->set_controller_instance(instance);
  v1::Delta* d = msg->mutable_delta();
  d->set_base_version(base.version);
  Diff(base.virtual_hosts, to.virtual_hosts, d->mutable_virtual_hosts(),
       d->mutable_removed_virtual_hosts());
  Diff(base.clusters, to.clusters, d->mutable_clusters(), d->mutable_removed_clusters());
  Diff(base.endpoints, to.endpoints, d->mutable_endpoints(), d->mutable_removed_endpoints());
  Diff(base.secrets, to.secrets, d->mutable_secrets(), d->mutable_removed_secrets());
  Diff(base.credentials, to.credentials, d->mutable_credentials(),
       d->mutable_removed_credentials());
  if (!Same(base.settings, to.settings)) {
    d->set_settings_changed(true);
    if (to.settings) *d->mutable_settings() = *to.settings;
  }
  if (!Same(base.default_action, to.default_action)) {
    d->set_default_action_changed(true);
    if (to.default_action) *d->mutable_default_action() = *to.default_action;
  }
  return msg;
}

std::shared_ptr<const v1::ServerMessage> SnapshotStore::MessageFor(
    uint64_t have_version, const std::string& instance) const {
  std::lock_guard lock(mu_);
  if (history_.empty()) return nullptr;
  const Version& latest = *history_.back();
  const Version* base = nullptr;
  if (instance == instance_ && have_version != 0) {
    // Versions are consecutive, so the retained one is found by offset.
    uint64_t oldest = history_.front()->version;
    if (have_version >= oldest && have_version <= latest.version) {
      base = history_[have_version - oldest].get();
    }
  }
  uint64_t key = base == nullptr ? 0 : base->version;
  auto it = cache_.find(key);
  if (it != cache_.end()) return it->second;
  std::shared_ptr<const v1::ServerMessage> msg =
      base == nullptr ? FullMessage(latest, instance_) : DeltaMessage(*base, latest, instance_);
  cache_.emplace(key, msg);
  return msg;
}

int SnapshotStore::AddListener(Listener listener) {
  std::lock_guard lock(listeners_mu_);
  int id = next_listener_id_++;
  listeners_.emplace(id, std::move(listener));
  return id;
}

void SnapshotStore::RemoveListener(int id) {
  std::lock_guard lock(listeners_mu_);
  listeners_.erase(id);
}

}  // namespace portico::controller::push
