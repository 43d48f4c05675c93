#pragma once
// A TLS connection before it speaks HTTP: runs the handshake on its own so the
// protocol ALPN chose (h2 or http/1.1) decides which codec takes the
// connection. Counts as a connection of its worker, so drains and shutdowns
// see it.
//
// Threading: owned by a worker, on its thread.

#include <functional>
#include <memory>

#include "dataplane/event/event_loop.h"
#include "dataplane/http/server_connection.h"
#include "dataplane/tls/tls_transport.h"

namespace portico::dataplane::tls {

class HandshakeConnection final : public http::ServerConnection {
 public:
  // `done` runs once: with the transport after a completed handshake, or with
  // null after a failure, a timeout or a drain. The owner deletes this
  // connection afterwards (deferred).
  using Done = std::function<void(HandshakeConnection*, std::unique_ptr<TlsTransport>)>;
  HandshakeConnection(event::EventLoop& loop, std::unique_ptr<TlsTransport> transport,
                      double timeout, Done done);
  ~HandshakeConnection() override;

  // http::ServerConnection
  void Start() override;
  void CloseWhenIdle() override;  // a handshake in progress is abandoned

 private:
  void Step();
  void Finish(bool ok);

  event::EventLoop& loop_;
  std::unique_ptr<TlsTransport> transport_;
  const double timeout_;
  Done done_;
  event::IoWatcher io_;
  event::Timer timer_;
};

}  // namespace portico::dataplane::tls
