#include "common/flags.h"

#include <algorithm>
#include <map>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/flags/usage_config.h"
#include "common/log.h"
#include "common/strings.h"

namespace portico {
namespace {

std::vector<std::string> NormalizeFlagNames(int argc, char** argv,
                                            const std::vector<std::string>& repeatable) {
  std::vector<std::string> out;
  std::map<std::string, size_t> repeated_at;  // flag name -> index in out
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
      std::string name = arg.substr(2, end - 2);
      bool is_repeatable = end < arg.size() && std::find(repeatable.begin(), repeatable.end(),
                                                         name) != repeatable.end();
      if (is_repeatable) {
        auto it = repeated_at.find(name);
        if (it != repeated_at.end()) {
          out[it->second] += "," + arg.substr(end + 1);
          continue;
        }
        repeated_at[name] = out.size();
      }
    }
    out.push_back(std::move(arg));
  }
  return out;
}

}  // namespace

void ParseFlags(int argc, char** argv, const char* usage,
                const std::vector<std::string>& repeatable) {
  absl::SetProgramUsageMessage(usage);
  // abseil's --help matches flags by the program's file name (main.cc here).
  absl::FlagsUsageConfig config;
  config.contains_help_flags = [](absl::string_view path) {
    return path.find("cmd/") != absl::string_view::npos;
  };
  config.contains_helpshort_flags = config.contains_help_flags;
  absl::SetFlagsUsageConfig(config);
  std::vector<std::string> args = NormalizeFlagNames(argc, argv, repeatable);
  std::vector<char*> raw;
  for (std::string& a : args) raw.push_back(a.data());
  absl::ParseCommandLine(static_cast<int>(raw.size()), raw.data());
}

absl::Status SetLogLevelByName(const std::string& name) {
  if (name == "debug") {
    SetLogLevel(LogLevel::kDebug);
  } else if (name == "info") {
    SetLogLevel(LogLevel::kInfo);
  } else if (name == "warning") {
    SetLogLevel(LogLevel::kWarning);
  } else if (name == "error") {
    SetLogLevel(LogLevel::kError);
  } else {
    return absl::InvalidArgumentError(
        ToAbsl(StrCat("--log-level: want debug, info, warning or error, got \"", name, "\"")));
  }
  return absl::OkStatus();
}

}  // namespace portico
