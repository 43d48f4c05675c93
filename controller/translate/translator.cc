#include "controller/translate/translator.h"

#include <algorithm>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

#include "absl/container/node_hash_map.h"
#include "absl/hash/hash.h"
#include "absl/time/time.h"
#include "common/strings.h"
#include "controller/translate/annotations.h"
#include "controller/translate/annotations_auth.h"
#include "controller/translate/backends.h"
#include "controller/translate/class_filter.h"
#include "controller/translate/diagnostics.h"
#include "controller/translate/ingress_translation.h"
#include "controller/translate/islands.h"
#include "controller/translate/reads.h"
#include "controller/translate/routes.h"
#include "controller/translate/settings.h"
#include "controller/translate/tls.h"
#include "portico/v1/wire_bytes.h"

namespace portico::controller::translate {

// Pair-of-strings keys looked up by views, copying no string.
struct NameHash {
  using is_transparent = void;
  size_t operator()(std::pair<std::string_view, std::string_view> key) const {
    return absl::Hash<std::pair<std::string_view, std::string_view>>{}(key);
  }
};
struct NameEq {
  using is_transparent = void;
  bool operator()(std::pair<std::string_view, std::string_view> a,
                  std::pair<std::string_view, std::string_view> b) const {
    return a == b;
  }
};

struct TranslateMemo::State {
  // A served Ingress as last translated: a copy (to tell a change), its
  // parsed annotations with the diagnostics they gave, and its HostKeys.
  struct Record {
    Ingress ingress;
    IngressAnnotations annotations;
    std::vector<Diagnostic> annotation_diagnostics;
    std::vector<std::string> host_keys;
    uint64_t serial = 0;      // new with each change of `ingress`
    uint64_t generation = 0;  // the last translation that served it
  };
  // What the settings (the defaults of ParseAnnotations) were parsed from; a
  // change drops every Record.
  bool settings_known = false;
  std::string settings_option;
  std::optional<std::map<std::string, std::string>> settings_data;
  absl::node_hash_map<std::pair<std::string, std::string>, Record, NameHash, NameEq> records;
  uint64_t serials = 0;
  uint64_t generation = 0;
  // Records of this translation's Ingresses whose namespace/name an earlier
  // one of it had (sources report and drop such duplicates; a caller may
  // not): never kept.
  std::deque<Record> duplicates;

  // One island's output (islands.h), valid while its Ingresses are the same
  // Records in the same order, the objects it looked up are unchanged, and
  // the TLS checks it made give the same answers at `now`.
  struct Island {
    std::vector<uint64_t> members;  // Record serials, oldest first
    std::vector<std::shared_ptr<const v1::VirtualHost>> virtual_hosts;  // sorted by name
    std::vector<v1::Secret> secrets;
    std::vector<v1::Credentials> credentials;
    std::vector<BackendResolver::Requested> clusters;
    std::vector<Diagnostic> diagnostics;
    std::vector<Read> reads;                  // the Services, Secrets and ConfigMaps it looked up
    std::optional<absl::Time> translated_at;  // Options::now
    std::optional<absl::Time> stable_until;   // TlsResolver::stable_until
    uint64_t generation = 0;
  };
  absl::node_hash_map<uint64_t, Island> islands;  // by the serial of the first member
  // GroupIntoIslands of the last translation: its Records in order, and the
  // islands they gave (kept while those Records' host keys are unchanged).
  std::vector<const Record*> grouped;
  std::vector<std::vector<size_t>> groups;
  // The objects islands look up, as last translated: a change to one is a
  // change to the islands that read it. (EndpointSlices are read when
  // clusters are emitted, for every translation; IngressClasses only select
  // Ingresses.)
  bool shared_known = false;
  bool now_set = false;
  std::vector<Service> services;
  std::vector<Secret> secrets;
  std::vector<ConfigMap> config_maps;

