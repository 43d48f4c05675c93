#pragma once
// The standard process_* families of Prometheus client libraries, read from
// /proc/self at scrape time (Linux only). Safe to call from any thread.

#include <cstdint>
#include <optional>
#include <string_view>

#include "common/metrics.h"

namespace portico::metrics {

struct ProcessStats {
  double cpu_seconds = 0;  // user + system
  double start_time = 0;   // seconds since the Unix epoch
  uint64_t resident_bytes = 0;
  uint64_t virtual_bytes = 0;
  uint64_t open_fds = 0;
  uint64_t max_fds = 0;  // soft RLIMIT_NOFILE
};

// Parses the text of /proc/<pid>/stat (the command name may hold spaces and
// parentheses). Fills cpu_seconds, start_time (needs the boot time from
// /proc/stat's btime) and the memory sizes.
std::optional<ProcessStats> ParseProcStat(std::string_view stat, double ticks_per_second,
                                          double boot_time, uint64_t page_size);

// Reads /proc/self; nullopt when /proc is not readable.
std::optional<ProcessStats> ReadProcessStats();

// Writes process_cpu_seconds_total, process_resident_memory_bytes,
// process_virtual_memory_bytes, process_open_fds, process_max_fds and
// process_start_time_seconds; nothing when /proc is not readable.
void RenderProcessMetrics(TextWriter& out);

}  // namespace portico::metrics
