#pragma once
// Decoded manifest files, kept between reads of a manifest directory so that a
// change to one file re-decodes that file only. Decoding YAML is what a read
// of 10,000 Ingresses spends its time on; stat()ing them is cheap.
//
// A cached file is reused only while its identity is unchanged (device,
// inode, size, mtime and ctime to the nanosecond) and nobody invalidated it.
// The file source invalidates every name inotify reports, which covers a
// rewrite within one timestamp tick that keeps the size; an atomic rename
// changes the inode anyway.
//
// Threading: Invalidate() and InvalidateAll() may be called from any thread,
// also during a read on another. The other methods are for one reader at a
// time (LoadManifestDirectory holds reader_mutex()
// around them). An invalidation that arrives during a read takes effect at
// the next BeginRead(), so a file stored from a read that raced with its
// change is not trusted later.

#include <sys/stat.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "controller/source/assembly.h"
#include "controller/source/source.h"
#include "controller/translate/cluster_state.h"
#include "controller/translate/translator.h"

namespace portico::controller::source {

struct FileIdentity {
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = 0;
  timespec mtime{};
  timespec ctime{};

  static FileIdentity Of(const struct stat& st);
  bool operator==(const FileIdentity& other) const;
};

// What one file decoded to.
struct DecodedFile {
  translate::ClusterState state;
  std::vector<translate::Diagnostic> diagnostics;
};

class ManifestCache {
 public:
  // What a read has to look at.
  struct ReadPlan {
    // List and stat() the whole directory (and drop what is gone). Otherwise
    // only `changed` and the files that failed last time are looked at, and
    // every other cached file is taken as it is.
    bool full = true;
    std::set<std::string> changed;  // names invalidated since the last read
  };

  // `watched`: every change in the directory is reported through Invalidate()
  // (an inotify watch), so a read need not stat() every file: it does so
  // only at the first read and after InvalidateAll(). The safety net for a
  // change the watch missed is the owner's: Stale() now and then, off the
  // path of a change (FileSource::Verify). Unwatched, every read is a full scan.
  explicit ManifestCache(bool watched = false) : watched_(watched) {}

  // The file `name` (a name in the directory, not a path) changed: decode it
  // again on the next read.
  void Invalidate(const std::string& name);
  // Everything may have changed (lost events, a swapped `..data` link).
  void InvalidateAll();

  std::mutex& reader_mutex() { return reader_mutex_; }
  // Applies the invalidations received so far; once at the start of a read.
  ReadPlan BeginRead();
  // A full scan has completed.
  void EndFullScan() { scanned_ = true; }
  // A file that could not be read this time (it is looked at again on the
  // next read, full or not), or that can again.
  void SetFailed(const std::string& name, bool failed);
  const std::set<std::string>& failed() const { return failed_; }
  // Every cached file in name order.
  template <typename F>
  void ForEach(F f) const {
    for (const auto& [name, entry] : files_) f(name, entry.decoded);
  }
  void Erase(const std::string& name) { files_.erase(name); }
  // The decoded file when `name` is cached with this identity and was not
  // invalidated since; nullptr otherwise.
  const DecodedFile* Lookup(const std::string& name, const FileIdentity& identity);
  const DecodedFile* Store(const std::string& name, const FileIdentity& identity,
                           DecodedFile decoded);
  // Drops the files not in `names` (deleted since the last read).
  void Retain(const std::set<std::string>& names);
  // The names whose cached identity differs from `listing` (every regular
  // manifest file in the directory now, with its identity): changed, new, or
  // cached but gone. Files that failed are left out: every read retries them.
  std::vector<std::string> Stale(const std::map<std::string, FileIdentity>& listing) const;
  // Files decoded and stored so far (how much work the cache did not save).
  uint64_t stores() const { return stores_; }
  // The cached decoded file, or nullptr.
  const DecodedFile* Find(const std::string& name) const;

  // The assembly a read returned, handed back by its reader (Keep) for the
  // next read to patch. A read that assembles anew numbers its result and
  // says where each listed file's objects sit in it (SetPlacements), or that
  // it cannot be patched (ClearPlacements: duplicates were dropped from it).
  uint64_t SetPlacements(std::map<std::string, Placement> placements);
  uint64_t ClearPlacements();
  // Where the file's objects sit in the kept assembly; nullptr: not listed.
  const Placement* PlacementOf(const std::string& name) const;
  // Accepted only when it is the latest read's result and can be patched.
  void Keep(LoadedManifests assembled);
  std::optional<LoadedManifests> TakeKept();
  // A patched assembly is the new latest read's result.
  uint64_t Renumber() { return ++generation_; }

 private:
  struct Entry {
    FileIdentity identity;
    DecodedFile decoded;
  };
  const bool watched_;

  std::mutex reader_mutex_;
  std::map<std::string, Entry> files_;  // guarded by reader_mutex_
  uint64_t stores_ = 0;                 // guarded by reader_mutex_
  std::set<std::string> failed_;        // guarded by reader_mutex_
  bool scanned_ = false;                // a full scan since InvalidateAll; guarded by reader_mutex_
  // Guarded by reader_mutex_: the latest read's number, whether it can be
  // patched, its files' placements, and the assembly handed back.
  uint64_t generation_ = 0;
  bool patchable_ = false;
  std::map<std::string, Placement> placements_;
  std::optional<LoadedManifests> kept_;

  std::mutex dirty_mutex_;
  std::set<std::string> dirty_;  // guarded by dirty_mutex_
  bool all_dirty_ = false;       // guarded by dirty_mutex_
};

}  // namespace portico::controller::source
