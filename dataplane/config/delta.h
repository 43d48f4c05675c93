#pragma once
// Merges a Delta from the controller into the data plane's complete snapshot.
// Pure: no I/O, no threads.

#include "absl/status/status.h"
#include "dataplane/config/changed_names.h"
#include "portico/v1/snapshot.pb.h"
#include "portico/v1/snapshot_service.pb.h"

namespace portico::dataplane::config {

// Applies `delta` to `state`, which must be at delta.base_version()
// (FailedPrecondition otherwise: the caller needs a full snapshot). Removals
// go first, then upserts replace whole resources by name (endpoints by
// cluster); removing an absent name is not an error. Each kind the delta
// touches ends up sorted by name, as the controller sends full snapshots.
// state.version() is left to the caller, who knows the target version.
// On error `state` is unchanged.
// `changed` (may be null) gets the names of the virtual hosts, clusters and
// endpoints the delta upserted or removed, or `everything` when the merge had
// to reorder or collapse an unsorted state (then other names moved too).
absl::Status ApplyDelta(v1::Snapshot& state, const v1::Delta& delta,
                        ChangedNames* changed = nullptr);

}  // namespace portico::dataplane::config
