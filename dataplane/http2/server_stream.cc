#include "dataplane/http2/server_stream.h"

#include <string.h>

#include <algorithm>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "common/strings.h"
#include "dataplane/http/server_connection.h"
#include "dataplane/http1/wire.h"
#include "dataplane/http2/nghttp2_util.h"
#include "dataplane/http2/server_connection.h"

namespace portico::dataplane::http2 {
namespace {

// Response bytes queued per stream beyond this stop its upstream.
constexpr size_t kHighWatermark = 128 * 1024;
constexpr size_t kLowWatermark = 32 * 1024;

// Hop-by-hop headers are forbidden in HTTP/2 (RFC 9113 8.2.2);
// content-length is written from ResponseHead.
bool IsConnectionSpecific(std::string_view name) {
  return http::IsHopByHopHeader(name) || name == "content-length";
}

ssize_t ReadCallback(nghttp2_session*, int32_t, uint8_t* buf, size_t length, uint32_t* data_flags,
                     nghttp2_data_source* source, void*) {
  return static_cast<ServerStream*>(source->ptr)->ReadResponse(buf, length, data_flags);
}

}  // namespace

ServerStream::ServerStream(ServerConnection& connection, int32_t id, double now)
    : conn_(connection), id_(id), last_activity_(now) {
  head_.version = 20;
  head_.scheme = conn_.info().scheme;
}

ServerStream::~ServerStream() = default;

const http::ConnectionInfo& ServerStream::connection() const { return conn_.info(); }

bool ServerStream::closing() const { return conn_.going_away(); }

void ServerStream::OnHeader(std::string_view name, std::string_view value) {
  header_bytes_ += static_cast<uint32_t>(name.size() + value.size() + 32);
  if (reject_status_ != 0) return;
  if (header_bytes_ > conn_.settings().max_header_bytes ||
      head_.headers.size() >= conn_.settings().max_headers) {
    reject_status_ = 431;
    return;
  }
  if (!name.empty() && name.front() == ':') {
    // nghttp2 checked that each pseudo-header appears once and before the others.
    if (name == ":method") {
      head_.method = std::string(value);
    } else if (name == ":path") {
      head_.path = std::string(value);
    } else if (name == ":authority") {
      head_.authority = std::string(value);
      saw_authority_ = true;
    }
    return;  // :scheme is the listener's, as for HTTP/1.1
  }
  if (name == "cookie") {
    // RFC 9113 8.2.3: crumbs are joined again for an HTTP/1.1 upstream.
    if (!cookie_.empty()) cookie_ += "; ";
    cookie_.append(value);
    return;
  }
  head_.headers.Add(name, value);
}

int ServerStream::ValidateHead() {
  if (reject_status_ != 0) return reject_status_;
  if (head_.path.empty() || head_.path.find('#') != std::string::npos) return 400;
  if (head_.path.front() != '/' && !(head_.path == "*" && head_.method == "OPTIONS")) return 400;
  if (saw_authority_) {
    // RFC 9113 8.3.1: Host, if sent too, must name the same thing.
    if (auto host = head_.headers.Get("host");
        host && !absl::EqualsIgnoreCase(ToAbsl(*host), ToAbsl(head_.authority))) {
      return 400;
    }
    head_.headers.Set("host", head_.authority);
  }
  // The same Host and method rules as HTTP/1.1 (one valid Host; no CONNECT, TRACE).
  if (int status = http1::ValidateRequestHeaders(head_); status != 0) return status;
  if (!cookie_.empty()) head_.headers.Add("cookie", std::move(cookie_));
  if (auto length = head_.headers.Get("content-length")) {
    uint64_t n = 0;
    if (!absl::SimpleAtoi(ToAbsl(*length), &n)) return 400;
    head_.content_length = n;
    head_.headers.Remove("content-length");
  }
  const uint64_t max_body = conn_.settings().max_body_bytes;
  if (max_body > 0 && head_.content_length && *head_.content_length > max_body) return 413;
  if (auto expect = head_.headers.Get("expect")) {
    if (!absl::EqualsIgnoreCase(ToAbsl(*expect), "100-continue")) return 417;
    head_.expect_continue = head_.has_body;
    head_.headers.Remove("expect");
  }
  return 0;
}

void ServerStream::OnRequestHeaders(bool end_stream, double now) {
  last_activity_ = now;
  request_complete_ = end_stream;
  head_.has_body = !end_stream;
  if (int status = ValidateHead(); status != 0) {
    conn_.owner().OnProtocolError(status);
    SendError(status);
    return;
  }
  handler_ = conn_.factory().NewRequest(*this);
  handler_->OnHeaders(std::move(head_), end_stream);
}

void ServerStream::StartUpgradedRequest(http::RequestHead head) {
  head_ = std::move(head);
  head_.version = 20;
  request_complete_ = true;
  handler_ = conn_.factory().NewRequest(*this);
  handler_->OnHeaders(std::move(head_), true);
}

void ServerStream::OnData(const char* data, size_t len, double now) {
  last_activity_ = now;
  body_bytes_ += len;
  const uint64_t max_body = conn_.settings().max_body_bytes;
  if (handler_ && max_body > 0 && body_bytes_ > max_body) {
    if (response_started_) {
      Reset(NGHTTP2_CANCEL);
    } else {
      conn_.owner().OnProtocolError(413);
      ReleaseHandler(false);
      SendError(413);
    }
  }
  if (!handler_) {  // answered already (or refused): the window opens, the bytes go
    nghttp2_session_consume_stream(conn_.session(), id_, len);
    return;
  }
  if (body_paused_) {
    paused_body_.Append(data, len);
    return;
  }
  DeliverBody(std::string_view(data, len), false);
}

void ServerStream::OnRequestEnd() {
  request_complete_ = true;
  if (!handler_) return;
  if (body_paused_) {
    paused_end_ = true;
    return;
  }
  handler_->OnBody({}, true);
}

void ServerStream::DeliverBody(std::string_view data, bool end_stream) {
  if (handler_) handler_->OnBody(data, end_stream);
  if (!data.empty() && !closed_) {
    // The stream's window reopens only for bytes the handler took.
    nghttp2_session_consume_stream(conn_.session(), id_, data.size());
    conn_.ScheduleFlush();
  }
}

void ServerStream::PauseRequestBody() { body_paused_ = true; }

void ServerStream::ResumeRequestBody() {
  if (!body_paused_) return;
  body_paused_ = false;
  if (paused_body_.empty() && !paused_end_) return;
  std::string data(paused_body_.view());
  paused_body_.Clear();
  paused_body_.ShrinkIfIdle();
  bool end = paused_end_;
  paused_end_ = false;
  DeliverBody(data, end);
}

void ServerStream::OnClosed() {
  closed_ = true;
  ReleaseHandler(false);
}

void ServerStream::ReleaseHandler(bool complete) {
  if (!handler_) return;
  auto handler = std::move(handler_);
  if (complete) {
    handler->OnComplete();
  } else {
    handler->OnAbort();
  }
  conn_.loop().DeferDelete(std::move(handler));
}

void ServerStream::SendInformational(int status) {
  if (closed_ || response_started_) return;
  std::string code = StrCat(status);
  nghttp2_nv nv = Nv(":status", code);
  nghttp2_submit_headers(conn_.session(), NGHTTP2_FLAG_NONE, id_, nullptr, &nv, 1, nullptr);
  conn_.ScheduleFlush();
}

void ServerStream::SendHeaders(http::ResponseHead head, bool end_stream) {
  if (closed_ || response_started_) return;
  response_started_ = true;
  std::string status = StrCat(head.status);
  std::string length;
  // On the stack for a usual response: nghttp2 copies the fields anyway.
  absl::InlinedVector<nghttp2_nv, 16> nva;
  nva.reserve(head.headers.size() + 2);
  nva.push_back(Nv(":status", status));
  for (const http::Header& h : head.headers) {
    if (!IsConnectionSpecific(h.name)) nva.push_back(Nv(h.name, h.value));
  }
  const bool bodiless_status = head.status < 200 || head.status == 204 || head.status == 304;
  if (head.content_length && !bodiless_status) {
    length = StrCat(*head.content_length);
    nva.push_back(Nv("content-length", length));
  }
  nghttp2_data_provider provider;
  provider.source.ptr = this;
  provider.read_callback = ReadCallback;
  int rv = nghttp2_submit_response(conn_.session(), id_, nva.data(), nva.size(),
                                   end_stream ? nullptr : &provider);
  if (rv != 0) {
    Reset(NGHTTP2_INTERNAL_ERROR);
    return;
  }
  conn_.ScheduleFlush();
  if (end_stream) {
    response_queued_ = true;
    ReleaseHandler(true);
  }
}

void ServerStream::SendBody(std::string_view data, bool end_stream) {
  if (closed_ || response_queued_ || !response_started_) return;
  out_.Append(data);
  if (end_stream) response_queued_ = true;
  if (data_deferred_) {
    data_deferred_ = false;
    nghttp2_session_resume_data(conn_.session(), id_);
  }
  if (out_.size() >= kHighWatermark) blocked_ = true;
  conn_.ScheduleFlush();
  if (end_stream) ReleaseHandler(true);
}

void ServerStream::SendTrailers(http::HeaderMap trailers) {
  if (closed_ || response_queued_ || !response_started_) return;
  trailers_ = std::move(trailers);
  SendBody({}, true);
}

ssize_t ServerStream::ReadResponse(uint8_t* buf, size_t length, uint32_t* data_flags) {
  size_t n = std::min(length, out_.size());
  if (n > 0) {
    memcpy(buf, out_.data(), n);
    out_.Consume(n);
    stalled_since_ = 0;
  }
  if (out_.empty()) {
    if (response_queued_) {
      *data_flags |= NGHTTP2_DATA_FLAG_EOF;
      out_.ShrinkIfIdle();
      if (trailers_) {
        // The stream ends with the trailers' HEADERS frame, not this DATA.
        *data_flags |= NGHTTP2_DATA_FLAG_NO_END_STREAM;
        absl::InlinedVector<nghttp2_nv, 8> nva;
        nva.reserve(trailers_->size());
        for (const http::Header& h : *trailers_) {
          if (!IsConnectionSpecific(h.name)) nva.push_back(Nv(h.name, h.value));
        }
        nghttp2_submit_trailer(conn_.session(), id_, nva.data(), nva.size());
        trailers_.reset();
      }
    } else if (n == 0) {
      data_deferred_ = true;
      return NGHTTP2_ERR_DEFERRED;
    }
  }
  return static_cast<ssize_t>(n);
}

void ServerStream::OnResponseSent() {
  // RFC 9113 8.1: a response that beat its request body ends the stream
  // with NO_ERROR, telling the client to stop sending.
  if (!request_complete_) {
    nghttp2_submit_rst_stream(conn_.session(), NGHTTP2_FLAG_NONE, id_, NGHTTP2_NO_ERROR);
  }
}

void ServerStream::MaybeNotifyDrained() {
  if (!blocked_ || out_.size() >= kLowWatermark) return;
  blocked_ = false;
  if (handler_) handler_->OnResponseDrained();
}

bool ServerStream::ResponseBlocked() const { return out_.size() >= kHighWatermark; }

void ServerStream::Abort() {
  if (closed_) return;
  Reset(NGHTTP2_INTERNAL_ERROR);
}

void ServerStream::Reset(uint32_t error_code) {
  ReleaseHandler(false);
  if (closed_) return;
  nghttp2_submit_rst_stream(conn_.session(), NGHTTP2_FLAG_NONE, id_, error_code);
  conn_.ScheduleFlush();
}

void ServerStream::SendError(int status) {
  http::ResponseHead head;
  head.status = status;
  std::string body = StrCat(status, " ", http::ReasonPhrase(status), "\n");
  head.headers.Add("content-type", "text/plain; charset=utf-8");
  head.content_length = body.size();
  SendHeaders(std::move(head), false);
  SendBody(body, true);
}

ServerStream::Timeout ServerStream::CheckTimeouts(double now) {
  if (closed_) return Timeout::kNone;
  const ServerSettings& s = conn_.settings();
  // A request body that stopped arriving (not one we paused ourselves).
  if (!request_complete_ && !body_paused_ && handler_ && now - last_activity_ > s.body_timeout) {
    if (!response_started_) {
      conn_.owner().OnProtocolError(408);
      ReleaseHandler(false);
      SendError(408);
    } else {
      Reset(NGHTTP2_CANCEL);
    }
    return Timeout::kReset;
  }
  // Response data the client's window has kept out for too long.
  if (!out_.empty()) {
    int32_t window = std::min(nghttp2_session_get_stream_remote_window_size(conn_.session(), id_),
                              nghttp2_session_get_remote_window_size(conn_.session()));
    if (window > 0) {
      stalled_since_ = 0;
    } else if (stalled_since_ == 0) {
      stalled_since_ = now;
    } else if (now - stalled_since_ > s.stall_timeout) {
      conn_.owner().OnFlood(Flood::kStalledWindow);
      Reset(NGHTTP2_CANCEL);
      return Timeout::kStalled;
    }
  }
  return Timeout::kNone;
}

}  // namespace portico::dataplane::http2
