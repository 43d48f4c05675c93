#pragma once
// Keys and certificates made in memory for the TLS tests.
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <string>

#include "absl/time/time.h"
#include "gtest/gtest.h"

namespace portico::controller::translate::testing {

// Keys are made once (RSA generation is slow) and live as long as the test.
inline EVP_PKEY* EcKey() {
  static EVP_PKEY* key = EVP_EC_gen("P-256");
  return key;
}
inline EVP_PKEY* OtherEcKey() {
  static EVP_PKEY* key = EVP_EC_gen("P-256");
  return key;
}
inline EVP_PKEY* RsaKey() {
  static EVP_PKEY* key = EVP_RSA_gen(2048);
  return key;
}

inline std::string Drain(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(n));
  BIO_free(bio);
  return out;
}

inline std::string KeyPem(EVP_PKEY* key) {
  BIO* bio = BIO_new(BIO_s_mem());
  EXPECT_EQ(PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr), 1);
  return Drain(bio);
}

// A PEM certificate for `key`, valid [not_before, not_after], signed by
// `issuer_key` (self-signed when null).
inline std::string CertPem(EVP_PKEY* key, absl::Time not_before, absl::Time not_after,
                           const std::string& cn = "test", EVP_PKEY* issuer_key = nullptr,
                           const std::string& issuer_cn = "") {
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  ASN1_TIME_set(X509_getm_notBefore(x), absl::ToTimeT(not_before));
  ASN1_TIME_set(X509_getm_notAfter(x), absl::ToTimeT(not_after));
  auto name = [](const std::string& text) {
    X509_NAME* n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>(text.c_str()), -1, -1, 0);
    return n;
  };
  X509_NAME* subject = name(cn);
  X509_NAME* issuer = name(issuer_key != nullptr ? issuer_cn : cn);
  X509_set_subject_name(x, subject);
  X509_set_issuer_name(x, issuer);
  X509_NAME_free(subject);
  X509_NAME_free(issuer);
  X509_set_pubkey(x, key);
  EXPECT_GT(X509_sign(x, issuer_key != nullptr ? issuer_key : key, EVP_sha256()), 0);
  BIO* bio = BIO_new(BIO_s_mem());
  EXPECT_EQ(PEM_write_bio_X509(bio, x), 1);
  X509_free(x);
  return Drain(bio);
}

}  // namespace portico::controller::translate::testing
