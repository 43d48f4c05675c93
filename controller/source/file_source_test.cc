#include "controller/source/file_source.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace portico::controller::source {
namespace {

namespace fs = std::filesystem;
using std::chrono::milliseconds;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::SizeIs;
using translate::Diagnostic;

// Generous: a change is queued by the kernel before the write returns, so a
// healthy run never waits; the bound only keeps a broken one from hanging.
constexpr milliseconds kDeadline{5000};

class TempDir {
 public:
  TempDir() {
    const char* base = getenv("TEST_TMPDIR");
    std::string pattern = std::string(base != nullptr ? base : "/tmp") + "/portico-fs-XXXXXX";
    char* made = mkdtemp(pattern.data());
    EXPECT_NE(made, nullptr);
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }
  std::string operator/(std::string_view name) const { return path_ + "/" + std::string(name); }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, std::string_view content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  ASSERT_TRUE(out) << path;
}

std::string ConfigMap(std::string_view name, std::string_view value = "v") {
  return "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + std::string(name) +
         "}\ndata: {k: \"" + std::string(value) + "\"}\n";
}

LoadedManifests MustLoad(const std::string& directory) {
  absl::StatusOr<LoadedManifests> loaded = LoadManifestDirectory(directory);
  EXPECT_TRUE(loaded.ok()) << loaded.status();
  return loaded.ok() ? *std::move(loaded) : LoadedManifests();
}

std::vector<std::string> ConfigMapNames(const LoadedManifests& loaded) {
  std::vector<std::string> names;
  for (const auto& cm : loaded.state.config_maps) names.push_back(cm.meta.name);
  return names;
}

// True when the inotify fd has events queued (without consuming them).
bool Readable(int fd) {
  pollfd pfd{fd, POLLIN, 0};
  return poll(&pfd, 1, 0) == 1 && (pfd.revents & POLLIN);
}

TEST(IsManifestFileNameTest, ExtensionsAndEditorFiles) {
  for (const char* name : {"app.yaml", "app.yml", "app.json", "APP.YAML", "a.b.yaml"}) {
    EXPECT_TRUE(IsManifestFileName(name)) << name;
  }
  for (const char* name :
       {"", ".app.yaml", ".app.yaml.swp", "#app.yaml#", ".#app.yaml", "app.yaml~", "app.yaml.bak",
        "app.yaml.tmp", "4913", "app.yaml___jb_tmp___", "README.md", "..data", "yaml"}) {
    EXPECT_FALSE(IsManifestFileName(name)) << name;
  }
}

TEST(LoadManifestDirectoryTest, ReadsManifestFilesInNameOrder) {
  TempDir dir;
  WriteFile(dir / "b.yaml", ConfigMap("from-b"));
  WriteFile(dir / "a.json",
            R"({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "from-a"}})");
  WriteFile(dir / "c.yml", ConfigMap("from-c1") + "---\n" + ConfigMap("from-c2"));
  WriteFile(dir / ".hidden.yaml", ConfigMap("hidden"));
  WriteFile(dir / "b.yaml~", ConfigMap("backup"));
  WriteFile(dir / "notes.txt", "not yaml: [");
  fs::create_directory(dir / "sub.yaml");
  WriteFile(dir / "sub.yaml/inner.yaml", ConfigMap("nested"));

  LoadedManifests loaded = MustLoad(dir.path());
  EXPECT_THAT(loaded.diagnostics, IsEmpty());
  EXPECT_THAT(loaded.files, ElementsAre(dir / "a.json", dir / "b.yaml", dir / "c.yml"));
  EXPECT_THAT(ConfigMapNames(loaded), ElementsAre("from-a", "from-b", "from-c1", "from-c2"));
  EXPECT_EQ(loaded.state.config_maps[3].meta.source, dir / "c.yml#2");
}

TEST(LoadManifestDirectoryTest, BrokenFileIsReportedAndTheRestApplies) {
  TempDir dir;
  WriteFile(dir / "a.yaml", ConfigMap("a"));
  WriteFile(dir / "b.yaml", ConfigMap("b-ok") + "---\nmetadata: {name: [\n");
  WriteFile(dir / "c.yaml", ConfigMap("c"));

  LoadedManifests loaded = MustLoad(dir.path());
  EXPECT_THAT(ConfigMapNames(loaded), ElementsAre("a", "c"));
  ASSERT_THAT(loaded.diagnostics, SizeIs(1));
  EXPECT_EQ(loaded.diagnostics[0].kind, "File");
  EXPECT_EQ(loaded.diagnostics[0].severity, Diagnostic::Severity::kError);
  EXPECT_THAT(loaded.diagnostics[0].message, HasSubstr(dir / "b.yaml: line "));
}

TEST(LoadManifestDirectoryTest, FirstDefinitionOfAnObjectWins) {
  TempDir dir;
  WriteFile(dir / "a.yaml", ConfigMap("same", "first"));
  WriteFile(dir / "b.yaml", ConfigMap("same", "second") + "---\n" + ConfigMap("other"));

  LoadedManifests loaded = MustLoad(dir.path());
  ASSERT_THAT(ConfigMapNames(loaded), ElementsAre("same", "other"));
  EXPECT_EQ(loaded.state.config_maps[0].data.at("k"), "first");
  ASSERT_THAT(loaded.diagnostics, SizeIs(1));
  const Diagnostic& d = loaded.diagnostics[0];
  EXPECT_EQ(d.kind, "ConfigMap");
  EXPECT_EQ(d.ns, "default");
  EXPECT_EQ(d.name, "same");
  EXPECT_EQ(d.reason, "DuplicateObject");
  EXPECT_EQ(d.message, dir / "b.yaml#1: ConfigMap already defined at " + dir / "a.yaml#1" +
                           "; this definition is ignored");
}

TEST(LoadManifestDirectoryTest, DanglingSymlinkIsReported) {
  TempDir dir;
  fs::create_symlink(dir / "missing.yaml", dir / "link.yaml");
  LoadedManifests loaded = MustLoad(dir.path());
  EXPECT_THAT(loaded.files, IsEmpty());
  ASSERT_THAT(loaded.diagnostics, SizeIs(1));
  EXPECT_THAT(loaded.diagnostics[0].message, HasSubstr(dir / "link.yaml: cannot read"));
}

TEST(LoadManifestDirectoryTest, MissingDirectoryIsAnError) {
  TempDir dir;
  absl::StatusOr<LoadedManifests> loaded = LoadManifestDirectory(dir / "nope");
  EXPECT_EQ(loaded.status().code(), absl::StatusCode::kNotFound);
}

TEST(LoadManifestDirectoryTest, CacheDecodesOnlyChangedFiles) {
  TempDir dir;
  WriteFile(dir / "a.yaml", ConfigMap("a"));
  WriteFile(dir / "b.yaml", ConfigMap("b"));
  ManifestCache cache;
  ASSERT_TRUE(LoadManifestDirectory(dir.path(), &cache).ok());
  EXPECT_EQ(cache.stores(), 2u);

  absl::StatusOr<LoadedManifests> again = LoadManifestDirectory(dir.path(), &cache);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(cache.stores(), 2u);  // nothing changed, nothing decoded
  EXPECT_THAT(ConfigMapNames(*again), ElementsAre("a", "b"));

  // A new file renamed over b (a new inode), and c added.
  WriteFile(dir / ".b.tmp", ConfigMap("b2"));
  fs::rename(dir / ".b.tmp", dir / "b.yaml");
  WriteFile(dir / "c.yaml", ConfigMap("c"));
  again = LoadManifestDirectory(dir.path(), &cache);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(cache.stores(), 4u);
  EXPECT_THAT(ConfigMapNames(*again), ElementsAre("a", "b2", "c"));

  fs::remove(dir / "a.yaml");
  again = LoadManifestDirectory(dir.path(), &cache);
  ASSERT_TRUE(again.ok());
  EXPECT_THAT(ConfigMapNames(*again), ElementsAre("b2", "c"));
  EXPECT_EQ(again->files, (std::vector<std::string>{dir / "b.yaml", dir / "c.yaml"}));
}

// ObjectMeta::revision: kept while a file is taken from the cache, new for
// every object of a file decoded again, and never the same for two objects.
TEST(LoadManifestDirectoryTest, ObjectsKeepTheirRevisionUntilTheirFileIsDecodedAgain) {
  TempDir dir;
  WriteFile(dir / "a.yaml", ConfigMap("a"));
  WriteFile(dir / "b.yaml", ConfigMap("b"));
  ManifestCache cache;
  absl::StatusOr<LoadedManifests> first = LoadManifestDirectory(dir.path(), &cache);
  ASSERT_TRUE(first.ok());
  ASSERT_EQ(first->state.config_maps.size(), 2u);
  const uint64_t a = first->state.config_maps[0].meta.revision;
  const uint64_t b = first->state.config_maps[1].meta.revision;
  EXPECT_NE(a, 0u);
  EXPECT_NE(b, 0u);
  EXPECT_NE(a, b);

  WriteFile(dir / ".b.tmp", ConfigMap("b", "changed"));
  fs::rename(dir / ".b.tmp", dir / "b.yaml");
  absl::StatusOr<LoadedManifests> again = LoadManifestDirectory(dir.path(), &cache);
  ASSERT_TRUE(again.ok());
  ASSERT_EQ(again->state.config_maps.size(), 2u);
  EXPECT_EQ(again->state.config_maps[0].meta.revision, a);
  EXPECT_NE(again->state.config_maps[1].meta.revision, b);
  EXPECT_NE(again->state.config_maps[1].meta.revision, 0u);
}

TEST(LoadManifestDirectoryTest, CacheKeepsDiagnosticsOfBrokenFiles) {
  TempDir dir;
  WriteFile(dir / "bad.yaml", "kind: [unclosed");
  ManifestCache cache;
  for (int i = 0; i < 2; ++i) {
    absl::StatusOr<LoadedManifests> loaded = LoadManifestDirectory(dir.path(), &cache);
    ASSERT_TRUE(loaded.ok());
    EXPECT_THAT(loaded->diagnostics, SizeIs(1)) << "read " << i;
  }
  EXPECT_EQ(cache.stores(), 1u);
}

TEST(LoadManifestDirectoryTest, InvalidatedFileIsDecodedAgain) {
  TempDir dir;
  WriteFile(dir / "a.yaml", ConfigMap("a"));
  ManifestCache cache;
  ASSERT_TRUE(LoadManifestDirectory(dir.path(), &cache).ok());
  cache.Invalidate("a.yaml");
  ASSERT_TRUE(LoadManifestDirectory(dir.path(), &cache).ok());
  EXPECT_EQ(cache.stores(), 2u);
  cache.InvalidateAll();
  ASSERT_TRUE(LoadManifestDirectory(dir.path(), &cache).ok());
  EXPECT_EQ(cache.stores(), 3u);
}

// A watched cache (FileSource's) believes its invalidations between full
// scans: it neither lists the directory nor stat()s the files nobody named.
TEST(LoadManifestDirectoryTest, WatchedCacheLooksOnlyAtNamedFilesBetweenFullScans) {
  TempDir dir;
  WriteFile(dir / "a.yaml", ConfigMap("a"));
  WriteFile(dir / "b.yaml", ConfigMap("b"));
  WriteFile(dir / "broken.yaml", "kind: [unclosed");
  ManifestCache cache(/*watched=*/true);
  absl::StatusOr<LoadedManifests> loaded = LoadManifestDirectory(dir.path(), &cache);
  ASSERT_TRUE(loaded.ok());
  EXPECT_THAT(ConfigMapNames(*loaded), ElementsAre("a", "b"));
  EXPECT_EQ(cache.stores(), 3u);

  // Unreported changes are not seen: proof that nothing was stat()ed.
  WriteFile(dir / ".b.tmp", ConfigMap("b2"));
  fs::rename(dir / ".b.tmp", dir / "b.yaml");
  WriteFile(dir / "c.yaml", ConfigMap("c"));
  loaded = LoadManifestDirectory(dir.path(), &cache);
  ASSERT_TRUE(loaded.ok());
  EXPECT_THAT(ConfigMapNames(*loaded), ElementsAre("a", "b"));
  EXPECT_THAT(loaded->diagnostics, SizeIs(1));  // broken.yaml's, kept with it
  EXPECT_EQ(cache.stores(), 3u);

  // Reported ones are, in name order, with the others as cached.
  cache.Invalidate("b.yaml");
  cache.Invalidate("c.yaml");
  loaded = LoadManifestDirectory(dir.path(), &cache);
  ASSERT_TRUE(loaded.ok());
  EXPECT_THAT(ConfigMapNames(*loaded), ElementsAre("a", "b2", "c"));
  EXPECT_EQ(cache.stores(), 5u);
  EXPECT_EQ(loaded->files, (std::vector<std::string>{dir / "a.yaml", dir / "b.yaml",
                                                     dir / "broken.yaml", dir / "c.yaml"}));

  fs::remove(dir / "a.yaml");
  cache.Invalidate("a.yaml");
  loaded = LoadManifestDirectory(dir.path(), &cache);
  ASSERT_TRUE(loaded.ok());
  EXPECT_THAT(ConfigMapNames(*loaded), ElementsAre("b2", "c"));

  // Lost events: a full scan again.
  WriteFile(dir / "d.yaml", ConfigMap("d"));
  cache.InvalidateAll();
  loaded = LoadManifestDirectory(dir.path(), &cache);
  ASSERT_TRUE(loaded.ok());
  EXPECT_THAT(ConfigMapNames(*loaded), ElementsAre("b2", "c", "d"));
}

TEST(LoadManifestDirectoryTest, WatchedCacheRetriesFailedFiles) {
  TempDir dir;
  WriteFile(dir / "a.yaml", ConfigMap("a"));
  fs::create_symlink(dir / "missing-target", dir / "link.yaml");
  ManifestCache cache(/*watched=*/true);
  absl::StatusOr<LoadedManifests> loaded = LoadManifestDirectory(dir.path(), &cache);
  ASSERT_TRUE(loaded.ok());
  ASSERT_THAT(loaded->diagnostics, SizeIs(1));
  EXPECT_THAT(loaded->diagnostics[0].message, HasSubstr("link.yaml"));

  // A file that failed is looked at on every read: still reported, and
  // picked up once it can be read (a symlink's target is not watched).
  loaded = LoadManifestDirectory(dir.path(), &cache);
  ASSERT_TRUE(loaded.ok());
  EXPECT_THAT(loaded->diagnostics, SizeIs(1));
  WriteFile(dir / "missing-target", ConfigMap("target"));
  loaded = LoadManifestDirectory(dir.path(), &cache);
  ASSERT_TRUE(loaded.ok());
  EXPECT_THAT(loaded->diagnostics, IsEmpty());
  EXPECT_THAT(ConfigMapNames(*loaded), ElementsAre("a", "target"));
}

// The safety net: unreported changes (new, rewritten, deleted files) are what
// StaleManifestFiles names; once invalidated, a read sees them.
TEST(LoadManifestDirectoryTest, StaleManifestFilesFindsWhatTheWatchMissed) {
  TempDir dir;
  WriteFile(dir / "a.yaml", ConfigMap("a"));
  WriteFile(dir / "b.yaml", ConfigMap("b"));
  WriteFile(dir / "c.yaml", ConfigMap("c"));
  fs::create_symlink(dir / "missing-target", dir / "link.yaml");
  ManifestCache cache(/*watched=*/true);
  ASSERT_TRUE(LoadManifestDirectory(dir.path(), &cache).ok());
  absl::StatusOr<std::vector<std::string>> stale = StaleManifestFiles(dir.path(), cache);
  ASSERT_TRUE(stale.ok()) << stale.status();
  EXPECT_THAT(*stale, IsEmpty());  // the failed link is retried by every read anyway

  WriteFile(dir / ".b.tmp", ConfigMap("b2"));
  fs::rename(dir / ".b.tmp", dir / "b.yaml");
  fs::remove(dir / "c.yaml");
  WriteFile(dir / "d.yaml", ConfigMap("d"));
  absl::StatusOr<LoadedManifests> loaded = LoadManifestDirectory(dir.path(), &cache);
  ASSERT_TRUE(loaded.ok());
  EXPECT_THAT(ConfigMapNames(*loaded), ElementsAre("a", "b", "c"));  // unreported
  stale = StaleManifestFiles(dir.path(), cache);
  ASSERT_TRUE(stale.ok()) << stale.status();
  EXPECT_THAT(*stale, ElementsAre("b.yaml", "c.yaml", "d.yaml"));
  for (const std::string& name : *stale) cache.Invalidate(name);
  loaded = LoadManifestDirectory(dir.path(), &cache);
  ASSERT_TRUE(loaded.ok());
  EXPECT_THAT(ConfigMapNames(*loaded), ElementsAre("a", "b2", "d"));
  stale = StaleManifestFiles(dir.path(), cache);
  ASSERT_TRUE(stale.ok());
  EXPECT_THAT(*stale, IsEmpty());
  EXPECT_FALSE(StaleManifestFiles(dir / "gone", cache).ok());
}

// Everything a read gives that the translator and the log see.
std::string Render(const LoadedManifests& loaded) {
  std::string out;
  for (const auto& cm : loaded.state.config_maps) {
    out += cm.meta.name + "@" + cm.meta.source + "=" + cm.data.at("k") + ";";
  }
  for (const auto& svc : loaded.state.services) out += "svc " + svc.meta.name + ";";
  for (const auto& d : loaded.diagnostics) out += d.reason + ":" + d.message + ";";
  for (const auto& f : loaded.files) out += f + ",";
  return out;
}

// A read handed back (Return) is patched by the next one when the changed
// files define the same objects, and assembled anew otherwise: either way
// it gives what a fresh, uncached read of the directory gives.
TEST(FileSourceTest, PatchesAReturnedReadAndMatchesAFreshOne) {
  TempDir dir;
  WriteFile(dir / "a.yaml", ConfigMap("a", "1"));
  WriteFile(dir / "b.yaml", ConfigMap("b", "1") + "---\n" + ConfigMap("c", "1"));
  WriteFile(dir / "d.yaml", ConfigMap("d", "1"));
  auto source = FileSource::Create(dir.path());
  ASSERT_TRUE(source.ok()) << source.status();
  FileSource& s = **source;
  absl::StatusOr<LoadedManifests> loaded = s.Load();
  ASSERT_TRUE(loaded.ok());
  const void* storage = loaded->state.config_maps.data();
  auto change = [&](auto write) {
    s.Return(*std::move(loaded));
    write();
    ASSERT_TRUE(s.WaitForChange(kDeadline));
    while (s.DrainEvents()) {
    }
    loaded = s.Load();
    ASSERT_TRUE(loaded.ok());
    EXPECT_EQ(Render(*loaded), Render(MustLoad(dir.path())));
  };
  auto atomic_write = [&](const std::string& name, const std::string& text) {
    WriteFile(dir / ("." + name + ".tmp"), text);
    fs::rename(dir / ("." + name + ".tmp"), dir / name);
  };

  // Same objects, new contents: patched in place.
  change([&] { atomic_write("b.yaml", ConfigMap("b", "2") + "---\n" + ConfigMap("c", "2")); });
  EXPECT_EQ(loaded->state.config_maps.data(), storage);
  EXPECT_THAT(ConfigMapNames(*loaded), ElementsAre("a", "b", "c", "d"));
  change([&] { WriteFile(dir / "a.yaml", ConfigMap("a", "3")); });
  EXPECT_EQ(loaded->state.config_maps.data(), storage);

  // Other objects, a broken file, a new file, a deleted one: assembled anew.
  change([&] { atomic_write("b.yaml", ConfigMap("b", "4")); });
  change([&] { atomic_write("a.yaml", "kind: [unclosed"); });
  change([&] { atomic_write("a.yaml", ConfigMap("a", "5")); });
  change([&] { atomic_write("e.yaml", ConfigMap("e", "1")); });
  change([&] { fs::remove(dir / "d.yaml"); });
  // A duplicate (first definition wins) cannot be patched; its removal can.
  change([&] { atomic_write("f.yaml", ConfigMap("a", "dup")); });
  change([&] { atomic_write("a.yaml", ConfigMap("a", "6")); });
  change([&] { fs::remove(dir / "f.yaml"); });
  storage = loaded->state.config_maps.data();
  change([&] { atomic_write("e.yaml", ConfigMap("e", "2")); });
  EXPECT_EQ(loaded->state.config_maps.data(), storage);
  EXPECT_THAT(ConfigMapNames(*loaded), ElementsAre("a", "b", "e"));

  // A result that is not the latest read's is not taken back.
  LoadedManifests stale = *loaded;
  ASSERT_TRUE(s.Load().ok());
  s.Return(std::move(stale));
  change([&] { atomic_write("a.yaml", ConfigMap("a", "7")); });
}

TEST(FileSourceTest, SeesAnInPlaceRewriteOfTheSameSize) {
  // Rewritten in place right after a read: same inode, same size, and quite
  // possibly the same coarse timestamp; the inotify event must still win.
  TempDir dir;
  WriteFile(dir / "a.yaml", ConfigMap("a", "1"));
  auto source = FileSource::Create(dir.path());
  ASSERT_TRUE(source.ok()) << source.status();
  ASSERT_TRUE((*source)->Load().ok());
  for (const char* value : {"2", "3", "4"}) {
    WriteFile(dir / "a.yaml", ConfigMap("a", value));
    ASSERT_TRUE((*source)->WaitForChange(kDeadline));
    absl::StatusOr<LoadedManifests> loaded = (*source)->Load();
    ASSERT_TRUE(loaded.ok());
    ASSERT_THAT(loaded->state.config_maps, SizeIs(1));
    EXPECT_EQ(loaded->state.config_maps[0].data.at("k"), value);
  }
}

TEST(FileSourceTest, CreateFailsWithoutTheDirectory) {
  TempDir dir;
  EXPECT_EQ(FileSource::Create(dir / "nope").status().code(), absl::StatusCode::kNotFound);
}

TEST(FileSourceTest, SignalsWritesRenamesAndDeletes) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<FileSource>> source = FileSource::Create(dir.path());
  ASSERT_TRUE(source.ok()) << source.status();
  FileSource& s = **source;
  EXPECT_THAT(ConfigMapNames(MustLoad(dir.path())), IsEmpty());
  EXPECT_FALSE(s.DrainEvents());