  // ServedByAge: the selected Ingresses in state order, and the order by age
  // (indices into them) that they gave.
  struct AgeInput {
    std::string ns;
    std::string name;
    std::string creation_timestamp;
  };
  std::vector<AgeInput> age_inputs;
  std::vector<size_t> age_order;
};

TranslateMemo::TranslateMemo() : state_(std::make_unique<State>()) {}
TranslateMemo::~TranslateMemo() = default;

namespace {

bool SameAgeInputs(const std::vector<TranslateMemo::State::AgeInput>& memo,
                   const std::vector<const Ingress*>& selected) {
  if (memo.size() != selected.size()) return false;
  for (size_t i = 0; i < memo.size(); ++i) {
    const ObjectMeta& meta = selected[i]->meta;
    if (memo[i].name != meta.name || memo[i].ns != meta.ns ||
        memo[i].creation_timestamp != meta.creation_timestamp) {
      return false;
    }
  }
  return true;
}

// Older Ingresses win conflicts. A missing or unparsable timestamp (a
// hand-written manifest) counts as oldest; namespace/name breaks ties. The
// order depends only on each selected Ingress's (timestamp, namespace, name)
// in state order, so the memo's is reused while those are unchanged.
std::vector<const Ingress*> ServedByAge(const ClusterState& state, const Options& options,
                                        DiagnosticSink& diagnostics, TranslateMemo::State* memo) {
  ClassFilter filter(state, options);
  std::vector<const Ingress*> selected;
  selected.reserve(state.ingresses.size());
  for (const Ingress& ingress : state.ingresses) {
    if (filter.Selects(ingress, diagnostics)) selected.push_back(&ingress);
  }
  std::vector<const Ingress*> result;
  result.reserve(selected.size());
  if (memo != nullptr && SameAgeInputs(memo->age_inputs, selected)) {
    for (size_t i : memo->age_order) result.push_back(selected[i]);
    return result;
  }
  std::vector<std::pair<absl::Time, size_t>> served;
  served.reserve(selected.size());
  for (size_t i = 0; i < selected.size(); ++i) {
    absl::Time created = absl::InfinitePast();
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, selected[i]->meta.creation_timestamp, &created,
                         &error)) {
      created = absl::InfinitePast();
    }
    served.emplace_back(created, i);
  }
  std::sort(served.begin(), served.end(), [&](const auto& a, const auto& b) {
    const ObjectMeta& x = selected[a.second]->meta;
    const ObjectMeta& y = selected[b.second]->meta;
    return std::tie(a.first, x.ns, x.name) < std::tie(b.first, y.ns, y.name);
  });
  for (const auto& [created, i] : served) result.push_back(selected[i]);
  if (memo != nullptr) {
    memo->age_inputs.clear();
    memo->age_inputs.reserve(selected.size());
    for (const Ingress* ingress : selected) {
      memo->age_inputs.push_back(
          {ingress->meta.ns, ingress->meta.name, ingress->meta.creation_timestamp});
    }
    memo->age_order.clear();
    memo->age_order.reserve(served.size());
    for (const auto& [created, i] : served) memo->age_order.push_back(i);
  }
  return result;
}

// Keeps the memo's Records only when the settings come from the same
// ConfigMap contents as last time; true when they do.
bool CheckSettingsKey(TranslateMemo::State& memo, const Options& options,
                      const ConfigMap* config_map) {
  std::optional<std::map<std::string, std::string>> data;
  if (config_map != nullptr) data = config_map->data;
  if (memo.settings_known && memo.settings_option == options.settings_config_map &&
      memo.settings_data == data) {
    return true;
  }
  memo.records.clear();
  memo.grouped.clear();  // pointed at the records
  memo.settings_known = true;
  memo.settings_option = options.settings_config_map;
  memo.settings_data = std::move(data);
  return false;
}

template <typename T>
bool SameObjects(const std::vector<T>& a, const std::vector<T>& b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), SameObject<T>);
}

// Adds to `changed` the names of `kind` whose object differs from `before`
// to `after` (added, removed or edited). Of two objects of one name the
// first counts, as the resolvers take the first.
template <typename T>
void AddChanged(ReadKind kind, const std::vector<T>& before, const std::vector<T>& after,
                std::set<Read>& changed) {
  using Name = std::pair<std::string_view, std::string_view>;
  std::map<Name, const T*> old_by_name;
  std::map<Name, const T*> new_by_name;
  for (const T& o : before) old_by_name.try_emplace(Name(o.meta.ns, o.meta.name), &o);
  for (const T& o : after) new_by_name.try_emplace(Name(o.meta.ns, o.meta.name), &o);
  auto add = [&](const Name& name) {
    changed.insert({kind, std::string(name.first), std::string(name.second)});
  };
  for (const auto& [name, o] : old_by_name) {
    auto it = new_by_name.find(name);
    if (it == new_by_name.end() || !SameObject(*o, *it->second)) add(name);
  }
  for (const auto& [name, o] : new_by_name) {
    if (!old_by_name.contains(name)) add(name);
  }
}

// Brings the memo's copy of one kind up to date, adding what changed to
// `changed` when `diff`.
template <typename T>
void Refresh(ReadKind kind, std::vector<T>& copy, const std::vector<T>& now, bool diff,
             std::set<Read>& changed) {
  if (SameObjects(copy, now)) return;
  if (diff) AddChanged(kind, copy, now, changed);
  copy = now;
}

