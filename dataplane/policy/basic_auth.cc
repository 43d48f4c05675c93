#include "dataplane/policy/basic_auth.h"

#include <crypt.h>

#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "common/strings.h"
#include "openssl/crypto.h"
#include "openssl/evp.h"
#include "openssl/rand.h"
#include "openssl/sha.h"

namespace portico::dataplane::policy {
namespace {

constexpr char kApr1Magic[] = "$apr1$";
constexpr char kItoa64[] = "./0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
// Longer credentials are refused outright (no hash work for them).
constexpr size_t kMaxUser = 256;
constexpr size_t kMaxPassword = 1024;

bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* ctx) const { EVP_MD_CTX_free(ctx); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;

class Md5 {
 public:
  Md5() : ctx_(EVP_MD_CTX_new()) {
    ok_ = ctx_ != nullptr && EVP_DigestInit_ex(ctx_.get(), EVP_md5(), nullptr) == 1;
  }
  void Update(const void* data, size_t size) {
    ok_ = ok_ && EVP_DigestUpdate(ctx_.get(), data, size) == 1;
  }
  void Update(std::string_view s) { Update(s.data(), s.size()); }
  // 16 bytes into `out`; false when OpenSSL failed (no MD5 provider).
  bool Final(unsigned char* out) {
    unsigned int n = 0;
    return ok_ && EVP_DigestFinal_ex(ctx_.get(), out, &n) == 1 && n == 16;
  }

 private:
  MdCtx ctx_;
  bool ok_ = false;
};

void To64(std::string& out, unsigned long v, int n) {
  while (n-- > 0) {
    out.push_back(kItoa64[v & 0x3f]);
    v >>= 6;
  }
}

}  // namespace

HashScheme SchemeOf(std::string_view stored) {
  auto starts = [&](std::string_view prefix) {
    return absl::StartsWith(ToAbsl(stored), ToAbsl(prefix));
  };
  if (starts("$2a$") || starts("$2b$") || starts("$2y$") || starts("$5$") || starts("$6$")) {
    return HashScheme::kCrypt;
  }
  if (starts(kApr1Magic)) return HashScheme::kApr1;
  if (starts("{SHA}")) return HashScheme::kSha1;
  return HashScheme::kUnknown;
}

// The algorithm of Apache's apr_md5.c (Poul-Henning Kamp's MD5-crypt with
// the "$apr1$" magic).
std::string Apr1Hash(std::string_view password, std::string_view salt) {
  if (size_t dollar = salt.find('$'); dollar != std::string_view::npos)
    salt = salt.substr(0, dollar);
  salt = salt.substr(0, 8);
  unsigned char final[16];
  Md5 alt;
  alt.Update(password);
  alt.Update(salt);
  alt.Update(password);
  if (!alt.Final(final)) return {};
  Md5 ctx;
  ctx.Update(password);
  ctx.Update(kApr1Magic, std::strlen(kApr1Magic));
  ctx.Update(salt);
  for (size_t left = password.size(); left > 0; left -= std::min<size_t>(left, 16)) {
    ctx.Update(final, std::min<size_t>(left, 16));
  }
  std::memset(final, 0, sizeof(final));
  for (size_t i = password.size(); i != 0; i >>= 1) {
    if (i & 1) {
      ctx.Update(final, 1);
    } else {
      ctx.Update(password.data(), password.empty() ? 0 : 1);
    }
  }
  if (!ctx.Final(final)) return {};
  for (int i = 0; i < 1000; ++i) {
    Md5 round;
    if (i & 1) {
      round.Update(password);
    } else {
      round.Update(final, 16);
    }
    if (i % 3) round.Update(salt);
    if (i % 7) round.Update(password);
    if (i & 1) {
      round.Update(final, 16);
    } else {
      round.Update(password);
    }
    if (!round.Final(final)) return {};
  }
  std::string out = portico::StrCat(kApr1Magic, salt, "$");
  auto triple = [&](int a, int b, int c) {
    To64(out,
         (static_cast<unsigned long>(final[a]) << 16) |
             (static_cast<unsigned long>(final[b]) << 8) | final[c],
         4);
  };
  triple(0, 6, 12);
  triple(1, 7, 13);
  triple(2, 8, 14);
  triple(3, 9, 15);
  triple(4, 10, 5);
  To64(out, final[11], 2);
  return out;
}

std::optional<BasicCredentials> ParseBasicAuthorization(std::string_view value) {
  value = ToStd(absl::StripAsciiWhitespace(ToAbsl(value)));
  if (value.size() < 6 || !absl::EqualsIgnoreCase(ToAbsl(value.substr(0, 5)), "basic") ||
      (value[5] != ' ' && value[5] != '\t')) {
    return std::nullopt;
  }
  std::string_view encoded = ToStd(absl::StripLeadingAsciiWhitespace(ToAbsl(value.substr(6))));
  if (encoded.size() > 4 * (kMaxUser + kMaxPassword + 1) / 3 + 4) return std::nullopt;
  std::string decoded;
  if (!absl::Base64Unescape(ToAbsl(encoded), &decoded)) return std::nullopt;
  size_t colon = decoded.find(':');
  if (colon == std::string::npos) return std::nullopt;
  BasicCredentials out{decoded.substr(0, colon), decoded.substr(colon + 1)};
  if (out.user.size() > kMaxUser || out.password.size() > kMaxPassword) return std::nullopt;
  return out;
}

std::string BasicChallenge(std::string_view realm) {
  return portico::StrCat("Basic realm=\"", realm, "\"");
}

void BasicAuthenticator::CryptDataDeleter::operator()(crypt_data* data) const {
  if (data != nullptr) {
    OPENSSL_cleanse(data, sizeof(*data));
    delete data;
  }
}

BasicAuthenticator::BasicAuthenticator(size_t cache_entries)
    : crypt_(new crypt_data()), key_(32, '\0'), cache_entries_(cache_entries) {
  if (RAND_bytes(reinterpret_cast<unsigned char*>(key_.data()), static_cast<int>(key_.size())) !=
      1) {
    // Without a secret key the cache would hold plain SHA-256 digests of
    // passwords: run without it.
    key_.clear();
  }
}

BasicAuthenticator::~BasicAuthenticator() { OPENSSL_cleanse(key_.data(), key_.size()); }

bool BasicAuthenticator::Verify(std::string_view stored, std::string_view password) {
  // A NUL would cut the password short for crypt_r (and is no valid input).
  if (password.find('\0') != std::string_view::npos) return false;
  switch (SchemeOf(stored)) {
    case HashScheme::kCrypt: {
      const std::string pw(password);
      const std::string setting(stored);
      const char* out = crypt_r(pw.c_str(), setting.c_str(), crypt_.get());
      // libxcrypt answers failures with "*0"/"*1" (never a valid hash) or NULL.
      return out != nullptr && out[0] != '*' && ConstantTimeEqual(out, stored);
    }
    case HashScheme::kApr1: {
      std::string_view salt = stored.substr(std::strlen(kApr1Magic));
      std::string computed = Apr1Hash(password, salt);
      return !computed.empty() && ConstantTimeEqual(computed, stored);
    }
    case HashScheme::kSha1: {
      unsigned char digest[SHA_DIGEST_LENGTH];
      SHA1(reinterpret_cast<const unsigned char*>(password.data()), password.size(), digest);
      std::string computed = portico::StrCat(
          "{SHA}",
          absl::Base64Escape(absl::string_view(reinterpret_cast<char*>(digest), sizeof(digest))));
      return ConstantTimeEqual(computed, stored);
    }
    case HashScheme::kUnknown:
      break;
  }
  return false;
}

std::string BasicAuthenticator::CacheKey(std::string_view user, std::string_view stored,
                                         std::string_view password) const {
  // Length-prefixed fields: ("a:b", "c") and ("a", "b:c") cannot collide.
  std::string material = key_;
  for (std::string_view field : {user, stored, password}) {
    material.append(portico::StrCat(field.size(), ":"));
    material.append(field);
  }
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(material.data()), material.size(), digest);
  OPENSSL_cleanse(material.data(), material.size());
  return std::string(reinterpret_cast<char*>(digest), sizeof(digest));
}

bool BasicAuthenticator::Allows(const router::PasswordMap& users,
                                std::optional<std::string_view> authorization) {
  if (!authorization) return false;
  std::optional<BasicCredentials> credentials = ParseBasicAuthorization(*authorization);
  if (!credentials) return false;
  auto it = users.find(credentials->user);
  bool ok = false;
  if (it != users.end()) {
    const bool cacheable = !key_.empty() && cache_entries_ != 0;
    std::string key;
    if (cacheable) {
      key = CacheKey(credentials->user, it->second, credentials->password);
      if (recent_.contains(key) || older_.contains(key)) {
        OPENSSL_cleanse(credentials->password.data(), credentials->password.size());
        return true;
      }
    }
    ++verifications_;
    ok = Verify(it->second, credentials->password);
    if (ok && cacheable) {
      if (recent_.size() >= cache_entries_) {
        older_ = std::move(recent_);
        recent_.clear();
      }
      recent_.insert(std::move(key));
    }
  }
  OPENSSL_cleanse(credentials->password.data(), credentials->password.size());
  return ok;
}

}  // namespace portico::dataplane::policy
