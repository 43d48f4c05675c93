#pragma once
// The connect phase that the HTTP/1.1 and HTTP/2 upstream connections share:
// the non-blocking TCP connect's result, then the transport's handshake (TLS
// to the upstream), re-arming the socket's watcher for whatever the handshake
// waits for, and the time it all took. The connections differ only in how
// they report a failure (one exchange, or every stream), so they map Step.
//
// Threading: owned by one connection, on its worker's thread.

#include <chrono>

#include "dataplane/event/event_loop.h"
#include "dataplane/event/transport.h"

namespace portico::dataplane::event {

class UpstreamConnect {
 public:
  enum class Step { kWaiting, kEstablished, kConnectFailed, kHandshakeFailed };

  // The connect(2) was issued now.
  void Begin();
  // Readiness of the connecting socket (`revents` from its watcher `io`).
  Step OnReady(Transport& transport, IoWatcher& io, int revents);
  // Seconds since Begin().
  double seconds() const;

 private:
  Step StepHandshake(Transport& transport, IoWatcher& io);

  bool handshaking_ = false;  // the TCP connect succeeded; the transport's handshake runs
  std::chrono::steady_clock::time_point start_;
};

}  // namespace portico::dataplane::event
