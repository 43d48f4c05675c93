#include "dataplane/http2/client_connection.h"

#include <errno.h>
#include <string.h>

#include <algorithm>

#include "absl/strings/numbers.h"
#include "common/strings.h"
#include "dataplane/event/socket.h"
#include "dataplane/event/upstream_connect.h"
#include "dataplane/http2/nghttp2_util.h"

namespace portico::dataplane::http2 {
namespace {

constexpr size_t kOutputHighWatermark = 128 * 1024;
// Request body queued per stream beyond this pauses the client.
constexpr size_t kRequestHighWatermark = 128 * 1024;
constexpr size_t kRequestLowWatermark = 32 * 1024;
// Our receive windows: large enough for a 4 MiB gRPC message to flow without
// a round trip per 64 KiB, bounded per stream (a paused client holds at most this).
constexpr int32_t kStreamWindow = 1024 * 1024;
constexpr int32_t kConnectionWindow = 8 * 1024 * 1024;
// Streams per connection when the peer did not say (RFC 9113 suggests >= 100).
constexpr uint32_t kDefaultMaxStreams = 100;

ClientConnection* Self(void* user) { return static_cast<ClientConnection*>(user); }

// Hop-by-hop headers are forbidden in HTTP/2 (RFC 9113 8.2.2), "te:
// trailers" aside; Host travels as :authority and content-length from RequestHead.
bool IsConnectionSpecific(std::string_view name) {
  return (http::IsHopByHopHeader(name) && name != "te") || name == "host" ||
         name == "content-length";
}

ssize_t ReadRequestCallback(nghttp2_session*, int32_t, uint8_t* buf, size_t length,
                            uint32_t* data_flags, nghttp2_data_source* source, void*) {
  return static_cast<ClientStream*>(source->ptr)->ReadRequest(buf, length, data_flags);
}

}  // namespace

struct ClientSessionCallbacks {
  static int Header(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name,
                    size_t namelen, const uint8_t* value, size_t valuelen, uint8_t, void* user) {
    return Self(user)->OnHeader(*frame, View(name, namelen), View(value, valuelen));
  }
  static int FrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    return Self(user)->OnFrameReceived(*frame);
  }
  static int DataChunk(nghttp2_session*, uint8_t, int32_t stream_id, const uint8_t* data,
                       size_t len, void* user) {
    return Self(user)->OnDataChunk(stream_id, data, len);
  }
  static int StreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user) {
    return Self(user)->OnStreamClosed(stream_id, error_code);
  }
  static const nghttp2_session_callbacks* Get() {
    static nghttp2_session_callbacks* callbacks = [] {
      nghttp2_session_callbacks* cb = nullptr;
      nghttp2_session_callbacks_new(&cb);
      nghttp2_session_callbacks_set_on_header_callback(cb, Header);
      nghttp2_session_callbacks_set_on_frame_recv_callback(cb, FrameRecv);
      nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, DataChunk);
      nghttp2_session_callbacks_set_on_stream_close_callback(cb, StreamClose);
      return cb;
    }();
    return callbacks;
  }
};

// --- ClientConnection ---

ClientConnection::ClientConnection(event::EventLoop& loop, ClientConnectionOwner& owner,
                                   std::string pool_key, http1::ClientSettings settings)
    : loop_(loop),
      owner_(owner),
      pool_key_(std::move(pool_key)),
      settings_(settings),
      timer_(loop, [this] { OnTimer(); }) {
  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  nghttp2_option_set_no_auto_window_update(option, 1);
  nghttp2_option_set_max_deflate_dynamic_table_size(option, 4096);
  nghttp2_session_client_new2(&session_, ClientSessionCallbacks::Get(), this, option);
  nghttp2_option_del(option);
  const nghttp2_settings_entry entries[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, entries, std::size(entries));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow);
}

ClientConnection::~ClientConnection() {
  io_.reset();
  if (session_ != nullptr) nghttp2_session_del(session_);
}

void ClientConnection::Connect(const sockaddr* addr, socklen_t len,
                               const event::TransportFactory& wrap) {
  connect_.Begin();
  auto fd = event::ConnectNonBlocking(addr, len);
  if (!fd.ok()) {
    loop_.RunBeforeBlocking([this] {
      if (!closed_ && !connected_) FailAll(http::UpstreamFailure::kConnectFailed);
    });
    return;
  }
  transport_ = wrap ? wrap(*fd) : std::make_unique<event::SocketTransport>(*fd);
  io_ = std::make_unique<event::IoWatcher>(loop_, *fd, [this](int revents) { OnIo(revents); });
  io_->Watch(EV_WRITE);
  timer_.Start(settings_.connect_timeout);
}

