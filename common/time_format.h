#pragma once
// Timestamps for logs: RFC 3339, UTC, milliseconds ("2026-01-02T03:04:05.678Z").

#include <cstddef>

namespace portico {

inline constexpr size_t kRfc3339MillisSize = 25;  // including the terminating NUL

// Writes the current time into `out` and returns its length (24).
size_t FormatNowRfc3339Millis(char (&out)[kRfc3339MillisSize]);

}  // namespace portico
