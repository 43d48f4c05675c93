#pragma once
// What was built: the project version from CMake's project(), the build type
// and the compiler. Both binaries expose it as a `*_build_info` gauge that is
// always 1, the Prometheus convention for joining a version onto other series.

#include <string_view>

#include "common/metrics.h"

namespace portico {

struct BuildInfo {
  std::string_view version;     // "0.1.0"
  std::string_view build_type;  // "Release", "Debug", ...
  std::string_view compiler;    // "gcc 12.2.0"
};

const BuildInfo& GetBuildInfo();

namespace metrics {

// Writes `family` as a gauge of 1 labelled version, build_type and compiler.
void RenderBuildInfo(TextWriter& out, std::string_view family);

}  // namespace metrics
}  // namespace portico
