#pragma once
// Socket helpers: address parsing, listening sockets, non-blocking connect.

#include <sys/socket.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace portico::dataplane::event {

struct SocketAddress {
  sockaddr_storage storage{};
  socklen_t len = 0;
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&storage); }
  uint16_t port() const;
  // "127.0.0.1:8080" / "[::1]:8080"
  std::string ToString() const;
};

// Parses "ADDR:PORT" (IPv6 in brackets) with a numeric address and port.
absl::StatusOr<SocketAddress> ParseSocketAddress(std::string_view text);

// A non-blocking listening socket bound to `addr`, with SO_REUSEPORT when
// `reuse_port` so that every worker can own one on the same port.
absl::StatusOr<int> Listen(const SocketAddress& addr, bool reuse_port, int backlog = 4096);

// The locally bound address of a socket (the real port after binding port 0).
absl::StatusOr<SocketAddress> LocalAddress(int fd);

// Starts a non-blocking connect. Returns the fd; completion is signalled by
// writability, then CheckConnectResult.
absl::StatusOr<int> ConnectNonBlocking(const sockaddr* addr, socklen_t len);
// 0 when the connect completed, else the errno.
int ConnectResult(int fd);

void SetNoDelay(int fd);

}  // namespace portico::dataplane::event
