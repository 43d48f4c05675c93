#include "controller/source/yaml_to_json.h"

#include <cmath>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace portico::controller::source {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

json ParseOne(std::string_view text) {
  absl::StatusOr<std::vector<json>> docs = ParseYamlDocuments(text);
  EXPECT_TRUE(docs.ok()) << docs.status();
  if (!docs.ok() || docs->size() != 1) {
    ADD_FAILURE() << "expected one document";
    return json();
  }
  return (*docs)[0];
}

std::string Error(std::string_view text) {
  absl::StatusOr<std::vector<json>> docs = ParseYamlDocuments(text);
  EXPECT_FALSE(docs.ok());
  return docs.ok() ? "" : std::string(docs.status().message());
}

TEST(ResolvePlainScalarTest, CoreSchema) {
  EXPECT_EQ(ResolvePlainScalar("~"), json(nullptr));
  EXPECT_EQ(ResolvePlainScalar("null"), json(nullptr));
  EXPECT_EQ(ResolvePlainScalar("true"), json(true));
  EXPECT_EQ(ResolvePlainScalar("FALSE"), json(false));
  EXPECT_EQ(ResolvePlainScalar("80"), json(80));
  EXPECT_EQ(ResolvePlainScalar("-12"), json(-12));
  EXPECT_EQ(ResolvePlainScalar("+7"), json(7));
  EXPECT_EQ(ResolvePlainScalar("0x1F"), json(31));
  EXPECT_EQ(ResolvePlainScalar("0o17"), json(15));
  EXPECT_EQ(ResolvePlainScalar("1.5"), json(1.5));
  EXPECT_EQ(ResolvePlainScalar("-.5e1"), json(-5.0));
  EXPECT_TRUE(std::isinf(ResolvePlainScalar("-.inf").get<double>()));
  EXPECT_TRUE(std::isnan(ResolvePlainScalar(".nan").get<double>()));
  EXPECT_EQ(ResolvePlainScalar("-9223372036854775808"), json(INT64_MIN));
  EXPECT_EQ(ResolvePlainScalar("18446744073709551615"), json(UINT64_MAX));
  EXPECT_TRUE(ResolvePlainScalar("99999999999999999999999").is_number_float());
  // YAML 1.1 spellings are strings in 1.2, as are things that look almost numeric.
  for (const char* text : {"yes", "on", "1.2.3.4", "1e", "0x", "12:30", "v1", "-", "."}) {
    EXPECT_EQ(ResolvePlainScalar(text), json(text)) << text;
  }
}

TEST(ParseYamlDocumentsTest, QuotedScalarsStayStrings) {
  json doc = ParseOne(R"(
a: 80
b: "80"
c: 'true'
d: true
e: |
  line
f: !!str 443
g: !!int "8080"
h:
i: 2024-01-02T03:04:05Z
)");
  EXPECT_EQ(doc["a"], json(80));
  EXPECT_EQ(doc["b"], json("80"));
  EXPECT_EQ(doc["c"], json("true"));
  EXPECT_EQ(doc["d"], json(true));
  EXPECT_EQ(doc["e"], json("line\n"));
  EXPECT_EQ(doc["f"], json("443"));
  EXPECT_EQ(doc["g"], json(8080));
  EXPECT_EQ(doc["h"], json(nullptr));
  EXPECT_EQ(doc["i"], json("2024-01-02T03:04:05Z"));
}

TEST(ParseYamlDocumentsTest, MultipleDocumentsKeepTheirNumbers) {
  absl::StatusOr<std::vector<json>> docs =
      ParseYamlDocuments("a: 1\n---\n# nothing here\n---\nb: [x, 2]\n");
  ASSERT_TRUE(docs.ok()) << docs.status();
  ASSERT_EQ(docs->size(), 3u);
  EXPECT_EQ((*docs)[0], json::parse(R"({"a": 1})"));
  EXPECT_TRUE((*docs)[1].is_null());
  EXPECT_EQ((*docs)[2], json::parse(R"({"b": ["x", 2]})"));
}

TEST(ParseYamlDocumentsTest, EmptyTextHasNoDocuments) {
  absl::StatusOr<std::vector<json>> docs = ParseYamlDocuments("");
  ASSERT_TRUE(docs.ok());
  EXPECT_TRUE(docs->empty());
}

TEST(ParseYamlDocumentsTest, JsonIsParsedExactly) {
  json doc = ParseOne("\n {\"a\": \"1\", \"b\": 1, \"c\": 1.0, \"d\": [true, null]}");
  EXPECT_EQ(doc["a"], json("1"));
  EXPECT_TRUE(doc["b"].is_number_integer());
  EXPECT_TRUE(doc["c"].is_number_float());
  EXPECT_EQ(doc["d"], json::parse("[true, null]"));
}

TEST(ParseYamlDocumentsTest, FlowYamlThatIsNotJsonStillParses) {
  json doc = ParseOne("{a: 1, b: [x, 'y']}");
  EXPECT_EQ(doc, json::parse(R"({"a": 1, "b": ["x", "y"]})"));
}

TEST(ParseYamlDocumentsTest, MergeKeys) {
  json doc = ParseOne(R"(
base: &base {x: 1, y: 2}
other: &other {y: 3, z: 4}
one:
  <<: *base
  y: 9
many:
  <<: [*base, *other]
)");
  EXPECT_EQ(doc["one"], json::parse(R"({"x": 1, "y": 9})"));
  EXPECT_EQ(doc["many"], json::parse(R"({"x": 1, "y": 2, "z": 4})"));
}

TEST(ParseYamlDocumentsTest, QuotedMergeKeyIsAnOrdinaryKey) {
  json doc = ParseOne("\"<<\": 1\n");
  EXPECT_EQ(doc, json::parse(R"({"<<": 1})"));
}

TEST(ParseYamlDocumentsTest, SyntaxErrorNamesLineAndColumn) {
  EXPECT_THAT(Error("a: 1\n---\nb: [1, 2\n"), HasSubstr("line 4, column 1"));
  EXPECT_THAT(Error("a: *nowhere\n"), HasSubstr("anchor"));
}

TEST(ParseYamlDocumentsTest, StructuralErrors) {
  EXPECT_THAT(Error("a: 1\nb: 2\na: 3\n"), HasSubstr("line 3, column 1: duplicate key \"a\""));
  EXPECT_THAT(Error("? [a]\n: b\n"), HasSubstr("mapping keys must be strings"));
  EXPECT_THAT(Error("a: !!int eighty\n"), HasSubstr("not a valid"));
  EXPECT_THAT(Error("a:\n  <<: 3\n"), HasSubstr("merge key"));
}

TEST(ParseYamlDocumentsTest, AliasCycleIsAnError) {
  EXPECT_THAT(Error("a: &a [*a]\n"), HasSubstr("nested too deeply"));
}

TEST(ParseYamlDocumentsTest, AliasBombIsAnError) {
  std::string text = "a0: &a0 [x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 10; ++i) {
    text += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 8; ++j) text += (j ? ", *a" : "*a") + std::to_string(i - 1);
    text += "]\n";
  }
  EXPECT_THAT(Error(text), HasSubstr("too many values"));
}

}  // namespace
}  // namespace portico::controller::source
