#pragma once
// One upstream HTTP/1.1 connection: non-blocking connect (and the transport's
// handshake: TLS to the upstream), one exchange at a time, keep-alive,
// streamed bodies with backpressure, connect and response timeouts. Owned by
// a connection pool on one worker.

#include <llhttp.h>
#include <sys/socket.h>

#include <chrono>
#include <string>

#include "dataplane/event/buffer.h"
#include "dataplane/event/event_loop.h"
#include "dataplane/event/transport.h"
#include "dataplane/event/upstream_connect.h"
#include "dataplane/http/client_stream.h"

namespace portico::dataplane::http1 {

class ClientConnection;

class ClientConnectionOwner {
 public:
  virtual ~ClientConnectionOwner() = default;
  // The exchange finished and the connection can serve another request.
  virtual void OnIdle(ClientConnection* connection) = 0;
  // The connect (TCP, then the transport's handshake) finished after
  // `seconds` (not called when it failed).
  virtual void OnConnected(ClientConnection* connection, double seconds) = 0;
  // The socket is closed; the owner schedules deletion.
  virtual void OnClosed(ClientConnection* connection) = 0;
};

struct ClientSettings {
  double connect_timeout = 5;
  double response_timeout = 60;
  // A request write (headers or body) that makes no progress this long fails
  // the exchange with kSendTimeout (proxy-send-timeout).
  double send_timeout = 60;
  double idle_timeout = 60;
};

class ClientConnection final : public http::ClientStream, public event::Deferrable {
 public:
  ClientConnection(event::EventLoop& loop, ClientConnectionOwner& owner, std::string pool_key,
                   ClientSettings settings);
  ~ClientConnection() override;

  // Starts the non-blocking connect; failures are reported to the handler.
  // `wrap` (may be empty: the plain socket) makes the connected socket's
  // transport; its handshake counts as part of the connect (and its timeout).
  void Connect(const sockaddr* addr, socklen_t len, const event::TransportFactory& wrap = {});
  // Binds the next exchange to `handler` (a fresh or an idle connection).
  void Attach(http::ClientStreamHandler* handler, ClientSettings settings);
  // Idle in the pool: watch for the upstream closing it, and time out.
  void Park();
  void Close();

  const std::string& pool_key() const { return pool_key_; }

  // http::ClientStream
  bool connected() const override { return state_ != State::kConnecting; }
  bool reused() const override { return exchanges_ > 0; }
  void SendRequest(const http::RequestHead& head, bool end_stream) override;
  void SendBody(std::string_view data, bool end_stream) override;
  bool RequestBlocked() const override;
  void PauseResponse() override;
  void ResumeResponse() override;
  void Cancel() override;

 private:
  enum class State { kConnecting, kReady, kExchange, kIdle, kClosed };

  int OnHeadersComplete();
  int OnBodyData(const char* at, size_t len);
  int OnMessageComplete();
  friend struct ClientParserCallbacks;

  void OnIo(int revents);
  void OnEstablished();
  // One read; false when the connection closed or failed.
  bool ReadOnce();
  void OnReadable();
  void OnTimeout();
  void Fail(http::UpstreamFailure failure);
  // After a 101: gives the socket and the bytes behind the 101 to the handler.
  void HandOffUpgraded();
  void Flush();
  void ScheduleFlush();
  void UpdateInterest();

  event::EventLoop& loop_;
  ClientConnectionOwner& owner_;
  std::string pool_key_;
  ClientSettings settings_;
  std::unique_ptr<event::Transport> transport_;
  event::UpstreamConnect connect_;
  std::unique_ptr<event::IoWatcher> io_;
  event::Timer timer_;
  event::Timer send_timer_;  // armed while request bytes wait for the socket
  llhttp_t parser_;
  event::Buffer in_;
  event::Buffer out_;
  State state_ = State::kConnecting;
  http::ClientStreamHandler* handler_ = nullptr;
  uint64_t exchanges_ = 0;

  // Current exchange.
  bool head_request_ = false;
  bool request_chunked_ = false;
  bool request_complete_ = false;
  bool request_blocked_ = false;
  bool response_started_ = false;
  bool response_paused_ = false;
  bool informational_ = false;
  bool upgrade_requested_ = false;  // the request asked for a websocket
  bool upgraded_ = false;           // and the upstream answered 101
  bool flush_scheduled_ = false;
  http::ResponseHead response_;
  std::string field_;
  std::string value_;
  bool in_value_ = false;
};

}  // namespace portico::dataplane::http1
