#pragma once
// Command-line helpers shared by both binaries (abseil flags underneath).

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace portico {

// Parses argv with abseil flags after rewriting kebab-case flag names
// (--http-listen) to abseil's snake_case (--http_listen), and makes --help
// list the flags defined under cmd/. Exits on --help or a bad flag.
// Flags named in `repeatable` may be given several times; their values are
// joined with commas (for list flags such as --controller).
void ParseFlags(int argc, char** argv, const char* usage,
                const std::vector<std::string>& repeatable = {});

// Applies --log-level's value ("debug", "info", "warning", "error").
absl::Status SetLogLevelByName(const std::string& name);

}  // namespace portico
