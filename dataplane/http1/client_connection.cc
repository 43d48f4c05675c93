#include "dataplane/http1/client_connection.h"

#include <errno.h>
#include <unistd.h>

#include "absl/strings/ascii.h"
#include "dataplane/event/socket.h"
#include "dataplane/event/upstream_connect.h"
#include "dataplane/http1/wire.h"

namespace portico::dataplane::http1 {
namespace {

constexpr size_t kReadSize = 65536;

// Reads land here first, so an idle connection holds no 64 KiB read buffer.
// With nothing pending in the connection's buffer they are parsed in place
// (body bytes are not copied on their way through); only what the parser
// leaves is kept. A read nested inside a parse (a callback that makes another
// connection read) cannot reuse it and reads into the connection's buffer.
thread_local char scratch[kReadSize];
thread_local bool scratch_in_use = false;
constexpr size_t kHighWatermark = 256 * 1024;
constexpr size_t kLowWatermark = 64 * 1024;
// Response headers larger than this are a protocol error.
constexpr size_t kMaxResponseHeaderBytes = 64 * 1024;

ClientConnection* Self(llhttp_t* p) { return static_cast<ClientConnection*>(p->data); }

}  // namespace

struct ClientParserCallbacks {
  static int Field(llhttp_t* p, const char* at, size_t n) {
    ClientConnection* c = Self(p);
    if (c->in_value_) {
      absl::AsciiStrToLower(&c->field_);  // in place: the buffers are kept
      c->response_.headers.Add(c->field_, TrimOws(c->value_));
      c->field_.clear();
      c->value_.clear();
      c->in_value_ = false;
    }
    c->field_.append(at, n);
    return c->field_.size() > kMaxResponseHeaderBytes ? HPE_USER : 0;
  }
  static int Value(llhttp_t* p, const char* at, size_t n) {
    ClientConnection* c = Self(p);
    c->in_value_ = true;
    c->value_.append(at, n);
    return c->value_.size() > kMaxResponseHeaderBytes ? HPE_USER : 0;
  }
  static int HeadersComplete(llhttp_t* p) { return Self(p)->OnHeadersComplete(); }
  static int Body(llhttp_t* p, const char* at, size_t n) { return Self(p)->OnBodyData(at, n); }
  static int MessageComplete(llhttp_t* p) { return Self(p)->OnMessageComplete(); }

