#include "dataplane/policy/basic_auth.h"

#include "absl/strings/escaping.h"
#include "common/strings.h"
#include "gtest/gtest.h"

namespace portico::dataplane::policy {
namespace {

// Known vectors, generated once with `htpasswd -nbB -C 5`, `htpasswd -nbm`,
// `htpasswd -nbs`, `openssl passwd -apr1 / -5 / -6 -salt`, and python3's
// crypt for the $2a$/$2b$ spellings; embedded so tests need none of them.
struct Vector {
  const char* stored;
  const char* password;
};
constexpr Vector kVectors[] = {
    {"$2y$05$u2D28BJIGGrxKhOhWJ91AeSdypM9XJ1NAptmuyyUqs0yE4QGW4WZi", "wonder land"},
    {"$2y$05$abcdefghijklmnopqrstuuLK7U1u6pVRmL7L1BBM2aS35PSZnDXlK", "s3cret"},
    {"$2a$05$abcdefghijklmnopqrstuuLK7U1u6pVRmL7L1BBM2aS35PSZnDXlK", "s3cret"},
    {"$2b$05$abcdefghijklmnopqrstuuLK7U1u6pVRmL7L1BBM2aS35PSZnDXlK", "s3cret"},
    {"$5$saltsalt$i1q2ZQzc.tl/BQ6CHiENAcVDvEY6nJ1OWlWXKh94b1.", "s3cret"},
    {"$5$rounds=5000$saltsalt$i1q2ZQzc.tl/BQ6CHiENAcVDvEY6nJ1OWlWXKh94b1.", "s3cret"},
    {"$6$saltsalt$As4wrv0kZlfch1du9WeH7qhskyLriQWySXrZzynnvi46nFnNxjdpl6ksRegrrKexvhIa/Iny8S8uF3fV"
     "WTMuC1",
     "s3cret"},
    {"$apr1$I6bYaS0Y$wQycnL4PBc0KJziQ9na9C.", "s3cret"},
    {"$apr1$abcdefgh$ZAdX7G.l3eDbgTYbm5ePE0", "secret pass"},
    {"$apr1$xx$aGHxR9NsG1buO7l/rFJjm1", ""},
    {"$apr1$Zz0.aZ/9$HsFSWulRF1ZoQh71QdSLo.", "a:b:c p@ss"},
    {"{SHA}/vNB+F2HQ559kaLUZbmHHvZrXpg=", "s3cret"},
};

TEST(BasicAuth, VerifiesEveryScheme) {
  BasicAuthenticator auth;
  for (const Vector& v : kVectors) {
    EXPECT_TRUE(auth.Verify(v.stored, v.password)) << v.stored;
    EXPECT_FALSE(auth.Verify(v.stored, std::string(v.password) + "x")) << v.stored;
    EXPECT_FALSE(auth.Verify(v.stored, "S3cret")) << v.stored;
  }
}

TEST(BasicAuth, Apr1MatchesApache) {
  EXPECT_EQ(Apr1Hash("s3cret", "I6bYaS0Y"), "$apr1$I6bYaS0Y$wQycnL4PBc0KJziQ9na9C.");
  // The salt ends at '$' and is at most 8 characters.
  EXPECT_EQ(Apr1Hash("secret pass", "abcdefgh$rest"), "$apr1$abcdefgh$ZAdX7G.l3eDbgTYbm5ePE0");
  EXPECT_EQ(Apr1Hash("secret pass", "abcdefghij"), "$apr1$abcdefgh$ZAdX7G.l3eDbgTYbm5ePE0");
}

TEST(BasicAuth, RefusesUnknownSchemesAndNul) {
  BasicAuthenticator auth;
  EXPECT_EQ(SchemeOf("s3cret"), HashScheme::kUnknown);
  EXPECT_FALSE(auth.Verify("s3cret", "s3cret"));         // plain text never matches
  EXPECT_FALSE(auth.Verify("abJnggxhB/yWI", "s3cret"));  // DES crypt is not accepted
  EXPECT_FALSE(auth.Verify("$1$saltsalt$qjXMvbEw8oaL.CzflDugX/", "s3cret"));  // MD5-crypt
  EXPECT_FALSE(auth.Verify("$5$saltsalt$i1q2ZQzc.tl/BQ6CHiENAcVDvEY6nJ1OWlWXKh94b1.",
                           std::string("s3cret\0x", 8)));
  EXPECT_FALSE(auth.Verify("$2y$05$broken", "s3cret"));
}

std::string Header(std::string_view user_password) {
  return portico::StrCat("Basic ", absl::Base64Escape(ToAbsl(user_password)));
}

TEST(BasicAuth, ParsesAuthorization) {
  auto c = ParseBasicAuthorization(Header("alice:pa:ss"));
  ASSERT_TRUE(c.has_value());
  EXPECT_EQ(c->user, "alice");
  EXPECT_EQ(c->password, "pa:ss");
  EXPECT_TRUE(ParseBasicAuthorization("bAsIc " + absl::Base64Escape("a:")).has_value());
  EXPECT_FALSE(ParseBasicAuthorization("Bearer abc").has_value());
  EXPECT_FALSE(ParseBasicAuthorization("Basic").has_value());
  EXPECT_FALSE(ParseBasicAuthorization("Basic !!!").has_value());
  EXPECT_FALSE(ParseBasicAuthorization(Header("nocolon")).has_value());
  EXPECT_FALSE(ParseBasicAuthorization(Header("a:" + std::string(2000, 'x'))).has_value());
  EXPECT_EQ(BasicChallenge("Team A"), "Basic realm=\"Team A\"");
}

TEST(BasicAuth, CachesSuccessesOnly) {
  router::PasswordMap users{
      {"alice", "$2y$05$u2D28BJIGGrxKhOhWJ91AeSdypM9XJ1NAptmuyyUqs0yE4QGW4WZi"}};
  BasicAuthenticator auth(2);
  const std::string good = Header("alice:wonder land");
  EXPECT_TRUE(auth.Allows(users, good));
  EXPECT_TRUE(auth.Allows(users, good));
  EXPECT_EQ(auth.verifications(), 1u);
  EXPECT_FALSE(auth.Allows(users, Header("alice:wrong")));
  EXPECT_FALSE(auth.Allows(users, Header("alice:wrong")));
  EXPECT_EQ(auth.verifications(), 3u);  // failures are verified every time
  EXPECT_FALSE(auth.Allows(users, Header("bob:wonder land")));
  EXPECT_FALSE(auth.Allows(users, std::nullopt));
  EXPECT_EQ(auth.verifications(), 3u);  // unknown users cost no hash
  // A new hash for the user (a Secret update) is not served from the cache.
  users["alice"] = "{SHA}/vNB+F2HQ559kaLUZbmHHvZrXpg=";
  EXPECT_FALSE(auth.Allows(users, good));
  EXPECT_TRUE(auth.Allows(users, Header("alice:s3cret")));
  EXPECT_EQ(auth.verifications(), 5u);
}

TEST(BasicAuth, CacheStaysBounded) {
  router::PasswordMap users;
  for (int i = 0; i < 10; ++i) users[portico::StrCat("u", i)] = "{SHA}/vNB+F2HQ559kaLUZbmHHvZrXpg=";
  BasicAuthenticator auth(2);
  for (int i = 0; i < 10; ++i) {
    EXPECT_TRUE(auth.Allows(users, Header(portico::StrCat("u", i, ":s3cret"))));
  }
  EXPECT_EQ(auth.verifications(), 10u);
  EXPECT_TRUE(auth.Allows(users, Header("u9:s3cret")));  // recent: cached
  EXPECT_TRUE(auth.Allows(users, Header("u0:s3cret")));  // long evicted: verified again
  EXPECT_EQ(auth.verifications(), 11u);
}

}  // namespace
}  // namespace portico::dataplane::policy
