// The strict value parsers behind every annotation and ConfigMap key.
#include "controller/translate/annotation_values.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace portico::controller::translate {
namespace {

using ::testing::ElementsAre;
using ::testing::Optional;

TEST(AnnotationValuesTest, SafeTextRejectsControlCharacters) {
  EXPECT_TRUE(IsSafeText("plain value\twith tab"));
  EXPECT_FALSE(IsSafeText("a\r\nX-Injected: 1"));
  EXPECT_FALSE(IsSafeText(std::string("a\0b", 3)));
  EXPECT_FALSE(IsSafeText("bell\a"));
  EXPECT_FALSE(IsSafeText("del\x7f"));
}

TEST(AnnotationValuesTest, HeaderNamesAndValues) {
  EXPECT_TRUE(IsHeaderName("X-Request-Id"));
  EXPECT_FALSE(IsHeaderName(""));
  EXPECT_FALSE(IsHeaderName("X Bad"));
  EXPECT_FALSE(IsHeaderName("X:Bad"));
  EXPECT_TRUE(IsHeaderValue("max-age=60, public"));
  EXPECT_FALSE(IsHeaderValue(" leading"));
  EXPECT_FALSE(IsHeaderValue("a\nb"));
}

TEST(AnnotationValuesTest, Durations) {
  EXPECT_THAT(ParseDuration("30"), Optional(absl::Seconds(30)));
  EXPECT_THAT(ParseDuration("500ms"), Optional(absl::Milliseconds(500)));
  EXPECT_THAT(ParseDuration("1m30s"), Optional(absl::Seconds(90)));
  EXPECT_EQ(ParseDuration(""), std::nullopt);
  EXPECT_EQ(ParseDuration("-5s"), std::nullopt);
  EXPECT_EQ(ParseDuration("inf"), std::nullopt);
  EXPECT_EQ(ParseDuration("5 s"), std::nullopt);
  EXPECT_EQ(ParseDuration("10s", absl::Seconds(5)), std::nullopt);
}

TEST(AnnotationValuesTest, Sizes) {
  EXPECT_THAT(ParseSize("0"), Optional(0u));
  EXPECT_THAT(ParseSize("1048576"), Optional(1048576u));
  EXPECT_THAT(ParseSize("8m"), Optional(8u << 20));
  EXPECT_THAT(ParseSize("512K"), Optional(512u << 10));
  EXPECT_THAT(ParseSize("1g"), Optional(uint64_t{1} << 30));
  EXPECT_EQ(ParseSize("m"), std::nullopt);
  EXPECT_EQ(ParseSize("-1"), std::nullopt);
  EXPECT_EQ(ParseSize("1.5m"), std::nullopt);
  EXPECT_EQ(ParseSize("99999999999999999999g"), std::nullopt);
}

TEST(AnnotationValuesTest, UintsAndLists) {
  EXPECT_THAT(ParseUint("42", 1, 100), Optional(42u));
  EXPECT_EQ(ParseUint("0", 1, 100), std::nullopt);
  EXPECT_EQ(ParseUint("+4", 0, 100), std::nullopt);
  EXPECT_THAT(ParseList(" a, b ,,c "), Optional(ElementsAre("a", "b", "c")));
  EXPECT_EQ(ParseList("a,\nb"), std::nullopt);
}

}  // namespace
}  // namespace portico::controller::translate