  static const llhttp_settings_t& Get() {
    static const llhttp_settings_t settings = [] {
      llhttp_settings_t s;
      llhttp_settings_init(&s);
      s.on_header_field = Field;
      s.on_header_value = Value;
      s.on_headers_complete = HeadersComplete;
      s.on_body = Body;
      s.on_message_complete = MessageComplete;
      return s;
    }();
    return settings;
  }
};

ClientConnection::ClientConnection(event::EventLoop& loop, ClientConnectionOwner& owner,
                                   std::string pool_key, ClientSettings settings)
    : loop_(loop),
      owner_(owner),
      pool_key_(std::move(pool_key)),
      settings_(settings),
      timer_(loop, [this] { OnTimeout(); }),
      send_timer_(loop, [this] { Fail(http::UpstreamFailure::kSendTimeout); }) {
  llhttp_init(&parser_, HTTP_RESPONSE, &ClientParserCallbacks::Get());
  parser_.data = this;
}

ClientConnection::~ClientConnection() { io_.reset(); }

void ClientConnection::Connect(const sockaddr* addr, socklen_t len,
                               const event::TransportFactory& wrap) {
  connect_.Begin();
  auto fd = event::ConnectNonBlocking(addr, len);
  if (!fd.ok()) {
    // Report asynchronously: the caller is still setting up the exchange.
    loop_.RunBeforeBlocking([this] {
      if (state_ == State::kConnecting) Fail(http::UpstreamFailure::kConnectFailed);
    });
    return;
  }
  transport_ = wrap ? wrap(*fd) : std::make_unique<event::SocketTransport>(*fd);
  io_ = std::make_unique<event::IoWatcher>(loop_, *fd, [this](int revents) { OnIo(revents); });
  io_->Watch(EV_WRITE);
  timer_.Start(settings_.connect_timeout);
}

void ClientConnection::Attach(http::ClientStreamHandler* handler, ClientSettings settings) {
  handler_ = handler;
  settings_ = settings;
  if (state_ == State::kIdle) {
    state_ = State::kReady;
    timer_.Stop();
  }
}

void ClientConnection::Park() {
  state_ = State::kIdle;
  handler_ = nullptr;
  in_.ShrinkIfIdle();
  out_.ShrinkIfIdle();
  timer_.Start(settings_.idle_timeout);
  UpdateInterest();
}

void ClientConnection::OnIo(int revents) {
  if (state_ == State::kConnecting) {
    switch (connect_.OnReady(*transport_, *io_, revents)) {
      case event::UpstreamConnect::Step::kWaiting:
        break;
      case event::UpstreamConnect::Step::kEstablished:
        OnEstablished();
        break;
      case event::UpstreamConnect::Step::kConnectFailed:
        Fail(http::UpstreamFailure::kConnectFailed);
        break;
      case event::UpstreamConnect::Step::kHandshakeFailed:
        Fail(http::UpstreamFailure::kTlsHandshakeFailed);
        break;
    }
    return;
  }
  if (revents & EV_WRITE) Flush();
  if (state_ != State::kClosed &&
      ((revents & EV_READ) || ((revents & EV_WRITE) && transport_->ReadWantsWrite()))) {
    OnReadable();
  }
}

void ClientConnection::OnEstablished() {
  timer_.Stop();
  state_ = State::kReady;
  owner_.OnConnected(this, connect_.seconds());
  UpdateInterest();
  if (handler_) handler_->OnUpstreamReady();
}

void ClientConnection::SendRequest(const http::RequestHead& head, bool end_stream) {
  state_ = State::kExchange;
  llhttp_init(&parser_, HTTP_RESPONSE, &ClientParserCallbacks::Get());
  parser_.data = this;
  head_request_ = head.method == "HEAD";
  request_complete_ = end_stream;
  response_started_ = false;
  response_paused_ = false;
  informational_ = false;
  upgrade_requested_ = head.upgrade_websocket;
  upgraded_ = false;
  response_ = http::ResponseHead();
  field_.clear();
  value_.clear();
  in_value_ = false;
  request_chunked_ = AppendRequestHead(head, out_);
  if (end_stream && request_chunked_) out_.Append("0\r\n\r\n");
  timer_.Start(settings_.response_timeout);
  ScheduleFlush();
}

void ClientConnection::SendBody(std::string_view data, bool end_stream) {
  if (state_ != State::kExchange) return;
  if (request_chunked_) {
    if (!data.empty()) AppendChunk(data, out_);
    if (end_stream) out_.Append("0\r\n\r\n");
  } else {
    out_.Append(data);
  }
  if (end_stream) request_complete_ = true;
  if (out_.size() >= kHighWatermark) {
    request_blocked_ = true;
    Flush();
  } else {
    ScheduleFlush();
  }
}

bool ClientConnection::RequestBlocked() const { return out_.size() >= kHighWatermark; }

void ClientConnection::PauseResponse() {
  response_paused_ = true;
  // A client that reads slowly must not turn into an upstream timeout.
  timer_.Stop();
  UpdateInterest();
}

void ClientConnection::ResumeResponse() {
  if (!response_paused_) return;
  response_paused_ = false;
  if (state_ == State::kExchange) timer_.Start(settings_.response_timeout);
  UpdateInterest();
}

void ClientConnection::Cancel() {
  handler_ = nullptr;
  // Mid-exchange the connection's framing state is unknown: never reuse it.
  Close();
}

void ClientConnection::ScheduleFlush() {
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  loop_.RunBeforeBlocking([this] {
    flush_scheduled_ = false;
    Flush();
  });
}

void ClientConnection::Flush() {
  if (state_ == State::kClosed || state_ == State::kConnecting) return;
  const size_t before = out_.size();
  if (!event::WriteBuffered(*transport_, out_)) {
    Fail(http::UpstreamFailure::kReset);
    return;
  }
  // An upstream still accepting a long upload is not stalled.
  if (out_.size() < before && state_ == State::kExchange && !response_paused_) {
    timer_.Start(settings_.response_timeout);
  }
  // proxy-send-timeout: the time between two successful writes, as nginx's.
  if (state_ != State::kExchange || out_.empty()) {
    send_timer_.Stop();
  } else if (out_.size() < before || !send_timer_.active()) {
    send_timer_.Start(settings_.send_timeout);
  }
  if (request_blocked_ && out_.size() < kLowWatermark) {
    request_blocked_ = false;
    if (handler_) handler_->OnRequestDrained();
    if (state_ == State::kClosed) return;
  }
  UpdateInterest();
}

void ClientConnection::UpdateInterest() {
  if (!io_ || state_ == State::kClosed) return;
  int events = 0;
  if (state_ == State::kConnecting) {
    events = EV_WRITE;
  } else {
    if (!response_paused_) events |= EV_READ;
    if (!out_.empty() || (!response_paused_ && transport_->ReadWantsWrite())) events |= EV_WRITE;
  }
  io_->Watch(events);
}

void ClientConnection::OnReadable() {
  // A TLS transport may hold decrypted input that readiness will not announce.
  while (ReadOnce() && state_ == State::kExchange && !response_paused_ &&
         transport_->HasBufferedInput()) {
  }
  UpdateInterest();
}

bool ClientConnection::ReadOnce() {
  const bool scratch_free = !scratch_in_use;
  ssize_t n = transport_->Read(scratch_free ? scratch : in_.Reserve(kReadSize), kReadSize);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) return false;
    if (state_ == State::kExchange) {
      Fail(http::UpstreamFailure::kReset);
    } else {
      Close();
    }
    return false;
  }
  const size_t got = static_cast<size_t>(n);
  const bool in_place = scratch_free && in_.empty();
  if (!scratch_free) {
    in_.Commit(got);
  } else if (!in_place) {
    in_.Append(scratch, got);
  }
  if (state_ != State::kExchange) {
    // Idle or not yet asked: anything but silence means this connection is done.
    Close();
    return false;
  }
  if (!response_paused_) timer_.Start(settings_.response_timeout);
  if (n == 0) {
    // EOF ends a close-delimited body; anywhere else it is a reset.
    if (llhttp_message_needs_eof(&parser_) && response_started_ &&
        llhttp_finish(&parser_) == HPE_OK) {
      return false;
    }
    Fail(http::UpstreamFailure::kReset);
    return false;
  }
  const char* begin = in_place ? scratch : in_.data();
  const size_t size = in_place ? got : in_.size();
  if (in_place) scratch_in_use = true;
  llhttp_errno_t err = llhttp_execute(&parser_, begin, size);
  if (in_place) scratch_in_use = false;
  if (state_ == State::kClosed) return false;
  if (err == HPE_OK) {
    in_.Consume(in_.size());
    return true;
  }
  if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) {
    const size_t parsed = static_cast<size_t>(llhttp_get_error_pos(&parser_) - begin);
    if (in_place) {
      in_.Append(begin + parsed, size - parsed);
    } else {
      in_.Consume(parsed);
    }
    if (upgraded_) {
      HandOffUpgraded();
      return false;
    }
    // Bytes after a complete response are a protocol violation on an idle connection.
    if (!in_.empty() && state_ == State::kIdle) Close();
    return state_ != State::kClosed;
  }
  Fail(http::UpstreamFailure::kProtocolError);
  return false;
}