ClientStream* ClientConnection::NewStream(http::ClientStreamHandler* handler,
                                          http1::ClientSettings settings) {
  timer_.Stop();
  if (!connected_) timer_.Start(settings_.connect_timeout);
  streams_.push_back(std::make_unique<ClientStream>(*this, handler, settings, streams_opened_ > 0));
  ++streams_opened_;
  return streams_.back().get();
}

bool ClientConnection::HasCapacity() const {
  if (closed_ || close_when_idle_ || session_ == nullptr) return false;
  if (connected_ && !nghttp2_session_want_read(session_)) return false;  // GOAWAY received
  uint32_t limit = std::min(
      kDefaultMaxStreams,
      nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS));
  return streams_.size() < limit;
}

void ClientConnection::OnIo(int revents) {
  if (!connected_) {
    switch (connect_.OnReady(*transport_, *io_, revents)) {
      case event::UpstreamConnect::Step::kWaiting:
        break;
      case event::UpstreamConnect::Step::kEstablished:
        OnEstablished();
        break;
      case event::UpstreamConnect::Step::kConnectFailed:
        FailAll(http::UpstreamFailure::kConnectFailed);
        break;
      case event::UpstreamConnect::Step::kHandshakeFailed:
        FailAll(http::UpstreamFailure::kTlsHandshakeFailed);
        break;
    }
    return;
  }
  if (revents & EV_WRITE) Flush();
  if (!closed_ && ((revents & EV_READ) || ((revents & EV_WRITE) && transport_->ReadWantsWrite()))) {
    OnReadable();
  }
}

void ClientConnection::OnEstablished() {
  connected_ = true;
  timer_.Stop();
  owner_.OnConnected(this, connect_.seconds());
  // Streams created while connecting may send now.
  std::vector<ClientStream*> waiting;
  for (auto& s : streams_) waiting.push_back(s.get());
  for (ClientStream* s : waiting) s->OnConnected();
  if (closed_) return;
  ArmIdleTimer();
  Flush();
}

void ClientConnection::OnReadable() {
  // A TLS transport may hold decrypted input that readiness will not announce.
  do {
    ssize_t n = transport_->Read(ReadScratch(), kReadSize);
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
    if (n <= 0) {
      FailAll(http::UpstreamFailure::kReset);
      return;
    }
    in_session_ = true;
    ssize_t rv = nghttp2_session_mem_recv(session_, reinterpret_cast<uint8_t*>(ReadScratch()),
                                          static_cast<size_t>(n));
    in_session_ = false;
    if (rv < 0) {
      FailAll(http::UpstreamFailure::kProtocolError);
      return;
    }
  } while (!closed_ && transport_->HasBufferedInput());
  if (!closed_) Flush();
}

void ClientConnection::ScheduleFlush() {
  if (flush_scheduled_ || closed_) return;
  flush_scheduled_ = true;
  loop_.RunBeforeBlocking([this] {
    flush_scheduled_ = false;
    Flush();
  });
}

void ClientConnection::Flush() {
  if (closed_ || !connected_) return;
  if (in_session_) {
    ScheduleFlush();
    return;
  }
  in_session_ = true;
  const bool produced = ProduceOutput(session_, out_, kOutputHighWatermark);
  in_session_ = false;
  if (!produced) {
    FailAll(http::UpstreamFailure::kProtocolError);
    return;
  }
  if (!event::WriteBuffered(*transport_, out_)) {
    FailAll(http::UpstreamFailure::kReset);
    return;
  }
  if (out_.empty()) out_.ShrinkIfIdle();
  std::vector<ClientStream*> streams;
  for (auto& s : streams_) streams.push_back(s.get());
  for (ClientStream* s : streams) s->MaybeNotifyDrained();
  if (closed_) return;
  if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_) &&
      out_.empty()) {
    FailAll(http::UpstreamFailure::kReset);  // GOAWAY done, or the session ended
    return;
  }
  UpdateInterest();
}

