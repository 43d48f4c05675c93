#include "dataplane/proxy/proxy_header_connection.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

namespace portico::dataplane::proxy {

ProxyHeaderConnection::ProxyHeaderConnection(event::EventLoop& loop, int fd, double timeout,
                                             Done done)
    : fd_(fd),
      timeout_(timeout),
      done_(std::move(done)),
      io_(loop, fd, [this](int) { Step(); }),
      timer_(loop, [this] { Finish(false); }) {}

ProxyHeaderConnection::~ProxyHeaderConnection() {
  io_.Watch(0);
  if (fd_ >= 0) close(fd_);
}

void ProxyHeaderConnection::Start() {
  timer_.Start(timeout_);
  Step();  // the header usually arrives with the connection
}

void ProxyHeaderConnection::CloseWhenIdle() { Finish(false); }

// Peeks at what is there, then consumes exactly the bytes that belong to the
// header: while it is incomplete every byte read belongs to it (a v1 line
// before its CRLF, a v2 block shorter than its length), so the level-triggered
// watcher never spins on unread data, and nothing after it is taken.
void ProxyHeaderConnection::Step() {
  if (!done_) return;
  char buf[event::kMaxProxyHeaderBytes];
  const size_t room = sizeof(buf) - received_.size();
  ssize_t n = recv(fd_, buf, room, MSG_PEEK);
  if (n < 0) {
    if (errno == EAGAIN || errno == EINTR) {
      io_.Watch(EV_READ);
      return;
    }
    Finish(false);
    return;
  }
  if (n == 0) {  // EOF before a complete header
    Finish(false);
    return;
  }
  std::string data = received_;
  data.append(buf, static_cast<size_t>(n));
  event::ProxyParse parse = event::ParseProxyHeader(data);
  size_t take = static_cast<size_t>(n);
  if (parse.status == event::ProxyParse::kInvalid) {
    Finish(false);
    return;
  }
  if (parse.status == event::ProxyParse::kDone) take = parse.consumed - received_.size();
  ssize_t got = recv(fd_, buf, take, 0);
  if (got != static_cast<ssize_t>(take)) {  // the peeked bytes cannot vanish; be safe
    Finish(false);
    return;
  }
  if (parse.status == event::ProxyParse::kDone) {
    Finish(true, parse.header);
    return;
  }
  received_.append(buf, take);
  if (received_.size() >= event::kMaxProxyHeaderBytes) {
    Finish(false);
    return;
  }
  io_.Watch(EV_READ);
}

void ProxyHeaderConnection::Finish(bool ok, const event::ProxyHeader& header) {
  if (!done_) return;
  io_.Watch(0);
  timer_.Stop();
  Done done = std::move(done_);
  done_ = nullptr;
  int fd = fd_;
  fd_ = -1;
  if (!ok) {
    close(fd);
    fd = -1;
  }
  done(this, fd, header);
}

}  // namespace portico::dataplane::proxy
