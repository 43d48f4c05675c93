#pragma once
// What may differ between the snapshot a served Config was compiled from and
// the next one: the names the deltas merged since then upserted or removed.
// The subscription collects them; Compile uses them to share the served
// Config's other virtual hosts and clusters without serialising them to
// compare bytes. Header-only so that the subscription library (gRPC) and the
// config library do not depend on each other.

#include <cstdint>
#include <string>

#include "absl/container/flat_hash_set.h"

namespace portico::dataplane::config {

struct ChangedNames {
  // The version of the snapshot the names are relative to (the one the
  // previous Config was compiled from); Compile ignores the names otherwise.
  uint64_t since_version = 0;
  // Anything may have changed: a full snapshot, or a merge that reordered or
  // collapsed resources of an unsorted state. Compile then compares bytes.
  bool everything = false;
  absl::flat_hash_set<std::string> virtual_hosts;
  absl::flat_hash_set<std::string> clusters;
  absl::flat_hash_set<std::string> endpoints;  // by cluster name
  // Secrets, Credentials, settings and the default action are not listed:
  // Compile reads or compares them afresh every time.

  void Reset(uint64_t version) {
    since_version = version;
    everything = false;
    virtual_hosts.clear();
    clusters.clear();
    endpoints.clear();
  }
};

}  // namespace portico::dataplane::config