void ClientConnection::UpdateInterest() {
  if (closed_ || !connected_) return;
  io_->Watch(EV_READ | (out_.empty() && !transport_->ReadWantsWrite() ? 0 : EV_WRITE));
}

void ClientConnection::ArmIdleTimer() {
  if (streams_.empty() && connected_) {
    if (close_when_idle_) {
      Close();
      return;
    }
    timer_.Start(settings_.idle_timeout);
  }
}

void ClientConnection::OnTimer() {
  if (!connected_) {
    FailAll(http::UpstreamFailure::kConnectTimeout);
    return;
  }
  if (streams_.empty()) Close();  // idle too long
}

void ClientConnection::CloseWhenIdle() {
  close_when_idle_ = true;
  if (streams_.empty()) Close();
}

void ClientConnection::FailAll(http::UpstreamFailure failure) {
  if (closed_) return;
  closed_ = true;
  std::vector<ClientStream*> streams;
  for (auto& s : streams_) streams.push_back(s.get());
  // A stream the server never started (refused, or past its GOAWAY) is safe to retry.
  for (ClientStream* s : streams) s->Fail(failure);
  Close();
}

void ClientConnection::Close() {
  closed_ = true;
  if (io_) io_->Watch(0);
  timer_.Stop();
  for (auto& s : streams_) {
    s->Fail(http::UpstreamFailure::kReset);
    loop_.DeferDelete(std::move(s));
  }
  streams_.clear();
  by_id_.clear();
  io_.reset();
  transport_.reset();
  owner_.OnClosed(this);
}

void ClientConnection::ForgetStream(ClientStream* stream) {
  if (closed_) return;  // Close() lets go of every stream itself
  if (stream->id() >= 0) by_id_.erase(stream->id());
  auto it = std::find_if(streams_.begin(), streams_.end(),
                         [stream](const auto& s) { return s.get() == stream; });
  if (it == streams_.end()) return;
  loop_.DeferDelete(std::move(*it));
  streams_.erase(it);
  ArmIdleTimer();
}

ClientStream* ClientConnection::Find(int32_t stream_id) {
  auto it = by_id_.find(stream_id);
  return it == by_id_.end() ? nullptr : it->second;
}

int ClientConnection::OnHeader(const nghttp2_frame& frame, std::string_view name,
                               std::string_view value) {
  if (frame.hd.type != NGHTTP2_HEADERS) return 0;
  if (ClientStream* s = Find(frame.hd.stream_id)) {
    s->OnHeader(frame.headers.cat == NGHTTP2_HCAT_HEADERS, name, value);
  }
  return 0;
}

