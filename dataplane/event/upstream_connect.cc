#include "dataplane/event/upstream_connect.h"

#include <errno.h>

#include "dataplane/event/socket.h"

namespace portico::dataplane::event {

void UpstreamConnect::Begin() {
  handshaking_ = false;
  start_ = std::chrono::steady_clock::now();
}

UpstreamConnect::Step UpstreamConnect::OnReady(Transport& transport, IoWatcher& io, int revents) {
  if (handshaking_) return StepHandshake(transport, io);
  if ((revents & EV_WRITE) == 0) return Step::kWaiting;
  if (ConnectResult(transport.fd()) != 0) return Step::kConnectFailed;
  handshaking_ = true;
  return StepHandshake(transport, io);
}

UpstreamConnect::Step UpstreamConnect::StepHandshake(Transport& transport, IoWatcher& io) {
  if (transport.Handshake() == 1) {
    handshaking_ = false;
    return Step::kEstablished;
  }
  if (errno != EAGAIN) return Step::kHandshakeFailed;
  io.Watch(transport.ReadWantsWrite() ? EV_WRITE : EV_READ);
  return Step::kWaiting;
}

double UpstreamConnect::seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

}  // namespace portico::dataplane::event
