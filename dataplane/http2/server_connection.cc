#include "dataplane/http2/server_connection.h"

#include <errno.h>

#include <algorithm>
#include <vector>

#include "common/log.h"
#include "dataplane/http2/nghttp2_util.h"
#include "dataplane/http2/server_stream.h"

namespace portico::dataplane::http2 {

// Every idle HTTP/2 connection is one of these (docs/benchmarks.md,
// "Profiling and optimisations" item 3): rarely used state goes behind a pointer.
static_assert(sizeof(void*) != 8 || sizeof(ServerConnection) <= 744,
              "an idle HTTP/2 connection grew");
namespace {

// Session output is produced only while less than this waits for the socket,
// and the client's input is not read beyond it (a client that floods PINGs
// without reading the answers stalls itself).
constexpr size_t kOutputHighWatermark = 128 * 1024;
constexpr double kTickSeconds = 1;
constexpr double kLingerSeconds = 2;
// NGHTTP2_ERR_TOO_MANY_CONTINUATIONS: Debian's security updates of 1.52 carry
// nghttp2's own CONTINUATION limit, which can fire before the guard sees the frame.
constexpr ssize_t kTooManyContinuations = -905;
// Streams cut short whose late trailers are still tolerated.
constexpr size_t kCutShortKept = 128;

ServerConnection* Self(void* user_data) { return static_cast<ServerConnection*>(user_data); }

}  // namespace

// Static nghttp2 callbacks forwarding to the connection.
struct SessionCallbacks {
  static int BeginFrame(nghttp2_session*, const nghttp2_frame_hd* hd, void* user) {
    return Self(user)->OnBeginFrame(*hd);
  }
  static int BeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    return Self(user)->OnBeginHeaders(*frame);
  }
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
  static int FrameSend(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    return Self(user)->OnFrameSent(*frame);
  }
  static int StreamClose(nghttp2_session*, int32_t stream_id, uint32_t error_code, void* user) {
    return Self(user)->OnStreamClosed(stream_id, error_code);
  }

  static const nghttp2_session_callbacks* Get() {
    static nghttp2_session_callbacks* callbacks = [] {
      nghttp2_session_callbacks* cb = nullptr;
      nghttp2_session_callbacks_new(&cb);
      nghttp2_session_callbacks_set_on_begin_frame_callback(cb, BeginFrame);
      nghttp2_session_callbacks_set_on_begin_headers_callback(cb, BeginHeaders);
      nghttp2_session_callbacks_set_on_header_callback(cb, Header);
      nghttp2_session_callbacks_set_on_frame_recv_callback(cb, FrameRecv);
      nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cb, DataChunk);
      nghttp2_session_callbacks_set_on_frame_send_callback(cb, FrameSend);
      nghttp2_session_callbacks_set_on_stream_close_callback(cb, StreamClose);
      return cb;
    }();
    return callbacks;
  }
};

ServerConnection::ServerConnection(event::EventLoop& loop,
                                   std::unique_ptr<event::Transport> transport,
                                   http::ConnectionInfo info, ConnectionOwner& owner,
                                   http::RequestHandlerFactory& factory, std::string input,
                                   std::optional<UpgradedRequest> upgrade)
    : loop_(loop),
      transport_(std::move(transport)),
      info_(std::move(info)),
      owner_(owner),
      factory_(factory),
      settings_(owner.http2_settings()),
      flood_(settings_.flood),
      io_(this, transport_->fd()),
      timer_(this),
      initial_input_(std::move(input)),
      upgrade_(upgrade ? std::make_unique<UpgradedRequest>(std::move(*upgrade)) : nullptr) {
  info_.protocol = "HTTP/2";
  nghttp2_option* option = nullptr;
  nghttp2_option_new(&option);
  // Windows follow the handlers (see the header), not nghttp2's bookkeeping.
  nghttp2_option_set_no_auto_window_update(option, 1);
  nghttp2_option_set_max_deflate_dynamic_table_size(option, 4096);
  memory_.BeginSessionNew();
  nghttp2_session_server_new3(&session_, SessionCallbacks::Get(), this, option, memory_.mem());
  memory_.EndSessionNew();
  nghttp2_option_del(option);
  const nghttp2_settings_entry entries[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, settings_.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, settings_.stream_window},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, settings_.max_header_bytes},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, entries, std::size(entries));
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                        static_cast<int32_t>(settings_.connection_window));
}

