#pragma once
// A connection whose first bytes must be a PROXY protocol header (v1 or v2),
// before TLS or HTTP: reads exactly the header (never a byte of what follows,
// so that TLS or the HTTP codec takes the socket as if fresh), within a
// deadline, then hands the socket on with the header's source as the peer.
// Counts as a connection of its worker, so drains and shutdowns see it.
//
// Threading: owned by a worker, on its thread.

#include <functional>
#include <optional>
#include <string>

#include "dataplane/event/event_loop.h"
#include "dataplane/event/proxy_protocol.h"
#include "dataplane/http/server_connection.h"

namespace portico::dataplane::proxy {

class ProxyHeaderConnection final : public http::ServerConnection {
 public:
  // `done` runs once: with the socket and the parsed header, or with fd -1
  // after an invalid header, a timeout, EOF or a drain (the socket is closed
  // then). The owner deletes this connection afterwards (deferred).
  using Done =
      std::function<void(ProxyHeaderConnection*, int fd, const event::ProxyHeader& header)>;
  ProxyHeaderConnection(event::EventLoop& loop, int fd, double timeout, Done done);
  ~ProxyHeaderConnection() override;

  // http::ServerConnection
  void Start() override;
  void CloseWhenIdle() override;  // a header not yet complete is abandoned

 private:
  void Step();
  void Finish(bool ok, const event::ProxyHeader& header = {});

  int fd_;
  const double timeout_;
  Done done_;
  std::string received_;  // header bytes consumed so far
  event::IoWatcher io_;
  event::Timer timer_;
};

}  // namespace portico::dataplane::proxy
