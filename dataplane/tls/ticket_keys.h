#pragma once
// Session ticket keys shared by every worker and every configuration, so a
// client resumes on any worker and across config changes. Rotate() makes a
// new key current; the previous ones still decrypt (tickets issued before a
// rotation resume, then get a ticket under the new key) until they fall off
// the end. The data plane rotates on a schedule (--tls-ticket-key-rotation).
//
// Threading: every method is thread-safe (handshakes on all workers, the
// rotation on the main thread).

#include <openssl/ssl.h>

// OpenSSL 3 has a ticket callback that takes an EVP_MAC_CTX; BoringSSL and
// AWS-LC have only the HMAC_CTX one (deprecated in OpenSSL 3, and slower
// there: every HMAC_Init_ex / EVP_EncryptInit_ex with a legacy EVP_MD or
// EVP_CIPHER fetches the algorithm from the provider again).
#if OPENSSL_VERSION_NUMBER >= 0x30000000L && !defined(OPENSSL_IS_BORINGSSL) && \
    !defined(OPENSSL_IS_AWSLC)
#define PORTICO_TLS_EVP_TICKET_CB 1
#else
#define PORTICO_TLS_EVP_TICKET_CB 0
#endif

#include <array>
#include <cstdint>
#include <deque>
#include <mutex>

namespace portico::dataplane::tls {

class TicketKeys {
 public:
  static constexpr size_t kKept = 3;  // current + two previous

  // The process-wide key ring.
  static TicketKeys& Global();

  TicketKeys();
  void Rotate();
  uint64_t rotations() const;

  // Installs the ticket callback on `ctx` (the context handshakes start on).
  static void Install(SSL_CTX* ctx);

 private:
  struct Key {
    std::array<unsigned char, 16> name;
    std::array<unsigned char, 32> aes;
    std::array<unsigned char, 32> hmac;
  };
#if PORTICO_TLS_EVP_TICKET_CB
  using MacCtx = EVP_MAC_CTX;
#else
  using MacCtx = HMAC_CTX;
#endif
  static int Callback(SSL* ssl, unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher,
                      MacCtx* hmac, int encrypt);
  int Handle(unsigned char* name, unsigned char* iv, EVP_CIPHER_CTX* cipher, MacCtx* hmac,
             int encrypt);

  mutable std::mutex mu_;
  std::deque<Key> keys_;  // front is current; guarded by mu_
  uint64_t rotations_ = 0;
};

}  // namespace portico::dataplane::tls
