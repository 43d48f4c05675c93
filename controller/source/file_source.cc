#include "controller/source/file_source.h"

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "common/strings.h"
#include "controller/source/assembly.h"
#include "controller/source/manifest_decoder.h"

namespace portico::controller::source {
namespace {

using translate::Diagnostic;

// Manifests are a few kilobytes; a huge file is a mistake (a log, an image)
// and reading it on every change would stall the controller.
constexpr off_t kMaxFileSize = off_t{16} << 20;

// Kubernetes mounts ConfigMaps and Secrets as symlinks through `..data`, and
// updates them by renaming a new `..data` into place: the only event an
// update produces, and a hidden name.
constexpr char kAtomicWriterLink[] = "..data";

// How long a created, never closed manifest file holds back translating at once.
constexpr std::chrono::seconds kUnsettledFor(1);

constexpr uint32_t kWatchMask = IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE |
                                IN_CREATE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

std::string ErrnoText(int error) { return std::strerror(error); }

Diagnostic FileDiagnostic(std::string message) {
  Diagnostic d;
  d.severity = Diagnostic::Severity::kError;
  d.kind = "File";
  d.reason = "InvalidManifest";
  d.message = std::move(message);
  return d;
}

// The file's contents; NotFound when it vanished since the listing.
absl::StatusOr<std::string> ReadFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int error = errno;
    std::string message = portico::StrCat(path, ": cannot open: ", ErrnoText(error));
    return error == ENOENT ? absl::NotFoundError(message) : absl::UnavailableError(message);
  }
  std::string text;
  absl::Status status;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    status = absl::UnavailableError(portico::StrCat(path, ": cannot stat: ", ErrnoText(errno)));
  } else if (st.st_size > kMaxFileSize) {
    status = absl::FailedPreconditionError(
        portico::StrCat(path, ": ", st.st_size, " bytes is larger than the ", kMaxFileSize,
                        "-byte limit for a manifest file"));
  } else {
    text.resize(static_cast<size_t>(st.st_size));
    size_t done = 0;
    // The size can change under us; read to EOF within the limit.
    for (;;) {
      if (done == text.size())
        text.resize(std::min<size_t>(text.size() * 2 + 4096, kMaxFileSize + 1));
      ssize_t n = read(fd, text.data() + done, text.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        status = absl::UnavailableError(portico::StrCat(path, ": cannot read: ", ErrnoText(errno)));
        break;
      }
      if (n == 0) break;
      done += static_cast<size_t>(n);
      if (done > static_cast<size_t>(kMaxFileSize)) {
        status = absl::FailedPreconditionError(
            portico::StrCat(path, ": larger than the ", kMaxFileSize, "-byte limit"));
        break;
      }
    }
    text.resize(done);
  }
  close(fd);
  if (!status.ok()) return status;
  return text;
}

// Two documents defining one object would make the translator's view depend
// on vector order; keep the first in file order, as a reader would expect.
// Sorting indices (no copies of the names) keeps this cheap at 10,000 objects,
// and the vector is only rebuilt when there is a duplicate.
template <typename T>
void DropDuplicates(std::string_view kind, std::vector<T>& objects,
                    std::vector<Diagnostic>& diagnostics) {
  std::vector<size_t> order(objects.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  auto key = [&](size_t i) { return std::tie(objects[i].meta.ns, objects[i].meta.name); };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return key(a) < key(b); });
  // Index of a duplicate -> index of the definition that wins.
  std::map<size_t, size_t> duplicate_of;
  for (size_t i = 1, first = order.empty() ? 0 : order[0]; i < order.size(); ++i) {
    if (key(order[i]) == key(first)) {
      duplicate_of.emplace(order[i], first);
    } else {
      first = order[i];
    }
  }
  if (duplicate_of.empty()) return;
  for (const auto& [index, winner] : duplicate_of) {
    const T& object = objects[index];
    Diagnostic d;
    d.severity = Diagnostic::Severity::kError;
    d.kind = std::string(kind);
    d.ns = object.meta.ns;
    d.name = object.meta.name;
    d.reason = "DuplicateObject";
    d.message = portico::StrCat(object.meta.source, ": ", kind, " already defined at ",
                                objects[winner].meta.source, "; this definition is ignored");
    diagnostics.push_back(std::move(d));
  }
  std::vector<T> kept;
  kept.reserve(objects.size() - duplicate_of.size());
  for (size_t i = 0; i < objects.size(); ++i) {
    if (!duplicate_of.count(i)) kept.push_back(std::move(objects[i]));
  }
  objects = std::move(kept);
}

