#include "dataplane/config/config.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "common/strings.h"
#include "dataplane/config/header_config.h"
#include "dataplane/config/route_config.h"
#include "dataplane/config/security_config.h"
#include "dataplane/config/tls_config.h"
#include "dataplane/config/upstream_tls_config.h"
#include "dataplane/upstream/maglev.h"
#include "google/protobuf/util/json_util.h"
#include "openssl/evp.h"
#include "portico/v1/wire_bytes.h"

namespace portico::dataplane::config {
namespace {

using std::chrono::milliseconds;

// Names from the snapshot end up in NACK reasons and logs: escape them.
std::string Quote(std::string_view text) {
  return portico::StrCat("\"", absl::CHexEscape(ToAbsl(text)), "\"");
}

absl::Status Invalid(std::string message) { return absl::InvalidArgumentError(std::move(message)); }

// Unset or zero keeps the default: proto3 cannot tell the two apart for the
// integer knobs, and a zero timeout is never what anyone means.
absl::StatusOr<milliseconds> ToMillis(const google::protobuf::Duration& d, bool has,
                                      milliseconds fallback, std::string_view what) {
  if (!has || (d.seconds() == 0 && d.nanos() == 0)) return fallback;
  if (d.seconds() < 0 || d.nanos() < 0) {
    return Invalid(portico::StrCat(what, ": negative duration"));
  }
  // The binary format does not enforce Duration's documented range (~10000
  // years); beyond it the conversion below would overflow.
  if (d.seconds() > 315576000000 || d.nanos() > 999999999) {
    return Invalid(portico::StrCat(what, ": duration out of range"));
  }
  // Round up so that a positive sub-millisecond value does not become zero.
  return milliseconds(d.seconds() * 1000 + (d.nanos() + 999999) / 1000000);
}

template <typename T>
T OrDefault(T value, T fallback) {
  return value == 0 ? fallback : value;
}

absl::StatusOr<GlobalConfig> CompileSettings(const v1::GlobalSettings& s,
                                             const net::CidrSet& extra_trusted_proxies) {
  GlobalConfig g;
  g.trusted_proxies = extra_trusted_proxies;
  for (int i = 0; i < s.trusted_proxies_size(); ++i) {
    absl::StatusOr<net::Cidr> cidr = net::Cidr::Parse(s.trusted_proxies(i));
    if (!cidr.ok()) {
      return Invalid(
          portico::StrCat("settings.trusted_proxies[", i, "]: ", cidr.status().message()));
    }
    g.trusted_proxies.Add(*cidr);
  }
  absl::StatusOr<milliseconds> d =
      ToMillis(s.client_header_timeout(), s.has_client_header_timeout(), g.client_header_timeout,
               "settings.client_header_timeout");
  if (!d.ok()) return d.status();
  g.client_header_timeout = *d;
  d = ToMillis(s.client_body_timeout(), s.has_client_body_timeout(), g.client_body_timeout,
               "settings.client_body_timeout");
  if (!d.ok()) return d.status();
  g.client_body_timeout = *d;
  d = ToMillis(s.keepalive_timeout(), s.has_keepalive_timeout(), g.keepalive_timeout,
               "settings.keepalive_timeout");
  if (!d.ok()) return d.status();
  g.keepalive_timeout = *d;
  g.max_request_header_bytes = OrDefault(s.max_request_header_bytes(), g.max_request_header_bytes);
  g.max_request_headers = OrDefault(s.max_request_headers(), g.max_request_headers);
  g.max_request_line_bytes = OrDefault(s.max_request_line_bytes(), g.max_request_line_bytes);
  g.max_request_body_bytes = s.max_request_body_bytes();  // 0 is unlimited
  g.max_keepalive_requests = OrDefault(s.max_keepalive_requests(), g.max_keepalive_requests);
  g.add_via_header = s.add_via_header();
  absl::StatusOr<policy::RateLimitOptions> rate_limit = CompileRateLimitSettings(s.rate_limit());
  if (!rate_limit.ok()) return rate_limit.status();
  g.rate_limit = *rate_limit;
  g.use_proxy_protocol = s.use_proxy_protocol();
  if (s.has_compression()) {
    const v1::Compression& c = s.compression();
    g.compression.gzip = c.gzip();
    g.compression.brotli = c.brotli();
    if (c.gzip_level() > 9) return Invalid("settings.compression.gzip_level is above 9");
    g.compression.gzip_level = static_cast<int>(OrDefault(c.gzip_level(), 1u));
    if (c.has_brotli_level()) {
      if (c.brotli_level() > 11) return Invalid("settings.compression.brotli_level is above 11");
      g.compression.brotli_level = static_cast<int>(c.brotli_level());
    }
    if (c.has_min_length()) g.compression.min_length = c.min_length();
    for (const std::string& type : c.mime_types()) {
      if (type.empty() || type.find('/') == std::string::npos) {
        return Invalid(portico::StrCat("settings.compression.mime_types: ", Quote(type),
                                       " is not a media type"));
      }
      g.compression.mime_types.push_back(absl::AsciiStrToLower(type));
    }
  }
  if (absl::Status st = CompileHeaderSettings(s, g); !st.ok()) return st;
  return g;
}

// --- Clusters ------------------------------------------------------------------

absl::StatusOr<upstream::EndpointConfig> CompileEndpoint(const v1::Endpoint& e,
                                                         std::string_view where) {
  upstream::EndpointConfig ep;
  absl::StatusOr<net::IpAddress> ip = net::IpAddress::Parse(e.address());
  if (!ip.ok()) return Invalid(portico::StrCat(where, ": ", ip.status().message()));
  if (e.port() == 0 || e.port() > 65535) {
    return Invalid(portico::StrCat(where, ": port ", e.port(), " is not in 1..65535"));
  }
  ep.address = *ip;
  ep.port = static_cast<uint16_t>(e.port());
  ep.weight = OrDefault(e.weight(), 1u);
  ep.ready = e.ready();
  ep.terminating = e.terminating();
  ep.zone = e.zone();
  const auto& bytes = ip->bytes();
  if (ip->is_v4()) {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ep.sockaddr);
    sin->sin_family = AF_INET;
    sin->sin_port = htons(ep.port);
    std::memcpy(&sin->sin_addr, bytes.data(), 4);
    ep.sockaddr_len = sizeof(sockaddr_in);
    ep.key = portico::StrCat(ip->ToString(), ":", ep.port);
  } else {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ep.sockaddr);
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(ep.port);
    std::memcpy(&sin6->sin6_addr, bytes.data(), 16);
    ep.sockaddr_len = sizeof(sockaddr_in6);
    ep.key = portico::StrCat("[", ip->ToString(), "]:", ep.port);
  }
  return ep;
}

