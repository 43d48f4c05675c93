#pragma once
// Which certificate a TLS client gets, by the server name it sends (SNI):
// the exact host, else the one-label wildcard ("*.example.com" for
// "a.example.com"), else the certificate of the catch-all virtual host, else
// the fallback (--default-certificate, or a generated self-signed one).
// Built with each configuration (one SSL_CTX per certificate) and swapped
// with it: a connection keeps the table it started with, new connections
// get the new certificates, nothing is dropped.
//
// Every context speaks TLS 1.2 and 1.3 with forward-secret AEAD ciphers
// only, no renegotiation or compression, ALPN from `alpn` (server order),
// and session tickets from the process-wide TicketKeys.
//
// Threading: immutable after Build(); shared by all workers.

#include <openssl/ssl.h>

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "dataplane/tls/certificate.h"

namespace portico::dataplane::tls {

struct HostCertificate {
  std::string hostname;  // "a.example.com", "*.example.com", or "" for the catch-all host
  std::shared_ptr<const ServerCertificate> certificate;
};

class CertificateTable {
 public:
  static absl::StatusOr<std::shared_ptr<const CertificateTable>> Build(
      const std::vector<HostCertificate>& hosts, std::shared_ptr<const ServerCertificate> fallback,
      std::vector<std::string> alpn = {"http/1.1"});
  ~CertificateTable();

  // The certificate `server_name` gets (any case, trailing dot ignored; empty:
  // the client sent no SNI).
  const ServerCertificate& Select(std::string_view server_name) const;

  // A server SSL for an accepted connection; the caller owns it and must keep
  // this table alive while it lives (its callbacks point here).
  SSL* NewSsl() const;

  size_t size() const { return entries_.size(); }
  // Every distinct certificate, the fallback first.
  std::vector<std::shared_ptr<const ServerCertificate>> certificates() const;

 private:
  struct Entry {
    std::shared_ptr<const ServerCertificate> certificate;
    SSL_CTX* ctx = nullptr;
  };
  CertificateTable() = default;
  const Entry& EntryFor(std::string_view server_name) const;
  static int OnServerName(SSL* ssl, int* alert, void* arg);
  static int OnAlpn(SSL* ssl, const unsigned char** out, unsigned char* out_len,
                    const unsigned char* in, unsigned int in_len, void* arg);

  std::vector<std::unique_ptr<Entry>> entries_;  // [0] is the fallback
  absl::flat_hash_map<std::string, const Entry*> exact_;
  absl::flat_hash_map<std::string, const Entry*> wildcard_;  // by the suffix after "*."
  const Entry* catch_all_ = nullptr;
  std::string alpn_wire_;  // length-prefixed protocol list
};

}  // namespace portico::dataplane::tls
