#include "controller/source/manifest_cache.h"

#include <utility>

namespace portico::controller::source {

FileIdentity FileIdentity::Of(const struct stat& st) {
  FileIdentity id;
  id.device = st.st_dev;
  id.inode = st.st_ino;
  id.size = st.st_size;
  id.mtime = st.st_mtim;
  id.ctime = st.st_ctim;
  return id;
}

bool FileIdentity::operator==(const FileIdentity& o) const {
  return device == o.device && inode == o.inode && size == o.size &&
         mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec &&
         ctime.tv_sec == o.ctime.tv_sec && ctime.tv_nsec == o.ctime.tv_nsec;
}

void ManifestCache::Invalidate(const std::string& name) {
  std::lock_guard<std::mutex> lock(dirty_mutex_);
  dirty_.insert(name);
}

void ManifestCache::InvalidateAll() {
  std::lock_guard<std::mutex> lock(dirty_mutex_);
  all_dirty_ = true;
}

ManifestCache::ReadPlan ManifestCache::BeginRead() {
  ReadPlan plan;
  bool all;
  {
    std::lock_guard<std::mutex> lock(dirty_mutex_);
    plan.changed.swap(dirty_);
    all = all_dirty_;
    all_dirty_ = false;
  }
  if (all) {
    files_.clear();
    failed_.clear();
    scanned_ = false;
    return plan;
  }
  for (const std::string& name : plan.changed) files_.erase(name);
  plan.full = !watched_ || !scanned_;
  if (plan.full) failed_.clear();  // the scan finds them again
  return plan;
}

void ManifestCache::SetFailed(const std::string& name, bool failed) {
  if (failed) {
    failed_.insert(name);
  } else {
    failed_.erase(name);
  }
}

const DecodedFile* ManifestCache::Lookup(const std::string& name, const FileIdentity& identity) {
  auto it = files_.find(name);
  if (it == files_.end() || !(it->second.identity == identity)) return nullptr;
  return &it->second.decoded;
}

const DecodedFile* ManifestCache::Store(const std::string& name, const FileIdentity& identity,
                                        DecodedFile decoded) {
  ++stores_;
  // Decoded anew, so possibly changed: every object gets a new revision.
  translate::ClusterState& state = decoded.state;
  auto renumber = [](auto& objects) {
    for (auto& o : objects) o.meta.revision = translate::NextRevision();
  };
  renumber(state.ingresses);
  renumber(state.ingress_classes);
  renumber(state.services);
  renumber(state.endpoint_slices);
  renumber(state.secrets);
  renumber(state.config_maps);
  Entry& entry = files_[name];
  entry.identity = identity;
  entry.decoded = std::move(decoded);
  return &entry.decoded;
}

void ManifestCache::Retain(const std::set<std::string>& names) {
  for (auto it = files_.begin(); it != files_.end();) {
    it = names.count(it->first) ? std::next(it) : files_.erase(it);
  }
}

const DecodedFile* ManifestCache::Find(const std::string& name) const {
  auto it = files_.find(name);
  return it == files_.end() ? nullptr : &it->second.decoded;
}

uint64_t ManifestCache::SetPlacements(std::map<std::string, Placement> placements) {
  placements_ = std::move(placements);
  patchable_ = true;
  kept_.reset();
  return ++generation_;
}

uint64_t ManifestCache::ClearPlacements() {
  placements_.clear();
  patchable_ = false;
  kept_.reset();
  return ++generation_;
}

const Placement* ManifestCache::PlacementOf(const std::string& name) const {
  auto it = placements_.find(name);
  return it == placements_.end() ? nullptr : &it->second;
}

void ManifestCache::Keep(LoadedManifests assembled) {
  if (patchable_ && assembled.generation == generation_) kept_ = std::move(assembled);
}

std::optional<LoadedManifests> ManifestCache::TakeKept() {
  std::optional<LoadedManifests> kept = std::move(kept_);
  kept_.reset();
  return kept;
}

std::vector<std::string> ManifestCache::Stale(
    const std::map<std::string, FileIdentity>& listing) const {
  std::vector<std::string> stale;
  auto cached = files_.begin();
  auto skip = [&](const std::string& name) { return failed_.count(name) > 0; };
  // Both sorted by name: one merge.
  for (const auto& [name, identity] : listing) {
    for (; cached != files_.end() && cached->first < name; ++cached) {
      if (!skip(cached->first)) stale.push_back(cached->first);  // gone
    }
    if (cached != files_.end() && cached->first == name) {
      if (!(cached->second.identity == identity) && !skip(name)) stale.push_back(name);
      ++cached;
    } else if (!skip(name)) {
      stale.push_back(name);  // new
    }
  }
  for (; cached != files_.end(); ++cached) {
    if (!skip(cached->first)) stale.push_back(cached->first);
  }
  return stale;
}

}  // namespace portico::controller::source