absl::StatusOr<upstream::LbPolicy> CompileLbPolicy(v1::Cluster::LbPolicy p,
                                                   std::string_view where) {
  switch (p) {
    case v1::Cluster::LB_POLICY_UNSPECIFIED:
    case v1::Cluster::LB_POLICY_ROUND_ROBIN:
      return upstream::LbPolicy::kRoundRobin;
    case v1::Cluster::LB_POLICY_LEAST_REQUEST:
      return upstream::LbPolicy::kLeastRequest;
    case v1::Cluster::LB_POLICY_RANDOM:
      return upstream::LbPolicy::kRandom;
    default:
      // Open enum: a newer controller may send a value this build does not know.
      return Invalid(portico::StrCat(where, ": unknown lb_policy ", static_cast<int>(p)));
  }
}

absl::StatusOr<upstream::Protocol> CompileProtocol(v1::Cluster::Protocol p,
                                                   std::string_view where) {
  switch (p) {
    case v1::Cluster::PROTOCOL_UNSPECIFIED:
    case v1::Cluster::PROTOCOL_HTTP1:
      return upstream::Protocol::kHttp1;
    case v1::Cluster::PROTOCOL_H2C:
      return upstream::Protocol::kH2c;
    case v1::Cluster::PROTOCOL_H2:
      return upstream::Protocol::kH2;
    case v1::Cluster::PROTOCOL_HTTPS:
      return upstream::Protocol::kHttps;
    default:
      return Invalid(portico::StrCat(where, ": unknown protocol ", static_cast<int>(p)));
  }
}

