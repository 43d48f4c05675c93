#pragma once
// The one immutable configuration root of the data plane, compiled from a
// snapshot off the worker threads and published to workers by pointer swap.
// Everything reachable from a Config is immutable once built.

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "common/net/ip_address.h"
#include "dataplane/config/changed_names.h"
#include "dataplane/policy/compression.h"
#include "dataplane/policy/rate_limiter.h"
#include "dataplane/router/route_table.h"
#include "dataplane/tls/certificate_table.h"
#include "dataplane/upstream/cluster_config.h"
#include "portico/v1/snapshot.pb.h"

namespace portico::dataplane::config {

struct GlobalConfig {
  net::CidrSet trusted_proxies;  // snapshot settings + --trusted-proxies
  std::chrono::milliseconds client_header_timeout{60000};
  std::chrono::milliseconds client_body_timeout{60000};
  std::chrono::milliseconds keepalive_timeout{75000};
  uint32_t max_request_header_bytes = 32768;
  uint32_t max_request_headers = 100;
  uint32_t max_request_line_bytes = 8192;
  uint64_t max_request_body_bytes = 0;  // 0: unlimited; a route's own limit replaces it
  // What the codecs enforce before routing: the loosest of the global limit
  // and every route's (0: unlimited). The exact limit is the stream's.
  uint64_t codec_max_request_body_bytes = 0;
  uint32_t max_keepalive_requests = 1000;
  bool add_via_header = false;
  policy::RateLimitOptions rate_limit;
  // Every listener wants a PROXY protocol header first (or --proxy-protocol).
  bool use_proxy_protocol = false;
  // Global switches; a route's CompressionChoice overrides gzip/brotli.
  policy::CompressionSettings compression;
  // Removed from every upstream response (lower case): hide-headers, and
  // Server and X-Powered-By with hide-backend-identity.
  std::vector<std::string> hide_headers;
  // server-tokens: the responses Portico generates say "Server: portico".
  bool server_tokens = false;
};

// What each compiled virtual host and cluster of a Config was built from. The
// next Compile shares the previous Config's object for every one whose inputs
// are unchanged, so that a one-Ingress delta recompiles one virtual host, not
// all of them (and workers keep the runtime state of unchanged clusters).
// Entries are immutable and shared by successive memos; the maps' keys view
// their `name`, so that carrying an entry over allocates nothing.
struct CompileMemo {
  struct VirtualHostInputs {
    std::string name;
    std::string source;  // deterministic wire bytes of the v1::VirtualHost
    // The cluster names its routes asked about, with the answers.
    std::vector<std::pair<std::string, bool>> clusters;
    std::vector<std::string> credentials;  // the Credentials its basic auth names
    std::shared_ptr<const router::CompiledVirtualHost> compiled;
  };
  struct ClusterInputs {
    std::string name;
    std::string source;     // wire bytes of the v1::Cluster
    std::string endpoints;  // of its v1::ClusterEndpoints
    bool has_endpoints = false;
  };
  absl::flat_hash_map<absl::string_view, std::shared_ptr<const VirtualHostInputs>> virtual_hosts;
  // The compiled clusters are Config::clusters.
  absl::flat_hash_map<absl::string_view, std::shared_ptr<const ClusterInputs>> clusters;
  absl::flat_hash_map<std::string, std::shared_ptr<const router::PasswordMap>> credentials;
};

struct Config {
  uint64_t version = 0;
  GlobalConfig settings;
  std::unique_ptr<const router::RouteTable> routes;
  absl::flat_hash_map<std::string, std::shared_ptr<const upstream::ClusterConfig>> clusters;
  // Certificates for the HTTPS listener, by SNI name.
  std::shared_ptr<const tls::CertificateTable> tls;

  std::shared_ptr<const CompileMemo> memo;

  const upstream::ClusterConfig* FindCluster(std::string_view name) const {
    // Debian's abseil has its own string_view type, which heterogeneous lookup needs.
    auto it = clusters.find(absl::string_view(name.data(), name.size()));
    return it == clusters.end() ? nullptr : it->second.get();
  }
};

// Validates the whole snapshot and compiles it. Any error rejects the snapshot
// (the caller keeps serving the previous one) and names the offending resource:
// a route naming an unknown cluster, endpoints of an unknown cluster, duplicate
// names, an unparseable address, CIDR or regex, a zero total weight. `default_certificate`
// answers TLS names no virtual host claims (null: a generated self-signed one).
// `previous` (may be null: everything is compiled) lends its unchanged virtual
// hosts and clusters (see CompileMemo); the result is the same as without it.
// The data plane passes the Config it serves. `changed` (may be null: compare
// everything) lists what may differ from the snapshot `previous` was compiled
// from; a virtual host, cluster or endpoints resource it does not name is
// taken as unchanged without comparing its bytes (what else it read is still
// checked). It is ignored unless changed->since_version is previous->version
// and it is not `everything`.
absl::StatusOr<std::shared_ptr<const Config>> Compile(
    const v1::Snapshot& snapshot, const net::CidrSet& extra_trusted_proxies,
    std::shared_ptr<const tls::ServerCertificate> default_certificate = nullptr,
    const Config* previous = nullptr, const ChangedNames* changed = nullptr);

// Proto3 JSON mapping; unknown fields are an error (a typo must not pass silently).
absl::StatusOr<v1::Snapshot> ParseSnapshotJson(std::string_view json);

// Reads a snapshot file: binary proto when the name ends in ".pb", JSON otherwise.
absl::StatusOr<v1::Snapshot> LoadSnapshotFile(const std::string& path);

}  // namespace portico::dataplane::config