bool IsRelevantEvent(const inotify_event& event) {
  // Lost events, or the directory itself went away: re-read to find out.
  if (event.mask & (IN_Q_OVERFLOW | IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED | IN_UNMOUNT)) {
    return true;
  }
  if (event.len == 0) return false;
  std::string_view name(event.name);  // NUL-padded to event.len
  return name == kAtomicWriterLink || IsManifestFileName(name);
}

}  // namespace

bool IsManifestFileName(std::string_view name) {
  if (name.empty() || name[0] == '.' || name[0] == '#' || name.back() == '~') return false;
  absl::string_view n = portico::ToAbsl(name);
  return absl::EndsWithIgnoreCase(n, ".yaml") || absl::EndsWithIgnoreCase(n, ".yml") ||
         absl::EndsWithIgnoreCase(n, ".json");
}

namespace {

std::string PathOf(const std::string& directory, const std::string& name) {
  return directory.empty() || directory.back() == '/' ? portico::StrCat(directory, name)
                                                      : portico::StrCat(directory, "/", name);
}

// What one file contributes, decoded again unless the cache has it with the
// same identity: nullptr when it contributes nothing (gone, not a regular
// file, or unreadable, which `failed` says and a diagnostic reports).
const DecodedFile* ReadOne(const std::string& path, const std::string& name, ManifestCache* cache,
                           DecodedFile& fresh, std::vector<Diagnostic>& diagnostics, bool& failed) {
  failed = false;
  struct stat st;
  if (stat(path.c_str(), &st) != 0) {
    int error = errno;
    // Gone since the listing (its deletion is signalled anyway), unless it
    // is a dangling symlink, which someone should hear about.
    if (error != ENOENT || lstat(path.c_str(), &st) == 0) {
      diagnostics.push_back(
          FileDiagnostic(portico::StrCat(path, ": cannot read: ", ErrnoText(error))));
      failed = true;
    }
    return nullptr;
  }
  if (!S_ISREG(st.st_mode)) return nullptr;  // a directory named "x.yaml" is not a manifest
  FileIdentity identity = FileIdentity::Of(st);
  if (cache != nullptr) {
    if (const DecodedFile* decoded = cache->Lookup(name, identity)) return decoded;
  }
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    if (!absl::IsNotFound(text.status())) {
      diagnostics.push_back(FileDiagnostic(std::string(text.status().message())));
      failed = true;
    }
    return nullptr;
  }
  // A parse failure already added its diagnostic; the file contributes nothing.
  DecodeManifests(*text, path, fresh.state, fresh.diagnostics).IgnoreError();
  // The identity from before the read: if the file changed while it was
  // read, the next read sees a different one (or its inotify event).
  return cache != nullptr ? cache->Store(name, identity, std::move(fresh)) : &fresh;
}

void AddObjects(const std::string& path, const DecodedFile& decoded, LoadedManifests& out,
                Placement* placed) {
  out.files.push_back(path);
  AppendPlaced(decoded.state, out.state, placed);
}

void Add(const std::string& path, const DecodedFile& decoded, LoadedManifests& out,
         Placement* placed) {
  AddObjects(path, decoded, out, placed);
  out.diagnostics.insert(out.diagnostics.end(), decoded.diagnostics.begin(),
                         decoded.diagnostics.end());
}

void DropAllDuplicates(LoadedManifests& out) {
  DropDuplicates("Ingress", out.state.ingresses, out.diagnostics);
  DropDuplicates("IngressClass", out.state.ingress_classes, out.diagnostics);
  DropDuplicates("Service", out.state.services, out.diagnostics);
  DropDuplicates("EndpointSlice", out.state.endpoint_slices, out.diagnostics);
  DropDuplicates("Secret", out.state.secrets, out.diagnostics);
  DropDuplicates("ConfigMap", out.state.config_maps, out.diagnostics);
}

size_t ObjectCount(const translate::ClusterState& s) {
  return s.ingresses.size() + s.ingress_classes.size() + s.services.size() +
         s.endpoint_slices.size() + s.secrets.size() + s.config_maps.size();
}

// Drops duplicates and numbers the assembly; it can be patched later unless
// a duplicate was dropped (the placements would no longer hold).
uint64_t Finish(LoadedManifests& out, ManifestCache& cache,
                std::map<std::string, Placement> placements) {
  const size_t before = ObjectCount(out.state);
  DropAllDuplicates(out);
  if (ObjectCount(out.state) != before) return cache.ClearPlacements();
  return cache.SetPlacements(std::move(placements));
}

// Every cached file's diagnostics and the failures, in name order.
std::vector<Diagnostic> Diagnostics(
    const ManifestCache& cache, const std::map<std::string, std::vector<Diagnostic>>& failures) {
  std::vector<Diagnostic> out;
  auto failure = failures.begin();
  auto add_failures_before = [&](const std::string* name) {
    for (; failure != failures.end() && (name == nullptr || failure->first < *name); ++failure) {
      out.insert(out.end(), failure->second.begin(), failure->second.end());
    }
  };
  cache.ForEach([&](const std::string& name, const DecodedFile& decoded) {
    add_failures_before(&name);
    out.insert(out.end(), decoded.diagnostics.begin(), decoded.diagnostics.end());
  });
  add_failures_before(nullptr);
  return out;
}