// The Services, Secrets and ConfigMaps changed since the memo's last
// translation. Every Island is dropped instead when what all islands read
// changed: the settings, or whether there is a clock.
std::set<Read> CheckSharedInputs(TranslateMemo::State& memo, const ClusterState& state,
                                 const Options& options, bool same_settings) {
  const bool now_set = options.now.has_value();
  const bool keep = same_settings && memo.shared_known && memo.now_set == now_set;
  if (!keep) memo.islands.clear();
  memo.shared_known = true;
  memo.now_set = now_set;
  std::set<Read> changed;
  Refresh(ReadKind::kService, memo.services, state.services, keep, changed);
  Refresh(ReadKind::kSecret, memo.secrets, state.secrets, keep, changed);
  Refresh(ReadKind::kConfigMap, memo.config_maps, state.config_maps, keep, changed);
  return changed;
}

// The Record of each served Ingress, made anew for an Ingress that is new or
// changed since the last translation: ParseAnnotations reads only the
// Ingress and the settings.
std::vector<TranslateMemo::State::Record*> UpdateRecords(const std::vector<const Ingress*>& served,
                                                         const Settings& settings,
                                                         TranslateMemo::State& memo,
                                                         bool* keys_changed) {
  *keys_changed = false;
  std::vector<TranslateMemo::State::Record*> records;
  records.reserve(served.size());
  memo.duplicates.clear();
  for (const Ingress* ingress : served) {
    const ObjectMeta& meta = ingress->meta;
    auto it = memo.records.find(std::pair<std::string_view, std::string_view>(meta.ns, meta.name));
    if (it == memo.records.end()) it = memo.records.try_emplace({meta.ns, meta.name}).first;
    const bool duplicate = it->second.generation == memo.generation;
    TranslateMemo::State::Record& record = duplicate ? memo.duplicates.emplace_back() : it->second;
    if (record.serial == 0 || !SameObject(record.ingress, *ingress)) {
      record.ingress = *ingress;
      record.serial = ++memo.serials;
      record.annotation_diagnostics.clear();
      DiagnosticSink sink(&record.annotation_diagnostics);
      record.annotations = ParseAnnotations(*ingress, settings.https, sink, settings.ip_filter);
      std::vector<std::string> keys = HostKeys(*ingress);
      if (keys != record.host_keys) {
        *keys_changed = true;
        record.host_keys = std::move(keys);
      }
    }
    record.generation = memo.generation;
    records.push_back(&record);
  }
  return records;
}

// Drops what the memo holds for Ingresses and islands this translation did
// not serve.
void Sweep(TranslateMemo::State& memo, size_t served, size_t islands) {
  auto stale = [&](const auto& entry) { return entry.second.generation != memo.generation; };
  if (memo.records.size() > served) absl::erase_if(memo.records, stale);
  if (memo.islands.size() > islands) absl::erase_if(memo.islands, stale);
}

// Options name objects as "namespace/name".
std::optional<std::pair<std::string, std::string>> SplitOption(std::string_view option,
                                                               std::string_view flag,
                                                               DiagnosticSink& diagnostics) {
  size_t slash = option.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == option.size() ||
      option.find('/', slash + 1) != std::string_view::npos) {
    ObjectMeta meta;
    meta.name = std::string(flag);
    diagnostics.Error("Options", meta, "InvalidOption",
                      portico::StrCat("\"", option, "\" is not namespace/name; option ignored"));
    return std::nullopt;
  }
  return std::make_pair(std::string(option.substr(0, slash)),
                        std::string(option.substr(slash + 1)));
}

template <typename T>
std::vector<T> Take(google::protobuf::RepeatedPtrField<T>& field) {
  return std::vector<T>(std::make_move_iterator(field.begin()),
                        std::make_move_iterator(field.end()));
}

// The island's new virtual hosts (sorted by name), each one equal to the one
// of the same name it had (`before`) being that object: the snapshot store
// then knows it unchanged by its address.
std::vector<std::shared_ptr<const v1::VirtualHost>> KeepUnchanged(
    google::protobuf::RepeatedPtrField<v1::VirtualHost>& after,
    const std::vector<std::shared_ptr<const v1::VirtualHost>>& before) {
  std::vector<std::shared_ptr<const v1::VirtualHost>> out;
  out.reserve(after.size());
  size_t j = 0;
  for (v1::VirtualHost& vh : after) {
    while (j < before.size() && before[j]->name() < vh.name()) ++j;
    if (j < before.size() && before[j]->name() == vh.name() && v1::SameWireBytes(*before[j], vh)) {
      out.push_back(before[j]);
    } else {
      out.push_back(std::make_shared<const v1::VirtualHost>(std::move(vh)));
    }
  }
  return out;
}