  WriteFile(dir / "a.yaml", ConfigMap("a"));
  ASSERT_TRUE(s.WaitForChange(kDeadline));
  EXPECT_THAT(ConfigMapNames(*s.Load()), ElementsAre("a"));

  // Editors and kubectl-style tools write a temporary file and rename it.
  WriteFile(dir / ".b.yaml.tmp", ConfigMap("b"));
  ASSERT_EQ(std::rename((dir / ".b.yaml.tmp").c_str(), (dir / "b.yaml").c_str()), 0);
  ASSERT_TRUE(s.WaitForChange(kDeadline));
  EXPECT_THAT(ConfigMapNames(*s.Load()), ElementsAre("a", "b"));

  // Renaming a manifest away (IN_MOVED_FROM) removes it.
  ASSERT_EQ(std::rename((dir / "a.yaml").c_str(), (dir / "a.yaml.disabled").c_str()), 0);
  ASSERT_TRUE(s.WaitForChange(kDeadline));
  EXPECT_THAT(ConfigMapNames(*s.Load()), ElementsAre("b"));

  ASSERT_EQ(unlink((dir / "b.yaml").c_str()), 0);
  ASSERT_TRUE(s.WaitForChange(kDeadline));
  EXPECT_THAT(ConfigMapNames(*s.Load()), IsEmpty());
  EXPECT_FALSE(s.DrainEvents());
}

