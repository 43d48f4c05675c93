#pragma once
// The seam between a downstream codec (HTTP/1.1 connection, HTTP/2 stream) and
// the codec-independent request handling (routing, policies, upstreams).
// Threading: everything here is called on the owning worker thread only.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/net/ip_address.h"
#include "dataplane/event/event_loop.h"
#include "dataplane/event/transport.h"
#include "dataplane/http/message.h"

namespace portico::dataplane::http {

// What a request handler may know about the client connection.
// Every connection keeps one, so it is compact (64 bytes): static strings
// as views, the ports next to the address.
struct ConnectionInfo {
  uint64_t id = 0;
  std::string_view scheme = "http";  // of the listener; a static string
  std::string_view protocol;         // "HTTP/1.1", "HTTP/1.0", "HTTP/2"
  net::IpAddress peer;
  uint16_t peer_port = 0;
  uint16_t local_port = 0;
};

// The upstream end of a websocket once it answered 101 Switching Protocols:
// its socket, the bytes it sent after the 101, and how long the tunnel may
// stay silent before it is closed.
struct UpgradedUpstream {
  std::unique_ptr<event::Transport> transport;
  std::string input;
  double idle_timeout = 60;  // seconds
};

// Implemented by the codec: where a handler sends its response.
class ResponseSink {
 public:
  virtual ~ResponseSink() = default;
  virtual const ConnectionInfo& connection() const = 0;
  // 100 Continue and other interim responses.
  virtual void SendInformational(int status) = 0;
  virtual void SendHeaders(ResponseHead head, bool end_stream) = 0;
  virtual void SendBody(std::string_view data, bool end_stream) = 0;
  // Ends the response with trailers. HTTP/2 sends them; HTTP/1.1 drops them
  // and ends the body (its chunked trailers are rarely read by anyone).
  virtual void SendTrailers(HeaderMap trailers) = 0;
  // The response cannot be completed (upstream died mid-body): HTTP/1.1 closes
  // the connection, HTTP/2 resets the stream. No further calls after this.
  virtual void Abort() = 0;
  // True while response bytes queued for the client exceed the high
  // watermark; the handler stops reading its upstream until OnResponseDrained.
  virtual bool ResponseBlocked() const = 0;
  // Request body flow control: the handler cannot take more body right now.
  virtual void PauseRequestBody() = 0;
  virtual void ResumeRequestBody() = 0;
  // True when the codec will close after this response (drain, client asked).
  virtual bool closing() const = 0;
  // Sends a 101 to a request with RequestHead::upgrade_websocket and turns
  // the connection into a byte tunnel to `upstream`. The handler's OnComplete
  // runs from inside this call; no further sink calls after it. Codecs that
  // never set upgrade_websocket (HTTP/2) keep the default: abort.
  virtual void SendUpgrade(ResponseHead, UpgradedUpstream) { Abort(); }
};

// Implemented by the request handling layer; one per request. Owned by the
// codec, which destroys it after the response completed or was aborted.
// Deferrable: a codec hands a finished handler to EventLoop::DeferDelete
// itself (it may still be on the stack), with no wrapper to allocate.
class RequestHandler : public event::Deferrable {
 public:
  ~RequestHandler() override = default;
  virtual void OnHeaders(RequestHead head, bool end_stream) = 0;
  virtual void OnBody(std::string_view data, bool end_stream) = 0;
  // The sink went from blocked to writable.
  virtual void OnResponseDrained() = 0;
  // The client is gone or broke the protocol mid-request. No sink calls after this.
  virtual void OnAbort() = 0;
  // Once the response is complete, a handler has one last word for the logs.
  virtual void OnComplete() = 0;
};

class RequestHandlerFactory {
 public:
  virtual ~RequestHandlerFactory() = default;
  virtual std::unique_ptr<RequestHandler> NewRequest(ResponseSink& sink) = 0;
};

}  // namespace portico::dataplane::http
