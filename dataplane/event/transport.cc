#include "dataplane/event/transport.h"

#include <sys/socket.h>
#include <unistd.h>

namespace portico::dataplane::event {

SocketTransport::~SocketTransport() { close(fd_); }

ssize_t SocketTransport::Read(char* buffer, size_t size) { return read(fd_, buffer, size); }

ssize_t SocketTransport::Write(const char* data, size_t size) {
  return send(fd_, data, size, MSG_NOSIGNAL);
}

void SocketTransport::ShutdownWrite() { shutdown(fd_, SHUT_WR); }

}  // namespace portico::dataplane::event
