#include "dataplane/http1/server_connection.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "common/strings.h"
#include "dataplane/http1/wire.h"

namespace portico::dataplane::http1 {
namespace {

constexpr size_t kReadSize = 65536;

// Reads land here first and only the bytes that arrived are copied into the
// connection's buffer, so an idle connection holds no 64 KiB read buffer.
char* ReadScratch() {
  thread_local char scratch[kReadSize];
  return scratch;
}
// Response bytes queued beyond this stop the upstream; below the low mark it resumes.
constexpr size_t kHighWatermark = 256 * 1024;
constexpr size_t kLowWatermark = 64 * 1024;
constexpr size_t kWriteThroughMin = 16 * 1024;
// Pipelined input buffered while a response is pending.
constexpr size_t kMaxPendingInput = 256 * 1024;
// Request body still to come when the response already finished: read and drop
// at most this much before giving up on keep-alive.
constexpr uint64_t kMaxDiscard = 1024 * 1024;
constexpr double kLingerSeconds = 2;
// RFC 9113 3.4: how an HTTP/2 connection with prior knowledge opens.
constexpr std::string_view kHttp2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

// Every idle keep-alive connection is one of these (docs/benchmarks.md,
// "Profiling and optimisations" item 3): state that only a request in
// progress needs belongs in RequestState.
static_assert(sizeof(void*) != 8 || sizeof(ServerConnection) <= 312,
              "an idle HTTP/1.1 connection grew: move request-only state into RequestState");

ServerConnection* Self(llhttp_t* p) { return static_cast<ServerConnection*>(p->data); }

}  // namespace

// Static llhttp callbacks forwarding to the connection.
struct ParserCallbacks {
  static int MessageBegin(llhttp_t* p) { return Self(p)->OnMessageBegin(); }
  static int Url(llhttp_t* p, const char* at, size_t n) { return Self(p)->OnUrl(at, n); }
  static int Field(llhttp_t* p, const char* at, size_t n) { return Self(p)->OnHeaderField(at, n); }
  static int Value(llhttp_t* p, const char* at, size_t n) { return Self(p)->OnHeaderValue(at, n); }
  static int HeadersComplete(llhttp_t* p) { return Self(p)->OnHeadersComplete(); }
  static int Body(llhttp_t* p, const char* at, size_t n) { return Self(p)->OnBodyData(at, n); }
  static int MessageComplete(llhttp_t* p) { return Self(p)->OnMessageComplete(); }

