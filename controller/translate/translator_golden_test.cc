// Golden tests: testdata/<case>/input.yaml (Kubernetes manifests, decoded by
// the file source's decoder) translated with default Options and a fixed
// clock (kGoldenNow), or those of an optional options.json, must give
// testdata/<case>/expected.json. Set
// PORTICO_UPDATE_GOLDEN=1 to rewrite the expected files instead; review the
// diff before committing it.
//
// Every case also checks two properties: the output does not depend on the
// order of the input objects, and the data plane accepts the snapshot (a
// snapshot it rejects would be NACKed as a whole in production).

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include "absl/time/time.h"
#include "controller/source/manifest_decoder.h"
#include "controller/translate/translator.h"
#include "dataplane/config/config.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace portico::controller::translate {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kTestdata = PORTICO_TRANSLATE_TESTDATA;

// Options::now for every case unless options.json says "now": fixed, so that
// certificate expiry gives the same output on every run.
constexpr char kGoldenNow[] = "2026-12-01T00:00:00Z";

absl::Time ParseTime(const std::string& rfc3339) {
  absl::Time t;
  std::string error;
  EXPECT_TRUE(absl::ParseTime(absl::RFC3339_full, rfc3339, &t, &error)) << rfc3339 << ": " << error;
  return t;
}

std::vector<std::string> Cases() {
  std::vector<std::string> cases;
  for (const fs::directory_entry& e : fs::directory_iterator(kTestdata)) {
    if (e.is_directory() && fs::exists(e.path() / "input.yaml")) {
      cases.push_back(e.path().filename().string());
    }
  }
  std::sort(cases.begin(), cases.end());
  return cases;
}

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

Options ReadOptions(const fs::path& path) {
  Options options;
  options.now = ParseTime(kGoldenNow);
  if (!fs::exists(path)) return options;
  json j = json::parse(ReadFile(path));
  for (const auto& [key, value] : j.items()) {
    if (key == "ingressClass") {
      options.ingress_class = value.get<std::string>();
    } else if (key == "watchIngressWithoutClass") {
      options.watch_ingress_without_class = value.get<bool>();
    } else if (key == "defaultBackendService") {
      options.default_backend_service = value.get<std::string>();
    } else if (key == "settingsConfigMap") {
      options.settings_config_map = value.get<std::string>();
    } else if (key == "now") {
      options.now = ParseTime(value.get<std::string>());
    } else {
      ADD_FAILURE() << path << ": unknown option " << key;
    }
  }
  return options;
}

json DiagnosticsJson(const std::vector<Diagnostic>& diagnostics) {
  json out = json::array();
  for (const Diagnostic& d : diagnostics) {
    out.push_back({{"severity", d.severity == Diagnostic::Severity::kError ? "Error" : "Warning"},
                   {"kind", d.kind},
                   {"namespace", d.ns},
                   {"name", d.name},
                   {"reason", d.reason},
                   {"message", d.message}});
  }
  return out;
}

json ResultJson(const Result& result) {
  std::string snapshot;
  google::protobuf::util::JsonPrintOptions options;
  auto status = google::protobuf::util::MessageToJsonString(result.snapshot, &snapshot, options);
  EXPECT_TRUE(status.ok()) << status.ToString();
  return {{"snapshot", json::parse(snapshot)},
          {"diagnostics", DiagnosticsJson(result.diagnostics)}};
}

template <typename T>
void Reverse(std::vector<T>& v) {
  std::reverse(v.begin(), v.end());
}

class GoldenTest : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenTest, MatchesExpected) {
  const fs::path dir = kTestdata / GetParam();
  ClusterState state;
  std::vector<Diagnostic> decode_diagnostics;
  absl::Status decoded = source::DecodeManifests(ReadFile(dir / "input.yaml"), "input.yaml", state,
                                                 decode_diagnostics);
  ASSERT_TRUE(decoded.ok()) << decoded;
  for (const Diagnostic& d : decode_diagnostics) {
    ADD_FAILURE() << "input.yaml does not decode cleanly: " << d.kind << " " << d.ns << "/"
                  << d.name << ": " << d.reason << ": " << d.message;
  }
  const Options options = ReadOptions(dir / "options.json");
  const Result result = Translate(state, options);
  const std::string actual = ResultJson(result).dump(2) + "\n";

  ClusterState reversed = state;
  Reverse(reversed.ingresses);
  Reverse(reversed.ingress_classes);
  Reverse(reversed.services);
  Reverse(reversed.endpoint_slices);
  Reverse(reversed.secrets);
  Reverse(reversed.config_maps);
  EXPECT_EQ(ResultJson(Translate(reversed, options)).dump(2) + "\n", actual)
      << "output depends on input order";

  // A memo changes nothing: cold, warmed by the reversed state, warm.
  TranslateMemo memo;
  EXPECT_EQ(ResultJson(Translate(state, options, &memo)).dump(2) + "\n", actual)
      << "a cold memo changes the output";
  EXPECT_EQ(ResultJson(Translate(reversed, options, &memo)).dump(2) + "\n", actual)
      << "a memo changes the output of the reversed input";
  EXPECT_EQ(ResultJson(Translate(state, options, &memo)).dump(2) + "\n", actual)
      << "a warm memo changes the output";

  absl::StatusOr<std::shared_ptr<const dataplane::config::Config>> compiled =
      dataplane::config::Compile(result.snapshot, net::CidrSet());
  EXPECT_TRUE(compiled.ok()) << "the data plane rejects the snapshot: " << compiled.status();

  const fs::path expected_path = dir / "expected.json";
  const char* update = std::getenv("PORTICO_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(expected_path, std::ios::binary | std::ios::trunc) << actual;
    return;
  }
  ASSERT_TRUE(fs::exists(expected_path))
      << expected_path << " is missing; run with PORTICO_UPDATE_GOLDEN=1 to create it";
  EXPECT_EQ(actual, ReadFile(expected_path))
      << "run with PORTICO_UPDATE_GOLDEN=1 to accept the new output";
}

INSTANTIATE_TEST_SUITE_P(Cases, GoldenTest, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

}  // namespace
}  // namespace portico::controller::translate
