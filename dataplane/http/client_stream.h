#pragma once
// The seam between request handling and an upstream codec: one request/response
// exchange on an upstream connection (HTTP/1.1, or a stream of an HTTP/2 one).
// Threading: called on the owning worker thread only.

#include <string_view>

#include "dataplane/http/message.h"
#include "dataplane/http/stream.h"

namespace portico::dataplane::http {

enum class UpstreamFailure {
  kConnectFailed,    // refused, unreachable: safe to retry elsewhere
  kConnectTimeout,   // safe to retry elsewhere
  kResponseTimeout,  // no byte within the response timeout
  kReset,            // closed or reset before the response completed
  kProtocolError,    // the upstream sent something unparseable
  // The TLS handshake failed (certificate not verified, no common protocol):
  // part of the connect, so nothing was sent and another endpoint may be tried.
  kTlsHandshakeFailed,
  // A request write made no progress within the send timeout.
  kSendTimeout,
};

const char* UpstreamFailureName(UpstreamFailure failure);

// Implemented by the request handling layer.
class ClientStreamHandler {
 public:
  virtual ~ClientStreamHandler() = default;
  // A new connection is established: the request may be sent now.
  virtual void OnUpstreamReady() = 0;
  virtual void OnResponseHeaders(ResponseHead head, bool end_stream) = 0;
  virtual void OnResponseBody(std::string_view data, bool end_stream) = 0;
  // The response ends with trailers (HTTP/2 upstreams; gRPC's grpc-status).
  virtual void OnResponseTrailers(HeaderMap trailers) = 0;
  // The exchange failed. `response_started`: some response bytes were
  // already delivered. The stream is gone after this call.
  virtual void OnUpstreamFailure(UpstreamFailure failure, bool response_started) = 0;
  // The request body may flow again (see ClientStream::RequestBlocked).
  virtual void OnRequestDrained() = 0;
  // A request with upgrade_websocket got 101 Switching Protocols: the
  // connection left its pool and its socket is the handler's now (`upstream`
  // without idle_timeout). The stream is gone after this call.
  virtual void OnUpgrade(ResponseHead head, UpgradedUpstream upstream) = 0;
};

// Implemented by upstream codecs.
class ClientStream {
 public:
  virtual ~ClientStream() = default;
  virtual bool connected() const = 0;
  // True when this connection already served a request (a stale keep-alive
  // connection can fail before answering; such a failure is retryable).
  virtual bool reused() const = 0;
  virtual void SendRequest(const RequestHead& head, bool end_stream) = 0;
  virtual void SendBody(std::string_view data, bool end_stream) = 0;
  virtual bool RequestBlocked() const = 0;
  virtual void PauseResponse() = 0;
  virtual void ResumeResponse() = 0;
  // The handler is gone: no more callbacks; the exchange is abandoned.
  virtual void Cancel() = 0;
};

}  // namespace portico::dataplane::http