  static const llhttp_settings_t& Get() {
    static const llhttp_settings_t settings = [] {
      llhttp_settings_t s;
      llhttp_settings_init(&s);
      s.on_message_begin = MessageBegin;
      s.on_url = Url;
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

ServerConnection::ServerConnection(event::EventLoop& loop,
                                   std::unique_ptr<event::Transport> transport,
                                   http::ConnectionInfo info, ConnectionOwner& owner,
                                   http::RequestHandlerFactory& factory)
    : loop_(loop),
      transport_(std::move(transport)),
      owner_(owner),
      factory_(factory),
      info_(std::move(info)),
      io_(this, transport_->fd()),
      timer_(this) {
  info_.protocol = "HTTP/1.1";
}

ServerConnection::~ServerConnection() {
  io_.Stop(loop_);
  timer_.Stop(loop_);
}

ServerConnection::RequestState::RequestState() {
  llhttp_init(&parser, HTTP_REQUEST, &ParserCallbacks::Get());
}

void ServerConnection::ParkIfIdle() {
  if (state_ != State::kIdle || handler_ || !in_.empty() || executing_) return;
  req_.reset();
  in_.ShrinkIfIdle();
}

void ServerConnection::Start() {
  // A new connection must send its first request within the header timeout.
  timer_.Start(loop_, settings().header_timeout);
  UpdateReadInterest();
}

void ServerConnection::CloseWhenIdle() {
  close_after_response_ = true;
  if (idle() && in_.empty()) Close();
}

void ServerConnection::OnIo(int revents) {
  if (revents & EV_WRITE) Flush();
  if (state_ == State::kClosed) return;
  if ((revents & EV_READ) || ((revents & EV_WRITE) && transport_->ReadWantsWrite())) {
    OnReadable();
  }
}

void ServerConnection::OnReadable() {
  // A TLS transport can hold decrypted input the socket no longer signals.
  while (ReadOnce() && state_ != State::kClosed && transport_->HasBufferedInput() && WantRead()) {
  }
}

bool ServerConnection::ReadOnce() {
  ssize_t n = transport_->Read(ReadScratch(), kReadSize);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) {
      // The transport may now need writability to make progress.
      UpdateReadInterest();
      return false;
    }
    Close();
    return false;
  }
  in_.Append(ReadScratch(), static_cast<size_t>(n));
  if (state_ == State::kLingering) {
    in_.Clear();
    if (n == 0) Close();
    return n > 0;
  }
  if (n == 0) {
    peer_eof_ = true;
    // A client that announced the end of the connection (Connection: close,
    // HTTP/1.0) may half-close and still get its response. Otherwise EOF means
    // the client went away: abort (499, as nginx) so nobody waits upstream
    // for an answer that no one will read.
    if (handler_ && request_complete_ && close_after_response_) {
      UpdateReadInterest();
      return false;
    }
    Close();
    return false;
  }
  if (state_ == State::kBody) timer_.Start(loop_, settings().body_timeout);
  ProcessInput();
  return true;
}

void ServerConnection::ProcessInput() {
  process_scheduled_ = false;
  if (state_ == State::kClosed || state_ == State::kLingering) return;
  if (MaybeHandOffHttp2()) return;
  // One request at a time: pipelined requests wait in `in_` for the response.
  while (!in_.empty() && !(handler_ && request_complete_)) {
    if (req_ == nullptr) {
      // A request's first byte: the parser and the parse state come back.
      req_ = std::make_unique<RequestState>();
      req_->parser.data = this;
      req_->settings = owner_.http1_settings();
    }
    const char* begin = in_.data();
    const char last = begin[in_.size() - 1];
    req_->exec_begin = begin;
    executing_ = true;
    llhttp_errno_t err = llhttp_execute(&req_->parser, begin, in_.size());
    executing_ = false;
    req_->exec_prev_byte = last;
    if (err == HPE_OK) {
      in_.Consume(in_.size());
      break;
    }
    if (err == HPE_PAUSED || err == HPE_PAUSED_UPGRADE) {
      // Paused at the end of a message. Upgrades other than websocket had
      // their headers stripped before the request went upstream, so the
      // connection stays plain HTTP/1.1.
      in_.Consume(llhttp_get_error_pos(&req_->parser) - begin);
      // A websocket request: what follows belongs to the tunnel, if any.
      if (upgrade_pending_) break;
      if (h2c_upgrade_) {
        HandOffUpgradedHttp2();
        return;
      }
      if (err == HPE_PAUSED_UPGRADE) {
        llhttp_resume_after_upgrade(&req_->parser);
      } else {
        llhttp_resume(&req_->parser);
      }
      if (state_ == State::kClosed || state_ == State::kLingering) return;
      continue;
    }
    if (discard_body_ && !handler_) {
      // This request was already answered; whatever is wrong with the rest of
      // its body only ends the connection.
      FinishWithClose();
      return;
    }
    // A protocol error: a codec error is 400 unless a callback chose better.
    int status = req_->reject_status != 0 ? req_->reject_status : 400;
    // A well-formed but unsupported version (HTTP/1.2, HTTP/3.0) is 505;
    // a mangled request line stays 400.
    if (err == HPE_INVALID_VERSION &&
        std::string_view(llhttp_get_error_reason(&req_->parser)) == "Invalid HTTP version") {
      status = 505;
    }
    owner_.OnProtocolError(status);
    if (settings().h2c && requests_ == 0 && err == HPE_INVALID_METHOD) {
      // With h2c, the first bytes of a connection that are neither an HTTP/1.1
      // method nor the HTTP/2 preface are a broken HTTP/2 client as likely as
      // an HTTP/1.1 one: close, as RFC 9113 3.4 asks, rather than answer 400.
      Close();
      return;
    }
    SendError(status);
    return;
  }
  if (state_ == State::kClosed) return;
  // A response sent while llhttp still held the input (a local reply) parks here.
  ParkIfIdle();
  UpdateReadInterest();
}

void ServerConnection::ScheduleProcessInput() {
  if (process_scheduled_) return;
  process_scheduled_ = true;
  loop_.RunBeforeBlocking([this] { ProcessInput(); });
}

int ServerConnection::OnMessageBegin() {
  // The state is allocated at the request's first byte (ProcessInput), reused
  // by a pipelined one, released when the connection parks: an idle
  // connection carries no parse state. The parser itself carries on.
  RequestState& r = *req_;
  r.head = http::RequestHead();
  r.url.clear();
  r.field.clear();
  r.value.clear();
  r.h2c_settings.clear();
  // The limits stay those of the request's start, whatever a config change does.
  r.settings = owner_.http1_settings();
  r.in_value = false;
  r.header_bytes = 0;
  r.body_bytes = 0;
  r.reject_status = 0;
  request_complete_ = false;
  discard_body_ = false;
  response_started_ = false;
  response_chunked_ = false;
  state_ = State::kHeaders;
  // Slow senders: the whole header section must arrive within the timeout,
  // however the bytes trickle in.
  timer_.Start(loop_, settings().header_timeout);
  return 0;
}

int ServerConnection::OnUrl(const char* at, size_t len) {
  if (req_->url.size() + len > settings().max_request_line) return Reject(414);
  req_->url.append(at, len);
  return 0;
}

int ServerConnection::OnHeaderField(const char* at, size_t len) {
  if (req_->in_value) {
    if (int rc = CommitHeader(); rc != 0) return rc;
  }
  req_->header_bytes += len;
  if (req_->header_bytes > settings().max_header_bytes) return Reject(431);
  req_->field.append(at, len);
  return 0;
}

int ServerConnection::OnHeaderValue(const char* at, size_t len) {
  // llhttp 8 accepts obs-fold (a line starting with whitespace continues the
  // previous value). RFC 9112 5.2 lets a proxy reject it, and it is a classic
  // smuggling vector, so look back: whitespace preceded by LF means a fold.
  const char* p = at;
  while (p > req_->exec_begin && (p[-1] == ' ' || p[-1] == '\t')) --p;
  char before = p > req_->exec_begin ? p[-1] : req_->exec_prev_byte;
  if (before == '\n') return Reject(400);
  req_->in_value = true;
  req_->header_bytes += len;
  if (req_->header_bytes > settings().max_header_bytes) return Reject(431);
  req_->value.append(at, len);
  return 0;
}

int ServerConnection::CommitHeader() {
  req_->in_value = false;
  if (req_->head.headers.size() >= settings().max_headers) return Reject(431);
  if (!IsValidFieldName(req_->field) || !IsValidFieldValue(req_->value)) return Reject(400);
  // Lower-cased in place: field and value keep their capacity for the next header.
  absl::AsciiStrToLower(&req_->field);
  req_->head.headers.Add(req_->field, TrimOws(req_->value));
  req_->field.clear();
  req_->value.clear();
  return 0;
}

int ServerConnection::OnHeadersComplete() {
  if (req_->in_value || !req_->field.empty()) {
    if (int rc = CommitHeader(); rc != 0) return rc;
  }
  req_->head.method =
      llhttp_method_name(static_cast<llhttp_method_t>(llhttp_get_method(&req_->parser)));
  req_->head.version =
      llhttp_get_http_major(&req_->parser) * 10 + llhttp_get_http_minor(&req_->parser);
  if (req_->head.version != 11 && req_->head.version != 10) return Reject(505);
  req_->head.scheme = info_.scheme;
  if (auto status = ParseRequestTarget(req_->url, req_->head); status != 0) return Reject(status);
  if (auto status = ValidateRequestHeaders(req_->head); status != 0) return Reject(status);

  const bool chunked = (req_->parser.flags & F_CHUNKED) != 0;
  if (chunked) {
    req_->head.has_body = true;
  } else if (req_->parser.flags & F_CONTENT_LENGTH) {
    req_->head.content_length = req_->parser.content_length;
    req_->head.has_body = req_->parser.content_length > 0;
  }
  if (settings().max_body_bytes > 0 && req_->head.content_length &&
      *req_->head.content_length > settings().max_body_bytes) {
    return Reject(413);
  }
  // The framing is ours to choose upstream; these describe only this hop.
  req_->head.headers.Remove("content-length");
  req_->head.headers.Remove("transfer-encoding");
  if (auto expect = req_->head.headers.Get("expect")) {
    if (!absl::EqualsIgnoreCase(ToAbsl(*expect), "100-continue")) return Reject(417);
    req_->head.expect_continue = req_->head.version == 11 && req_->head.has_body;
    req_->head.headers.Remove("expect");
  }
  if (!llhttp_should_keep_alive(&req_->parser) || owner_.draining() ||
      requests_ + 1 >= settings().max_keepalive_requests) {
    close_after_response_ = true;
  }
  if (settings().h2c && requests_ == 0 && IsH2cUpgrade(&req_->h2c_settings)) {
    // Served as stream 1 of the HTTP/2 connection this one turns into.
    h2c_upgrade_ = true;
    ++requests_;
    state_ = State::kWaiting;
    timer_.Stop(loop_);
    return 0;
  }
  if (IsWebsocketUpgrade()) {
    req_->head.upgrade_websocket = true;
    upgrade_pending_ = true;
    // Not a 101 means an ordinary response, after which the connection
    // closes: the bytes behind the request may be websocket frames.
    close_after_response_ = true;
  }
  ++requests_;
  info_.protocol = req_->head.version == 10 ? "HTTP/1.0" : "HTTP/1.1";
  state_ = req_->head.has_body ? State::kBody : State::kWaiting;
  if (req_->head.has_body) {
    timer_.Start(loop_, settings().body_timeout);
  } else {
    timer_.Disarm();
  }
  handler_ = factory_.NewRequest(*this);
  bool end_stream = !req_->head.has_body;
  handler_->OnHeaders(std::move(req_->head), end_stream);
  return 0;
}

int ServerConnection::OnBodyData(const char* at, size_t len) {
  req_->body_bytes += len;
  if (discard_body_) {
    if (req_->body_bytes > kMaxDiscard) return Reject(400);
    return 0;
  }
  if (settings().max_body_bytes > 0 && req_->body_bytes > settings().max_body_bytes)
    return Reject(413);
  if (handler_) handler_->OnBody(std::string_view(at, len), false);
  return 0;
}

int ServerConnection::OnMessageComplete() {
  request_complete_ = true;
  if (h2c_upgrade_) return HPE_PAUSED;
  timer_.Disarm();
  bool had_body = state_ == State::kBody;
  state_ = State::kWaiting;
  if (handler_ && had_body && !discard_body_) handler_->OnBody({}, true);
  if (!handler_) {
    // The response already went out while the body was still arriving.
    state_ = State::kIdle;
    if (close_after_response_) {
      FinishWithClose();
    } else {
      timer_.Start(loop_, settings().keepalive_timeout);
    }
  }
  // Stop after each message so pipelined requests wait their turn.
  return HPE_PAUSED;
}

int ServerConnection::Reject(int status) {
  req_->reject_status = status;
  return HPE_USER;
}

void ServerConnection::SendError(int status) {
  close_after_response_ = true;
  if (handler_) {
    // A request already in progress breaks mid-body: its handler is told.
    auto handler = std::move(handler_);
    handler->OnAbort();
    loop_.DeferDelete(std::move(handler));
    if (response_started_) {
      Close();
      return;
    }
  }
  state_ = State::kWaiting;
  AppendErrorResponse(status, out_);
  response_started_ = true;
  FinishWithClose();
}

void ServerConnection::SendInformational(int status) {
  if (state_ == State::kClosed || response_started_) return;
  AppendInformational(status, out_);
  ScheduleFlush();
}

void ServerConnection::SendHeaders(http::ResponseHead head, bool end_stream) {
  if (state_ == State::kClosed) return;
  response_started_ = true;
  if (owner_.draining()) close_after_response_ = true;
  ResponseFraming framing =
      AppendResponseHead(head, info_.protocol == "HTTP/1.0", close_after_response_, out_);
  response_chunked_ = framing.chunked;
  if (framing.close_delimited) close_after_response_ = true;
  if (end_stream) {
    if (response_chunked_) out_.Append("0\r\n\r\n");
    ResponseComplete();
    return;
  }
  ScheduleFlush();
}

void ServerConnection::SendBody(std::string_view data, bool end_stream) {
  if (state_ == State::kClosed) return;
  if (response_chunked_) {
    if (!data.empty()) AppendChunk(data, out_);
    if (end_stream) out_.Append("0\r\n\r\n");
  } else {
    out_.Append(WriteThrough(data));
  }
  if (out_.size() >= kHighWatermark) {
    response_blocked_ = true;
    Flush();  // large bodies go out now rather than waiting for the loop
  }
  if (end_stream) {
    ResponseComplete();
  } else {
    ScheduleFlush();
  }
}

void ServerConnection::SendTrailers(http::HeaderMap) { SendBody({}, true); }

std::string_view ServerConnection::WriteThrough(std::string_view data) {
  // Nothing queued before it and big enough that one more write(2) is not the
  // cost: send from the caller's bytes instead of copying them into out_ first
  // (a large body's chunks, once its head is out). What the socket does not
  // take, and any error, is left for Flush to queue and report.
  if (!out_.empty() || data.size() < kWriteThroughMin) return data;
  ssize_t n = transport_->Write(data.data(), data.size());
  if (n > 0) data.remove_prefix(static_cast<size_t>(n));
  return data;
}

void ServerConnection::Abort() {
  if (state_ == State::kClosed) return;
  // The response was cut short: the only honest signal left in HTTP/1.1 is to
  // close without completing the framing.
  if (handler_) {
    loop_.DeferDelete(std::move(handler_));
  }
  Flush();
  Close();
}

bool ServerConnection::ResponseBlocked() const { return out_.size() >= kHighWatermark; }

void ServerConnection::PauseRequestBody() {
  body_paused_ = true;
  UpdateReadInterest();
}

void ServerConnection::ResumeRequestBody() {
  if (!body_paused_) return;
  body_paused_ = false;
  if (state_ == State::kBody) timer_.Start(loop_, settings().body_timeout);
  UpdateReadInterest();
  if (!in_.empty()) ScheduleProcessInput();
}

void ServerConnection::ResponseComplete() {
  if (handler_) {
    auto handler = std::move(handler_);
    handler->OnComplete();
    loop_.DeferDelete(std::move(handler));
  }
  body_paused_ = false;
  if (!request_complete_) {
    // The response beat the request body (an error or local reply): read and
    // drop the rest of the body so the connection stays usable, within limits.
    discard_body_ = true;
    if (close_after_response_) {
      FinishWithClose();
    } else {
      Flush();
      UpdateReadInterest();
    }
    return;
  }
  if (close_after_response_) {
    FinishWithClose();
    return;
  }
  state_ = State::kIdle;
  // Parked: the next request's first byte allocates again.
  ParkIfIdle();
  timer_.Start(loop_, settings().keepalive_timeout);
  Flush();
  if (state_ == State::kClosed) return;
  if (!in_.empty()) {
    ScheduleProcessInput();
  } else if (peer_eof_) {
    Close();
  } else {
    UpdateReadInterest();
  }
}

bool ServerConnection::WantRead() const {
  if (peer_eof_) return false;
  // Input after a websocket request waits for the tunnel.
  if (upgrade_pending_ && request_complete_) return false;
  if (body_paused_ && state_ == State::kBody) return false;
  if (handler_ && request_complete_ && in_.size() >= kMaxPendingInput) return false;
  return true;
}

void ServerConnection::UpdateReadInterest() {
  if (state_ == State::kClosed) return;
  bool want_read = WantRead();
  bool want_write = !out_.empty() || (want_read && transport_->ReadWantsWrite());
  io_.Watch(loop_, (want_read ? EV_READ : 0) | (want_write ? EV_WRITE : 0));
}

void ServerConnection::ScheduleFlush() {
  if (flush_scheduled_) return;
  flush_scheduled_ = true;
  // Everything produced in this loop iteration goes out in one write.
  loop_.RunBeforeBlocking([this] {
    flush_scheduled_ = false;
    Flush();
  });
}

void ServerConnection::Flush() {
  if (state_ == State::kClosed) return;
  if (!event::WriteBuffered(*transport_, out_)) {
    Close();
    return;
  }
  if (out_.empty()) out_.ShrinkIfIdle();
  if (response_blocked_ && out_.size() < kLowWatermark) {
    response_blocked_ = false;
    if (handler_) handler_->OnResponseDrained();
    if (state_ == State::kClosed) return;
  }
  if (state_ == State::kLingering && out_.empty() && !write_shut_) {
    if (NothingMoreExpected()) {
      // As nginx does without a reason to linger: the close sends the FIN.
      Close();
      return;
    }
    // Everything is written: half-close, then drain what the client still sends
    // so its unread data does not turn our close into a reset. (Once: a flush
    // scheduled before the response completed comes here again.)
    write_shut_ = true;
    transport_->ShutdownWrite();
    timer_.Start(loop_, kLingerSeconds);
  }
  UpdateReadInterest();
}

bool ServerConnection::NothingMoreExpected() const {
  // A complete request and nothing after it: the client that asked for the
  // close (or let max-keepalive-requests or a drain end the connection) reads
  // its response and closes too. Lingering is for the rest: a body not read to
  // its end, pipelined input, an error mid-request. TLS lingers as well, so
  // that its close_notify goes out before the socket closes.
  return request_complete_ && !discard_body_ && in_.empty() && !transport_->secure();
}

void ServerConnection::FinishWithClose() {
  state_ = State::kLingering;
  timer_.Stop(loop_);
  Flush();
}

void ServerConnection::OnTimeout() {
  switch (state_) {
    case State::kHeaders:
    case State::kBody:
      if (!response_started_) {
        owner_.OnProtocolError(408);
        SendError(408);
        return;
      }
      Close();
      return;
    case State::kIdle:
      // Idle keep-alive connection, or a new one that never sent a byte.
      if (in_.empty()) {
        Close();
      } else {
        owner_.OnProtocolError(408);
        SendError(408);
      }
      return;
    default:
      Close();
  }
}

bool ServerConnection::MaybeHandOffHttp2() {
  if (!settings().h2c || requests_ != 0 || state_ != State::kIdle || handler_) return false;
  std::string_view input = in_.view();
  size_t n = std::min(input.size(), kHttp2Preface.size());
  if (input.substr(0, n) != kHttp2Preface.substr(0, n)) return false;
  if (n < kHttp2Preface.size()) {  // a prefix of the preface so far: wait for the rest
    UpdateReadInterest();
    return true;
  }
  state_ = State::kClosed;
  io_.Watch(loop_, 0);
  timer_.Stop(loop_);
  std::string taken(input);
  in_.Clear();
  owner_.OnHttp2Preface(this, std::move(transport_), std::move(taken));
  return true;
}

bool ServerConnection::IsH2cUpgrade(std::string* settings_payload) const {
  if (req_->head.version != 11 || req_->head.has_body) return false;
  auto upgrade = req_->head.headers.GetJoined("upgrade");
  if (!upgrade || !absl::EqualsIgnoreCase(ToAbsl(TrimOws(*upgrade)), "h2c")) return false;
  auto connection = req_->head.headers.GetJoined("connection");
  auto settings = req_->head.headers.Get("http2-settings");
  if (!connection || !settings) return false;
  bool has_upgrade = false;
  bool has_settings = false;
  for (absl::string_view token : absl::StrSplit(ToAbsl(*connection), ',')) {
    token = absl::StripAsciiWhitespace(token);
    has_upgrade |= absl::EqualsIgnoreCase(token, "upgrade");
    has_settings |= absl::EqualsIgnoreCase(token, "http2-settings");
  }
  if (!has_upgrade || !has_settings) return false;
  // base64url without padding (RFC 7540 3.2.1); a SETTINGS payload is 6n bytes.
  std::string decoded;
  if (!absl::WebSafeBase64Unescape(ToAbsl(*settings), &decoded) || decoded.size() % 6 != 0) {
    return false;
  }
  *settings_payload = std::move(decoded);
  return true;
}

void ServerConnection::HandOffUpgradedHttp2() {
  state_ = State::kClosed;
  io_.Watch(loop_, 0);
  timer_.Stop(loop_);
  http::RequestHead head = std::move(req_->head);
  for (const char* name : {"upgrade", "http2-settings", "connection"}) head.headers.Remove(name);
  std::string output =
      "HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: h2c\r\n\r\n";
  std::string input(in_.view());
  in_.Clear();
  owner_.OnHttp2Upgrade(this, std::move(transport_), std::move(output), std::move(input),
                        std::move(head), std::move(req_->h2c_settings));
}

bool ServerConnection::IsWebsocketUpgrade() const {
  if (req_->head.method != "GET" || req_->head.version != 11 || req_->head.has_body) return false;
  auto upgrade = req_->head.headers.GetJoined("upgrade");
  if (!upgrade || !absl::EqualsIgnoreCase(ToAbsl(TrimOws(*upgrade)), "websocket")) return false;
  auto connection = req_->head.headers.GetJoined("connection");
  if (!connection) return false;
  for (absl::string_view token : absl::StrSplit(ToAbsl(*connection), ',')) {
    if (absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(token), "upgrade")) return true;
  }
  return false;
}

void ServerConnection::SendUpgrade(http::ResponseHead head, http::UpgradedUpstream upstream) {
  // A closed connection drops `upstream`, which closes the upstream socket.
  if (state_ == State::kClosed || !upgrade_pending_ || response_started_) return;
  response_started_ = true;
  AppendResponseHead(head, false, false, out_);
  if (handler_) {
    auto handler = std::move(handler_);
    handler->OnComplete();
    loop_.DeferDelete(std::move(handler));
  }
  state_ = State::kClosed;
  io_.Watch(loop_, 0);
  timer_.Stop(loop_);
  std::string output(out_.view());
  std::string input(in_.view());
  out_.Clear();
  in_.Clear();
  owner_.OnUpgrade(this, std::move(transport_), std::move(output), std::move(input),
                   std::move(upstream));
}

void ServerConnection::Close() {
  if (state_ == State::kClosed) return;
  state_ = State::kClosed;
  io_.Watch(loop_, 0);
  timer_.Stop(loop_);
  if (handler_) {
    auto handler = std::move(handler_);
    handler->OnAbort();
    loop_.DeferDelete(std::move(handler));
  }
  transport_.reset();  // closes the socket
  owner_.OnConnectionClosed(this);
}

}  // namespace portico::dataplane::http1
