#pragma once
// Parses a YAML stream (JSON is a subset) into one JSON value per document,
// with the typing Kubernetes tooling gives plain scalars: quoted scalars stay
// strings, plain ones resolve by the YAML 1.2 core schema (null, booleans,
// integers, floats, else string). The decoder is then strict about types, so
// `port: "80"` and `annotations: {x: true}` are errors, as with kubectl.

#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include "absl/status/statusor.h"

namespace portico::controller::source {

// Every document of `text`, in order, including empty ones (as null) so that
// document numbers match what a reader counts. Merge keys (`<<: *anchor`)
// are applied; duplicate keys, non-scalar keys, alias cycles and alias
// expansions past a size budget are errors. A syntax error anywhere fails the
// whole stream: the message names the line and column.
absl::StatusOr<std::vector<nlohmann::json>> ParseYamlDocuments(std::string_view text);

// The JSON value of one plain (unquoted, untagged) YAML scalar.
nlohmann::json ResolvePlainScalar(std::string_view text);

}  // namespace portico::controller::source