int ClientConnection::OnFrameReceived(const nghttp2_frame& frame) {
  const bool end_stream = (frame.hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  ClientStream* s = Find(frame.hd.stream_id);
  if (s == nullptr) return 0;
  if (frame.hd.type == NGHTTP2_HEADERS) {
    s->OnHeadersDone(frame.headers.cat == NGHTTP2_HCAT_HEADERS, end_stream);
  } else if (frame.hd.type == NGHTTP2_DATA && end_stream) {
    s->OnEndStream();
  }
  return 0;
}

int ClientConnection::OnDataChunk(int32_t stream_id, const uint8_t* data, size_t len) {
  nghttp2_session_consume_connection(session_, len);
  if (ClientStream* s = Find(stream_id)) {
    s->OnData(reinterpret_cast<const char*>(data), len);
  } else {
    nghttp2_session_consume_stream(session_, stream_id, len);
  }
  return 0;
}

int ClientConnection::OnStreamClosed(int32_t stream_id, uint32_t error_code) {
  ClientStream* s = Find(stream_id);
  if (s == nullptr) return 0;
  s->OnClosed(error_code);
  s->MaybeForget();
  return 0;
}

// --- ClientStream ---

ClientStream::ClientStream(ClientConnection& connection, http::ClientStreamHandler* handler,
                           http1::ClientSettings settings, bool reused)
    : conn_(connection),
      handler_(handler),
      settings_(settings),
      reused_(reused),
      timer_(connection.loop(), [this] { OnTimeout(); }),
      send_timer_(connection.loop(), [this] { OnSendTimeout(); }) {}

ClientStream::~ClientStream() = default;

void ClientStream::OnConnected() {
  if (handler_ != nullptr && id_ < 0) handler_->OnUpstreamReady();
}

void ClientStream::SendRequest(const http::RequestHead& head, bool end_stream) {
  head_request_ = head.method == "HEAD";
  std::string authority = head.authority;
  if (auto host = head.headers.Get("host")) authority = std::string(*host);
  std::string length;
  std::vector<nghttp2_nv> nva;
  nva.reserve(head.headers.size() + 5);
  nva.push_back(Nv(":method", head.method));
  nva.push_back(Nv(":scheme", conn_.scheme()));
  nva.push_back(Nv(":authority", authority));
  nva.push_back(Nv(":path", head.path));
  for (const http::Header& h : head.headers) {
    if (IsConnectionSpecific(h.name)) continue;
    if (h.name == "te" && h.value != "trailers") continue;
    nva.push_back(Nv(h.name, h.value));
  }
  if (head.content_length) {
    length = StrCat(*head.content_length);
    nva.push_back(Nv("content-length", length));
  }
  request_end_ = end_stream;
  nghttp2_data_provider provider;
  provider.source.ptr = this;
  provider.read_callback = ReadRequestCallback;
  id_ = nghttp2_submit_request(conn_.session(), nullptr, nva.data(), nva.size(),
                               end_stream ? nullptr : &provider, this);
  if (id_ < 0) {
    conn_.loop().RunBeforeBlocking([this] {
      if (handler_ != nullptr) Fail(http::UpstreamFailure::kConnectFailed);
    });
    return;
  }
  conn_.RegisterStream(id_, this);
  timer_.Start(settings_.response_timeout);
  conn_.ScheduleFlush();
}

void ClientStream::SendBody(std::string_view data, bool end_stream) {
  if (id_ < 0 || request_end_) return;
  out_.Append(data);
  request_end_ = end_stream;
  if (out_.size() >= kRequestHighWatermark) request_blocked_ = true;
  if (data_deferred_) {
    data_deferred_ = false;
    nghttp2_session_resume_data(conn_.session(), id_);
  }
  UpdateSendTimer(false);
  conn_.ScheduleFlush();
}

bool ClientStream::RequestBlocked() const { return out_.size() >= kRequestHighWatermark; }

ssize_t ClientStream::ReadRequest(uint8_t* buf, size_t length, uint32_t* data_flags) {
  size_t n = std::min(length, out_.size());
  if (n > 0) {
    memcpy(buf, out_.data(), n);
    out_.Consume(n);
    // A backend still accepting a long upload is not stalled (as HTTP/1.1).
    if (handler_ != nullptr && !response_started_) timer_.Start(settings_.response_timeout);
  }
  UpdateSendTimer(n > 0);
  if (out_.empty()) {
    if (request_end_) {
      *data_flags |= NGHTTP2_DATA_FLAG_EOF;
    } else if (n == 0) {
      data_deferred_ = true;
      return NGHTTP2_ERR_DEFERRED;
    }
  }
  return static_cast<ssize_t>(n);
}

void ClientStream::MaybeNotifyDrained() {
  if (!request_blocked_ || out_.size() >= kRequestLowWatermark) return;
  request_blocked_ = false;
  if (handler_ != nullptr) handler_->OnRequestDrained();
}

void ClientStream::PauseResponse() { paused_ = true; }

void ClientStream::ResumeResponse() {
  if (!paused_) return;
  paused_ = false;
  std::string data(paused_data_.view());
  paused_data_.Clear();
  paused_data_.ShrinkIfIdle();
  bool end = paused_end_;
  if (!data.empty()) Deliver(data);
  if (end && handler_ != nullptr) {
    auto* handler = handler_;
    handler_ = nullptr;
    if (paused_trailers_) {
      handler->OnResponseTrailers(std::move(trailers_));
    } else {
      handler->OnResponseBody({}, true);
    }
  }
  MaybeForget();
}

void ClientStream::MaybeForget() {
  if (handler_ == nullptr && (stream_closed_ || id_ < 0)) conn_.ForgetStream(this);
}

void ClientStream::Cancel() {
  handler_ = nullptr;
  timer_.Stop();
  send_timer_.Stop();
  if (id_ >= 0 && !stream_closed_) {
    nghttp2_submit_rst_stream(conn_.session(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_CANCEL);
    conn_.ScheduleFlush();
    return;
  }
  MaybeForget();
}

void ClientStream::OnHeader(bool trailers, std::string_view name, std::string_view value) {
  if (trailers) {
    trailers_.Add(name, value);
    return;
  }
  if (name == ":status") {
    int status = 0;
    head_.status = absl::SimpleAtoi(ToAbsl(value), &status) ? status : 502;
    return;
  }
  if (!name.empty() && name.front() == ':') return;
  head_.headers.Add(name, value);
}

void ClientStream::OnHeadersDone(bool trailers, bool end_stream) {
  if (handler_ == nullptr) return;
  timer_.Start(settings_.response_timeout);
  if (trailers) {
    if (!end_stream) return;
    if (paused_) {
      // Body still held for a slow client: the trailers follow it (gRPC's
      // grpc-status must not overtake the messages it ends).
      timer_.Stop();
      paused_trailers_ = true;
      paused_end_ = true;
      return;
    }
    auto* handler = handler_;
    handler_ = nullptr;
    timer_.Stop();
    handler->OnResponseTrailers(std::move(trailers_));
    return;
  }
  if (head_.status < 200) {  // interim: the final response follows
    head_ = http::ResponseHead();
    return;
  }
  response_started_ = true;
  if (auto length = head_.headers.Get("content-length")) {
    uint64_t n = 0;
    if (absl::SimpleAtoi(ToAbsl(*length), &n)) head_.content_length = n;
    head_.headers.Remove("content-length");
  }
  const bool bodiless = head_request_ || head_.status == 204 || head_.status == 304;
  head_.has_body = !end_stream && !bodiless;
  auto* handler = handler_;
  if (end_stream) {
    handler_ = nullptr;
    timer_.Stop();
  }
  handler->OnResponseHeaders(std::move(head_), end_stream);
}

void ClientStream::OnData(const char* data, size_t len) {
  if (handler_ == nullptr) {
    nghttp2_session_consume_stream(conn_.session(), id_, len);
    return;
  }
  timer_.Start(settings_.response_timeout);
  if (paused_) {
    paused_data_.Append(data, len);
    return;
  }
  Deliver(std::string_view(data, len));
}

void ClientStream::Deliver(std::string_view data) {
  if (handler_ != nullptr) handler_->OnResponseBody(data, false);
  nghttp2_session_consume_stream(conn_.session(), id_, data.size());
  conn_.ScheduleFlush();
}

void ClientStream::OnEndStream() {
  if (handler_ == nullptr) return;
  timer_.Stop();
  if (paused_) {
    paused_end_ = true;
    return;
  }
  auto* handler = handler_;
  handler_ = nullptr;
  handler->OnResponseBody({}, true);
}

void ClientStream::OnClosed(uint32_t error_code) {
  stream_closed_ = true;
  timer_.Stop();
  send_timer_.Stop();
  if (handler_ == nullptr || (paused_end_ && error_code == NGHTTP2_NO_ERROR)) return;
  // Refused before the server looked at it: nothing happened, retry elsewhere.
  Fail(error_code == NGHTTP2_REFUSED_STREAM && !response_started_
           ? http::UpstreamFailure::kConnectFailed
           : http::UpstreamFailure::kReset);
}

void ClientStream::Fail(http::UpstreamFailure failure) {
  timer_.Stop();
  send_timer_.Stop();
  if (handler_ == nullptr) return;
  auto* handler = handler_;
  handler_ = nullptr;
  handler->OnUpstreamFailure(failure, response_started_);
  MaybeForget();
}

void ClientStream::OnTimeout() {
  if (handler_ == nullptr) return;
  if (id_ >= 0) {
    nghttp2_submit_rst_stream(conn_.session(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_CANCEL);
    conn_.ScheduleFlush();
  }
  Fail(http::UpstreamFailure::kResponseTimeout);
}

void ClientStream::UpdateSendTimer(bool progressed) {
  if (handler_ == nullptr || stream_closed_ || out_.empty()) {
    send_timer_.Stop();
  } else if (progressed || !send_timer_.active()) {
    send_timer_.Start(settings_.send_timeout);
  }
}

void ClientStream::OnSendTimeout() {
  if (handler_ == nullptr) return;
  if (id_ >= 0 && !stream_closed_) {
    nghttp2_submit_rst_stream(conn_.session(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_CANCEL);
    conn_.ScheduleFlush();
  }
  Fail(http::UpstreamFailure::kSendTimeout);
}

}  // namespace portico::dataplane::http2