// Translates one island's Ingresses (indices into `served`) into `island`.
void TranslateIsland(const std::vector<size_t>& members, const std::vector<const Ingress*>& served,
                     const std::vector<TranslateMemo::State::Record*>& records,
                     const ClusterState& state, const Options& options, Resolvers& resolvers,
                     TranslateMemo::State::Island& island) {
  resolvers.backends.StartIsland();
  resolvers.tls.StartIsland();
  resolvers.credentials.StartIsland();
  island.members.clear();
  island.diagnostics.clear();
  DiagnosticSink diagnostics(&island.diagnostics);
  VirtualHostBuilder vhosts;
  std::vector<WwwRedirect> www_redirects;
  for (size_t i : members) {
    const TranslateMemo::State::Record& record = *records[i];
    for (const Diagnostic& d : record.annotation_diagnostics) diagnostics.Add(d);
    TranslateIngress(*served[i], record.annotations, state, resolvers, vhosts, www_redirects,
                     diagnostics);
    island.members.push_back(record.serial);
  }
  AddWwwRedirects(www_redirects, vhosts);
  v1::Snapshot part;
  vhosts.Emit(resolvers.tls, part, diagnostics);
  resolvers.tls.Emit(part);
  resolvers.credentials.Emit(part);
  island.virtual_hosts = KeepUnchanged(*part.mutable_virtual_hosts(), island.virtual_hosts);
  island.secrets = Take(*part.mutable_secrets());
  island.credentials = Take(*part.mutable_credentials());
  island.clusters = resolvers.backends.TakeRequested();
  island.reads = resolvers.reads->Take();
  island.translated_at = options.now;
  island.stable_until = resolvers.tls.stable_until();
}

bool Reusable(const TranslateMemo::State::Island& island, const std::vector<size_t>& members,
              const std::vector<TranslateMemo::State::Record*>& records,
              const std::set<Read>& changed, const Options& options) {
  if (island.generation == 0 || island.members.size() != members.size()) return false;
  for (size_t k = 0; k < members.size(); ++k) {
    if (island.members[k] != records[members[k]]->serial) return false;
  }
  if (!changed.empty()) {
    for (const Read& read : island.reads) {
      if (changed.contains(read)) return false;
    }
  }
  if (!options.now.has_value()) return true;
  return island.translated_at.has_value() && *options.now >= *island.translated_at &&
         (!island.stable_until.has_value() || *options.now <= *island.stable_until);
}

// The islands' output, in one Result: virtual hosts sorted by name in
// result.virtual_hosts (no two islands have one in common), diagnostics, and
// in the snapshot Secrets and credentials once per name (the
// same name is the same object; a Secret used for its key pair in one
// island and for its CA bundle alone in another ships both).
void MergeIslands(const std::vector<const TranslateMemo::State::Island*>& islands, Result& result) {
  v1::Snapshot& snapshot = result.snapshot;
  std::vector<std::shared_ptr<const v1::VirtualHost>>& vhosts = result.virtual_hosts;
  size_t hosts = 0;
  for (const auto* island : islands) hosts += island->virtual_hosts.size();
  vhosts.reserve(hosts);
  std::map<std::string_view, const v1::Secret*> secrets;
  std::map<std::string_view, const v1::Credentials*> credentials;
  for (const auto* island : islands) {
    vhosts.insert(vhosts.end(), island->virtual_hosts.begin(), island->virtual_hosts.end());
    for (const v1::Secret& secret : island->secrets) {
      auto [it, inserted] = secrets.try_emplace(secret.name(), &secret);
      if (!inserted && it->second->certificate_chain().empty()) it->second = &secret;
    }
    for (const v1::Credentials& list : island->credentials)
      credentials.try_emplace(list.name(), &list);
    result.diagnostics.insert(result.diagnostics.end(), island->diagnostics.begin(),
                              island->diagnostics.end());
  }
  auto by_name = [](const auto& a, const auto& b) { return a->name() < b->name(); };
  if (!std::is_sorted(vhosts.begin(), vhosts.end(), by_name)) {
    std::sort(vhosts.begin(), vhosts.end(), by_name);
  }

  for (const auto& [name, secret] : secrets) *snapshot.add_secrets() = *secret;
  for (const auto& [name, list] : credentials) *snapshot.add_credentials() = *list;
}

}  // namespace

