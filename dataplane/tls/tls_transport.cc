#include "dataplane/tls/tls_transport.h"

#include <errno.h>
#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

namespace portico::dataplane::tls {

TlsTransport::TlsTransport(int fd, std::shared_ptr<const CertificateTable> table,
                           HandshakeObserver* observer)
    : fd_(fd), table_(std::move(table)), observer_(observer) {
  ssl_ = table_->NewSsl();
  if (ssl_ != nullptr) {
    SSL_set_fd(ssl_, fd_);
    SSL_set_accept_state(ssl_);
  }
}

TlsTransport::~TlsTransport() {
  if (ssl_ != nullptr && !handshake_reported_ && observer_ != nullptr) {
    observer_->OnHandshakeFailed();  // closed before a handshake completed
  }
  if (ssl_ != nullptr) SSL_free(ssl_);
  close(fd_);
}

void TlsTransport::CheckHandshake() {
  if (handshake_done_ || !SSL_is_init_finished(ssl_)) return;
  handshake_done_ = true;
  handshake_reported_ = true;
  if (observer_ != nullptr)
    observer_->OnHandshakeDone(SSL_get_version(ssl_), SSL_session_reused(ssl_));
}

ssize_t TlsTransport::Fail(int ret) {
  int error = SSL_get_error(ssl_, ret);
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
