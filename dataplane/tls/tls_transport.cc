#include "dataplane/tls/tls_transport.h"

#include <errno.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "dataplane/event/socket.h"

namespace portico::dataplane::tls {

TlsTransport::TlsTransport(int fd, std::shared_ptr<const CertificateTable> table,
                           HandshakeObserver* observer)
    : fd_(fd), keep_(table), observer_(observer) {
  ssl_ = table->NewSsl();
  if (ssl_ != nullptr) {
    SSL_set_fd(ssl_, fd_);
    SSL_set_accept_state(ssl_);
    // During the handshake only (CheckHandshake turns it off): a flight of
    // records in one read(2), not a 5-byte header read and a body read per
    // record (6 reads and an EAGAIN for a TLS 1.3 handshake, 2 with it).
    SSL_set_read_ahead(ssl_, 1);
  }
}

TlsTransport::TlsTransport(int fd, SSL* ssl, std::shared_ptr<const void> keep)
    : fd_(fd), keep_(std::move(keep)), observer_(nullptr), ssl_(ssl) {
  if (ssl_ != nullptr) {
    SSL_set_fd(ssl_, fd_);
    SSL_set_connect_state(ssl_);
  }
}

TlsTransport::~TlsTransport() {
  if (ssl_ != nullptr && !handshake_reported_ && observer_ != nullptr) {
    observer_->OnHandshakeFailed();  // closed before a handshake completed
  }
  if (ssl_ != nullptr) {
    // OpenSSL marks a session not resumable when its connection is freed
    // without a close_notify sent (ssl_clear_bad_session). Upstream
    // connections end that way all the time (idle close, the peer's close):
    // after a good handshake and no fatal error, the session stays usable.
    if (!SSL_is_server(ssl_) && handshake_done_ && failure_.empty()) {
      SSL_set_shutdown(ssl_, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
    }
    SSL_free(ssl_);
  }
  close(fd_);
}

void TlsTransport::CheckHandshake() {
  if (handshake_done_ || !SSL_is_init_finished(ssl_)) return;
  handshake_done_ = true;
  handshake_reported_ = true;
  // Afterwards, reads take what a codec asks for: a codec that stops reading
  // (backpressure) then finds the rest in the socket, where readiness shows
  // it, and not in OpenSSL's buffer. What the handshake read ahead is handed
  // over by HandshakeConnection.
  SSL_set_read_ahead(ssl_, 0);
  if (observer_ != nullptr)
    observer_->OnHandshakeDone(SSL_get_version(ssl_), SSL_session_reused(ssl_));
}

ssize_t TlsTransport::Fail(int ret) {
  int error = SSL_get_error(ssl_, ret);
  if (!handshake_done_ && failure_.empty() && error != SSL_ERROR_WANT_READ &&
      error != SSL_ERROR_WANT_WRITE) {
    // For the log line of an upstream handshake that failed (never key material).
    long verify = SSL_get_verify_result(ssl_);
    if (verify != X509_V_OK && (SSL_get_verify_mode(ssl_) & SSL_VERIFY_PEER) != 0) {
      failure_ = std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify);
    } else if (unsigned long e = ERR_peek_last_error(); e != 0) {
      char text[256];
      ERR_error_string_n(e, text, sizeof(text));
      failure_ = text;
    } else {
      failure_ = error == SSL_ERROR_ZERO_RETURN || error == SSL_ERROR_SYSCALL
                     ? "connection closed during the handshake"
                     : "handshake failed";
    }
    if (!SSL_is_server(ssl_)) {
      // An upstream's certificate problem is the operator's to fix: say which
      // endpoint and why (as nginx logs "upstream SSL certificate verify error").
      event::SocketAddress peer;
      peer.len = sizeof(peer.storage);
      if (getpeername(fd_, reinterpret_cast<sockaddr*>(&peer.storage), &peer.len) != 0) {
        peer.len = 0;
      }
      LogWarning("upstream", "TLS handshake with ", peer.len > 0 ? peer.ToString() : "upstream",
                 " failed: ", failure_);
    }
  }
  ERR_clear_error();
  switch (error) {
    case SSL_ERROR_WANT_READ:
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_WANT_WRITE:
      read_wants_write_ = true;
      errno = EAGAIN;
      return -1;
    case SSL_ERROR_ZERO_RETURN:
      return 0;  // close_notify: a clean end of the stream
    default:
      if (!handshake_done_ && !handshake_reported_) {
        handshake_reported_ = true;
        if (observer_ != nullptr) observer_->OnHandshakeFailed();
      }
      // A broken or hostile peer (bad record, truncation, not TLS at all).
      errno = ECONNRESET;
      return -1;
  }
}

int TlsTransport::Handshake() {
  if (ssl_ == nullptr) {
    errno = ENOMEM;
    return -1;
  }
  if (handshake_done_) return 1;
  read_wants_write_ = false;
  int ret = SSL_do_handshake(ssl_);
  CheckHandshake();
  if (ret == 1) return 1;
  if (Fail(ret) == 0) errno = ECONNRESET;  // close_notify before the end of the handshake
  return -1;
}

ssize_t TlsTransport::Read(char* buffer, size_t size) {
  if (ssl_ == nullptr) {
    errno = ENOMEM;
    return -1;
  }
  read_wants_write_ = false;
  // Records hold at most 16 KiB: gather several into one read for the codec.
  size_t got = 0;
  while (got < size) {
    int n = SSL_read(ssl_, buffer + got, static_cast<int>(std::min<size_t>(size - got, 1 << 30)));
    CheckHandshake();
    if (n > 0) {
      got += static_cast<size_t>(n);
      continue;
    }
    if (got > 0) {
      ERR_clear_error();
      break;  // what arrived so far; the error (or EOF) shows again on the next read
    }
    return Fail(n);
  }
  return static_cast<ssize_t>(got);
}

ssize_t TlsTransport::Write(const char* data, size_t size) {
  if (ssl_ == nullptr || !handshake_done_) {
    // Nothing may go out before the handshake (a 408 to a client that never
    // finished it): drop the connection instead.
    errno = EPIPE;
    return -1;
  }
  int n = SSL_write(ssl_, data, static_cast<int>(std::min<size_t>(size, 1 << 30)));
  if (n > 0) return n;
  ssize_t result = Fail(n);
  if (result == 0) {
    errno = EPIPE;
    return -1;
  }
  return result;
}

void TlsTransport::ShutdownWrite() {
  // Idempotent: a closing connection may ask again (lingering, then closing),
  // and the second shutdown(2) is a wasted system call (ENOTCONN, mostly).
  if (write_shut_) return;
  write_shut_ = true;
  if (ssl_ != nullptr && handshake_done_) {
    SSL_shutdown(ssl_);  // close_notify; we do not wait for the peer's
    ERR_clear_error();
  }
  shutdown(fd_, SHUT_WR);
}

bool TlsTransport::HasBufferedInput() const {
  return ssl_ != nullptr && (SSL_pending(ssl_) > 0 || SSL_has_pending(ssl_) == 1);
}

std::string TlsTransport::alpn() const {
  const unsigned char* data = nullptr;
  unsigned int len = 0;
  if (ssl_ != nullptr) SSL_get0_alpn_selected(ssl_, &data, &len);
  return data == nullptr ? std::string() : std::string(reinterpret_cast<const char*>(data), len);
}

std::string TlsTransport::server_name() const {
  const char* name =
      ssl_ == nullptr ? nullptr : SSL_get_servername(ssl_, TLSEXT_NAMETYPE_host_name);
  return name == nullptr ? std::string() : std::string(name);
}

}  // namespace portico::dataplane::tls
