#pragma once
// A downstream connection as its worker sees it, whichever codec speaks on it
// (HTTP/1.1, HTTP/2, or a TLS handshake still choosing between them).
// Threading: everything here runs on the owning worker's thread.

#include <memory>

#include "dataplane/event/event_loop.h"
#include "dataplane/http/stream.h"

namespace portico::dataplane::http {

class ServerConnection : public event::Deferrable {
 public:
  virtual void Start() = 0;
  // Drain: finish what is in flight, then close (HTTP/2 announces GOAWAY first).
  virtual void CloseWhenIdle() = 0;
};

// What every codec reports to its worker.
class ConnectionOwner {
 public:
  virtual ~ConnectionOwner() = default;
  virtual bool draining() const = 0;
  // The connection closed its socket (or handed it on); the owner schedules
  // its deletion. No calls into the connection after this.
  virtual void OnConnectionClosed(ServerConnection* connection) = 0;
  // A request rejected by the codec itself (malformed, too large, too slow).
  virtual void OnProtocolError(int status) = 0;
};

}  // namespace portico::dataplane::http
