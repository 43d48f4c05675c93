// portico-dataplane: flags in, objects wired, no logic.
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "common/strings.h"
#include "dataplane/proxy/dataplane.h"

ABSL_FLAG(std::string, snapshot, "",
          "Snapshot file to serve (proto3 JSON mapping; binary proto if it ends in .pb). "
          "Re-read on SIGHUP and when the file changes.");
ABSL_FLAG(std::string, http_listen, "127.0.0.1:8080",
          "Plain HTTP listener, ADDR:PORT (IPv6 in brackets; port 0 picks a free port).");
ABSL_FLAG(std::string, admin_listen, "127.0.0.1:10254",
          "Admin listener for /healthz, /readyz, /metrics and /config.");
ABSL_FLAG(int, workers, 0, "Worker threads, each with its own event loop. 0: one per CPU.");
ABSL_FLAG(std::string, trusted_proxies, "",
          "Comma-separated CIDRs whose X-Forwarded-* headers are believed (added to the "
          "snapshot's list).");
ABSL_FLAG(std::string, access_log, "stdout", "Access log: stdout (JSON lines) or off.");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(30),
          "On SIGTERM, how long in-flight requests may take before connections are closed.");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error.");

// Accepts the documented kebab-case spelling (--http-listen) as well as
// abseil's snake_case by rewriting flag names before parsing.
std::vector<std::string> NormalizeFlagNames(int argc, char** argv) {
  std::vector<std::string> out;
  bool flags_done = false;
  for (int i = 0; i < argc; ++i) {
    std::string arg = argv[i];
    if (i > 0 && !flags_done && arg == "--") flags_done = true;
    if (i > 0 && !flags_done && arg.size() > 2 && arg[0] == '-' && arg[1] == '-') {
      size_t end = arg.find('=');
      if (end == std::string::npos) end = arg.size();
      for (size_t j = 2; j < end; ++j) {
        if (arg[j] == '-') arg[j] = '_';
      }
    }
    out.push_back(std::move(arg));
  }
  return out;
}

int main(int argc, char** argv) {
  using namespace portico;
  absl::SetProgramUsageMessage(
      "Portico data plane: an HTTP reverse proxy serving a route snapshot.\n"
      "Usage: portico-dataplane --snapshot=FILE [flags]  (--http-listen and --http_listen "
      "are the same flag)");
  // --help lists the flags defined under cmd/ (abseil's default matches the
  // program's file name, which is main.cc here).
  absl::FlagsUsageConfig usage;
  usage.contains_help_flags = [](absl::string_view path) {
    return path.find("cmd/") != absl::string_view::npos;
  };
  usage.contains_helpshort_flags = usage.contains_help_flags;
  absl::SetFlagsUsageConfig(usage);
  std::vector<std::string> args = NormalizeFlagNames(argc, argv);
  std::vector<char*> argv2;
  for (std::string& a : args) argv2.push_back(a.data());
  absl::ParseCommandLine(static_cast<int>(argv2.size()), argv2.data());

  std::string level = absl::GetFlag(FLAGS_log_level);
  if (level == "debug") {
    SetLogLevel(LogLevel::kDebug);
  } else if (level == "warning") {
    SetLogLevel(LogLevel::kWarning);
  } else if (level == "error") {
    SetLogLevel(LogLevel::kError);
  } else if (level != "info") {
    LogError("main", "--log_level: want debug, info, warning or error, got \"", level, "\"");
    return 2;
  }

  dataplane::proxy::DataplaneOptions options;
  options.snapshot_path = absl::GetFlag(FLAGS_snapshot);
  options.http_listen = absl::GetFlag(FLAGS_http_listen);
  options.admin_listen = absl::GetFlag(FLAGS_admin_listen);
  options.workers = absl::GetFlag(FLAGS_workers);
  if (options.workers <= 0) {
    options.workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  auto trusted = net::CidrSet::Parse(absl::GetFlag(FLAGS_trusted_proxies));
  if (!trusted.ok()) {
    LogError("main", "--trusted_proxies: ", trusted.status().message());
    return 2;
  }
  options.trusted_proxies = *trusted;
  std::string access_log = absl::GetFlag(FLAGS_access_log);
  if (access_log != "stdout" && access_log != "off") {
    LogError("main", "--access_log: want stdout or off, got \"", access_log, "\"");
    return 2;
  }
  options.access_log = access_log == "stdout";
  options.drain_timeout = absl::ToDoubleSeconds(absl::GetFlag(FLAGS_drain_timeout));

  dataplane::proxy::Dataplane dataplane(std::move(options));
  absl::Status status = dataplane.Run();
  if (!status.ok()) {
    LogError("main", status.ToString());
    return 1;
  }
  return 0;
}
