#pragma once
// How a connection moves bytes: the plain socket, or TLS over it
// (dataplane/tls/). The codecs read and write through a Transport and never
// touch the descriptor themselves, so one HTTP/1.1 codec serves both.
//
// Read and Write follow read(2) and send(2): > 0 bytes moved, Read 0 at the
// end of the stream, -1 with errno EAGAIN when the descriptor must become
// ready first (readable, or writable when ReadWantsWrite()), any other errno
// when the connection is broken.
//
// Threading: owned by one connection, on its worker's thread.

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <memory>

#include "dataplane/event/object_slab.h"

namespace portico::dataplane::event {

class Transport {
 public:
  virtual ~Transport() = default;

  virtual int fd() const = 0;
  virtual ssize_t Read(char* buffer, size_t size) = 0;
  virtual ssize_t Write(const char* data, size_t size) = 0;
  // Ends our direction of the stream (TLS sends close_notify first); reads go on.
  virtual void ShutdownWrite() = 0;
  // Input already taken off the socket and waiting in the transport (TLS
  // records decrypted past what the last Read could hold): readiness of the
  // descriptor will not announce it, so read again now.
  virtual bool HasBufferedInput() const { return false; }
  // The last Read returned EAGAIN because the transport must write first
  // (a TLS handshake message): wait for writability, then Read again.
  virtual bool ReadWantsWrite() const { return false; }
  // Drives a handshake that must finish before application data flows (the
  // client side of TLS): 1 when done; -1 with errno EAGAIN to wait (for
  // writability when ReadWantsWrite()); -1 with another errno on failure.
  // A plain socket has none.
  virtual int Handshake() { return 1; }
  // Encrypted (the request's :scheme to an HTTP/2 upstream is then "https").
  virtual bool secure() const { return false; }
};

// Wraps a connected socket into the transport an upstream connection speaks
// (the plain socket when empty). Takes ownership of the descriptor.
using TransportFactory = std::function<std::unique_ptr<Transport>(int fd)>;

class Buffer;

// Writes as much of `out` as `transport` takes now and consumes it. False when
// the connection is broken; EAGAIN is no error (the rest waits for writability).
bool WriteBuffered(Transport& transport, Buffer& out);

// The plain socket. Owns (and closes) the descriptor.
class SocketTransport final : public Transport {
 public:
  // One per connection, kept densely (dataplane/event/object_slab.h).
  PORTICO_SLAB_ALLOCATED(SocketTransport)

  explicit SocketTransport(int fd) : fd_(fd) {}
  ~SocketTransport() override;
  SocketTransport(const SocketTransport&) = delete;
  SocketTransport& operator=(const SocketTransport&) = delete;

  int fd() const override { return fd_; }
  ssize_t Read(char* buffer, size_t size) override;
  ssize_t Write(const char* data, size_t size) override;
  void ShutdownWrite() override;

 private:
  const int fd_;
  bool write_shut_ = false;  // a closing connection may ask twice: one shutdown(2)
};

}  // namespace portico::dataplane::event
