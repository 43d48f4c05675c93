#pragma once
// Process-wide logging to stderr, one line per call, safe from any thread.
// Operational logs only; the access log is the data plane's own (JSON on stdout).

#include <string_view>

#include "common/strings.h"

namespace portico {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3 };

void SetLogLevel(LogLevel level);
bool LogEnabled(LogLevel level);
// Writes "<RFC3339 time> <LEVEL> <component>: <message>\n" with a single write(2).
void LogLine(LogLevel level, std::string_view component, std::string_view message);

template <typename... Args>
void LogInfo(std::string_view component, const Args&... args) {
  if (LogEnabled(LogLevel::kInfo)) LogLine(LogLevel::kInfo, component, StrCat(args...));
}
template <typename... Args>
void LogWarning(std::string_view component, const Args&... args) {
  if (LogEnabled(LogLevel::kWarning)) LogLine(LogLevel::kWarning, component, StrCat(args...));
}
template <typename... Args>
void LogError(std::string_view component, const Args&... args) {
  if (LogEnabled(LogLevel::kError)) LogLine(LogLevel::kError, component, StrCat(args...));
}
template <typename... Args>
void LogDebug(std::string_view component, const Args&... args) {
  if (LogEnabled(LogLevel::kDebug)) LogLine(LogLevel::kDebug, component, StrCat(args...));
}

}  // namespace portico
