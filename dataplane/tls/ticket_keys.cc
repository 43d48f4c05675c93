#include "dataplane/tls/ticket_keys.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <cstring>

// The HMAC_CTX ticket callback is the one API that OpenSSL, BoringSSL and
// AWS-LC all have; OpenSSL 3 deprecates it in favour of an EVP_MAC variant
// the others lack. Keep it, and keep the deprecation warning to this file.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace portico::dataplane::tls {

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

void TicketKeys::Install(SSL_CTX* ctx) { SSL_CTX_set_tlsext_ticket_key_cb(ctx, &Callback); }

int TicketKeys::Callback(SSL*, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                         HMAC_CTX* hmac, int encrypt) {
  return Global().Handle(name, iv, cipher, hmac, encrypt);
}

int TicketKeys::Handle(unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                       HMAC_CTX* hmac, int encrypt) {
  std::lock_guard<std::mutex> lock(mu_);
  if (encrypt) {
    const Key& key = keys_.front();
    if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) != 1) return -1;
    memcpy(name, key.name.data(), key.name.size());
    if (EVP_EncryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes.data(), iv) != 1 ||
        HMAC_Init_ex(hmac, key.hmac.data(), key.hmac.size(), EVP_sha256(), nullptr) != 1) {
      return -1;
    }
    return 1;
  }
  for (size_t i = 0; i < keys_.size(); ++i) {
    const Key& key = keys_[i];
    if (memcmp(name, key.name.data(), key.name.size()) != 0) continue;
    if (HMAC_Init_ex(hmac, key.hmac.data(), key.hmac.size(), EVP_sha256(), nullptr) != 1 ||
        EVP_DecryptInit_ex(cipher, EVP_aes_256_cbc(), nullptr, key.aes.data(), iv) != 1) {
      return -1;
    }
    return i == 0 ? 1 : 2;  // 2: valid, but issue a fresh ticket under the current key
  }
  return 0;  // unknown key: full handshake
}

}  // namespace portico::dataplane::tls
