#include "dataplane/tls/handshake_connection.h"

#include <errno.h>

namespace portico::dataplane::tls {

HandshakeConnection::HandshakeConnection(event::EventLoop& loop,
                                         std::unique_ptr<TlsTransport> transport, double timeout,
                                         Done done)
    : loop_(loop),
      transport_(std::move(transport)),
      timeout_(timeout),
      done_(std::move(done)),
      io_(loop, transport_->fd(), [this](int) { Step(); }),
      timer_(loop, [this] { Finish(false); }) {}

HandshakeConnection::~HandshakeConnection() = default;

void HandshakeConnection::Start() {
  timer_.Start(timeout_);
  Step();  // the ClientHello is often there already
}

void HandshakeConnection::CloseWhenIdle() { Finish(false); }

void HandshakeConnection::Step() {
  if (!done_) return;
  if (transport_->Handshake() == 1) {
    Finish(true);
    return;
  }
  if (errno != EAGAIN) {
    Finish(false);
    return;
  }
  io_.Watch(transport_->ReadWantsWrite() ? EV_WRITE : EV_READ);
}

void HandshakeConnection::Finish(bool ok) {
  if (!done_) return;
  io_.Watch(0);
  timer_.Stop();
  Done done = std::move(done_);
  done_ = nullptr;
  std::unique_ptr<TlsTransport> transport = std::move(transport_);
  if (!ok) transport.reset();  // closes the socket
  // The handshake reads ahead (tls_transport.h): what the client sent right
  // after its Finished (often the first request) may sit in OpenSSL's buffer,
  // which the socket no longer signals. The codec that takes the transport
  // watches the descriptor by the time `done` returns: hand it a read event.
  const int buffered_fd =
      transport != nullptr && transport->HasBufferedInput() ? transport->fd() : -1;
  event::EventLoop& loop = loop_;  // `this` may be released by `done`
  done(this, std::move(transport));
  if (buffered_fd >= 0) ev_feed_fd_event(loop.raw(), buffered_fd, EV_READ);
}

}  // namespace portico::dataplane::tls
