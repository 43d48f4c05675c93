#include "dataplane/tls/certificate.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "common/log.h"
#include "common/strings.h"

namespace portico::dataplane::tls {
namespace {

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

BioPtr MemBio(std::string_view pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

time_t NotAfter(X509* cert) {
  struct tm tm {};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1) return 0;
  return timegm(&tm);
}

PkeyPtr GenerateP256() {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, nullptr);
  EVP_PKEY* key = nullptr;
  if (ctx != nullptr && EVP_PKEY_keygen_init(ctx) == 1 &&
      EVP_PKEY_CTX_set_ec_paramgen_curve_nid(ctx, NID_X9_62_prime256v1) == 1) {
    EVP_PKEY_keygen(ctx, &key);
  }
  EVP_PKEY_CTX_free(ctx);
  return PkeyPtr(key);
}

}  // namespace

absl::StatusOr<std::shared_ptr<const ServerCertificate>> ServerCertificate::FromPem(
    std::string_view chain_pem, std::string_view key_pem, std::string name) {
  std::shared_ptr<ServerCertificate> cert(new ServerCertificate());
  cert->name_ = std::move(name);
  BioPtr chain_bio = MemBio(chain_pem);
  cert->leaf_.reset(PEM_read_bio_X509(chain_bio.get(), nullptr, nullptr, nullptr));
  if (!cert->leaf_) {
    return absl::InvalidArgumentError(
        StrCat("certificate ", cert->name_, ": no PEM certificate in the chain"));
  }
  while (X509* extra = PEM_read_bio_X509(chain_bio.get(), nullptr, nullptr, nullptr)) {
    cert->chain_.emplace_back(extra);
  }
  ERR_clear_error();  // the loop ends on a "no start line" error
  BioPtr key_bio = MemBio(key_pem);
  cert->key_.reset(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (!cert->key_) {
    return absl::InvalidArgumentError(
        StrCat("certificate ", cert->name_, ": the private key does not parse as PEM"));
  }
  if (X509_check_private_key(cert->leaf_.get(), cert->key_.get()) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError(
        StrCat("certificate ", cert->name_, ": the private key does not match the certificate"));
  }
  cert->not_after_ = NotAfter(cert->leaf_.get());
  return std::shared_ptr<const ServerCertificate>(std::move(cert));
}

std::shared_ptr<const ServerCertificate> ServerCertificate::SelfSigned() {
  static const std::shared_ptr<const ServerCertificate> generated = [] {
    std::shared_ptr<ServerCertificate> cert(new ServerCertificate());
    cert->name_ = "self-signed default";
    cert->key_ = GenerateP256();
    X509* x = X509_new();
    cert->leaf_.reset(x);
    X509_set_version(x, 2);
    unsigned char serial[16];
    RAND_bytes(serial, sizeof(serial));
    serial[0] &= 0x7f;
    BIGNUM* bn = BN_bin2bn(serial, sizeof(serial), nullptr);
    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
    BN_free(bn);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 10L * 365 * 24 * 3600);
    X509_NAME* subject = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(subject, "O", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("Portico"), -1, -1, 0);
    X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                               reinterpret_cast<const unsigned char*>("portico-default"), -1, -1,
                               0);
    X509_set_issuer_name(x, subject);
    X509_set_pubkey(x, cert->key_.get());
    X509V3_CTX v3;
    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, x, x, nullptr, nullptr, 0);
    if (X509_EXTENSION* san =
            X509V3_EXT_conf_nid(nullptr, &v3, NID_subject_alt_name, "DNS:portico-default")) {
      X509_add_ext(x, san, -1);
      X509_EXTENSION_free(san);
    }
    if (X509_sign(x, cert->key_.get(), EVP_sha256()) == 0) {
      LogError("tls", "could not sign the self-signed default certificate");
    }
    cert->not_after_ = NotAfter(x);
    return std::shared_ptr<const ServerCertificate>(std::move(cert));
  }();
  return generated;
}

}  // namespace portico::dataplane::tls
