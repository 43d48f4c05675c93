#pragma once
// The global settings ConfigMap to GlobalSettings. Keys follow ingress-nginx's
// ConfigMap where one exists, so a migrated ConfigMap keeps working; the
// supported set is small and listed in docs/ingress.md.

#include <cstdint>
#include <optional>
#include <string_view>

#include "controller/translate/annotations_security.h"
#include "controller/translate/cluster_state.h"
#include "controller/translate/diagnostics.h"
#include "controller/translate/https_policy.h"
#include "portico/v1/snapshot.pb.h"

namespace portico::controller::translate {

struct Settings {
  v1::GlobalSettings global;  // the snapshot's settings, for the data plane
  // Defaults of every route, which its Ingress's annotations may override;
  // the translator applies them per route (the data plane never sees them).
  HttpsOptions https;
  // whitelist-source-range and denylist-source-range: the IP lists of every
  // Ingress without its own (an invalid one fails closed).
  IpFilterDefaults ip_filter;
  // proxy-connect-timeout, proxy-send-timeout, proxy-read-timeout and the
  // proxy-next-upstream keys: every cluster's settings unless its Ingress
  // has its own (MergeClusterDefaults).
  v1::Cluster cluster_defaults;
};

// Each key is parsed strictly; a bad value is reported and only that key is
// ignored (its default applies). Unknown keys are reported too (as warnings).
Settings ParseSettings(const ConfigMap& config_map, DiagnosticSink& diagnostics);

// nginx time syntax: "60" (seconds), "500ms", "90s", "5m", "1h", "1d", or a
// sequence from larger to smaller units ("1m30s"). Milliseconds.
std::optional<int64_t> ParseNginxDuration(std::string_view text);

// nginx size syntax: bytes, or a number with k/K, m/M, g/G (powers of 1024).
std::optional<uint64_t> ParseNginxSize(std::string_view text);

}  // namespace portico::controller::translate
