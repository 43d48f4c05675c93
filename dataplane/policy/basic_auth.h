#pragma once
// HTTP basic authentication (RFC 7617) against a route's password list.
// Stored hashes: bcrypt ($2y$, $2a$, $2b$) and SHA-crypt ($5$, $6$) through
// libcrypt's crypt_r, Apache MD5 ($apr1$) and {SHA} (base64 SHA-1) through
// OpenSSL; every comparison is constant-time. Passwords and hashes are never
// logged or counted.
//
// bcrypt costs milliseconds by design, so each worker remembers its recent
// successful verifications: a bounded set keyed by a keyed SHA-256 of
// (user, stored hash, password) under a per-authenticator random key, never
// the password itself. A changed hash (a Secret update) misses the cache.
//
// Threading: a BasicAuthenticator belongs to one worker; the free functions
// are thread-safe.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "absl/container/flat_hash_set.h"
#include "dataplane/router/route_table.h"

struct crypt_data;

namespace portico::dataplane::policy {

enum class HashScheme { kUnknown, kCrypt, kApr1, kSha1 };

// How a stored hash is verified; kUnknown for anything else (plain text, DES
// crypt, MD5-crypt), which never matches.
HashScheme SchemeOf(std::string_view stored);

// Apache's MD5 password hash ("$apr1$salt$hash") of `password` with `salt`
// (at most 8 characters are used, up to a '$').
std::string Apr1Hash(std::string_view password, std::string_view salt);

struct BasicCredentials {
  std::string user;
  std::string password;
};

// The credentials of an Authorization header value ("Basic <base64>", the
// scheme case-insensitive); nullopt when it is another scheme or malformed.
std::optional<BasicCredentials> ParseBasicAuthorization(std::string_view value);

// `Basic realm="<realm>"`; the realm is checked by the config compiler.
std::string BasicChallenge(std::string_view realm);

class BasicAuthenticator {
 public:
  explicit BasicAuthenticator(size_t cache_entries = 1024);
  ~BasicAuthenticator();
  BasicAuthenticator(const BasicAuthenticator&) = delete;
  BasicAuthenticator& operator=(const BasicAuthenticator&) = delete;

  // Whether `password` matches `stored` (slow for bcrypt).
  bool Verify(std::string_view stored, std::string_view password);

  // Whether the Authorization header value (nullopt: absent) names a user of
  // `users` with the right password. Successful checks are cached.
  bool Allows(const router::PasswordMap& users, std::optional<std::string_view> authorization);

  size_t verifications() const { return verifications_; }  // slow paths taken, for tests

 private:
  std::string CacheKey(std::string_view user, std::string_view stored,
                       std::string_view password) const;

  struct CryptDataDeleter {
    void operator()(crypt_data* data) const;
  };
  std::unique_ptr<crypt_data, CryptDataDeleter> crypt_;  // crypt_r's 32 KB of scratch
  std::string key_;                                      // random, for CacheKey
  const size_t cache_entries_;
  // Two generations: when `recent_` is full it becomes `older_`, so the set
  // stays bounded (2 x cache_entries) without per-entry bookkeeping.
  absl::flat_hash_set<std::string> recent_;
  absl::flat_hash_set<std::string> older_;
  size_t verifications_ = 0;
};

}  // namespace portico::dataplane::policy
