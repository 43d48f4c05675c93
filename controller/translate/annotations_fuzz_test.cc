// Randomized test of every annotation parser (issue 9: "fuzz the annotation
// parsers"). Keys are drawn from every name ParseAnnotations reads (collected
// by AnnotationNamesRead, so each family's new names join automatically), under
// both prefixes, plus unknown ones; values from hostile seeds (CR, LF, NUL,
// huge numbers, invalid UTF-8, separators) mutated at random. Each Ingress must
// parse without crashing, and no string anywhere in the resulting route and
// cluster policies, in the translated snapshot, or in a diagnostic may carry a
// control character: nothing reaches the snapshot unparsed. Seeded, so a
// failure reproduces; PORTICO_FUZZ_SEED and PORTICO_FUZZ_ITERATIONS override.
#include <cstdlib>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "controller/translate/annotations.h"
#include "controller/translate/test_util.h"
#include "controller/translate/translator.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "gtest/gtest.h"

namespace portico::controller::translate {
namespace {

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

uint64_t EnvOr(const char* name, uint64_t fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::strtoull(value, nullptr, 10) : fallback;
}

bool HasControl(std::string_view s) {
  for (unsigned char c : s) {
    if ((c < 0x20 && c != '\t') || c == 0x7f) return true;
  }
  return false;
}

// Every string in `message`, recursively (repeated fields and maps too), that
// carries a control character, as "path: value" lines.
void FindControl(const Message& message, const std::string& path, std::vector<std::string>& found) {
  const Reflection* reflection = message.GetReflection();
  std::vector<const FieldDescriptor*> fields;
  reflection->ListFields(message, &fields);
  for (const FieldDescriptor* field : fields) {
    std::string at = path + "." + field->name();
    if (field->cpp_type() == FieldDescriptor::CPPTYPE_STRING) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
          std::string value = reflection->GetRepeatedString(message, field, i);
          if (HasControl(value)) found.push_back(at + ": " + value);
        }
      } else {
        std::string value = reflection->GetString(message, field);
        if (HasControl(value)) found.push_back(at + ": " + value);
      }
    } else if (field->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE) {
      if (field->is_repeated()) {
        for (int i = 0; i < reflection->FieldSize(message, field); ++i) {
          FindControl(reflection->GetRepeatedMessage(message, field, i), at, found);
        }
      } else {
        FindControl(reflection->GetMessage(message, field), at, found);
      }
    }
  }
}

class ValueGenerator {
 public:
  explicit ValueGenerator(std::mt19937_64& rng) : rng_(rng) {}

  std::string Next() {
    std::string value = Pick(Seeds());
    int mutations = Uniform(0, 3);
    for (int i = 0; i < mutations; ++i) Mutate(value);
    return value;
  }

 private:
  static const std::vector<std::string>& Seeds() {
    static const auto* seeds = new std::vector<std::string>{
        "",
        " ",
        "true",
        "false",
        "TRUE",
        "0",
        "1",
        "-1",
        "+5",
        "007",
        "4294967295",
        "4294967296",
        "18446744073709551615",
        "18446744073709551616",
        "999999999999999999999999999999",
        "1e9",
        "0x10",
        "5m",
        "30s",
        "500ms",
        "1h30m",
        "1d",
        "8m",
        "1g",
        "1125899906842625",
        "10.0.0.0/8",
        "10.0.0.1/8",
        "192.168.1.1",
        "1.2.3.4/33",
        "::/0",
        "2001:db8::/32",
        "[::1]",
        "::ffff:10.0.0.1/104",
        "10.0.0.0/8, 2001:db8::/32",
        "10.0.0.0/8,,;",
        "HTTP",
        "GRPC",
        "h2c",
        "https://auth.example.com/check?x=1",
        "http://[::1]:99999/",
        "/foo/$1/$2",
        "/(.*)",
        "((((",
        "a{1000}{1000}",
        "X-Custom: v",
        "X-A: 1\r\nX-B: 2",
        "cookie",
        "round_robin",
        "ewma",
        "$request_uri",
        "*",
        "*.example.com",
        "GET, POST",
        "Strict",
        std::string("nul\0byte", 8),
        "line\nfeed",
        "carriage\rreturn",
        "tab\tinside",
        "del\x7f",
        "\x1b[31mred",
        "\xc3\xa9t\xc3\xa9",  // "été"
        "\xe2\x80\xa8sep",    // U+2028
        "\xff\xfe\xfd",       // not UTF-8
        "\xf0\x9f\x92\xa9",   // 4-byte UTF-8
        std::string(5000, 'a'),
        std::string(300, ','),
    };
    return *seeds;
  }

  void Mutate(std::string& value) {
    static const char kSpecial[] = {'\0', '\r', '\n', '\t', ' ', ',', ';', '/', ':',    '=',   '"',
                                    '\\', '$',  '{',  '}',  '%', '*', '-', '.', '\x7f', '\x01'};
    switch (Uniform(0, 4)) {
      case 0:  // insert a special byte
        value.insert(value.begin() + Uniform(0, static_cast<int>(value.size())),
                     kSpecial[Uniform(0, sizeof(kSpecial) - 1)]);
        break;
      case 1:  // insert a random byte
        value.insert(value.begin() + Uniform(0, static_cast<int>(value.size())),
                     static_cast<char>(Uniform(0, 255)));
        break;
      case 2:  // append another seed, list style
        value += Uniform(0, 1) == 0 ? "," : " ";
        value += Pick(Seeds());
        break;
      case 3:  // truncate
        value.resize(Uniform(0, static_cast<int>(value.size())));
        break;
      default:  // flip a byte
        if (!value.empty()) {
          value[Uniform(0, static_cast<int>(value.size()) - 1)] ^=
              static_cast<char>(1 << Uniform(0, 7));
        }
        break;
    }
  }

  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  const std::string& Pick(const std::vector<std::string>& from) {
    return from[Uniform(0, static_cast<int>(from.size()) - 1)];
  }

