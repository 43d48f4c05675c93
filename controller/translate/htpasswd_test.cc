#include "controller/translate/htpasswd.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace portico::controller::translate {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::testing::Pair;

// Generated with htpasswd -B / -m / -s and openssl passwd -5 / -6 (see
// dataplane/policy/basic_auth_test.cc, which verifies the same vectors).
constexpr char kBcrypt[] = "$2y$05$u2D28BJIGGrxKhOhWJ91AeSdypM9XJ1NAptmuyyUqs0yE4QGW4WZi";
constexpr char kSha256[] = "$5$saltsalt$i1q2ZQzc.tl/BQ6CHiENAcVDvEY6nJ1OWlWXKh94b1.";
constexpr char kSha512[] =
    "$6$saltsalt$As4wrv0kZlfch1du9WeH7qhskyLriQWySXrZzynnvi46nFnNxjdpl6ksRegrrKexvhIa/"
    "Iny8S8uF3fVWTM"
    "uC1";
constexpr char kApr1[] = "$apr1$I6bYaS0Y$wQycnL4PBc0KJziQ9na9C.";
constexpr char kSha1[] = "{SHA}/vNB+F2HQ559kaLUZbmHHvZrXpg=";

TEST(ClassifyHash, RecognisesEachScheme) {
  EXPECT_EQ(ClassifyHash(kBcrypt), PasswordHash::kBcrypt);
  EXPECT_EQ(ClassifyHash("$2a$05$abcdefghijklmnopqrstuuLK7U1u6pVRmL7L1BBM2aS35PSZnDXlK"),
            PasswordHash::kBcrypt);
  EXPECT_EQ(ClassifyHash("$2b$05$abcdefghijklmnopqrstuuLK7U1u6pVRmL7L1BBM2aS35PSZnDXlK"),
            PasswordHash::kBcrypt);
  EXPECT_EQ(ClassifyHash(kSha256), PasswordHash::kSha256Crypt);
  EXPECT_EQ(ClassifyHash("$5$rounds=5000$saltsalt$i1q2ZQzc.tl/BQ6CHiENAcVDvEY6nJ1OWlWXKh94b1."),
            PasswordHash::kSha256Crypt);
  EXPECT_EQ(ClassifyHash(kSha512), PasswordHash::kSha512Crypt);
  EXPECT_EQ(ClassifyHash(kApr1), PasswordHash::kApr1);
  EXPECT_EQ(ClassifyHash(kSha1), PasswordHash::kSha1);
}

TEST(ClassifyHash, RefusesMalformedAndWeak) {
  for (const char* bad : {
           "",
           "s3cret",                                                        // plain text
           "abJnggxhB/yWI",                                                 // DES crypt
           "$1$saltsalt$qjXMvbEw8oaL.CzflDugX/",                            // MD5-crypt: not listed
           "$2x$05$abcdefghijklmnopqrstuuLK7U1u6pVRmL7L1BBM2aS35PSZnDXlK",  // bad variant
           "$2y$03$abcdefghijklmnopqrstuuLK7U1u6pVRmL7L1BBM2aS35PSZnDXlK",  // cost below 4
           "$2y$05$abcdefghijklmnopqrstuuLK7U1u6pVRmL7L1BBM2aS35PSZnDXl",   // short
           "$5$saltsalt$short",
           "$5$rounds=10$saltsalt$i1q2ZQzc.tl/BQ6CHiENAcVDvEY6nJ1OWlWXKh94b1.",
           "$apr1$toolongsalt$wQycnL4PBc0KJziQ9na9C.",
           "$apr1$I6bYaS0Y$wQycnL4PBc0KJziQ9na9C",
           "{SHA}notbase64!",
           "{SHA}AAAA",
       }) {
    EXPECT_EQ(ClassifyHash(bad), PasswordHash::kUnknown) << bad;
  }
}

TEST(ParseHtpasswd, KeepsValidLinesAndReportsTheOthers) {
  const std::string text = std::string("# team\n\nalice:") + kBcrypt + "\r\nbob:" + kApr1 +
                           "\n  \nnocolon\ncarol:s3cret\ndave:abJnggxhB/yWI\nalice:" + kSha1 +
                           "\n:" + kSha1 + "\n";
  PasswordList list = ParseHtpasswd(text);
  EXPECT_THAT(list.users, ElementsAre(Pair("alice", kBcrypt), Pair("bob", kApr1)));
  ASSERT_EQ(list.problems.size(), 5u);
  EXPECT_EQ(list.problems[0], "line 6 is not user:hash; skipped");
  EXPECT_THAT(list.problems[1], HasSubstr("line 7 (user \"carol\") looks like a plain-text"));
  EXPECT_THAT(list.problems[2], HasSubstr("line 8 (user \"dave\") uses DES crypt"));
  EXPECT_THAT(list.problems[3], HasSubstr("line 9 repeats user \"alice\""));
  EXPECT_THAT(list.problems[4], HasSubstr("line 10 has an invalid user name"));
  // Hashes and passwords never appear in messages.
  for (const std::string& p : list.problems) {
    EXPECT_THAT(p, Not(HasSubstr("s3cret")));
    EXPECT_THAT(p, Not(HasSubstr("abJnggxhB")));
    EXPECT_THAT(p, Not(HasSubstr(kSha1)));
  }
}

TEST(ParseAuthMap, KeysAreUsers) {
  PasswordList list =
      ParseAuthMap({{"alice", std::string(kSha512) + "\n"}, {"bob", "plain"}, {"carol", kSha256}});
  EXPECT_THAT(list.users, ElementsAre(Pair("alice", kSha512), Pair("carol", kSha256)));
  ASSERT_EQ(list.problems.size(), 1u);
  EXPECT_THAT(list.problems[0], HasSubstr("key \"bob\""));
  EXPECT_THAT(ParseAuthMap({}).users, IsEmpty());
}

}  // namespace
}  // namespace portico::controller::translate
