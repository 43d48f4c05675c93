#pragma once
// Decodes Kubernetes manifests (YAML or JSON, multi-document, `List` kinds)
// into the translator's typed ClusterState. Shared by the file source and the
// kube source (which decodes API JSON with DecodeObject).

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include "absl/status/status.h"
#include "controller/translate/cluster_state.h"
#include "controller/translate/translator.h"

namespace portico::controller::source {

// Decodes every document of `text` into `state`. `source_name` (a file path)
// is recorded in each object's meta.source ("path#index", documents numbered
// from 1; list items add ".items[i]") and in diagnostics.
// A document that is malformed, of an unsupported kind/apiVersion, or missing
// required fields yields a diagnostic (kind "File" or the object's kind) and is
// skipped; other documents still decode. Returns an error only when the text
// as a whole cannot be parsed as YAML/JSON (that diagnostic is added too).
absl::Status DecodeManifests(std::string_view text, std::string_view source_name,
                             translate::ClusterState& state,
                             std::vector<translate::Diagnostic>& diagnostics);

// Decodes one object (as served by the API server or read from a file).
// Supported: networking.k8s.io/v1 Ingress and IngressClass, v1 Service,
// discovery.k8s.io/v1 and v1beta1 EndpointSlice, v1 Endpoints (converted to
// slices), v1 Secret (data base64-decoded, stringData taken as is), v1 ConfigMap,
// and lists of them (`kind: List`, or "IngressList" whose items omit kind).
// Returns OK when the object was stored, or skipped with a warning because
// Portico does not use its kind; InvalidArgument when it was rejected (an error
// diagnostic says why). `source_name` becomes meta.source.
absl::Status DecodeObject(const nlohmann::json& object, std::string_view source_name,
                          translate::ClusterState& state,
                          std::vector<translate::Diagnostic>& diagnostics);

}  // namespace portico::controller::source
