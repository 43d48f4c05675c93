#pragma once
// One HTTP/2 request/response exchange: collects the request head from the
// decoded header block, feeds the body to its RequestHandler with flow
// control, and queues the response for nghttp2's data provider.
// Threading: owned by its ServerConnection, on the worker's thread.

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "dataplane/event/buffer.h"
#include "dataplane/event/event_loop.h"
#include "dataplane/event/object_slab.h"
#include "dataplane/http/stream.h"

namespace portico::dataplane::http2 {

class ServerConnection;

class ServerStream final : public http::ResponseSink, public event::Deferrable {
 public:
  // One per request: from the thread's slab, not malloc (docs/benchmarks.md,
  // "Profiling and optimisations" item 7).
  PORTICO_SLAB_ALLOCATED(ServerStream)

  ServerStream(ServerConnection& connection, int32_t id, double now);
  ~ServerStream() override;

  int32_t id() const { return id_; }
  ServerStream(const ServerStream&) = delete;
  ServerStream& operator=(const ServerStream&) = delete;

  // From the connection's nghttp2 callbacks.
  void OnHeader(std::string_view name, std::string_view value);
  // The request's header block is complete (`end_stream`: no body follows).
  void OnRequestHeaders(bool end_stream, double now);
  void OnData(const char* data, size_t len, double now);
  // Stream 1 of an h2c upgrade: the HTTP/1.1 request, complete, without a body.
  void StartUpgradedRequest(http::RequestHead head);
  void OnRequestEnd();
  // nghttp2 closed the stream (reset by either side, or done).
  void OnClosed();
  // The data provider: up to `length` response bytes into `buf`.
  ssize_t ReadResponse(uint8_t* buf, size_t length, uint32_t* data_flags);
  // The response's final frame went out.
  void OnResponseSent();

  // Called by the connection after each write; notifies a handler that the
  // client took enough of its response.
  void MaybeNotifyDrained();
  enum class Timeout { kNone, kReset, kStalled };
  // Timeouts, checked once a second.
  Timeout CheckTimeouts(double now);
  bool request_complete() const { return request_complete_; }

  // http::ResponseSink
  const http::ConnectionInfo& connection() const override;
  void SendInformational(int status) override;
  void SendHeaders(http::ResponseHead head, bool end_stream) override;
  void SendBody(std::string_view data, bool end_stream) override;
  void SendTrailers(http::HeaderMap trailers) override;
  void Abort() override;
  bool ResponseBlocked() const override;
  void PauseRequestBody() override;
  void ResumeRequestBody() override;
  bool closing() const override;

 private:
  // A response the codec itself gives (400, 413, 431, 408...).
  void SendError(int status);
  void Reset(uint32_t error_code);
  void DeliverBody(std::string_view data, bool end_stream);
  // The handler's work is over (response queued or stream gone).
  void ReleaseHandler(bool complete);
  int ValidateHead();

  ServerConnection& conn_;
  const int32_t id_;
  std::unique_ptr<http::RequestHandler> handler_;

  // Request.
  http::RequestHead head_;
  std::string cookie_;
  bool saw_authority_ = false;
  uint32_t header_bytes_ = 0;
  int reject_status_ = 0;
  uint64_t body_bytes_ = 0;
  bool request_complete_ = false;
  bool body_paused_ = false;
  event::Buffer paused_body_;  // arrived while paused; its window is still closed
  bool paused_end_ = false;
  double last_activity_ = 0;

  // Response.
  event::Buffer out_;
  bool response_started_ = false;
  bool response_queued_ = false;             // the end of the response is in out_ (or sent)
  std::optional<http::HeaderMap> trailers_;  // sent after the last DATA frame
  bool data_deferred_ = false;               // the data provider is waiting for out_
  bool blocked_ = false;
  bool closed_ = false;
  double stalled_since_ = 0;
};

}  // namespace portico::dataplane::http2