absl::Status CompileHash(const v1::HashPolicy& h, std::string_view where,
                         upstream::HashConfig& out) {
  switch (h.source()) {
    case v1::HashPolicy::SOURCE_CLIENT_IP:
      out.source = upstream::HashSource::kClientIp;
      return absl::OkStatus();
    case v1::HashPolicy::SOURCE_REQUEST_URI:
      out.source = upstream::HashSource::kRequestUri;
      return absl::OkStatus();
    case v1::HashPolicy::SOURCE_HEADER:
    case v1::HashPolicy::SOURCE_COOKIE:
      if (h.name().empty()) return Invalid(portico::StrCat(where, ": hash_policy without a name"));
      out.source = h.source() == v1::HashPolicy::SOURCE_HEADER ? upstream::HashSource::kHeader
                                                               : upstream::HashSource::kCookie;
      out.name =
          h.source() == v1::HashPolicy::SOURCE_HEADER ? absl::AsciiStrToLower(h.name()) : h.name();
      return absl::OkStatus();
    default:
      return Invalid(
          portico::StrCat(where, ": unknown hash_policy source ", static_cast<int>(h.source())));
  }
}

// Values that end up in a Set-Cookie header: a token, a path without
// separators, the three SameSite values.
absl::Status CompileAffinity(const v1::SessionAffinity& a, std::string_view where,
                             upstream::AffinityConfig& out) {
  auto token = [](std::string_view s) {
    return !s.empty() && s.find_first_not_of(
                             "!#$%&'*+-.^_`|~0123456789"
                             "abcdefghijklmnopqrstuvwxyz"
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == std::string_view::npos;
  };
  if (!token(a.cookie_name())) {
    return Invalid(portico::StrCat(where, ": affinity cookie name ", Quote(a.cookie_name()),
                                   " is not a token"));
  }
  if (!a.path().empty() &&
      (a.path().front() != '/' || std::any_of(a.path().begin(), a.path().end(), [](char c) {
         return c <= ' ' || c == ';' || c == ',' || c == 0x7f;
       }))) {
    return Invalid(portico::StrCat(where, ": affinity path ", Quote(a.path()), " is invalid"));
  }
  if (!a.samesite().empty() && a.samesite() != "Strict" && a.samesite() != "Lax" &&
      a.samesite() != "None") {
    return Invalid(portico::StrCat(where, ": affinity samesite ", Quote(a.samesite()),
                                   " is not Strict, Lax or None"));
  }
  out.enabled = true;
  out.cookie_name = a.cookie_name();
  out.path = a.path();
  out.max_age_seconds = a.max_age_seconds();
  out.secure = a.secure();
  out.samesite = a.samesite();
  out.persistent = a.mode() == v1::SessionAffinity::MODE_PERSISTENT;
  return absl::OkStatus();
}

// 16 hex digits of SHA-256 over a fixed label and the endpoint's key: stable
// across replicas and restarts, and it does not reveal the address.
std::string AffinityId(const std::string& key) {
  const std::string input = "portico-affinity\n" + key;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(input.data(), input.size(), digest, &len, EVP_sha256(), nullptr) != 1 || len < 8) {
    return {};
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id;
  for (int i = 0; i < 8; ++i) {
    id.push_back(kHex[digest[i] >> 4]);
    id.push_back(kHex[digest[i] & 0xf]);
  }
  return id;
}

// Unset: ingress-nginx's default conditions, with the connect_retries of
// before retry policies existed.
absl::StatusOr<upstream::RetryConfig> CompileRetry(const v1::Cluster& c, const std::string& where) {
  upstream::RetryConfig retry;
  if (!c.has_retry()) {
    retry.max_tries = OrDefault(c.connect_retries(), 2u) + 1;
    return retry;
  }
  const v1::RetryPolicy& r = c.retry();
  retry.max_tries = OrDefault(r.tries(), retry.max_tries);
  absl::StatusOr<milliseconds> d =
      ToMillis(r.timeout(), r.has_timeout(), milliseconds(0), where + " retry.timeout");
  if (!d.ok()) return d.status();
  retry.timeout = *d;
  if (r.off()) {
    retry.conditions = 0;
    retry.max_tries = 1;
    return retry;
  }
  if (r.conditions_size() == 0) return retry;
  retry.conditions = 0;
  for (int condition : r.conditions()) {
    switch (condition) {
      case v1::RetryPolicy::CONDITION_ERROR:
        retry.conditions |= upstream::kRetryError;
        break;
      case v1::RetryPolicy::CONDITION_TIMEOUT:
        retry.conditions |= upstream::kRetryTimeout;
        break;
      case v1::RetryPolicy::CONDITION_INVALID_HEADER:
        retry.conditions |= upstream::kRetryInvalidHeader;
        break;
      case v1::RetryPolicy::CONDITION_HTTP_500:
        retry.conditions |= upstream::kRetryHttp500;
        break;
      case v1::RetryPolicy::CONDITION_HTTP_502:
        retry.conditions |= upstream::kRetryHttp502;
        break;
      case v1::RetryPolicy::CONDITION_HTTP_503:
        retry.conditions |= upstream::kRetryHttp503;
        break;
      case v1::RetryPolicy::CONDITION_HTTP_504:
        retry.conditions |= upstream::kRetryHttp504;
        break;
      case v1::RetryPolicy::CONDITION_HTTP_403:
        retry.conditions |= upstream::kRetryHttp403;
        break;
      case v1::RetryPolicy::CONDITION_HTTP_404:
        retry.conditions |= upstream::kRetryHttp404;
        break;
      case v1::RetryPolicy::CONDITION_HTTP_429:
        retry.conditions |= upstream::kRetryHttp429;
        break;
      case v1::RetryPolicy::CONDITION_NON_IDEMPOTENT:
        retry.conditions |= upstream::kRetryNonIdempotent;
        break;
      default:
        return Invalid(portico::StrCat(where, ": unknown retry condition ", condition));
    }
  }
  return retry;
}

absl::StatusOr<upstream::ClusterConfig> CompileCluster(const v1::Cluster& c) {
  const std::string where = portico::StrCat("cluster ", Quote(c.name()));
  upstream::ClusterConfig cc;
  cc.name = c.name();
  absl::StatusOr<upstream::LbPolicy> lb = CompileLbPolicy(c.lb_policy(), where);
  if (!lb.ok()) return lb.status();
  cc.lb_policy = *lb;
  absl::StatusOr<upstream::Protocol> protocol = CompileProtocol(c.protocol(), where);
  if (!protocol.ok()) return protocol.status();
  cc.protocol = *protocol;

  absl::StatusOr<milliseconds> d = ToMillis(c.connect_timeout(), c.has_connect_timeout(),
                                            cc.connect_timeout, where + " connect_timeout");
  if (!d.ok()) return d.status();
  cc.connect_timeout = *d;
  d = ToMillis(c.response_timeout(), c.has_response_timeout(), cc.response_timeout,
               where + " response_timeout");
  if (!d.ok()) return d.status();
  cc.response_timeout = *d;
  d = ToMillis(c.idle_timeout(), c.has_idle_timeout(), cc.idle_timeout, where + " idle_timeout");
  if (!d.ok()) return d.status();
  cc.idle_timeout = *d;
  cc.max_idle_connections = OrDefault(c.max_idle_connections(), cc.max_idle_connections);
  cc.max_connections = c.max_connections();  // 0 is unlimited
  cc.connect_retries = OrDefault(c.connect_retries(), cc.connect_retries);
  d = ToMillis(c.send_timeout(), c.has_send_timeout(), cc.send_timeout, where + " send_timeout");
  if (!d.ok()) return d.status();
  cc.send_timeout = *d;
  absl::StatusOr<upstream::RetryConfig> retry = CompileRetry(c, where);
  if (!retry.ok()) return retry.status();
  cc.retry = *retry;

  const v1::OutlierDetection& o = c.outlier_detection();
  cc.outlier.enabled = !o.disabled();
  cc.outlier.consecutive_failures =
      OrDefault(o.consecutive_failures(), cc.outlier.consecutive_failures);
  d = ToMillis(o.base_ejection_time(), o.has_base_ejection_time(), cc.outlier.base_ejection_time,
               where + " outlier_detection.base_ejection_time");
  if (!d.ok()) return d.status();
  cc.outlier.base_ejection_time = *d;
  cc.outlier.max_ejection_percent =
      OrDefault(o.max_ejection_percent(), cc.outlier.max_ejection_percent);
  if (cc.outlier.max_ejection_percent > 100) {
    return Invalid(portico::StrCat(where, ": outlier_detection.max_ejection_percent ",
                                   cc.outlier.max_ejection_percent, " is above 100"));
  }
  if (c.has_hash_policy()) {
    if (absl::Status s = CompileHash(c.hash_policy(), where, cc.hash); !s.ok()) return s;
  }
  if (c.has_affinity()) {
    if (absl::Status s = CompileAffinity(c.affinity(), where, cc.affinity); !s.ok()) return s;
  }
  return cc;
}

absl::Status CompileEndpoints(const v1::ClusterEndpoints& ce, upstream::ClusterConfig& cc) {
  cc.endpoints.reserve(ce.endpoints_size());
  for (int i = 0; i < ce.endpoints_size(); ++i) {
    absl::StatusOr<upstream::EndpointConfig> ep = CompileEndpoint(
        ce.endpoints(i),
        portico::StrCat("endpoints of cluster ", Quote(ce.cluster()), " [", i, "]"));
    if (!ep.ok()) return ep.status();
    cc.endpoints.push_back(std::move(*ep));
  }
  // Sorted by key so that the order, and what load balancers derive from it,
  // does not depend on the order the controller listed them in. The same
  // address twice (EndpointSlices overlap while they are rewritten) is one
  // endpoint: the first listed wins.
  auto by_key = [](const upstream::EndpointConfig& a, const upstream::EndpointConfig& b) {
    return a.key < b.key;
  };
  std::stable_sort(cc.endpoints.begin(), cc.endpoints.end(), by_key);
  auto dup = std::unique(cc.endpoints.begin(), cc.endpoints.end(),
                         [](const auto& a, const auto& b) { return a.key == b.key; });
  cc.endpoints.erase(dup, cc.endpoints.end());
  return absl::OkStatus();
}

// Derived per-cluster tables, built once here and shared by all workers.
void IndexEndpoints(upstream::ClusterConfig& cc) {
  if (cc.affinity.enabled) {
    for (size_t i = 0; i < cc.endpoints.size(); ++i) {
      cc.endpoints[i].affinity_id = AffinityId(cc.endpoints[i].key);
      cc.by_affinity_id.emplace(cc.endpoints[i].affinity_id, i);
    }
  }
  if (cc.hash.source != upstream::HashSource::kNone) {
    std::vector<std::string_view> names;
    std::vector<uint32_t> ids;
    for (size_t i = 0; i < cc.endpoints.size(); ++i) {
      const upstream::EndpointConfig& ep = cc.endpoints[i];
      if (!ep.ready || ep.terminating || ep.weight == 0) continue;
      names.push_back(ep.key);
      ids.push_back(static_cast<uint32_t>(i));
    }
    if (!names.empty()) cc.maglev = std::make_shared<upstream::MaglevTable>(names, std::move(ids));
  }
}

using ClusterMap = absl::flat_hash_map<std::string, std::shared_ptr<const upstream::ClusterConfig>>;

// Equal wire bytes mean equal messages, which is what sharing a compiled
// object needs.
using v1::WireBytes;

// A cluster's compilation reads the v1::Cluster and its ClusterEndpoints, and
// for TLS upstreams the CA Secret too: those are always compiled again.
absl::Status CompileClusters(const v1::Snapshot& snapshot, const Config* previous,
                             const ChangedNames* changed, ClusterMap& clusters, CompileMemo& memo) {
  // The first ClusterEndpoints of each cluster (a second one is refused below).
  absl::flat_hash_map<absl::string_view, const v1::ClusterEndpoints*> endpoints_of;
  endpoints_of.reserve(snapshot.endpoints_size());
  for (const v1::ClusterEndpoints& ce : snapshot.endpoints())
    endpoints_of.emplace(ToAbsl(ce.cluster()), &ce);
  const CompileMemo* old_memo = previous == nullptr ? nullptr : previous->memo.get();
  absl::flat_hash_map<std::string, std::shared_ptr<upstream::ClusterConfig>> fresh;
  memo.clusters.reserve(snapshot.clusters_size());
  clusters.reserve(snapshot.clusters_size());
  for (const v1::Cluster& c : snapshot.clusters()) {
    if (c.name().empty()) return Invalid("a cluster has an empty name");
    if (memo.clusters.contains(ToAbsl(c.name()))) {
      return Invalid(portico::StrCat("duplicate cluster ", Quote(c.name())));
    }
    // What `previous` compiled for this name (TLS clusters are not shared).
    const std::shared_ptr<const CompileMemo::ClusterInputs>* old = nullptr;
    const std::shared_ptr<const upstream::ClusterConfig>* compiled = nullptr;
    if (old_memo != nullptr) {
      auto o = old_memo->clusters.find(ToAbsl(c.name()));
      auto p = previous->clusters.find(c.name());
      if (o != old_memo->clusters.end() && p != previous->clusters.end() &&
          !upstream::IsTls(p->second->protocol)) {
        old = &o->second;
        compiled = &p->second;
      }
    }
    if (old != nullptr && changed != nullptr && !changed->clusters.contains(c.name()) &&
        !changed->endpoints.contains(c.name())) {
      // Unchanged since `previous`: no bytes to compare.
      clusters.emplace(c.name(), *compiled);
      memo.clusters.emplace((*old)->name, *old);
      continue;
    }
    auto inputs = std::make_shared<CompileMemo::ClusterInputs>();
    inputs->name = c.name();
    inputs->source = WireBytes(c);
    if (auto it = endpoints_of.find(ToAbsl(c.name())); it != endpoints_of.end()) {
      inputs->has_endpoints = true;
      inputs->endpoints = WireBytes(*it->second);
    }
    if (old != nullptr && (*old)->source == inputs->source &&
        (*old)->has_endpoints == inputs->has_endpoints && (*old)->endpoints == inputs->endpoints) {
      clusters.emplace(c.name(), *compiled);
      memo.clusters.emplace((*old)->name, *old);
      continue;
    }
    absl::StatusOr<upstream::ClusterConfig> cc = CompileCluster(c);
    if (!cc.ok()) return cc.status();
    if (absl::Status s = CompileUpstreamTls(c, snapshot, *cc); !s.ok()) return s;
    fresh.emplace(c.name(), std::make_shared<upstream::ClusterConfig>(std::move(*cc)));
    absl::string_view key = inputs->name;
    memo.clusters.emplace(key, std::move(inputs));
  }
  for (const v1::ClusterEndpoints& ce : snapshot.endpoints()) {
    if (!memo.clusters.contains(ToAbsl(ce.cluster()))) {
      return Invalid(portico::StrCat("endpoints for unknown cluster ", Quote(ce.cluster())));
    }
    if (endpoints_of.at(ToAbsl(ce.cluster())) != &ce) {
      return Invalid(portico::StrCat("duplicate endpoints for cluster ", Quote(ce.cluster())));
    }
    auto it = fresh.find(ce.cluster());
    if (it == fresh.end()) continue;  // shared with the previous Config
    if (absl::Status s = CompileEndpoints(ce, *it->second); !s.ok()) return s;
  }
  for (auto& [name, cc] : fresh) {
    IndexEndpoints(*cc);
    clusters.emplace(name, std::move(cc));
  }
  return absl::OkStatus();
}

// The previous Config's compiled virtual host when it was compiled from the
// same bytes (`source`; null: known to be unchanged) and everything else it
// read (which clusters exist, the contents of the Credentials it names) is
// unchanged; null otherwise.
std::shared_ptr<const CompileMemo::VirtualHostInputs> Reusable(const CompileMemo* previous,
                                                               const v1::VirtualHost& vh,
                                                               const std::string* source,
                                                               const ClusterMap& clusters,
                                                               const CredentialsMap& credentials) {
  if (previous == nullptr) return nullptr;
  auto it = previous->virtual_hosts.find(ToAbsl(vh.name()));
  if (it == previous->virtual_hosts.end()) return nullptr;
  if (source != nullptr && it->second->source != *source) return nullptr;
  const CompileMemo::VirtualHostInputs& inputs = *it->second;
  for (const auto& [name, known] : inputs.clusters) {
    if (clusters.contains(name) != known) return nullptr;
  }
  for (const std::string& name : inputs.credentials) {
    auto now = credentials.find(name);
    auto then = previous->credentials.find(name);
    if (now == credentials.end() || then == previous->credentials.end() ||
        *now->second != *then->second) {
      return nullptr;
    }
  }
  return it->second;
}

absl::StatusOr<std::unique_ptr<const router::RouteTable>> CompileRoutes(
    const v1::Snapshot& snapshot, const ClusterMap& clusters, const CompileMemo* previous,
    const ChangedNames* changed, CompileMemo& memo) {
  absl::StatusOr<CredentialsMap> credentials = CompileCredentials(snapshot);
  if (!credentials.ok()) return credentials.status();
  std::vector<std::shared_ptr<const router::CompiledVirtualHost>> vhosts;
  vhosts.reserve(snapshot.virtual_hosts_size());
  memo.virtual_hosts.reserve(snapshot.virtual_hosts_size());
  for (const v1::VirtualHost& vh : snapshot.virtual_hosts()) {
    // A name seen twice is compiled each time: sharing one object would hide
    // the hostnames the two claim from RouteTable's duplicate check.
    const bool first = !memo.virtual_hosts.contains(ToAbsl(vh.name()));
    const bool unchanged =
        first && changed != nullptr && !changed->virtual_hosts.contains(vh.name());
    std::string source;
    if (!unchanged) source = WireBytes(vh);
    if (first) {
      if (auto reused =
              Reusable(previous, vh, unchanged ? nullptr : &source, clusters, *credentials)) {
        vhosts.push_back(reused->compiled);
        absl::string_view key = reused->name;
        memo.virtual_hosts.emplace(key, std::move(reused));
        continue;
      }
    }
    if (unchanged) source = WireBytes(vh);  // but not reusable: it is compiled
    auto inputs = std::make_shared<CompileMemo::VirtualHostInputs>();
    inputs->name = vh.name();
    inputs->source = std::move(source);
    auto known = [&](const std::string& name) {
      bool found = clusters.contains(name);
      inputs->clusters.emplace_back(name, found);
      return found;
    };
    absl::StatusOr<router::VirtualHostSpec> spec = CompileVirtualHost(vh, known, *credentials);
    if (!spec.ok()) return spec.status();
    absl::StatusOr<std::shared_ptr<const router::CompiledVirtualHost>> compiled =
        router::RouteTable::CompileVirtualHost(std::move(*spec));
    if (!compiled.ok()) return compiled.status();
    for (const v1::Route& r : vh.routes()) {
      if (r.has_basic_auth() && !r.basic_auth().deny_all()) {
        inputs->credentials.push_back(r.basic_auth().credentials());
      }
    }
    inputs->compiled = *compiled;
    vhosts.push_back(std::move(*compiled));
    if (first) {
      absl::string_view key = inputs->name;
      memo.virtual_hosts.emplace(key, std::move(inputs));
    }
  }
  std::optional<router::RouteAction> default_action;
  if (snapshot.has_default_action()) {
    auto known = [&](const std::string& name) { return clusters.contains(name); };
    absl::StatusOr<router::RouteAction> action =
        CompileAction(snapshot.default_action(), known, "default action");
    if (!action.ok()) return action.status();
    default_action = std::move(*action);
  }
  absl::StatusOr<std::unique_ptr<router::RouteTable>> table =
      router::RouteTable::FromCompiled(std::move(vhosts), std::move(default_action));
  if (!table.ok()) return table.status();
  memo.credentials = std::move(*credentials);
  return std::unique_ptr<const router::RouteTable>(std::move(*table));
}

// The codecs refuse bodies before a route is known, so they may only refuse
// what no route accepts: the loosest limit of the global one and the routes'.
uint64_t CodecBodyLimit(const v1::Snapshot& snapshot) {
  uint64_t limit = snapshot.settings().max_request_body_bytes();
  for (const v1::VirtualHost& vh : snapshot.virtual_hosts()) {
    for (const v1::Route& r : vh.routes()) {
      if (limit == 0) return 0;
      if (!r.has_max_request_body_bytes()) continue;
      if (r.max_request_body_bytes() == 0) return 0;
      limit = std::max(limit, r.max_request_body_bytes());
    }
  }
  return limit;
}

absl::Status FileError(int err, const std::string& path) {
  return absl::ErrnoToStatus(err, ToAbsl(portico::StrCat("cannot read snapshot file ", path)));
}

// POSIX rather than iostreams so that every failure (a directory, EIO) has an
// errno to report.
absl::StatusOr<std::string> ReadFile(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return FileError(errno, path);
  std::string data;
  char buf[65536];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof(buf));
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return FileError(err, path);
    }
    data.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return data;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const Config>> Compile(
    const v1::Snapshot& snapshot, const net::CidrSet& extra_trusted_proxies,
    std::shared_ptr<const tls::ServerCertificate> default_certificate, const Config* previous,
    const ChangedNames* changed) {
  // The names are relative to the snapshot `previous` was compiled from.
  if (changed != nullptr &&
      (changed->everything || previous == nullptr || previous->version != changed->since_version)) {
    changed = nullptr;
  }
  auto config = std::make_shared<Config>();
  config->version = snapshot.version();
  absl::StatusOr<GlobalConfig> settings =
      CompileSettings(snapshot.settings(), extra_trusted_proxies);
  if (!settings.ok()) return settings.status();
  config->settings = std::move(*settings);

  auto memo = std::make_shared<CompileMemo>();
  ClusterMap clusters;
  if (absl::Status s = CompileClusters(snapshot, previous, changed, clusters, *memo); !s.ok()) {
    return s;
  }
  absl::StatusOr<std::unique_ptr<const router::RouteTable>> routes = CompileRoutes(
      snapshot, clusters, previous == nullptr ? nullptr : previous->memo.get(), changed, *memo);
  if (!routes.ok()) return routes.status();
  config->routes = std::move(*routes);
  config->settings.codec_max_request_body_bytes = CodecBodyLimit(snapshot);
  auto tls = CompileTls(snapshot, std::move(default_certificate));
  if (!tls.ok()) return tls.status();
  config->tls = std::move(*tls);
  config->clusters = std::move(clusters);
  config->memo = std::move(memo);
  return std::shared_ptr<const Config>(std::move(config));
}

absl::StatusOr<v1::Snapshot> ParseSnapshotJson(std::string_view json) {
  v1::Snapshot snapshot;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = false;
  auto status = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(json.data(), json.size()), &snapshot, options);
  if (!status.ok()) {
    auto message = status.message();
    return Invalid(portico::StrCat("invalid snapshot JSON: ",
                                   std::string_view(message.data(), message.size())));
  }
  return snapshot;
}

absl::StatusOr<v1::Snapshot> LoadSnapshotFile(const std::string& path) {
  absl::StatusOr<std::string> data = ReadFile(path);
  if (!data.ok()) return data.status();
  if (absl::EndsWith(path, ".pb")) {
    v1::Snapshot snapshot;
    if (!snapshot.ParseFromString(*data)) {
      return Invalid(portico::StrCat("snapshot file ", path, ": not a binary portico.v1.Snapshot"));
    }
    return snapshot;
  }
  absl::StatusOr<v1::Snapshot> snapshot = ParseSnapshotJson(*data);
  if (!snapshot.ok()) {
    return Invalid(portico::StrCat("snapshot file ", path, ": ", snapshot.status().message()));
  }
  return snapshot;
}

}  // namespace portico::dataplane::config
