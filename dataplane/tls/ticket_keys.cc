#include "dataplane/tls/ticket_keys.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstring>

#if PORTICO_TLS_EVP_TICKET_CB
#include <openssl/core_names.h>
#include <openssl/params.h>
#else
// The HMAC_CTX ticket callback is the one API that BoringSSL and AWS-LC have;
// keep the deprecation warning it raises with OpenSSL 3 to this file.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif

namespace portico::dataplane::tls {
namespace {

#if PORTICO_TLS_EVP_TICKET_CB
// Fetched once: EVP_aes_256_cbc() is a legacy handle that OpenSSL 3 resolves
// through the provider's method store on every EVP_EncryptInit_ex (a lock, a
// name lookup and a property query), twice per full handshake.
const EVP_CIPHER* TicketCipher() {
  static const EVP_CIPHER* cipher = EVP_CIPHER_fetch(nullptr, "AES-256-CBC", nullptr);
  return cipher;
}

bool InitMac(EVP_MAC_CTX* hmac, const std::array<unsigned char, 32>& key) {
  static char digest[] = "SHA256";
  OSSL_PARAM params[] = {
      OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, const_cast<unsigned char*>(key.data()),
                                        key.size()),
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end()};
  return EVP_MAC_CTX_set_params(hmac, params) == 1;
}
#else
const EVP_CIPHER* TicketCipher() { return EVP_aes_256_cbc(); }

bool InitMac(HMAC_CTX* hmac, const std::array<unsigned char, 32>& key) {
  return HMAC_Init_ex(hmac, key.data(), key.size(), EVP_sha256(), nullptr) == 1;
}
#endif

}  // namespace

TicketKeys& TicketKeys::Global() {
  static TicketKeys* keys = new TicketKeys();  // never destroyed: workers may outlive main
  return *keys;
}

TicketKeys::TicketKeys() { Rotate(); }

void TicketKeys::Rotate() {
  Key key;
  RAND_bytes(key.name.data(), key.name.size());
  RAND_bytes(key.aes.data(), key.aes.size());
  RAND_bytes(key.hmac.data(), key.hmac.size());
  std::lock_guard<std::mutex> lock(mu_);
  keys_.push_front(key);
  while (keys_.size() > kKept) keys_.pop_back();
  ++rotations_;
}

uint64_t TicketKeys::rotations() const {
  std::lock_guard<std::mutex> lock(mu_);
  return rotations_;
}

void TicketKeys::Install(SSL_CTX* ctx) {
#if PORTICO_TLS_EVP_TICKET_CB
  SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, &Callback);
#else
  SSL_CTX_set_tlsext_ticket_key_cb(ctx, &Callback);
#endif
}

int TicketKeys::Callback(SSL* ssl, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                         MacCtx* hmac, int encrypt) {
  int result = Global().Handle(name, iv, cipher, hmac, encrypt);
  // TLS 1.3 clients use a ticket once (RFC 8446 C.4; browsers do) and the
  // server sends one per full handshake: without a fresh ticket on each
  // resumption they would resume every other time. A TLS 1.2 ticket is
  // reusable: renewed only when its key is no longer the current one.
  if (!encrypt && result == 1 && SSL_version(ssl) == TLS1_3_VERSION) result = 2;
  return result;
}

int TicketKeys::Handle(unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher, MacCtx* hmac,
                       int encrypt) {
  const EVP_CIPHER* aes = TicketCipher();
  if (aes == nullptr) return -1;
  std::lock_guard<std::mutex> lock(mu_);
  if (encrypt) {
    const Key& key = keys_.front();
    if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1) return -1;
    memcpy(name, key.name.data(), key.name.size());
    if (EVP_EncryptInit_ex(cipher, aes, nullptr, key.aes.data(), iv) != 1 ||
        !InitMac(hmac, key.hmac)) {
      return -1;
    }
    return 1;
  }
  for (size_t i = 0; i < keys_.size(); ++i) {
    const Key& key = keys_[i];
    if (memcmp(name, key.name.data(), key.name.size()) != 0) continue;
    if (!InitMac(hmac, key.hmac) ||
        EVP_DecryptInit_ex(cipher, aes, nullptr, key.aes.data(), iv) != 1) {
      return -1;
    }
    return i == 0 ? 1 : 2;  // 2: valid, but issue a fresh ticket under the current key
  }
  return 0;  // unknown key: full handshake
}

}  // namespace portico::dataplane::tls