int ClientConnection::OnHeadersComplete() {
  if (in_value_ || !field_.empty()) {
    absl::AsciiStrToLower(&field_);
    response_.headers.Add(field_, TrimOws(value_));
    field_.clear();
    value_.clear();
    in_value_ = false;
  }
  int status = llhttp_get_status_code(&parser_);
  if (status < 200) {
    // Interim responses (100 Continue, 103 Early Hints) are consumed here; the
    // proxy answers the client's Expect itself. 101 is welcome only when
    // the request asked for a websocket; then the socket becomes a tunnel.
    if (status == 101) {
      if (!upgrade_requested_) return -1;
      upgraded_ = true;
      response_.status = 101;
      response_.has_body = false;
      return 0;
    }
    informational_ = true;
    response_.headers.Clear();
    return 0;
  }
  informational_ = false;
  response_.status = status;
  const bool chunked = (parser_.flags & F_CHUNKED) != 0;
  if (!chunked && (parser_.flags & F_CONTENT_LENGTH)) {
    response_.content_length = parser_.content_length;
  }
  response_.headers.Remove("content-length");
  response_.headers.Remove("transfer-encoding");
  const bool bodiless = head_request_ || status == 204 || status == 304;
  response_.has_body = !bodiless && !(response_.content_length && *response_.content_length == 0);
  if (status == 204 || status == 304) response_.content_length.reset();
  response_started_ = true;
  if (handler_) {
    // A body-less response completes in OnMessageComplete, which follows.
    handler_->OnResponseHeaders(std::move(response_), false);
  }
  if (state_ == State::kClosed) return HPE_USER;
  return head_request_ ? 1 : 0;  // 1: no body follows (HEAD)
}