// A file created and still open for writing may be half written: the
// controller then waits for its quiet period instead of translating at once.
TEST(FileSourceTest, IsUnsettledWhileACreatedFileIsOpen) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<FileSource>> source = FileSource::Create(dir.path());
  ASSERT_TRUE(source.ok()) << source.status();
  FileSource& s = **source;
  EXPECT_TRUE(s.settled());
  int fd = open((dir / "a.yaml").c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  ASSERT_TRUE(s.WaitForChange(kDeadline));
  EXPECT_FALSE(s.settled());
  std::string text = ConfigMap("a");
  ASSERT_EQ(write(fd, text.data(), text.size()), static_cast<ssize_t>(text.size()));
  ASSERT_EQ(close(fd), 0);
  ASSERT_TRUE(s.WaitForChange(kDeadline));
  EXPECT_TRUE(s.settled());
  EXPECT_THAT(ConfigMapNames(*s.Load()), ElementsAre("a"));
  // An atomic rename into place is settled at once; nothing was missed.
  WriteFile(dir / ".b.tmp", ConfigMap("b"));
  fs::rename(dir / ".b.tmp", dir / "b.yaml");
  ASSERT_TRUE(s.WaitForChange(kDeadline));
  EXPECT_TRUE(s.settled());
  EXPECT_THAT(ConfigMapNames(*s.Load()), ElementsAre("a", "b"));
  EXPECT_FALSE(s.Verify());
}

