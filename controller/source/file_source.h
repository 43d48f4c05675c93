#pragma once
// The `file` source: a directory of Kubernetes manifests (YAML or JSON) read
// as the cluster state, and an inotify watch that says when to read it again.
//
// Typical use in an event loop (libev):
//
//   auto source = FileSource::Create(dir);          // starts watching
//   Apply(source->Load());                          // first full read
//   ev_io on source->fd() (EV_READ) -> if (source->DrainEvents()) arm the
//   debounce timer -> on expiry Apply(source->Load())
//
// Load() gives what the directory holds; only files that changed since the
// last Load() are read and decoded again (ManifestCache). Between full scans
// (the first Load(), after lost events or a swapped `..data` link) it looks
// only at the files inotify named, without listing or stat()ing the others,
// which keeps a change among 10,000 Ingresses cheap. The safety net for a
// change the watch missed is Verify(), which the controller calls every few
// seconds, off the path of a change.

#include <sys/inotify.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "controller/source/manifest_cache.h"
#include "controller/source/source.h"

namespace portico::controller::source {

// Whether a directory entry named `name` is a manifest: ends in .yaml, .yml or
// .json (any case), is not hidden, and is not an editor's backup or lock file
// ("#x.yaml#", "x.yaml~", ".x.yaml.swp" are skipped).
bool IsManifestFileName(std::string_view name);

// Reads every manifest file directly in `directory` (not its subdirectories,
// symlinks followed) in name order and decodes them. A file that cannot be
// read or parsed adds a diagnostic naming it and contributes nothing; the
// other files still apply. When two documents define the same object (same
// kind, namespace and name) the first in file order wins and the other gets a
// "DuplicateObject" diagnostic. Fails only when the directory cannot be listed.
// With a `cache`, files whose identity and name are unchanged since the last
// read with that cache (and not invalidated) are not read or decoded again.
absl::StatusOr<LoadedManifests> LoadManifestDirectory(const std::string& directory,
                                                      ManifestCache* cache = nullptr);

// The safety net behind the watch: the manifest files in `directory` whose
// identity differs from what `cache` holds (changed, new or gone; see
// ManifestCache::Stale). Lists and stat()s the directory; decodes nothing.
absl::StatusOr<std::vector<std::string>> StaleManifestFiles(const std::string& directory,
                                                            ManifestCache& cache);

// Watches one directory with inotify.
//
// Threading: not thread-safe. One owner thread calls fd(), DrainEvents() and
// WaitForChange(). Load() only reads the filesystem and may run on any thread,
// also while the owner drains events.
class FileSource final : public Source {
 public:
  // Starts watching `directory` (which must exist). Create the source before
  // the first Load() so that no change can fall between reading and watching.
  static absl::StatusOr<std::unique_ptr<FileSource>> Create(std::string directory);
  ~FileSource() override;

  FileSource(const FileSource&) = delete;
  FileSource& operator=(const FileSource&) = delete;

  const std::string& directory() const { return directory_; }

  // Non-blocking inotify descriptor; readable when events are queued. It is
  // level-triggered: call DrainEvents() whenever it is readable.
  int fd() const override { return fd_; }

  // Reads every queued event without blocking. True when one of them may
  // change what Load() returns: a manifest file was written, created, renamed
  // or deleted; Kubernetes swapped a mounted ConfigMap or Secret (its `..data`
  // symlink); events were lost (queue overflow); or the directory itself was
  // deleted or moved (Load() then fails and no further changes are signalled).
  bool DrainEvents() override;
  // No manifest file is known to be half written: none was created (IN_CREATE)
  // in the last second without being closed, renamed or deleted since.
  bool settled() const override;

  // Compares the directory with what was read (StaleManifestFiles) and
  // invalidates what the watch did not report; true when there was any.
  bool Verify() override;

  // Blocks until a relevant change (true) or until `timeout` passes (false).
  // For tests and simple loops; an event loop uses fd() and DrainEvents().
  bool WaitForChange(std::chrono::milliseconds timeout);

  absl::StatusOr<LoadedManifests> Load() const override {
    return LoadManifestDirectory(directory_, &cache_);
  }
  void Return(LoadedManifests done) override;

 private:
  FileSource(std::string directory, int fd)
      : directory_(std::move(directory)), fd_(fd), cache_(/*watched=*/true) {}

  void Invalidate(const inotify_event& event);
  void Track(const inotify_event& event);

  // Created, not yet closed: the time IN_CREATE was seen. A file that is
  // never closed for writing (a hard link) stops counting after a second.
  std::map<std::string, std::chrono::steady_clock::time_point, std::less<>> unsettled_;

  const std::string directory_;
  const int fd_;
  mutable ManifestCache cache_;
};

}  // namespace portico::controller::source