int ClientConnection::OnBodyData(const char* at, size_t len) {
  if (informational_) return 0;
  if (handler_) handler_->OnResponseBody(std::string_view(at, len), false);
  if (state_ == State::kClosed) return HPE_USER;
  return 0;
}

int ClientConnection::OnMessageComplete() {
  // The 101 ends HTTP on this connection; the caller hands the socket on.
  if (upgraded_) return HPE_PAUSED;
  if (informational_) {
    informational_ = false;
    return 0;
  }
  ++exchanges_;
  timer_.Stop();
  send_timer_.Stop();
  http::ClientStreamHandler* handler = handler_;
  handler_ = nullptr;
  // Back to the pool before the handler hears of it, so that the next request
  // (possibly started from inside that callback) can reuse this connection.
  bool reusable = request_complete_ && llhttp_should_keep_alive(&parser_) && out_.empty();
  if (reusable) {
    Park();
    owner_.OnIdle(this);
  } else {
    Close();
  }
  if (handler) handler->OnResponseBody({}, true);
  return HPE_PAUSED;
}

void ClientConnection::OnTimeout() {
  switch (state_) {
    case State::kConnecting:
      Fail(http::UpstreamFailure::kConnectTimeout);
      return;
    case State::kExchange:
      Fail(http::UpstreamFailure::kResponseTimeout);
      return;
    default:
      Close();
  }
}

void ClientConnection::Fail(http::UpstreamFailure failure) {
  http::ClientStreamHandler* handler = handler_;
  handler_ = nullptr;
  bool started = response_started_;
  Close();
  if (handler) handler->OnUpstreamFailure(failure, started);
}

void ClientConnection::HandOffUpgraded() {
  http::ClientStreamHandler* handler = handler_;
  handler_ = nullptr;
  http::UpgradedUpstream upstream;
  io_.reset();  // before the transport (and its descriptor) moves on
  upstream.transport = std::move(transport_);
  upstream.input.assign(in_.view());
  in_.Clear();
  http::ResponseHead head = std::move(response_);
  // Out of the pool for good: the socket is no longer this connection's.
  Close();
  if (handler) handler->OnUpgrade(std::move(head), std::move(upstream));
}

void ClientConnection::Close() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  timer_.Stop();
  send_timer_.Stop();
  io_.reset();
  transport_.reset();  // closes the socket
  handler_ = nullptr;
  owner_.OnClosed(this);
}

}  // namespace portico::dataplane::http1
