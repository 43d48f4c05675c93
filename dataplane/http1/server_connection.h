#pragma once
// One downstream HTTP/1.1 connection: llhttp in strict mode, keep-alive,
// pipelining (one request at a time, responses in order), streamed bodies with
// backpressure, header/line/body limits and timeouts. Owned by a worker;
// every method runs on that worker's thread.

#include <llhttp.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "dataplane/event/buffer.h"
#include "dataplane/event/event_loop.h"
#include "dataplane/event/member_watchers.h"
#include "dataplane/event/object_slab.h"
#include "dataplane/event/transport.h"
#include "dataplane/http/server_connection.h"
#include "dataplane/http/stream.h"

namespace portico::dataplane::http1 {

struct ServerSettings {
  double header_timeout = 60;     // seconds from a request's first byte to its last header
  double body_timeout = 60;       // seconds between two reads of a request body
  double keepalive_timeout = 75;  // idle seconds between requests
  uint32_t max_header_bytes = 32768;
  uint32_t max_headers = 100;
  uint32_t max_request_line = 8192;
  uint64_t max_body_bytes = 0;  // 0: unlimited
  uint32_t max_keepalive_requests = 1000;
  // h2c with prior knowledge: a connection that opens with the HTTP/2
  // preface is handed to the owner instead of parsed as HTTP/1.1.
  bool h2c = false;
};

class ServerConnection;

// The worker side of a connection.
class ConnectionOwner : public http::ConnectionOwner {
 public:
  // Current limits; read at the start of each request.
  virtual const ServerSettings& http1_settings() const = 0;
  // With ServerSettings::h2c: the client sent the HTTP/2 preface. The owner
  // takes the transport and the input read so far (the preface included),
  // and deletes this connection (deferred): it is done.
  virtual void OnHttp2Preface(ServerConnection* connection,
                              std::unique_ptr<event::Transport> transport, std::string input) = 0;
  // With ServerSettings::h2c, a bodiless request asked for "Upgrade: h2c"
  // (RFC 7540 3.2): the owner answers 101 through `output`, starts HTTP/2 on
  // the transport with `head` as stream 1 and the decoded HTTP2-Settings,
  // and deletes this connection (deferred).
  virtual void OnHttp2Upgrade(ServerConnection* connection,
                              std::unique_ptr<event::Transport> transport, std::string output,
                              std::string input, http::RequestHead head,
                              std::string settings_payload) = 0;
  // A websocket request was answered 101: the owner takes the transport, the
  // output not yet written (the 101 included), the client's input read past
  // the request, and the upstream end, and deletes this connection (deferred).
  virtual void OnUpgrade(ServerConnection* connection, std::unique_ptr<event::Transport> transport,
                         std::string output, std::string input,
                         http::UpgradedUpstream upstream) = 0;
};

class ServerConnection final : public http::ServerConnection, public http::ResponseSink {
 public:
  // One per connection, kept densely (dataplane/event/object_slab.h).
  PORTICO_SLAB_ALLOCATED(ServerConnection)

  // `transport` wraps a connected, non-blocking socket (plain or TLS).
  ServerConnection(event::EventLoop& loop, std::unique_ptr<event::Transport> transport,
                   http::ConnectionInfo info, ConnectionOwner& owner,
                   http::RequestHandlerFactory& factory);
  ~ServerConnection() override;

  // http::ServerConnection
  void Start() override;
  // Drain: close now if idle, else after the current response.
  void CloseWhenIdle() override;
  bool idle() const { return state_ == State::kIdle && !handler_; }

  // http::ResponseSink
  const http::ConnectionInfo& connection() const override { return info_; }
  void SendInformational(int status) override;
  void SendHeaders(http::ResponseHead head, bool end_stream) override;
  void SendBody(std::string_view data, bool end_stream) override;
  void SendTrailers(http::HeaderMap trailers) override;
  void Abort() override;
  bool ResponseBlocked() const override;
  void PauseRequestBody() override;
  void ResumeRequestBody() override;
  bool closing() const override { return close_after_response_; }
  void SendUpgrade(http::ResponseHead head, http::UpgradedUpstream upstream) override;

 private:
  enum class State : uint8_t { kIdle, kHeaders, kBody, kWaiting, kLingering, kClosed };