TEST(FileSourceTest, IgnoresFilesThatAreNotManifests) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<FileSource>> source = FileSource::Create(dir.path());
  ASSERT_TRUE(source.ok()) << source.status();
  FileSource& s = **source;
  WriteFile(dir / ".app.yaml.swp", "swap");
  WriteFile(dir / "app.yaml~", "backup");
  WriteFile(dir / "README.md", "docs");
  ASSERT_EQ(unlink((dir / "README.md").c_str()), 0);
  // The kernel queues events before the syscalls return: the fd is readable
  // now, and draining finds nothing relevant.
  EXPECT_TRUE(Readable(s.fd()));
  EXPECT_FALSE(s.DrainEvents());
  EXPECT_FALSE(Readable(s.fd()));
}

TEST(FileSourceTest, WaitForChangeTimesOut) {
  TempDir dir;
  absl::StatusOr<std::unique_ptr<FileSource>> source = FileSource::Create(dir.path());
  ASSERT_TRUE(source.ok()) << source.status();
  auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE((*source)->WaitForChange(milliseconds(20)));
  EXPECT_GE(std::chrono::steady_clock::now() - start, milliseconds(20));
}

// Kubernetes mounts a ConfigMap as app.yaml -> ..data/app.yaml, ..data ->
// ..<timestamp>/, and updates it by renaming a new ..data symlink into place.
TEST(FileSourceTest, SignalsAConfigMapVolumeUpdate) {
  TempDir dir;
  fs::create_directory(dir / "..2024_01_01");
  WriteFile(dir / "..2024_01_01/app.yaml", ConfigMap("old"));
  fs::create_directory_symlink("..2024_01_01", dir / "..data");
  fs::create_symlink("..data/app.yaml", dir / "app.yaml");
  absl::StatusOr<std::unique_ptr<FileSource>> source = FileSource::Create(dir.path());
  ASSERT_TRUE(source.ok()) << source.status();
  FileSource& s = **source;
  EXPECT_THAT(ConfigMapNames(*s.Load()), ElementsAre("old"));

  fs::create_directory(dir / "..2024_01_02");
  WriteFile(dir / "..2024_01_02/app.yaml", ConfigMap("new"));
  fs::create_directory_symlink("..2024_01_02", dir / "..data_tmp");
  EXPECT_FALSE(s.DrainEvents());
  ASSERT_EQ(std::rename((dir / "..data_tmp").c_str(), (dir / "..data").c_str()), 0);
  ASSERT_TRUE(s.WaitForChange(kDeadline));
  EXPECT_THAT(ConfigMapNames(*s.Load()), ElementsAre("new"));
}

TEST(FileSourceTest, SignalsTheDirectoryGoingAway) {
  TempDir parent;
  std::string dir = parent / "manifests";
  fs::create_directory(dir);
  absl::StatusOr<std::unique_ptr<FileSource>> source = FileSource::Create(dir);
  ASSERT_TRUE(source.ok()) << source.status();
  fs::remove(dir);
  ASSERT_TRUE((*source)->WaitForChange(kDeadline));
  EXPECT_EQ((*source)->Load().status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace portico::controller::source
