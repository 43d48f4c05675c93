#pragma once
// A server certificate: the leaf, its chain and the private key, parsed from
// PEM and checked to belong together. Immutable and shareable between
// threads. The key is never printed: errors name the certificate, not its
// contents.

#include <openssl/ssl.h>

#include <ctime>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace portico::dataplane::tls {

struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

class ServerCertificate {
 public:
  // `chain_pem`: the leaf first, then intermediates. `name` is for messages
  // (the Secret's "namespace/name", or a file name).
  static absl::StatusOr<std::shared_ptr<const ServerCertificate>> FromPem(
      std::string_view chain_pem, std::string_view key_pem, std::string name);

  // A self-signed ECDSA P-256 certificate for "portico-default", made once
  // per process: what an unknown host gets when no default is configured.
  static std::shared_ptr<const ServerCertificate> SelfSigned();

  const std::string& name() const { return name_; }
  X509* leaf() const { return leaf_.get(); }
  const std::vector<X509Ptr>& chain() const { return chain_; }
  EVP_PKEY* key() const { return key_.get(); }
  // notAfter, seconds since the Unix epoch.
  time_t not_after() const { return not_after_; }

 private:
  ServerCertificate() = default;

  std::string name_;
  X509Ptr leaf_;
  std::vector<X509Ptr> chain_;
  PkeyPtr key_;
  time_t not_after_ = 0;
};

}  // namespace portico::dataplane::tls
