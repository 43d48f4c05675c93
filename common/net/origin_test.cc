#include "common/net/origin.h"

#include <string>

#include "gtest/gtest.h"

namespace portico::net {
namespace {

std::string Canonical(std::string_view text, bool wildcard = false) {
  std::optional<WebOrigin> origin = ParseWebOrigin(text, wildcard);
  return origin ? origin->Serialize() : "<invalid>";
}

TEST(WebOriginTest, ParsesAndSerializesCanonically) {
  EXPECT_EQ(Canonical("https://a.example"), "https://a.example");
  EXPECT_EQ(Canonical("HTTPS://A.Example"), "https://a.example");
  EXPECT_EQ(Canonical("https://a.example:443"), "https://a.example");
  EXPECT_EQ(Canonical("http://a.example:80"), "http://a.example");
  EXPECT_EQ(Canonical("http://a.example:8080"), "http://a.example:8080");
  EXPECT_EQ(Canonical("http://10.0.0.1:8080"), "http://10.0.0.1:8080");
  EXPECT_EQ(Canonical("https://[::1]:8443"), "https://[::1]:8443");
  EXPECT_EQ(Canonical("https://*.example.com", true), "https://*.example.com");
  EXPECT_EQ(Canonical("https://*.example.com:8443", true), "https://*.example.com:8443");
}

TEST(WebOriginTest, RefusesWhatIsNotAnOrigin) {
  for (std::string_view bad : {"",
                               "null",
                               "*",
                               "a.example",
                               "ftp://a.example",
                               "https://",
                               "https://a.example/",
                               "https://a.example/path",
                               "https://a.example?q",
                               "https://a.example#f",
                               "https://user@a.example",
                               "https://a.example:",
                               "https://a.example:0",
                               "https://a.example:65536",
                               "https://a.example:+1",
                               "https://a_b.example",
                               "https://-a.example",
                               "https://a.example ",
                               "https://[::1",
                               "https://::1",
                               "https://[10.0.0.1]",
                               "javascript://a.example",
                               "https://a\r\n.example"}) {
    EXPECT_FALSE(ParseWebOrigin(bad, true).has_value()) << bad;
  }
  // Wildcards only where asked for, over at least two labels, and only as
  // the whole first label.
  EXPECT_FALSE(ParseWebOrigin("https://*.example.com").has_value());
  EXPECT_FALSE(ParseWebOrigin("https://*.com", true).has_value());
  EXPECT_FALSE(ParseWebOrigin("https://a*.example.com", true).has_value());
  EXPECT_FALSE(ParseWebOrigin("https://*example.com", true).has_value());
  EXPECT_FALSE(ParseWebOrigin("https://a.*.example.com", true).has_value());
}

bool Matches(std::string_view allowed, std::string_view request) {
  std::optional<WebOrigin> a = ParseWebOrigin(allowed, true);
  std::optional<WebOrigin> r = ParseWebOrigin(request);
  EXPECT_TRUE(a.has_value()) << allowed;
  return a && r && OriginMatches(*a, *r);
}

TEST(WebOriginTest, MatchesExactOrigins) {
  EXPECT_TRUE(Matches("https://a.example", "https://a.example"));
  EXPECT_TRUE(Matches("https://a.example", "https://A.EXAMPLE:443"));
  EXPECT_FALSE(Matches("https://a.example", "http://a.example"));
  EXPECT_FALSE(Matches("https://a.example", "https://a.example:8443"));
  EXPECT_FALSE(Matches("https://a.example", "https://b.a.example"));
}

TEST(WebOriginTest, WildcardsMatchExactlyOneLabel) {
  EXPECT_TRUE(Matches("https://*.example.com", "https://app.example.com"));
  EXPECT_FALSE(Matches("https://*.example.com", "https://example.com"));
  EXPECT_FALSE(Matches("https://*.example.com", "https://a.b.example.com"));
  EXPECT_FALSE(Matches("https://*.example.com", "https://evilexample.com"));
  EXPECT_FALSE(Matches("https://*.example.com", "https://app.example.com.evil"));
  EXPECT_FALSE(Matches("https://*.example.com", "http://app.example.com"));
  EXPECT_FALSE(Matches("https://*.example.com", "https://app.example.com:8443"));
  EXPECT_TRUE(Matches("https://*.example.com:8443", "https://app.example.com:8443"));
}

}  // namespace
}  // namespace portico::net
