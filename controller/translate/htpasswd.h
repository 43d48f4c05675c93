#pragma once
// Password lists for basic authentication: htpasswd text (auth-secret-type
// auth-file, the Secret's `auth` key) or one user per Secret key (auth-map),
// checked strictly. Recognised hashes: bcrypt ($2y$, $2a$, $2b$), SHA-crypt
// ($5$, $6$), Apache MD5 ($apr1$) and {SHA} (base64 SHA-1). Plain text and
// DES crypt are refused: whoever reads the Secret would hold the passwords,
// or crack them in minutes. Problems name the line and the user, never the
// hash. Pure.

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace portico::controller::translate {

enum class PasswordHash { kUnknown, kBcrypt, kSha256Crypt, kSha512Crypt, kApr1, kSha1 };

// The scheme of a stored hash when it is one of the recognised ones and well
// formed (alphabet, lengths, bcrypt cost 4..31, SHA-crypt rounds); else kUnknown.
PasswordHash ClassifyHash(std::string_view hash);

struct PasswordList {
  std::map<std::string, std::string> users;  // user -> hash, the usable ones
  std::vector<std::string> problems;         // one message per skipped line or key
};

// htpasswd text: "user:hash" lines; blank lines and lines starting with '#'
// are skipped; a trailing CR is dropped. A malformed line, an unsupported hash
// or a repeated user (the first line wins, as in Apache) is a problem.
PasswordList ParseHtpasswd(std::string_view text);

// auth-map: Secret keys are users, values their hashes (a trailing newline
// is dropped).
PasswordList ParseAuthMap(const std::map<std::string, std::string>& data);

}  // namespace portico::controller::translate