// Patches the kept assembly with the files in `look` as the cache now has
// them, when each still defines the same objects (a file listed before is
// listed now and the other way round); false, untouched, otherwise.
bool Patch(const std::set<std::string>& look, const ManifestCache& cache,
           translate::ClusterState& assembled) {
  std::vector<std::pair<const Placement*, const DecodedFile*>> writes;
  for (const std::string& name : look) {
    if (!IsManifestFileName(name)) continue;
    const Placement* where = cache.PlacementOf(name);
    const DecodedFile* now = cache.Find(name);
    if ((where == nullptr) != (now == nullptr)) return false;
    if (where == nullptr) continue;  // not listed then or now
    if (!SameObjects(assembled, *where, now->state)) return false;
    writes.emplace_back(where, now);
  }
  for (const auto& [where, now] : writes) Overwrite(assembled, *where, now->state);
  return true;
}

// The manifest file names directly in `directory`, sorted.
absl::StatusOr<std::vector<std::string>> ListManifestFiles(const std::string& directory) {
  std::vector<std::string> names;
  DIR* dir = opendir(directory.c_str());
  if (dir == nullptr) {
    int error = errno;
    std::string message = portico::StrCat(directory, ": cannot list: ", ErrnoText(error));
    return error == ENOENT ? absl::NotFoundError(message) : absl::UnavailableError(message);
  }
  errno = 0;
  while (const dirent* entry = readdir(dir)) {
    if (IsManifestFileName(entry->d_name)) names.emplace_back(entry->d_name);
  }
  int error = errno;
  closedir(dir);
  if (error != 0) {
    return absl::UnavailableError(portico::StrCat(directory, ": cannot list: ", ErrnoText(error)));
  }
  std::sort(names.begin(), names.end());
  return names;
}

// A watched cache between full scans: only the files inotify named and those
// that failed last time are looked at; the others are as cached (no stat()).
LoadedManifests LoadChanged(const std::string& directory, ManifestCache& cache,
                            const ManifestCache::ReadPlan& plan) {
  std::set<std::string> look = plan.changed;
  look.insert(cache.failed().begin(), cache.failed().end());
  std::map<std::string, std::vector<Diagnostic>> failures;  // by name
  for (const std::string& name : look) {
    if (!IsManifestFileName(name)) continue;
    cache.Erase(name);
    DecodedFile fresh;
    std::vector<Diagnostic> diagnostics;
    bool failed;
    ReadOne(PathOf(directory, name), name, &cache, fresh, diagnostics, failed);
    cache.SetFailed(name, failed);
    if (failed) failures.emplace(name, std::move(diagnostics));
  }
  if (std::optional<LoadedManifests> kept = cache.TakeKept()) {
    if (Patch(look, cache, kept->state)) {
      kept->diagnostics = Diagnostics(cache, failures);
      kept->generation = cache.Renumber();
      return std::move(*kept);
    }
  }
  // Name order, as a full scan gives.
  LoadedManifests out;
  out.diagnostics = Diagnostics(cache, failures);
  std::map<std::string, Placement> placements;
  cache.ForEach([&](const std::string& name, const DecodedFile& decoded) {
    AddObjects(PathOf(directory, name), decoded, out, &placements.try_emplace(name).first->second);
  });
  out.generation = Finish(out, cache, std::move(placements));
  return out;
}

}  // namespace

absl::StatusOr<LoadedManifests> LoadManifestDirectory(const std::string& directory,
                                                      ManifestCache* cache) {
  std::unique_lock<std::mutex> cache_lock;
  ManifestCache::ReadPlan plan;
  if (cache != nullptr) {
    cache_lock = std::unique_lock<std::mutex>(cache->reader_mutex());
    plan = cache->BeginRead();
    if (!plan.full) return LoadChanged(directory, *cache, plan);
  }
  absl::StatusOr<std::vector<std::string>> names = ListManifestFiles(directory);
  if (!names.ok()) return names.status();

  LoadedManifests out;
  std::set<std::string> seen;
  std::map<std::string, Placement> placements;
  for (const std::string& name : *names) {
    std::string path = PathOf(directory, name);
    DecodedFile fresh;
    bool failed;
    const DecodedFile* decoded = ReadOne(path, name, cache, fresh, out.diagnostics, failed);
    if (cache != nullptr && failed) cache->SetFailed(name, true);
    if (decoded == nullptr) continue;
    seen.insert(name);
    Add(path, *decoded, out, cache != nullptr ? &placements[name] : nullptr);
  }
  if (cache == nullptr) {
    DropAllDuplicates(out);
    return out;
  }
  cache->Retain(seen);
  cache->EndFullScan();
  out.generation = Finish(out, *cache, std::move(placements));
  return out;
}

