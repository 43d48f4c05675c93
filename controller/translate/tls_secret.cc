#include "controller/translate/tls_secret.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <ctime>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/strings/match.h"
#include "common/strings.h"

namespace portico::controller::translate {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// Leaves nothing on this thread's OpenSSL error queue: a later, unrelated
// OpenSSL call on the thread would take our errors for its own.
struct ClearErrorsOnExit {
  ~ClearErrorsOnExit() { ERR_clear_error(); }
};

BioPtr MemBio(std::string_view pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

// Without a callback OpenSSL would prompt on the terminal for the passphrase
// of an encrypted key; refusing makes such a key fail to parse instead.
int NoPassphrase(char*, int, int, void*) { return -1; }

// The certificates of a PEM chain, or an error when a block does not parse.
std::string ReadChain(std::string_view pem, std::vector<X509Ptr>& chain,
                      std::string_view key = "tls.crt") {
  BioPtr bio = MemBio(pem);
  if (!bio) return portico::StrCat(key, " could not be read");
  while (true) {
    ERR_clear_error();
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr));
    if (!cert) break;
    chain.push_back(std::move(cert));
  }
  // The loop ends at the end of the input ("no start line"), or on a block
  // that does not decode.
  unsigned long err = ERR_peek_last_error();
  bool at_end = ERR_GET_LIB(err) == ERR_LIB_PEM && ERR_GET_REASON(err) == PEM_R_NO_START_LINE;
  if (chain.empty()) return portico::StrCat(key, " holds no certificate that parses");
  if (!at_end) {
    return portico::StrCat("certificate ", chain.size() + 1, " in ", key, " does not parse");
  }
  return "";
}

std::optional<absl::Time> ToTime(const ASN1_TIME* t) {
  struct tm tm {};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
  return absl::FromTimeT(timegm(&tm));
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

// "the certificate" for the leaf, "certificate 2 in tls.crt" for the chain.
std::string Which(size_t index) {
  return index == 0 ? "the certificate" : portico::StrCat("certificate ", index + 1, " in tls.crt");
}

}  // namespace

TlsSecretCheck CheckTlsSecret(const Secret& secret, std::optional<absl::Time> now) {
  TlsSecretCheck check;
  if (secret.type != kTlsSecretType) {
    check.error = portico::StrCat("type is \"", secret.type, "\", want \"", kTlsSecretType, "\"");
    return check;
  }
  auto crt = secret.data.find("tls.crt");
  if (crt == secret.data.end() || !absl::StrContains(crt->second, "-----BEGIN CERTIFICATE-----")) {
    check.error = "tls.crt is missing or holds no PEM certificate";
    return check;
  }
  auto key_pem = secret.data.find("tls.key");
  if (key_pem == secret.data.end() || !absl::StrContains(key_pem->second, "-----BEGIN ") ||
      !absl::StrContains(key_pem->second, "PRIVATE KEY-----")) {
    check.error = "tls.key is missing or holds no PEM private key";
    return check;
  }

  ClearErrorsOnExit clear_errors;
  std::vector<X509Ptr> chain;
  if (std::string problem = ReadChain(crt->second, chain); !problem.empty()) {
    check.error = std::move(problem);
    return check;
  }
  BioPtr key_bio = MemBio(key_pem->second);
  PkeyPtr key(key_bio ? PEM_read_bio_PrivateKey(key_bio.get(), nullptr, NoPassphrase, nullptr)
                      : nullptr);
  if (!key) {
    // PEM headers are not secret; the key's body never reaches a message.
    bool encrypted = absl::StrContains(key_pem->second, "-----BEGIN ENCRYPTED PRIVATE KEY-----") ||
                     absl::StrContains(key_pem->second, "Proc-Type: 4,ENCRYPTED");
    check.error = encrypted ? "tls.key is encrypted; the data plane needs an unencrypted key"
                            : "tls.key does not parse as a PEM private key";
    return check;
  }
  if (X509_check_private_key(chain.front().get(), key.get()) != 1) {
    check.error = "tls.key does not match the certificate in tls.crt";
    return check;
  }

  if (!now.has_value()) return check;
  for (size_t i = 0; i < chain.size(); ++i) {
    std::optional<absl::Time> not_after = ToTime(X509_get0_notAfter(chain[i].get()));
    if (!not_after.has_value()) {
      check.error = portico::StrCat(Which(i), " has an unreadable notAfter");
      return check;
    }
    // Both thresholds only move one way as time passes: once crossed, crossed.
    for (absl::Time threshold : {*not_after - kCertificateExpiryWarning, *not_after}) {
      if (threshold >= *now && (!check.stable_until || threshold < *check.stable_until)) {
        check.stable_until = threshold;
      }
    }
    if (*not_after < *now) {
      check.error = portico::StrCat(Which(i), " expired at ", Rfc3339(*not_after));
      return check;
    }
    if (*not_after - *now < kCertificateExpiryWarning && check.warning.empty()) {
      check.warning =
          portico::StrCat(Which(i), " expires at ", Rfc3339(*not_after), ", in less than ",
                          kCertificateExpiryWarning / absl::Hours(24), " days");
    }
  }
  return check;
}

std::string CheckCaBundle(const Secret& secret) {
  auto ca = secret.data.find("ca.crt");
  if (ca == secret.data.end() || ca->second.empty()) return "it has no ca.crt";
  ClearErrorsOnExit clear_errors;
  std::vector<X509Ptr> certificates;
  return ReadChain(ca->second, certificates, "ca.crt");
}

}  // namespace portico::controller::translate
