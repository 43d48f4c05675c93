#include "dataplane/config/tls_config.h"

#include "absl/container/flat_hash_map.h"
#include "common/log.h"
#include "common/strings.h"

namespace portico::dataplane::config {

absl::StatusOr<std::shared_ptr<const tls::CertificateTable>> CompileTls(
    const v1::Snapshot& snapshot, std::shared_ptr<const tls::ServerCertificate> fallback,
    std::vector<std::string> alpn) {
  absl::flat_hash_map<std::string, std::shared_ptr<const tls::ServerCertificate>> secrets;
  for (const v1::Secret& secret : snapshot.secrets()) {
    if (secret.certificate_chain().empty() && secret.private_key().empty()) continue;  // CA only
    auto cert = tls::ServerCertificate::FromPem(secret.certificate_chain(), secret.private_key(),
                                                secret.name());
    if (!cert.ok()) {
      // Its hosts get the default certificate; everything else still applies.
      LogWarning("config", "secret ", cert.status().message(), "; its hosts use the default");
      continue;
    }
    secrets.emplace(secret.name(), *std::move(cert));
  }
  std::vector<tls::HostCertificate> hosts;
  for (const v1::VirtualHost& vh : snapshot.virtual_hosts()) {
    if (vh.tls_secret().empty()) continue;
    auto it = secrets.find(vh.tls_secret());
    if (it == secrets.end()) continue;  // unknown or unusable: the default certificate
    if (vh.hostnames().empty()) hosts.push_back({"", it->second});
    for (const std::string& host : vh.hostnames()) hosts.push_back({host, it->second});
  }
  return tls::CertificateTable::Build(hosts, std::move(fallback), std::move(alpn));
}

}  // namespace portico::dataplane::config
