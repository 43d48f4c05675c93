#pragma once
// A source of cluster state for the controller: something that can say "I may
// have changed" through a file descriptor, and produce the whole state on
// demand. The file source (a manifest directory) and the kube source (the
// Kubernetes API) implement it; the translator never knows which one it got.

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "controller/translate/cluster_state.h"
#include "controller/translate/translator.h"

namespace portico::controller::source {

// The cluster state as read at one moment.
struct LoadedManifests {
  translate::ClusterState state;
  // Objects that could not be read or decoded, or were defined twice. The
  // objects that decoded are in `state`.
  std::vector<translate::Diagnostic> diagnostics;
  // What was read: manifest files ("dir/name", sorted) for the file source.
  std::vector<std::string> files;
  // The file source's read that assembled it (see Source::Return); 0: none.
  uint64_t generation = 0;
};

// Threading: fd(), DrainEvents() and synced() on the owner thread; Load() may
// run on any thread.
class Source {
 public:
  virtual ~Source() = default;

  // Non-blocking, level-triggered descriptor: readable when DrainEvents() has news.
  virtual int fd() const = 0;
  // Consumes the wake-ups; true when Load() may now return something different.
  virtual bool DrainEvents() = 0;
  // The whole state now. Fails only when nothing can be read at all.
  virtual absl::StatusOr<LoadedManifests> Load() const = 0;
  // True once the first complete read is possible (the kube source has listed
  // every resource); the controller is not ready before.
  virtual bool synced() const { return true; }
  // False while a change DrainEvents() reported may still be under way (a
  // manifest file created but not yet closed): the controller then waits for
  // its quiet period instead of translating at once. A kube watch event is a
  // whole object, so that source is always settled.
  virtual bool settled() const { return true; }
  // Hands back a Load() result the caller has finished with (its state
  // unchanged; the diagnostics may be gone): the file source's next Load()
  // patches it in place instead of assembling 10,000 objects anew.
  virtual void Return(LoadedManifests done) { (void)done; }
  // Looks for changes the wake-ups missed (the file source's periodic safety
  // net; owner thread); true when Load() may now return something different.
  virtual bool Verify() { return false; }
};

}  // namespace portico::controller::source