Result Translate(const ClusterState& state, const Options& options, TranslateMemo* memo_owner) {
  Result result;
  DiagnosticSink diagnostics(&result.diagnostics);
  v1::Snapshot& snapshot = result.snapshot;
  // Without a memo, a memo of this translation alone: the same code runs.
  TranslateMemo local;
  TranslateMemo::State& memo = (memo_owner == nullptr ? local : *memo_owner).state();

  // Settings first: they are the defaults of every Ingress's annotations.
  Settings settings;
  const ConfigMap* settings_config_map = nullptr;
  if (!options.settings_config_map.empty()) {
    if (auto id = SplitOption(options.settings_config_map, "settings-config-map", diagnostics)) {
      auto it = std::find_if(
          state.config_maps.begin(), state.config_maps.end(),
          [&](const ConfigMap& c) { return c.meta.ns == id->first && c.meta.name == id->second; });
      if (it != state.config_maps.end()) {
        settings_config_map = &*it;
        settings = ParseSettings(*it, diagnostics);
        *snapshot.mutable_settings() = settings.global;
      } else {
        ObjectMeta meta;
        meta.ns = id->first;
        meta.name = id->second;
        diagnostics.Warn("ConfigMap", meta, "ConfigMapNotFound",
                         "the settings ConfigMap does not exist; defaults apply");
      }
    }
  }

  BackendResolver backends(state);
  backends.SetClusterDefaults(settings.cluster_defaults);
  TlsResolver tls(state, options.now);
  CredentialsResolver credentials(state);
  // One log for every island: each translated island takes what it noted,
  // and a kept one looks nothing up.
  ReadLog reads;
  backends.SetReadLog(&reads);
  tls.SetReadLog(&reads);
  credentials.SetReadLog(&reads);
  Resolvers resolvers{backends, tls, credentials, &reads};
  const bool same_settings = CheckSettingsKey(memo, options, settings_config_map);
  const std::set<Read> changed = CheckSharedInputs(memo, state, options, same_settings);
  ++memo.generation;

  const std::vector<const Ingress*> served = ServedByAge(state, options, diagnostics, &memo);
  bool keys_changed = false;
  const std::vector<TranslateMemo::State::Record*> records =
      UpdateRecords(served, settings, memo, &keys_changed);
  if (keys_changed ||
      !std::equal(records.begin(), records.end(), memo.grouped.begin(), memo.grouped.end())) {
    std::vector<const std::vector<std::string>*> keys;
    keys.reserve(records.size());
    for (const auto* record : records) keys.push_back(&record->host_keys);
    memo.groups = GroupIntoIslands(keys);
    memo.grouped.assign(records.begin(), records.end());
  }
  // Oldest island first, so that a cluster name first asked for by two
  // islands always gets the same one's entry.
  std::vector<const TranslateMemo::State::Island*> islands;
  for (const std::vector<size_t>& members : memo.groups) {
    TranslateMemo::State::Island& island = memo.islands[records[members.front()]->serial];
    if (Reusable(island, members, records, changed, options)) {
      backends.AddRequested(island.clusters);
    } else {
      TranslateIsland(members, served, records, state, options, resolvers, island);
    }
    island.generation = memo.generation;
    islands.push_back(&island);
  }
  result.served_ingresses.reserve(served.size());
  for (const Ingress* ingress : served) {
    result.served_ingresses.push_back({ingress->meta.ns, ingress->meta.name});
  }
  // Usually sorted already: Ingresses without creation timestamps (manifest
  // files) are served in name order.
  if (!std::is_sorted(result.served_ingresses.begin(), result.served_ingresses.end())) {
    std::sort(result.served_ingresses.begin(), result.served_ingresses.end());
  }
  MergeIslands(islands, result);

  if (!options.default_backend_service.empty()) {
    if (auto id =
            SplitOption(options.default_backend_service, "default-backend-service", diagnostics)) {
      *snapshot.mutable_default_action() =
          backends.ResolveDefault(id->first, id->second, diagnostics).action;
    }
  }
  backends.Emit(result.virtual_hosts, snapshot, diagnostics);
  if (!options.share_virtual_hosts) {
    snapshot.mutable_virtual_hosts()->Reserve(static_cast<int>(result.virtual_hosts.size()));
    for (const auto& vh : result.virtual_hosts) *snapshot.add_virtual_hosts() = *vh;
    result.virtual_hosts.clear();
  }
  SortDiagnostics(result.diagnostics);
  Sweep(memo, served.size() - memo.duplicates.size(), islands.size());
  return result;
}

}  // namespace portico::controller::translate