ServerConnection::~ServerConnection() {
  io_.Stop(loop_);
  timer_.Stop(loop_);
  if (session_ != nullptr) nghttp2_session_del(session_);
}

void ServerConnection::Start() {
  idle_since_ = loop_.Now();
  timer_.Start(loop_, kTickSeconds);
  if (upgrade_) {
    UpgradedRequest upgrade = std::move(*upgrade_);
    upgrade_.reset();
    out_.Append(upgrade.output);
    const auto* payload = reinterpret_cast<const uint8_t*>(upgrade.settings_payload.data());
    if (nghttp2_session_upgrade2(session_, payload, upgrade.settings_payload.size(),
                                 upgrade.head.method == "HEAD", nullptr) != 0) {
      Close();
      return;
    }
    max_client_stream_id_ = 1;
    auto stream = std::make_unique<ServerStream>(*this, 1, loop_.Now());
    ServerStream* raw = stream.get();
    streams_.emplace(1, std::move(stream));
    owner_.OnStreamsChanged(1);
    raw->StartUpgradedRequest(std::move(upgrade.head));
    if (closed_) return;
  }
  if (!initial_input_.empty()) {
    std::string input = std::move(initial_input_);
    if (!Receive(input.data(), input.size())) return;
  }
  Flush();
}

void ServerConnection::CloseWhenIdle() {
  if (closed_ || going_away_) return;
  going_away_ = true;
  // Streams the client opened so far finish; newer ones are refused.
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                        nullptr, 0);
  ScheduleFlush();
}

void ServerConnection::OnIo(int revents) {
  if (revents & EV_WRITE) Flush();
  if (closed_) return;
  if ((revents & EV_READ) || ((revents & EV_WRITE) && transport_->ReadWantsWrite())) {
    OnReadable();
  }
}

void ServerConnection::OnReadable() {
  do {
    ssize_t n = transport_->Read(ReadScratch(), kReadSize);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) break;
      Close();
      return;
    }
    if (n == 0) {  // the client is gone: its streams are aborted
      Close();
      return;
    }
    if (finishing_) continue;  // lingering: drop what still arrives
    if (!Receive(ReadScratch(), static_cast<size_t>(n))) return;
  } while (!closed_ && transport_->HasBufferedInput());
  if (closed_) return;
  Flush();
}

bool ServerConnection::Receive(const char* data, size_t size) {
  in_session_ = true;
  ssize_t rv = nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(data), size);
  in_session_ = false;
  if (rv == kTooManyContinuations) Trip(Flood::kContinuation);
  if (rv < 0 && !tripped_) {
    if (rv == NGHTTP2_ERR_BAD_CLIENT_MAGIC) {  // not HTTP/2 at all: nothing to say
      Close();
      return false;
    }
    LogDebug("http2", "session error: ", nghttp2_strerror(static_cast<int>(rv)));
    nghttp2_session_terminate_session(session_, NGHTTP2_PROTOCOL_ERROR);
  }
  if (rv < 0 || tripped_) {
    FinishAfterFlush();
    return false;
  }
  return true;
}

void ServerConnection::ScheduleFlush() {
  if (flush_scheduled_ || closed_) return;
  flush_scheduled_ = true;
  loop_.RunBeforeBlocking([this] {
    flush_scheduled_ = false;
    Flush();
  });
}

