#include "controller/push/snapshot_store.h"

#include <optional>
#include <random>
#include <string_view>
#include <utility>

#include "absl/strings/escaping.h"
#include "common/log.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

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

// Deterministic wire bytes: the snapshot has no map fields, and freshly
// translated messages carry no unknown fields, so equal bytes mean equal
// messages. Much cheaper than MessageDifferencer's reflection, which at
// 10,000 virtual hosts took a quarter of every update.
std::string WireBytes(const google::protobuf::Message& m) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream stream(&bytes);
    google::protobuf::io::CodedOutputStream out(&stream);
    out.SetSerializationDeterministic(true);
    m.SerializeWithCachedSizes(&out);
  }
  return bytes;
}

std::string SizedWireBytes(const google::protobuf::Message& m) {
  m.ByteSizeLong();  // fills the cached sizes serialization uses
  return WireBytes(m);
}

bool Equal(const google::protobuf::Message& a, const google::protobuf::Message& b) {
  if (a.GetDescriptor() != b.GetDescriptor()) return false;
  size_t size = a.ByteSizeLong();  // also fills the cached sizes serialization uses
  if (size != b.ByteSizeLong()) return false;
  return WireBytes(a) == WireBytes(b);
}

// Same resource: shared pointer (unchanged since the version it came from) or equal content.
template <typename T>
bool Same(const std::shared_ptr<const T>& a, const std::shared_ptr<const T>& b) {
  if (a == b) return true;
  if (a == nullptr || b == nullptr) return false;
  return Equal(*a, *b);
}

template <typename Entry>
bool Same(const Entry& a, const Entry& b) {
  return a.resource == b.resource || *a.wire == *b.wire;
}

template <typename Map>
bool SameMap(const Map& a, const Map& b) {
  if (a.size() != b.size()) return false;
  for (auto ia = a.begin(), ib = b.begin(); ia != a.end(); ++ia, ++ib) {
    if (ia->first != ib->first || !Same(ia->second, ib->second)) return false;
  }
  return true;
}

// Moves the resources of `from` into `to` by key, reusing the latest version's
// object when the content is unchanged so that retained versions share it.
template <typename T, typename Map, typename Key>
void Index(google::protobuf::RepeatedPtrField<T>& from, const Map* latest, Map& to, Key key,
           std::string_view kind) {
  // The translator emits every kind sorted by name: then each insertion goes
  // at the end and the latest version is walked alongside, instead of three
  // tree searches per resource (a third of the store's time at 10,000
  // virtual hosts). Any other order still works, through the searches.
  std::optional<typename Map::const_iterator> walk;
  if (latest != nullptr) walk = latest->begin();
  for (T& resource : from) {
    std::string name = key(resource);
    const bool in_order = to.empty() || to.rbegin()->first < name;
    if (!in_order && to.contains(name)) {
      LogError(kLog, "duplicate ", kind, " \"", name, "\" in snapshot; keeping the first");
      continue;
    }
    std::string wire = SizedWireBytes(resource);
    if (latest != nullptr) {
      typename Map::const_iterator it;
      if (in_order) {
        while (*walk != latest->end() && (*walk)->first < name) ++*walk;
        it = *walk;
        if (it != latest->end() && it->first != name) it = latest->end();
      } else {
        it = latest->find(name);
      }
      if (it != latest->end() && *it->second.wire == wire) {
        to.emplace_hint(to.end(), std::move(name), it->second);
        continue;
      }
    }
    to.emplace_hint(
        to.end(), std::move(name),
        typename Map::mapped_type{std::make_shared<const T>(std::move(resource)),
                                  std::make_shared<const std::string>(std::move(wire))});
  }
}

template <typename T>
std::shared_ptr<const T> Shared(bool has, T& value, const std::shared_ptr<const T>& latest) {
  if (!has) return nullptr;
  if (latest != nullptr && Equal(*latest, value)) return latest;
  return std::make_shared<const T>(std::move(value));
}

