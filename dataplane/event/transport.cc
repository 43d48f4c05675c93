#include "dataplane/event/transport.h"

#include "dataplane/event/buffer.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

namespace portico::dataplane::event {

bool WriteBuffered(Transport& transport, Buffer& out) {
  while (!out.empty()) {
    ssize_t n = transport.Write(out.data(), out.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno == EAGAIN;
    }
    out.Consume(static_cast<size_t>(n));
  }
  return true;
}

SocketTransport::~SocketTransport() { close(fd_); }

ssize_t SocketTransport::Read(char* buffer, size_t size) { return read(fd_, buffer, size); }

ssize_t SocketTransport::Write(const char* data, size_t size) {
  return send(fd_, data, size, MSG_NOSIGNAL);
}

void SocketTransport::ShutdownWrite() {
  if (write_shut_) return;
  write_shut_ = true;
  shutdown(fd_, SHUT_WR);
}

}  // namespace portico::dataplane::event
