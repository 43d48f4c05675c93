#pragma once
// How the data plane talks to a backend: annotation portico.dev/backend-protocol
// (and its nginx.ingress.kubernetes.io alias), else the Service port's
// appProtocol, else HTTP/1.1.

#include <optional>
#include <string_view>

#include "portico/v1/snapshot.pb.h"

namespace portico::controller::translate {

// HTTP, HTTPS, GRPC, GRPCS, H2C (any case, as ingress-nginx accepts them);
// nullopt for anything else.
std::optional<v1::Cluster::Protocol> ParseBackendProtocol(std::string_view value);

// A Service port's appProtocol (RFC 6335 names or kubernetes.io/ ones):
// h2c, grpc, kubernetes.io/h2c → H2C; https, kubernetes.io/wss → HTTPS;
// anything else (or nothing) → HTTP/1.1.
v1::Cluster::Protocol ProtocolFromAppProtocol(std::string_view app_protocol);

// HTTPS and GRPCS (PROTOCOL_H2): TLS to the backend (annotations_upstream_tls.h).
bool IsTlsBackendProtocol(v1::Cluster::Protocol protocol);

// "h2c", "https", ... for cluster names and messages.
std::string_view BackendProtocolName(v1::Cluster::Protocol protocol);

}  // namespace portico::controller::translate