  std::mt19937_64& rng_;
};

class AnnotationFuzz : public ::testing::Test {
 protected:
  AnnotationFuzz() : rng_(EnvOr("PORTICO_FUZZ_SEED", 20260902)), values_(rng_) {
    Ingress empty = testing::MakeIngress("web", "web.example.com", {});
    for (const std::string& name : AnnotationNamesRead(empty)) names_.push_back(name);
    names_.push_back("no-such-annotation");
    names_.push_back("configuration-snippet");
  }

  Ingress RandomIngress() {
    Ingress ingress = testing::MakeIngress(
        "web", "web.example.com",
        {testing::Path("/", "Prefix", testing::Backend("web", 80)),
         testing::Path("/api", "ImplementationSpecific", testing::Backend("web", 80))});
    int count = std::uniform_int_distribution<int>(1, 8)(rng_);
    for (int i = 0; i < count; ++i) {
      const std::string& name =
          names_[std::uniform_int_distribution<size_t>(0, names_.size() - 1)(rng_)];
      std::string_view prefix =
          std::uniform_int_distribution<int>(0, 2)(rng_) == 0 ? kNginxPrefix : kPorticoPrefix;
      ingress.meta.annotations[std::string(prefix) + name] = values_.Next();
    }
    return ingress;
  }

  // Names read only when another annotation enables them join the pool.
  void Learn(const Ingress& ingress) {
    for (const std::string& name : AnnotationNamesRead(ingress)) {
      if (known_.insert(name).second) names_.push_back(name);
    }
  }

  static std::string Describe(const Ingress& ingress) {
    std::string out;
    for (const auto& [key, value] : ingress.meta.annotations) {
      out += "  " + key + " = \"";
      for (unsigned char c : value) {
        if (c < 0x20 || c >= 0x7f) {
          char hex[8];
          std::snprintf(hex, sizeof(hex), "\\x%02x", c);
          out += hex;
        } else {
          out += static_cast<char>(c);
        }
      }
      out += "\"\n";
    }
    return out;
  }

  std::mt19937_64 rng_;
  ValueGenerator values_;
  std::vector<std::string> names_;
  std::set<std::string> known_;
};

TEST_F(AnnotationFuzz, ParsedPoliciesNeverCarryControlCharacters) {
  ASSERT_GT(names_.size(), 5u) << "AnnotationNamesRead found almost no names";
  for (const std::string& name : names_) known_.insert(name);
  const uint64_t iterations = EnvOr("PORTICO_FUZZ_ITERATIONS", 100000);
  for (uint64_t i = 0; i < iterations; ++i) {
    Ingress ingress = RandomIngress();
    if (i % 64 == 0) Learn(ingress);
    std::vector<Diagnostic> diagnostics;
    DiagnosticSink sink(&diagnostics);
    IngressAnnotations parsed = ParseAnnotations(ingress, HttpsOptions{}, sink);
    std::vector<std::string> found;
    FindControl(parsed.route_policy, "route_policy", found);
    FindControl(parsed.cluster_policy, "cluster_policy", found);
    for (const Diagnostic& d : diagnostics) {
      if (HasControl(d.message)) found.push_back("diagnostic: " + d.message);
    }
    ASSERT_TRUE(found.empty()) << "iteration " << i << ", annotations:\n"
                               << Describe(ingress) << "leaked: " << found.front();
  }
}

// The whole translator on the same inputs: the snapshot (routes, clusters,
// everything derived from the annotations) stays free of control characters.
TEST_F(AnnotationFuzz, TranslatedSnapshotsNeverCarryControlCharacters) {
  const uint64_t iterations = EnvOr("PORTICO_FUZZ_ITERATIONS", 100000) / 10;
  ClusterState state;
  state.ingress_classes.push_back(testing::OurClass());
  state.services.push_back(testing::MakeService("web", {testing::Port("http", 80, 8080)}));
  state.endpoint_slices.push_back(testing::Slice("web-1", "web", {testing::SlicePort("http", 8080)},
                                                 {testing::Ep("10.0.0.1", true)}));
  for (uint64_t i = 0; i < iterations; ++i) {
    state.ingresses = {RandomIngress()};
    Result result = Translate(state, Options{});
    std::vector<std::string> found;
    FindControl(result.snapshot, "snapshot", found);
    for (const Diagnostic& d : result.diagnostics) {
      if (HasControl(d.message)) found.push_back("diagnostic: " + d.message);
    }
    ASSERT_TRUE(found.empty()) << "iteration " << i << ", annotations:\n"
                               << Describe(state.ingresses.front()) << "leaked: " << found.front();
  }
}

}  // namespace
}  // namespace portico::controller::translate
