#pragma once
// Snapshot Secrets and virtual-host certificate references to the TLS
// certificate table (dataplane/tls/), compiled with the rest of a Config.

#include <memory>

#include "absl/status/statusor.h"
#include "dataplane/tls/certificate_table.h"
#include "portico/v1/snapshot.pb.h"

namespace portico::dataplane::config {

// Every Secret must parse and its key match its certificate, and every
// virtual host's tls_secret must name a Secret: otherwise the snapshot is
// rejected with the Secret's name (never its contents). `fallback` (null: the
// generated self-signed certificate) answers names no virtual host claims.
// `alpn`: the protocols the listener offers, in preference order.
absl::StatusOr<std::shared_ptr<const tls::CertificateTable>> CompileTls(
    const v1::Snapshot& snapshot, std::shared_ptr<const tls::ServerCertificate> fallback,
    std::vector<std::string> alpn = {"http/1.1"});

}  // namespace portico::dataplane::config
