#pragma once
// A websocket after its 101 Switching Protocols: two sockets (the client's,
// plain or TLS, and the upstream's) copied into each other as raw bytes. Each
// direction has backpressure (the reading side stops while the other side's
// output is above a watermark), an EOF is passed on as a half-close, and the
// tunnel closes once both directions ended, on an error, or after
// `idle_timeout` seconds without a byte either way.
//
// It is a downstream connection to its worker: it replaces the HTTP/1.1
// connection in the worker's accounting, so a drain waits for it until the
// drain deadline ends the loop. Threading: the owning worker's thread only.

#include <memory>
#include <string>

#include "dataplane/event/buffer.h"
#include "dataplane/event/event_loop.h"
#include "dataplane/event/transport.h"
#include "dataplane/http/server_connection.h"
#include "dataplane/http/stream.h"

namespace portico::dataplane::proxy {

class Tunnel final : public http::ServerConnection {
 public:
  // `downstream_output`: bytes still owed to the client (the 101);
  // `downstream_input`: what the client sent after its request;
  // upstream.input: what the upstream sent after its 101.
  Tunnel(event::EventLoop& loop, http::ConnectionOwner& owner,
         std::unique_ptr<event::Transport> downstream, std::string downstream_output,
         std::string downstream_input, http::UpgradedUpstream upstream);
  ~Tunnel() override;

  // http::ServerConnection
  void Start() override;
  // A tunnel has no idle moment to close at: a drain lets it run until the
  // drain deadline stops the worker, which closes both sockets.
  void CloseWhenIdle() override {}

 private:
  struct Side {
    std::unique_ptr<event::Transport> transport;
    std::unique_ptr<event::IoWatcher> io;
    event::Buffer out;        // bytes for this side's socket
    bool read_eof = false;    // this side sent its last byte
    bool write_shut = false;  // and we told it that the other side did
    bool paused = false;      // not read: the other side's buffer is full
  };

  void OnIo(Side& side, int revents);
  // Reads from `side` into the other side's buffer while it has room.
  void Read(Side& side);
  void Flush(Side& side);
  void UpdateInterest(Side& side);
  void MaybeFinish();
  Side& Other(Side& side) { return &side == &down_ ? up_ : down_; }
  void Close();

  event::EventLoop& loop_;
  http::ConnectionOwner& owner_;
  Side down_;
  Side up_;
  double idle_timeout_;
  event::Timer idle_;
  bool closed_ = false;
};

}  // namespace portico::dataplane::proxy
