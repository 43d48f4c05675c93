#include "common/log.h"

#include <unistd.h>

#include <atomic>
#include <string>

#include "common/time_format.h"

namespace portico {
namespace {

std::atomic<int> g_level{static_cast<int>(LogLevel::kInfo)};

const char* LevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "DEBUG";
    case LogLevel::kInfo:
      return "INFO";
    case LogLevel::kWarning:
      return "WARN";
    case LogLevel::kError:
      return "ERROR";
  }
  return "?";
}

}  // namespace

void SetLogLevel(LogLevel level) { g_level.store(static_cast<int>(level)); }

bool LogEnabled(LogLevel level) {
  return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed);
}

void LogLine(LogLevel level, std::string_view component, std::string_view message) {
  char stamp[kRfc3339MillisSize];
  FormatNowRfc3339Millis(stamp);
  std::string line = StrCat(stamp, " ", LevelName(level), " ", component, ": ", message, "\n");
  // One write keeps lines from different threads whole.
  ssize_t ignored = write(STDERR_FILENO, line.data(), line.size());
  (void)ignored;
}

}  // namespace portico
