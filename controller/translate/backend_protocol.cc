#include "controller/translate/backend_protocol.h"

#include <string>

#include "absl/strings/ascii.h"
#include "common/strings.h"

namespace portico::controller::translate {

std::optional<v1::Cluster::Protocol> ParseBackendProtocol(std::string_view value) {
  std::string v = absl::AsciiStrToUpper(ToAbsl(value));
  if (v == "HTTP") return v1::Cluster::PROTOCOL_HTTP1;
  if (v == "HTTPS") return v1::Cluster::PROTOCOL_HTTPS;
  if (v == "GRPC" || v == "H2C") return v1::Cluster::PROTOCOL_H2C;
  if (v == "GRPCS") return v1::Cluster::PROTOCOL_H2;
  return std::nullopt;
}

v1::Cluster::Protocol ProtocolFromAppProtocol(std::string_view app_protocol) {
  std::string p = absl::AsciiStrToLower(ToAbsl(app_protocol));
  if (p == "h2c" || p == "grpc" || p == "kubernetes.io/h2c") return v1::Cluster::PROTOCOL_H2C;
  if (p == "https" || p == "kubernetes.io/wss") return v1::Cluster::PROTOCOL_HTTPS;
  return v1::Cluster::PROTOCOL_HTTP1;
}

bool IsTlsBackendProtocol(v1::Cluster::Protocol protocol) {
  return protocol == v1::Cluster::PROTOCOL_HTTPS || protocol == v1::Cluster::PROTOCOL_H2;
}

std::string_view BackendProtocolName(v1::Cluster::Protocol protocol) {
  switch (protocol) {
    case v1::Cluster::PROTOCOL_H2C:
      return "h2c";
    case v1::Cluster::PROTOCOL_H2:
      return "h2";
    case v1::Cluster::PROTOCOL_HTTPS:
      return "https";
    default:
      return "http";
  }
}

}  // namespace portico::controller::translate
