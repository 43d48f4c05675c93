#include "dataplane/config/upstream_tls_config.h"

#include <openssl/ssl.h>

#include "absl/strings/escaping.h"
#include "common/log.h"
#include "common/net/dns_name.h"
#include "common/net/ip_address.h"
#include "common/strings.h"
#include "dataplane/tls/upstream_tls.h"

namespace portico::dataplane::config {
namespace {

int VersionOf(v1::UpstreamTls::Version v, int unset) {
  switch (v) {
    case v1::UpstreamTls::VERSION_TLS1_2:
      return TLS1_2_VERSION;
    case v1::UpstreamTls::VERSION_TLS1_3:
      return TLS1_3_VERSION;
    default:
      return unset;
  }
}

}  // namespace

absl::Status CompileUpstreamTls(const v1::Cluster& c, const v1::Snapshot& snapshot,
                                upstream::ClusterConfig& cluster) {
  if (!upstream::IsTls(cluster.protocol)) return absl::OkStatus();
  const std::string where =
      portico::StrCat("cluster \"", absl::CHexEscape(ToAbsl(c.name())), "\" upstream_tls");
  const v1::UpstreamTls& t = c.upstream_tls();
  tls::UpstreamTlsOptions options;
  options.verify = t.verify();
  options.server_name = t.server_name();
  if (!options.server_name.empty() && !net::IsDnsName(options.server_name) &&
      !net::IpAddress::Parse(options.server_name).ok()) {
    return absl::InvalidArgumentError(
        portico::StrCat(where, ": server_name is not a DNS name or an IP address"));
  }
  options.send_sni = !t.disable_sni();
  options.min_version = VersionOf(t.min_version(), TLS1_2_VERSION);
  options.max_version = VersionOf(t.max_version(), 0);
  if (options.max_version != 0 && options.max_version < options.min_version) {
    return absl::InvalidArgumentError(portico::StrCat(where, ": max_version below min_version"));
  }
  options.alpn = {cluster.protocol == upstream::Protocol::kH2 ? "h2" : "http/1.1"};
  bool ca_found = false;
  if (!t.ca_secret().empty()) {
    for (const v1::Secret& s : snapshot.secrets()) {
      if (s.name() != t.ca_secret()) continue;
      options.ca_pem = s.ca_bundle();
      ca_found = true;
      break;
    }
  }
  auto context = tls::UpstreamTlsContext::Create(options);
  if (!context.ok())
    return absl::InvalidArgumentError(StrCat(where, ": ", context.status().message()));
  cluster.tls = *std::move(context);
  if (options.verify && !cluster.tls->ca_error().empty()) {
    cluster.unavailable =
        t.ca_secret().empty()
            ? std::string("verification is on but no CA Secret is named")
            : StrCat("verification is on but CA Secret \"", absl::CHexEscape(ToAbsl(t.ca_secret())),
                     "\" ", ca_found ? cluster.tls->ca_error() : "is not in the snapshot");
    LogWarning("config", where, ": ", cluster.unavailable, "; its requests get 503");
  }
  return absl::OkStatus();
}

}  // namespace portico::dataplane::config