void ServerConnection::Flush() {
  if (closed_) return;
  if (in_session_) {  // nghttp2 is not reentrant
    ScheduleFlush();
    return;
  }
  in_session_ = true;
  const bool produced = ProduceOutput(session_, out_, kOutputHighWatermark);
  in_session_ = false;
  if (!produced) {
    Close();
    return;
  }
  const size_t pending = out_.size();
  if (!event::WriteBuffered(*transport_, out_)) {
    Close();
    return;
  }
  if (out_.size() < pending) write_blocked_since_ = 0;
  if (out_.empty()) {
    out_.ShrinkIfIdle();
    write_blocked_since_ = 0;
    // Parked: nothing open and nothing being serialised.
    if (streams_.empty() && !nghttp2_session_want_write(session_)) memory_.ReleaseIdlePages();
  } else if (write_blocked_since_ == 0) {
    write_blocked_since_ = loop_.Now();
  }
  // Handlers whose responses drained may produce more now.
  std::vector<ServerStream*> streams;
  streams.reserve(streams_.size());
  for (auto& [id, stream] : streams_) streams.push_back(stream.get());
  for (ServerStream* stream : streams) stream->MaybeNotifyDrained();
  if (closed_) return;
  if (out_.empty()) {
    if (finishing_) {
      // All said (GOAWAY): half-close and drain what the client still sends,
      // so unread input does not turn our close into a reset.
      transport_->ShutdownWrite();
      timer_.Start(loop_, kLingerSeconds);
      io_.Watch(loop_, EV_READ);
      return;
    }
    if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) {
      Close();
      return;
    }
  }
  UpdateInterest();
}

void ServerConnection::UpdateInterest() {
  if (closed_) return;
  bool want_read = !finishing_ && out_.size() < kOutputHighWatermark;
  bool want_write = !out_.empty() || (want_read && transport_->ReadWantsWrite());
  io_.Watch(loop_, (want_read ? EV_READ : 0) | (want_write ? EV_WRITE : 0));
}

void ServerConnection::FinishAfterFlush() {
  finishing_ = true;
  Flush();
}

void ServerConnection::Trip(Flood kind) {
  if (tripped_) return;
  tripped_ = true;
  LogInfo("http2", "connection from ", info_.peer.ToString(), " exceeded the ", FloodName(kind),
          " limit; GOAWAY");
  owner_.OnFlood(kind);
  nghttp2_session_terminate_session(session_, NGHTTP2_ENHANCE_YOUR_CALM);
}

void ServerConnection::OnTick() {
  if (closed_) return;
  if (finishing_) {  // the linger is over
    Close();
    return;
  }
  const double now = loop_.Now();
  if (write_blocked_since_ != 0 && now - write_blocked_since_ > settings_.stall_timeout) {
    Close();  // the client stopped reading altogether
    return;
  }
  if (streams_.empty()) {
    // A new connection gets the header timeout for its first request.
    bool fresh = nghttp2_session_get_last_proc_stream_id(session_) == 0;
    double limit = fresh ? settings_.header_timeout : settings_.idle_timeout;
    if (now - idle_since_ >= limit) {
      nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
      FinishAfterFlush();
      return;
    }
  } else {
    std::vector<ServerStream*> streams;
    streams.reserve(streams_.size());
    for (auto& [id, stream] : streams_) streams.push_back(stream.get());
    bool stalled = false;
    for (ServerStream* stream : streams) {
      if (stream->CheckTimeouts(now) == ServerStream::Timeout::kStalled) stalled = true;
    }
    if (stalled && nghttp2_session_get_remote_window_size(session_) <= 0) {
      // The connection window itself is shut: nothing on it can progress
      // (the stream that noticed already counted the stall).
      tripped_ = true;
      nghttp2_session_terminate_session(session_, NGHTTP2_ENHANCE_YOUR_CALM);
      FinishAfterFlush();
      return;
    }
    Flush();
    if (closed_) return;
  }
  timer_.Start(loop_, kTickSeconds);
}

int ServerConnection::OnBeginFrame(const nghttp2_frame_hd& hd) {
  if (tripped_) return NGHTTP2_ERR_CALLBACK_FAILURE;  // stop reading a flooding client
  if (hd.type == NGHTTP2_HEADERS) {
    if (IsReusedStreamId(hd)) {
      // nghttp2 1.52 ignores such a header block; RFC 9113 5.1.1 makes it a
      // connection error.
      tripped_ = true;
      nghttp2_session_terminate_session(session_, NGHTTP2_PROTOCOL_ERROR);
      return 0;
    }
    max_client_stream_id_ = std::max(max_client_stream_id_, hd.stream_id);
  }
  Flood kind;
  if (flood_.OnFrame(hd.type, hd.flags, hd.length, loop_.Now(), &kind)) Trip(kind);
  return 0;
}

