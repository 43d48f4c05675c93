#pragma once
// A cluster's UpstreamTls (and its CA Secret) to the TLS context its
// connections use (dataplane/tls/upstream_tls.h), compiled with the rest of
// a Config.

#include "absl/status/status.h"
#include "dataplane/upstream/cluster_config.h"
#include "portico/v1/snapshot.pb.h"

namespace portico::dataplane::config {

// For HTTPS and H2 clusters: sets `cluster.tls`, or `cluster.unavailable`
// when verification is on but no CA can verify (its requests get 503: never
// an unverified connection instead). A server name that is no DNS name or IP
// address, or an inverted version range, rejects the snapshot. Plain
// protocols are left alone.
absl::Status CompileUpstreamTls(const v1::Cluster& c, const v1::Snapshot& snapshot,
                                upstream::ClusterConfig& cluster);

}  // namespace portico::dataplane::config