absl::StatusOr<std::vector<std::string>> StaleManifestFiles(const std::string& directory,
                                                            ManifestCache& cache) {
  absl::StatusOr<std::vector<std::string>> names = ListManifestFiles(directory);
  if (!names.ok()) return names.status();
  std::map<std::string, FileIdentity> listing;
  for (const std::string& name : *names) {
    struct stat st;
    // Gone or dangling: not listed (a failed file is the cache's to retry).
    if (stat(PathOf(directory, name).c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      listing.emplace_hint(listing.end(), name, FileIdentity::Of(st));
    }
  }
  std::lock_guard<std::mutex> lock(cache.reader_mutex());
  return cache.Stale(listing);
}

absl::StatusOr<std::unique_ptr<FileSource>> FileSource::Create(std::string directory) {
  int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    return absl::UnavailableError(portico::StrCat("inotify_init1: ", ErrnoText(errno)));
  }
  if (inotify_add_watch(fd, directory.c_str(), kWatchMask) < 0) {
    int error = errno;
    close(fd);
    std::string message = portico::StrCat(directory, ": cannot watch: ", ErrnoText(error));
    return error == ENOENT ? absl::NotFoundError(message) : absl::UnavailableError(message);
  }
  return std::unique_ptr<FileSource>(new FileSource(std::move(directory), fd));
}

FileSource::~FileSource() { close(fd_); }

bool FileSource::DrainEvents() {
  bool changed = false;
  // Aligned as the kernel writes whole, aligned inotify_event records.
  alignas(inotify_event) char buffer[16 * 1024];
  for (;;) {
    ssize_t n = read(fd_, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    // Anything else is unexpected on inotify: say "changed" so that the
    // caller re-reads, rather than risk missing an update.
    if (n <= 0) return true;
    for (ssize_t offset = 0; offset < n;) {
      const auto* event = reinterpret_cast<const inotify_event*>(buffer + offset);
      if (IsRelevantEvent(*event)) {
        changed = true;
        Invalidate(*event);
        Track(*event);
      }
      offset += static_cast<ssize_t>(sizeof(inotify_event) + event->len);
    }
  }
  return changed;
}

void FileSource::Invalidate(const inotify_event& event) {
  std::string_view name = event.len > 0 ? std::string_view(event.name) : std::string_view();
  // A lost event, the directory itself, or a swapped `..data` link (every
  // file behind it may have changed): decode everything again.
  if (name.empty() || name == kAtomicWriterLink) {
    cache_.InvalidateAll();
  } else {
    cache_.Invalidate(std::string(name));
  }
}

void FileSource::Track(const inotify_event& event) {
  if (event.len == 0) return;
  std::string_view name(event.name);
  if (event.mask & IN_CREATE) {
    unsettled_.insert_or_assign(std::string(name), std::chrono::steady_clock::now());
  } else if (event.mask & (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE)) {
    if (auto it = unsettled_.find(name); it != unsettled_.end()) unsettled_.erase(it);
  }
  const auto stale = std::chrono::steady_clock::now() - kUnsettledFor;
  std::erase_if(unsettled_, [&](const auto& entry) { return entry.second < stale; });
}

bool FileSource::settled() const {
  const auto stale = std::chrono::steady_clock::now() - kUnsettledFor;
  return std::none_of(unsettled_.begin(), unsettled_.end(),
                      [&](const auto& entry) { return entry.second >= stale; });
}

void FileSource::Return(LoadedManifests done) {
  std::lock_guard<std::mutex> lock(cache_.reader_mutex());
  cache_.Keep(std::move(done));
}

bool FileSource::Verify() {
  absl::StatusOr<std::vector<std::string>> stale = StaleManifestFiles(directory_, cache_);
  if (!stale.ok()) return true;  // Load() reports it
  for (const std::string& name : *stale) cache_.Invalidate(name);
  return !stale->empty();
}

bool FileSource::WaitForChange(std::chrono::milliseconds timeout) {
  using std::chrono::steady_clock;
  const steady_clock::time_point deadline = steady_clock::now() + timeout;
  for (;;) {
    if (DrainEvents()) return true;
    auto remaining =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - steady_clock::now()).count();
    if (remaining <= 0) return false;
    pollfd pfd{fd_, POLLIN, 0};
    int rc = poll(&pfd, 1, static_cast<int>(std::min<int64_t>(remaining, INT32_MAX)));
    if (rc < 0 && errno != EINTR) return false;
  }
}

}  // namespace portico::controller::source
