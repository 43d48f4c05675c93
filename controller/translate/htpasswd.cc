#include "controller/translate/htpasswd.h"

#include <cstdint>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "common/strings.h"

namespace portico::controller::translate {
namespace {

// crypt(3)'s base-64 alphabet.
bool IsCryptChars(std::string_view s) {
  for (char c : s) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '/') return false;
  }
  return true;
}

bool IsBcrypt(std::string_view hash) {
  // $2y$NN$ + 22 characters of salt + 31 of hash.
  if (hash.size() != 60 || hash[0] != '$' || hash[1] != '2' || hash[3] != '$' || hash[6] != '$') {
    return false;
  }
  if (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') return false;
  int cost = 0;
  if (!absl::SimpleAtoi(ToAbsl(hash.substr(4, 2)), &cost) || cost < 4 || cost > 31) return false;
  return IsCryptChars(hash.substr(7));
}

// $5$[rounds=N$]salt$hash with a salt of at most 16 characters.
bool IsShaCrypt(std::string_view hash, size_t hash_length) {
  std::string_view rest = hash.substr(3);
  if (absl::StartsWith(ToAbsl(rest), "rounds=")) {
    size_t dollar = rest.find('$');
    if (dollar == std::string_view::npos) return false;
    uint64_t rounds = 0;
    if (!absl::SimpleAtoi(ToAbsl(rest.substr(7, dollar - 7)), &rounds) || rounds < 1000 ||
        rounds > 999999999) {
      return false;
    }
    rest = rest.substr(dollar + 1);
  }
  size_t dollar = rest.find('$');
  if (dollar == std::string_view::npos || dollar == 0 || dollar > 16) return false;
  std::string_view salt = rest.substr(0, dollar);
  std::string_view digest = rest.substr(dollar + 1);
  return IsCryptChars(salt) && digest.size() == hash_length && IsCryptChars(digest);
}

// $apr1$salt$hash: salt of 1..8 characters, 22 of hash.
bool IsApr1(std::string_view hash) {
  std::string_view rest = hash.substr(6);
  size_t dollar = rest.find('$');
  if (dollar == std::string_view::npos || dollar == 0 || dollar > 8) return false;
  std::string_view digest = rest.substr(dollar + 1);
  return IsCryptChars(rest.substr(0, dollar)) && digest.size() == 22 && IsCryptChars(digest);
}

bool IsSha1(std::string_view hash) {
  std::string raw;
  std::string_view b64 = hash.substr(5);
  return b64.size() == 28 && absl::Base64Unescape(ToAbsl(b64), &raw) && raw.size() == 20;
}

// A user name that can travel in an Authorization header and in messages.
bool IsUserName(std::string_view user) {
  if (user.empty() || user.size() > 256) return false;
  for (char c : user) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == ':') return false;
  }
  return true;
}

// Why `hash` is refused, for a message that does not quote it.
std::string Refusal(std::string_view hash) {
  if (hash.empty()) return "has no password hash";
  if (hash.size() == 13 && IsCryptChars(hash)) {
    return "uses DES crypt, which is refused (use bcrypt: htpasswd -B)";
  }
  if (hash[0] == '$' || absl::StartsWith(ToAbsl(hash), "{")) {
    return "uses an unsupported or malformed hash (supported: bcrypt, SHA-256/512 crypt, apr1, "
           "{SHA})";
  }
  return "looks like a plain-text password, which is refused (use bcrypt: htpasswd -B)";
}

void AddUser(std::string_view user, std::string_view hash, std::string_view where,
             PasswordList& out) {
  if (!IsUserName(user)) {
    out.problems.push_back(portico::StrCat(where, " has an invalid user name; skipped"));
    return;
  }
  if (ClassifyHash(hash) == PasswordHash::kUnknown) {
    out.problems.push_back(
        portico::StrCat(where, " (user \"", user, "\") ", Refusal(hash), "; user skipped"));
    return;
  }
  if (!out.users.emplace(std::string(user), std::string(hash)).second) {
    out.problems.push_back(
        portico::StrCat(where, " repeats user \"", user, "\"; the first entry is used"));
  }
}

}  // namespace

PasswordHash ClassifyHash(std::string_view hash) {
  if (absl::StartsWith(ToAbsl(hash), "$2"))
    return IsBcrypt(hash) ? PasswordHash::kBcrypt : PasswordHash::kUnknown;
  if (absl::StartsWith(ToAbsl(hash), "$5$")) {
    return IsShaCrypt(hash, 43) ? PasswordHash::kSha256Crypt : PasswordHash::kUnknown;
  }
  if (absl::StartsWith(ToAbsl(hash), "$6$")) {
    return IsShaCrypt(hash, 86) ? PasswordHash::kSha512Crypt : PasswordHash::kUnknown;
  }
  if (absl::StartsWith(ToAbsl(hash), "$apr1$")) {
    return IsApr1(hash) ? PasswordHash::kApr1 : PasswordHash::kUnknown;
  }
  if (absl::StartsWith(ToAbsl(hash), "{SHA}")) {
    return IsSha1(hash) ? PasswordHash::kSha1 : PasswordHash::kUnknown;
  }
  return PasswordHash::kUnknown;
}

PasswordList ParseHtpasswd(std::string_view text) {
  PasswordList out;
  int number = 0;
  for (absl::string_view line : absl::StrSplit(ToAbsl(text), '\n')) {
    ++number;
    if (absl::EndsWith(line, "\r")) line.remove_suffix(1);
    absl::string_view trimmed = absl::StripAsciiWhitespace(line);
    if (trimmed.empty() || trimmed[0] == '#') continue;
    const std::string where = portico::StrCat("line ", number);
    size_t colon = line.find(':');
    if (colon == absl::string_view::npos) {
      out.problems.push_back(portico::StrCat(where, " is not user:hash; skipped"));
      continue;
    }
    AddUser(ToStd(line.substr(0, colon)), ToStd(line.substr(colon + 1)), where, out);
  }
  return out;
}

PasswordList ParseAuthMap(const std::map<std::string, std::string>& data) {
  PasswordList out;
  for (const auto& [user, value] : data) {
    std::string_view hash = value;
    if (!hash.empty() && hash.back() == '\n') hash.remove_suffix(1);
    if (!hash.empty() && hash.back() == '\r') hash.remove_suffix(1);
    AddUser(user, hash, portico::StrCat("key \"", IsUserName(user) ? user : "?", "\""), out);
  }
  return out;
}

}  // namespace portico::controller::translate