  // llhttp trampolines' targets.
  int OnMessageBegin();
  int OnUrl(const char* at, size_t len);
  int OnHeaderField(const char* at, size_t len);
  int OnHeaderValue(const char* at, size_t len);
  int OnHeadersComplete();
  int OnBodyData(const char* at, size_t len);
  int OnMessageComplete();
  friend struct ParserCallbacks;

  void OnIo(int revents);
  void OnReadable();
  // One read; false when nothing more can be read now.
  bool ReadOnce();
  bool WantRead() const;
  void OnTimeout();
  void ProcessInput();
  void ScheduleProcessInput();
  int CommitHeader();
  int Reject(int status);
  void SendError(int status);
  void ResponseComplete();
  void UpdateReadInterest();
  void ScheduleFlush();
  void Flush();
  // Writes `data` at once when nothing is queued ahead of it; returns the rest.
  std::string_view WriteThrough(std::string_view data);
  void FinishWithClose();
  // A response that ends the connection is written: close at once, no lingering.
  bool NothingMoreExpected() const;
  // Checks the input for the HTTP/2 preface; true when the connection was handed on.
  bool MaybeHandOffHttp2();
  // "Connection: upgrade" + "Upgrade: websocket" on a bodiless HTTP/1.1 GET.
  bool IsWebsocketUpgrade() const;
  // "Upgrade: h2c" with HTTP2-Settings on a bodiless request; fills the payload.
  bool IsH2cUpgrade(std::string* settings_payload) const;
  void HandOffUpgradedHttp2();
  void Close();

  // Member order keeps an idle connection small (560 -> 312 bytes): what
  // only a request in progress needs lives in RequestState.
  event::EventLoop& loop_;
  std::unique_ptr<event::Transport> transport_;  // null once closed
  ConnectionOwner& owner_;
  http::RequestHandlerFactory& factory_;
  http::ConnectionInfo info_;
  event::MemberIoWatcher<ServerConnection, &ServerConnection::OnIo> io_;
  // Lazy: re-armed by every request, it touches libev's heap only when a
  // deadline comes sooner (member_watchers.h).
  event::LazyMemberTimer<ServerConnection, &ServerConnection::OnTimeout> timer_;
  event::Buffer in_;
  event::Buffer out_;

  // Request being parsed: allocated at a request's first byte (from the
  // thread's slab), freed when the connection parks (null while idle).
  struct RequestState final {
    PORTICO_SLAB_ALLOCATED(RequestState)
    RequestState();
    llhttp_t parser;  // a parked connection is between messages: a fresh parser resumes it
    http::RequestHead head;
    std::string url;
    std::string field;
    std::string value;
    std::string h2c_settings;          // decoded HTTP2-Settings of an h2c upgrade
    ServerSettings settings;           // read at the request's first byte
    const char* exec_begin = nullptr;  // start of the input given to llhttp_execute
    char exec_prev_byte = 0;           // last byte of the previous input
    bool in_value = false;
    uint32_t header_bytes = 0;
    int reject_status = 0;
    uint64_t body_bytes = 0;
  };
  std::unique_ptr<RequestState> req_;
  // The request's limits, or the owner's current ones between requests.
  const ServerSettings& settings() const {
    return req_ != nullptr ? req_->settings : owner_.http1_settings();
  }
  // Frees the request state and the input buffer of a connection that has
  // nothing in progress and no input pending.
  void ParkIfIdle();
  State state_ = State::kIdle;
  bool executing_ = false;  // inside llhttp_execute: req_ (the parser) must stay
  bool request_complete_ = false;
  bool discard_body_ = false;  // response finished before the request: drop the rest

  // Response being written.
  bool response_started_ = false;
  bool response_chunked_ = false;
  bool response_blocked_ = false;
  bool close_after_response_ = false;
  bool body_paused_ = false;
  bool flush_scheduled_ = false;
  bool process_scheduled_ = false;
  bool peer_eof_ = false;
  bool write_shut_ = false;  // lingering: our FIN (or close_notify) is out
  // The request asked for a websocket: the parser stays paused after it (what
  // follows is not HTTP) until a 101 hands the connection on, or an ordinary
  // response closes it.
  bool upgrade_pending_ = false;
  // An h2c upgrade request was read: at its end the connection becomes HTTP/2.
  bool h2c_upgrade_ = false;
  uint32_t requests_ = 0;
  std::unique_ptr<http::RequestHandler> handler_;
};

}  // namespace portico::dataplane::http1