int ServerConnection::OnBeginHeaders(const nghttp2_frame& frame) {
  if (frame.hd.type != NGHTTP2_HEADERS || frame.headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  streams_.emplace(frame.hd.stream_id,
                   std::make_unique<ServerStream>(*this, frame.hd.stream_id, loop_.Now()));
  owner_.OnStreamsChanged(1);
  return 0;
}

int ServerConnection::OnHeader(const nghttp2_frame& frame, std::string_view name,
                               std::string_view value) {
  if (frame.hd.type != NGHTTP2_HEADERS || frame.headers.cat != NGHTTP2_HCAT_REQUEST) {
    return 0;  // request trailers are not passed on (HTTP/1.1 upstreams)
  }
  if (ServerStream* stream = FindStream(frame.hd.stream_id)) stream->OnHeader(name, value);
  return 0;
}

int ServerConnection::OnFrameReceived(const nghttp2_frame& frame) {
  const bool end_stream = (frame.hd.flags & NGHTTP2_FLAG_END_STREAM) != 0;
  switch (frame.hd.type) {
    case NGHTTP2_HEADERS:
      if (ServerStream* stream = FindStream(frame.hd.stream_id)) {
        if (frame.headers.cat == NGHTTP2_HCAT_REQUEST) {
          stream->OnRequestHeaders(end_stream, loop_.Now());
        } else if (end_stream) {
          stream->OnRequestEnd();
        }
      }
      break;
    case NGHTTP2_DATA:
      if (end_stream) {
        if (ServerStream* stream = FindStream(frame.hd.stream_id)) stream->OnRequestEnd();
      }
      break;
    default:
      break;
  }
  return 0;
}

int ServerConnection::OnDataChunk(int32_t stream_id, const uint8_t* data, size_t len) {
  // The connection window reopens at once; the stream's when its handler takes the bytes.
  nghttp2_session_consume_connection(session_, len);
  if (ServerStream* stream = FindStream(stream_id)) {
    stream->OnData(reinterpret_cast<const char*>(data), len, loop_.Now());
  } else {
    nghttp2_session_consume_stream(session_, stream_id, len);
  }
  return 0;
}

int ServerConnection::OnFrameSent(const nghttp2_frame& frame) {
  // Frames up to a page stay in the frame buffer's first page (see SessionMemory).
  if (frame.hd.length + 9 + 1 > 4096) memory_.MarkDirty();  // header, pad length
  if ((frame.hd.type == NGHTTP2_HEADERS || frame.hd.type == NGHTTP2_DATA) &&
      (frame.hd.flags & NGHTTP2_FLAG_END_STREAM) != 0) {
    if (ServerStream* stream = FindStream(frame.hd.stream_id)) stream->OnResponseSent();
  }
  return 0;
}

int ServerConnection::OnStreamClosed(int32_t stream_id, uint32_t) {
  auto node = streams_.extract(stream_id);
  if (node.empty()) return 0;
  if (!node.mapped()->request_complete()) {
    cut_short_.push_back(stream_id);
    if (cut_short_.size() > kCutShortKept) cut_short_.erase(cut_short_.begin());
  }
  node.mapped()->OnClosed();
  loop_.DeferDelete(std::move(node.mapped()));
  owner_.OnStreamsChanged(-1);
  if (streams_.empty()) idle_since_ = loop_.Now();
  return 0;
}

bool ServerConnection::IsReusedStreamId(const nghttp2_frame_hd& hd) const {
  if (hd.stream_id > max_client_stream_id_ || (hd.stream_id & 1) == 0) return false;
  if (nghttp2_session_find_stream(session_, hd.stream_id) != nullptr) return false;  // trailers
  return std::find(cut_short_.begin(), cut_short_.end(), hd.stream_id) == cut_short_.end();
}

ServerStream* ServerConnection::FindStream(int32_t stream_id) {
  auto it = streams_.find(stream_id);
  return it == streams_.end() ? nullptr : it->second.get();
}

void ServerConnection::Close() {
  if (closed_) return;
  closed_ = true;
  io_.Watch(loop_, 0);
  timer_.Stop(loop_);
  for (auto& [id, stream] : streams_) {
    stream->OnClosed();
    loop_.DeferDelete(std::move(stream));
  }
  owner_.OnStreamsChanged(-static_cast<int>(streams_.size()));
  streams_.clear();
  transport_.reset();  // closes the socket
  owner_.OnConnectionClosed(this);
}

}  // namespace portico::dataplane::http2