// Appends to `upserts` what is new or changed from `base` to `to`, and to
// `removed` the names only `base` has. Both maps are sorted, so one merge pass.
template <typename T, typename Map>
void Diff(const Map& base, const Map& to, google::protobuf::RepeatedPtrField<T>* upserts,
          google::protobuf::RepeatedPtrField<std::string>* removed) {
  auto ib = base.begin();
  auto it = to.begin();
  while (ib != base.end() || it != to.end()) {
    if (it == to.end() || (ib != base.end() && ib->first < it->first)) {
      *removed->Add() = ib->first;
      ++ib;
    } else if (ib == base.end() || it->first < ib->first) {
      *upserts->Add() = *it->second.resource;
      ++it;
    } else {
      if (!Same(ib->second, it->second)) *upserts->Add() = *it->second.resource;
      ++ib;
      ++it;
    }
  }
}

template <typename T, typename Map>
void CopyAll(const Map& from, google::protobuf::RepeatedPtrField<T>* to) {
  to->Reserve(static_cast<int>(from.size()));
  for (const auto& [name, stored] : from) *to->Add() = *stored.resource;
}

}  // namespace

SnapshotStore::SnapshotStore(size_t history)
    : history_size_(history < 1 ? 1 : history), instance_(NewInstanceId()) {}

uint64_t SnapshotStore::version() const {
  std::lock_guard lock(mu_);
  return history_.empty() ? 0 : history_.back()->version;
}

std::shared_ptr<SnapshotStore::Version> SnapshotStore::BuildVersion(v1::Snapshot& full,
                                                                    const Version* latest) const {
  auto v = std::make_shared<Version>();
  Index(
      *full.mutable_virtual_hosts(), latest ? &latest->virtual_hosts : nullptr, v->virtual_hosts,
      [](const v1::VirtualHost& r) { return r.name(); }, "virtual host");
  Index(
      *full.mutable_clusters(), latest ? &latest->clusters : nullptr, v->clusters,
      [](const v1::Cluster& r) { return r.name(); }, "cluster");
  Index(
      *full.mutable_endpoints(), latest ? &latest->endpoints : nullptr, v->endpoints,
      [](const v1::ClusterEndpoints& r) { return r.cluster(); }, "endpoints of cluster");
  Index(
      *full.mutable_secrets(), latest ? &latest->secrets : nullptr, v->secrets,
      [](const v1::Secret& r) { return r.name(); }, "secret");
  Index(
      *full.mutable_credentials(), latest ? &latest->credentials : nullptr, v->credentials,
      [](const v1::Credentials& r) { return r.name(); }, "credentials");
  // has_*() first: mutable_*() would create the field.
  const bool has_settings = full.has_settings();
  const bool has_default_action = full.has_default_action();
  v->settings = Shared(has_settings, *full.mutable_settings(), latest ? latest->settings : nullptr);
  v->default_action = Shared(has_default_action, *full.mutable_default_action(),
                             latest ? latest->default_action : nullptr);
  return v;
}

bool SnapshotStore::SameContent(const Version& a, const Version& b) {
  return SameMap(a.virtual_hosts, b.virtual_hosts) && SameMap(a.clusters, b.clusters) &&
         SameMap(a.endpoints, b.endpoints) && SameMap(a.secrets, b.secrets) &&
         SameMap(a.credentials, b.credentials) && Same(a.settings, b.settings) &&
         Same(a.default_action, b.default_action);
}

uint64_t SnapshotStore::Update(v1::Snapshot full) {
  uint64_t version;
  {
    std::lock_guard lock(mu_);
    const Version* latest = history_.empty() ? nullptr : history_.back().get();
    // Built under the lock only so that `latest` stays the latest; Update has one
    // caller (the translator loop) in practice, so nobody waits on this.
    auto next = BuildVersion(full, latest);
    if (latest != nullptr && SameContent(*latest, *next)) return latest->version;
    version = latest == nullptr ? 1 : latest->version + 1;
    next->version = version;
    history_.push_back(std::move(next));
    while (history_.size() > history_size_) history_.pop_front();
    cache_.clear();
  }
  std::lock_guard lock(listeners_mu_);
  for (auto& [id, listener] : listeners_) listener(version);
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
