#pragma once
// Command-line helpers shared by both binaries (abseil flags underneath).

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace portico {

// Parses argv with abseil flags after rewriting kebab-case flag names
// (--http-listen) to abseil's snake_case (--http_listen), and makes --help
// list the flags defined under cmd/. Exits on --help or a bad flag.
void ParseFlags(int argc, char** argv, const char* usage);

// Applies --log-level's value ("debug", "info", "warning", "error").
absl::Status SetLogLevelByName(const std::string& name);

}  // namespace portico
