#include "common/build_info.h"

// Set on this file only (common/CMakeLists.txt), so a version bump
// recompiles one file.
#ifndef PORTICO_VERSION
#error "PORTICO_VERSION must be defined by the build"
#endif
#ifndef PORTICO_BUILD_TYPE
#define PORTICO_BUILD_TYPE "unknown"
#endif

#if defined(__clang__)
#define PORTICO_COMPILER "clang " __clang_version__
#elif defined(__GNUC__)
#define PORTICO_COMPILER "gcc " __VERSION__
#else
#define PORTICO_COMPILER "unknown"
#endif

namespace portico {

const BuildInfo& GetBuildInfo() {
  static const BuildInfo info{PORTICO_VERSION, PORTICO_BUILD_TYPE, PORTICO_COMPILER};
  return info;
}

namespace metrics {

void RenderBuildInfo(TextWriter& out, std::string_view family) {
  const BuildInfo& info = GetBuildInfo();
  out.Family(family, "gauge", "Always 1; the labels say which build is running.");
  out.Sample(
      family,
      {{"version", info.version}, {"build_type", info.build_type}, {"compiler", info.compiler}}, 1);
}

}  // namespace metrics
}  // namespace portico
