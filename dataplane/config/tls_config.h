#pragma once
// Snapshot Secrets and virtual-host certificate references to the TLS
// certificate table (dataplane/tls/), compiled with the rest of a Config.

#include <memory>

#include "absl/status/statusor.h"
#include "dataplane/tls/certificate_table.h"
#include "portico/v1/snapshot.pb.h"

namespace portico::dataplane::config {

// A Secret that does not parse or whose key does not match is logged by name
// (never its contents) and skipped: the hosts naming it, like hosts naming an
// unknown Secret, get the fallback, and the rest of the snapshot applies (the
// controller validates Secrets and reports them as Events). `fallback` (null:
// the generated self-signed certificate) answers names no virtual host claims.
// `alpn`: the protocols the listener offers, in preference order.
absl::StatusOr<std::shared_ptr<const tls::CertificateTable>> CompileTls(
    const v1::Snapshot& snapshot, std::shared_ptr<const tls::ServerCertificate> fallback,
    std::vector<std::string> alpn = {"h2", "http/1.1"});

}  // namespace portico::dataplane::config
