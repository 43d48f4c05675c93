#pragma once
// Header policy annotations (docs/headers.md):
//   CORS: enable-cors, cors-allow-origin, cors-allow-methods,
//   cors-allow-headers, cors-expose-headers, cors-allow-credentials,
//   cors-max-age (nginx aliases too), with ingress-nginx's defaults;
//   header edits: portico.dev/request-headers and portico.dev/response-headers
//   (one "set Name: value", "add Name: value" or "remove Name" per line);
//   custom-headers (nginx.ingress.kubernetes.io/ only): response headers to set,
//   from a ConfigMap of the Ingress's namespace.
// A bad value disables only its own annotation; CORS fails closed (an invalid
// cors-* value disables CORS, so browsers keep refusing cross-origin reads,
// rather than falling back to a default that may allow more origins).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "controller/translate/annotation_reader.h"
#include "controller/translate/cluster_state.h"
#include "controller/translate/diagnostics.h"
#include "controller/translate/reads.h"
#include "portico/v1/snapshot.pb.h"

namespace portico::controller::translate {

// ingress-nginx's defaults (internal/ingress/annotations/cors).
inline constexpr std::string_view kDefaultCorsMethods = "GET, PUT, POST, DELETE, PATCH, OPTIONS";
inline constexpr std::string_view kDefaultCorsHeaders =
    "DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,Content-Type,"
    "Range,Authorization";
inline constexpr uint32_t kDefaultCorsMaxAge = 1728000;

// Sets route_policy.cors, request_headers and response_headers.
void ParseHeaderAnnotations(AnnotationReader& read, v1::Route& route_policy);

// The request-headers / response-headers grammar: one operation per line,
//   set <Name>: <value>     replaces every value of the header
//   add <Name>: <value>     appends a value
//   remove <Name>           drops the header
// verbs in lower case; blank lines ignored; spaces around the line, the verb
// and the value are trimmed. <Name> is an RFC 9110 token and not a reserved
// header (common/http_fields.h); <value> an RFC 9110 field value (may be
// empty). At most 64 operations. Returns the error for the first bad line
// ("line 2: ...").
absl::StatusOr<v1::HeaderRewrite> ParseHeaderRewrite(std::string_view text);

// nginx.ingress.kubernetes.io/custom-headers: "<name>" or "<namespace>/<name>"
// of a ConfigMap in the Ingress's own namespace; each data key is a response
// header to set to its value, in key order, before response-headers' edits.
// `config_maps`: those the source supplies (the file source: every manifest;
// the kube source: only the settings ConfigMap, docs/headers.md).
// `reads` (may be null): where the ConfigMap looked up is noted.
void ResolveCustomHeaders(const Ingress& ingress, const std::vector<ConfigMap>& config_maps,
                          v1::Route& route_policy, DiagnosticSink& diagnostics,
                          ReadLog* reads = nullptr);

}  // namespace portico::controller::translate
