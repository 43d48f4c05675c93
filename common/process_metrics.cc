#include "common/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace portico::metrics {
namespace {

std::optional<std::string> ReadFile(const char* path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::optional<double> BootTime() {
  auto stat = ReadFile("/proc/stat");
  if (!stat) return std::nullopt;
  size_t at = stat->find("\nbtime ");
  if (at == std::string::npos) return std::nullopt;
  return std::strtod(stat->c_str() + at + 7, nullptr);
}

uint64_t CountOpenFds() {
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  uint64_t n = 0;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] != '.') ++n;
  }
  closedir(dir);
  return n > 0 ? n - 1 : 0;  // the directory stream's own descriptor
}

}  // namespace

std::optional<ProcessStats> ParseProcStat(std::string_view stat, double ticks_per_second,
                                          double boot_time, uint64_t page_size) {
  // Fields after "pid (comm) ": state is field 3; utime 14, stime 15,
  // starttime 22, vsize 23, rss 24 (pages).
  size_t close = stat.rfind(')');
  if (close == std::string_view::npos || ticks_per_second <= 0) return std::nullopt;
  std::vector<std::string> fields;
  std::istringstream in{std::string(stat.substr(close + 1))};
  for (std::string f; in >> f;) fields.push_back(f);
  auto field = [&](int n) -> const std::string& { return fields[static_cast<size_t>(n - 3)]; };
  if (fields.size() < 22) return std::nullopt;
  ProcessStats s;
  s.cpu_seconds =
      (std::strtod(field(14).c_str(), nullptr) + std::strtod(field(15).c_str(), nullptr)) /
      ticks_per_second;
  s.start_time = boot_time + std::strtod(field(22).c_str(), nullptr) / ticks_per_second;
  s.virtual_bytes = std::strtoull(field(23).c_str(), nullptr, 10);
  s.resident_bytes = std::strtoull(field(24).c_str(), nullptr, 10) * page_size;
  return s;
}

std::optional<ProcessStats> ReadProcessStats() {
  auto stat = ReadFile("/proc/self/stat");
  auto boot = BootTime();
  if (!stat || !boot) return std::nullopt;
  auto s = ParseProcStat(*stat, static_cast<double>(sysconf(_SC_CLK_TCK)), *boot,
                         static_cast<uint64_t>(sysconf(_SC_PAGESIZE)));
  if (!s) return std::nullopt;
  s->open_fds = CountOpenFds();
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) s->max_fds = limit.rlim_cur;
  return s;
}

void RenderProcessMetrics(TextWriter& out) {
  auto s = ReadProcessStats();
  if (!s) return;
  out.Family("process_cpu_seconds_total", "counter", "Total user and system CPU time, seconds.");
  out.Sample("process_cpu_seconds_total", s->cpu_seconds);
  out.Family("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.");
  out.Sample("process_resident_memory_bytes", static_cast<double>(s->resident_bytes));
  out.Family("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.");
  out.Sample("process_virtual_memory_bytes", static_cast<double>(s->virtual_bytes));
  out.Family("process_open_fds", "gauge", "Open file descriptors.");
  out.Sample("process_open_fds", static_cast<double>(s->open_fds));
  out.Family("process_max_fds", "gauge", "Maximum number of open file descriptors.");
  out.Sample("process_max_fds", static_cast<double>(s->max_fds));
  out.Family("process_start_time_seconds", "gauge",
             "Start time of the process since the Unix epoch, seconds.");
  out.Sample("process_start_time_seconds", s->start_time);
}

}  // namespace portico::metrics
