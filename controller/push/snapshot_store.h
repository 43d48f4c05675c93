#pragma once
// The versioned sequence of snapshots the controller serves. The translator
// hands each new snapshot to Update(); every stream asks MessageFor() what to
// send a data plane that has some version: the deltas since that version when
// it is still retained, else the full state.
//
// Versions are numbered from 1 and only move when the content changes, so a
// re-translation that produces the same snapshot does not wake any stream.
// Versions are comparable only within one store (one controller process); the
// random instance() id tells a data plane whether its version means anything here.
//
// Unchanged resources are shared between retained versions, so keeping a
// history costs memory for what changed only.
//
// Threading: every method is safe to call from any thread. Listeners run on the
// thread that called Update(), after the new version is visible. What Update
// no longer needs is destroyed on the store's own thread of idle priority
// (SCHED_IDLE), so freeing a 10,000-virtual-host snapshot does not compete
// with pushing the new version to the data planes.

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "portico/v1/snapshot.pb.h"
#include "portico/v1/snapshot_service.pb.h"

namespace portico::controller::push {

class SnapshotStore {
 public:
  static constexpr size_t kDefaultHistory = 64;

  // history: how many versions (including the latest) deltas can start from.
  explicit SnapshotStore(size_t history = kDefaultHistory);
  ~SnapshotStore();
  SnapshotStore(const SnapshotStore&) = delete;
  SnapshotStore& operator=(const SnapshotStore&) = delete;

  // Records a complete snapshot (its version field is ignored) and returns the
  // version now current: a new one if the content differs from the latest, else
  // the latest unchanged. Resources are keyed by name; within a kind the store
  // keeps them sorted by name, and a duplicate name keeps the first one (the
  // translator never emits duplicates; this is logged). `virtual_hosts`, when
  // not empty, are the snapshot's virtual hosts instead of full's (which must
  // then have none): shared with the caller, who must not change them; one
  // the latest version already holds is recognised by its address.
  uint64_t Update(v1::Snapshot full,
                  std::vector<std::shared_ptr<const v1::VirtualHost>> virtual_hosts = {});

  // The latest version; 0 before the first Update.
  uint64_t version() const;
  const std::string& instance() const { return instance_; }

  // What to send a data plane that has have_version from controller instance
  // `instance`: a delta when that version is retained here (an empty delta when it
  // is the latest), else the full latest snapshot. nullptr before the first Update.
  // Messages are shared: streams at the same version get the same object.
  std::shared_ptr<const v1::ServerMessage> MessageFor(uint64_t have_version,
                                                      const std::string& instance) const;

  // Calls `listener(version)` after every Update that creates a new version.
  // It must be quick and must not call AddListener/RemoveListener. After
  // RemoveListener returns, the listener is not running and will not run again.
  using Listener = std::function<void(uint64_t version)>;
  int AddListener(Listener listener);
  void RemoveListener(int id);

 private:
  // A resource (shared, as the translator's virtual hosts may be) and its
  // deterministic wire bytes, computed once when the resource is new: comparing the next
  // translation against it serializes only the new side, and versions that share the resource share
  // the bytes.
  template <typename T>
  struct Stored {
    std::shared_ptr<const T> resource;  // never null
    std::string wire;
  };
  // One kind of a version: sorted by name (the key), no duplicate names.
  // Immutable once built; a version whose kind did not change shares the
  // latest's vector, and a changed kind still shares every unchanged entry, so
  // a retained version costs one pointer per resource at most.
  template <typename T>
  using Kind = std::shared_ptr<const std::vector<std::shared_ptr<const Stored<T>>>>;

  // One retained version. Immutable once published. Every kind is non-null.
  struct Version {
    uint64_t version = 0;
    Kind<v1::VirtualHost> virtual_hosts;
    Kind<v1::Cluster> clusters;
    Kind<v1::ClusterEndpoints> endpoints;  // keyed by cluster
    Kind<v1::Secret> secrets;
    Kind<v1::Credentials> credentials;
    std::shared_ptr<const v1::GlobalSettings> settings;  // null: unset
    std::shared_ptr<const v1::RouteAction> default_action;
  };

  // Builds the version for `full` (consumed), sharing what is unchanged from
  // `latest`; *same says whether its content equals the latest's.
  static std::shared_ptr<Version> BuildVersion(
      v1::Snapshot& full, const std::vector<std::shared_ptr<const v1::VirtualHost>>& shared_hosts,
      const Version* latest, bool* same);
  static std::shared_ptr<v1::ServerMessage> FullMessage(const Version& v,
                                                        const std::string& instance);
  static std::shared_ptr<v1::ServerMessage> DeltaMessage(const Version& base, const Version& to,
                                                         const std::string& instance);

  const size_t history_size_;
  const std::string instance_;

  mutable std::mutex mu_;
  std::deque<std::shared_ptr<const Version>> history_;  // oldest first
  // Messages computed for the latest version, by base version (0: full).
  mutable std::map<uint64_t, std::shared_ptr<const v1::ServerMessage>> cache_;

  std::mutex listeners_mu_;  // held while listeners run
  int next_listener_id_ = 1;
  std::map<int, Listener> listeners_;

  // Hands `garbage` to the reaper thread, or destroys it here when the reaper
  // is behind (an idle-priority thread may wait for long on a busy machine).
  void Retire(std::shared_ptr<const void> garbage);
  void Reap();
  static constexpr size_t kMaxRetired = 4;
  std::mutex reap_mu_;
  std::condition_variable reap_cv_;
  std::vector<std::shared_ptr<const void>> retired_;  // guarded by reap_mu_
  bool stopping_ = false;                             // guarded by reap_mu_
  std::thread reaper_;                                // last: started once everything above exists
};

}  // namespace portico::controller::push
