#pragma once
// TLS over a connected socket, as an event::Transport: the server side of a
// handshake that runs inside the first reads (SNI picks the certificate from
// the CertificateTable, ALPN the protocol), or the client side towards an
// upstream (upstream_tls.h configures it), then records in both directions.
//
// Threading: owned by one connection, on its worker's thread.

#include <openssl/ssl.h>

#include <memory>
#include <string>

#include "dataplane/event/object_slab.h"
#include "dataplane/event/transport.h"
#include "dataplane/tls/certificate_table.h"

namespace portico::dataplane::tls {

// What a worker counts about handshakes (plain fields, written by the worker's thread).
class HandshakeObserver {
 public:
  virtual ~HandshakeObserver() = default;
  // `version`: "TLSv1.2", "TLSv1.3"; `resumed`: from a session ticket.
  virtual void OnHandshakeDone(const char* version, bool resumed) = 0;
  virtual void OnHandshakeFailed() = 0;
};

class TlsTransport final : public event::Transport {
 public:
  // One per connection, kept densely (dataplane/event/object_slab.h).
  PORTICO_SLAB_ALLOCATED(TlsTransport)

  // Takes ownership of `fd`. `observer` may be null and must outlive this.
  TlsTransport(int fd, std::shared_ptr<const CertificateTable> table, HandshakeObserver* observer);
  // The client side: `ssl` is configured (SNI, verification, ALPN) and owned
  // from now on; `keep` holds what its callbacks point into.
  TlsTransport(int fd, SSL* ssl, std::shared_ptr<const void> keep);
  ~TlsTransport() override;
  TlsTransport(const TlsTransport&) = delete;
  TlsTransport& operator=(const TlsTransport&) = delete;

  int fd() const override { return fd_; }
  ssize_t Read(char* buffer, size_t size) override;
  ssize_t Write(const char* data, size_t size) override;
  void ShutdownWrite() override;
  bool HasBufferedInput() const override;
  bool ReadWantsWrite() const override { return read_wants_write_; }
  bool secure() const override { return true; }

  // Drives the handshake alone: 1 when done; -1 with errno EAGAIN to wait
  // (for writability when ReadWantsWrite()); -1 with another errno on failure.
  int Handshake() override;
  bool handshake_done() const { return handshake_done_; }
  // The negotiated ALPN protocol ("" when none), once the handshake is done.
  std::string alpn() const;
  // The SNI name the client sent ("" when none).
  std::string server_name() const;
  // Why the handshake failed ("certificate verify failed: ..."), once it did.
  const std::string& failure() const { return failure_; }

 private:
  // Maps an SSL error to the Transport contract (errno set); -1 or 0 (EOF).
  ssize_t Fail(int ret);
  void CheckHandshake();

  const int fd_;
  const std::shared_ptr<const void> keep_;  // the SSL's callbacks point into it
  HandshakeObserver* const observer_;
  SSL* ssl_ = nullptr;
  bool handshake_done_ = false;
  bool handshake_reported_ = false;
  bool read_wants_write_ = false;
  bool write_shut_ = false;
  std::string failure_;
};

}  // namespace portico::dataplane::tls
