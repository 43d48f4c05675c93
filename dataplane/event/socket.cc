#include "dataplane/event/socket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <unistd.h>

#include "common/strings.h"

namespace portico::dataplane::event {

using ::portico::SimpleAtoi;
using ::portico::StrCat;

uint16_t SocketAddress::port() const {
  if (storage.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&storage)->sin_port);
  }
  if (storage.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_port);
  }
  return 0;
}

std::string SocketAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (storage.ss_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage)->sin_addr, buf, sizeof(buf));
    return StrCat(buf, ":", port());
  }
  if (storage.ss_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage)->sin6_addr, buf,
              sizeof(buf));
    return StrCat("[", buf, "]:", port());
  }
  return "unknown";
}

absl::StatusOr<SocketAddress> ParseSocketAddress(std::string_view text) {
  std::string_view host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
      return absl::InvalidArgumentError(StrCat("bad address \"", text, "\": want [IPv6]:PORT"));
    }
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) {
      return absl::InvalidArgumentError(StrCat("bad address \"", text, "\": want ADDR:PORT"));
    }
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  uint32_t port = 0;
  if (!SimpleAtoi(port_text, &port) || port > 65535) {
    return absl::InvalidArgumentError(StrCat("bad port in \"", text, "\""));
  }
  SocketAddress out;
  std::string host_str(host);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage);
  if (inet_pton(AF_INET, host_str.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    out.len = sizeof(sockaddr_in);
  } else if (inet_pton(AF_INET6, host_str.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    out.len = sizeof(sockaddr_in6);
  } else {
    return absl::InvalidArgumentError(
        StrCat("bad address \"", text, "\": want a numeric IPv4 or IPv6 address"));
  }
  return out;
}

absl::StatusOr<int> Listen(const SocketAddress& addr, bool reuse_port, int backlog) {
  int fd = socket(addr.storage.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, "socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (reuse_port && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
    int err = errno;
    close(fd);
    return absl::ErrnoToStatus(err, "setsockopt(SO_REUSEPORT)");
  }
  if (addr.storage.ss_family == AF_INET6) {
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
  }
  if (bind(fd, addr.get(), addr.len) != 0) {
    int err = errno;
    close(fd);
    return absl::ErrnoToStatus(err, StrCat("bind ", addr.ToString()));
  }
  if (listen(fd, backlog) != 0) {
    int err = errno;
    close(fd);
    return absl::ErrnoToStatus(err, StrCat("listen ", addr.ToString()));
  }
  return fd;
}

absl::StatusOr<SocketAddress> LocalAddress(int fd) {
  SocketAddress out;
  out.len = sizeof(out.storage);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&out.storage), &out.len) != 0) {
    return absl::ErrnoToStatus(errno, "getsockname");
  }
  return out;
}

absl::StatusOr<int> ConnectNonBlocking(const sockaddr* addr, socklen_t len) {
  int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::ErrnoToStatus(errno, "socket");
  SetNoDelay(fd);
  if (connect(fd, addr, len) != 0 && errno != EINPROGRESS) {
    int err = errno;
    close(fd);
    return absl::ErrnoToStatus(err, "connect");
  }
  return fd;
}

int ConnectResult(int fd) {
  int err = 0;
  socklen_t len = sizeof(err);
  if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) return errno;
  return err;
}

void SetNoDelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

}  // namespace portico::dataplane::event
