#pragma once
// The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2)
// that a load balancer in front of the data plane sends before anything else,
// naming the original client. A pure parser over the bytes read so far:
// hostile input is rejected, never read past the header's own bounds.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/net/ip_address.h"

namespace portico::dataplane::event {

// v1 lines are at most 107 bytes; v2 headers carry TLVs, which are skipped, but
// no sender needs more than this (bounds what one connection can make us hold).
inline constexpr size_t kMaxProxyHeaderBytes = 16 + 2048;

struct ProxyHeader {
  // False for v2 LOCAL (health checks from the balancer itself), v1 UNKNOWN and
  // v2 address families other than TCP/UDP over IPv4/IPv6: the connection's
  // own peer stands.
  bool has_address = false;
  net::IpAddress source;
  uint16_t source_port = 0;
  net::IpAddress destination;
  uint16_t destination_port = 0;
};

struct ProxyParse {
  enum Status { kIncomplete, kDone, kInvalid };
  Status status = kIncomplete;
  size_t consumed = 0;  // kDone: the header's length; the rest is the client's
  ProxyHeader header;
  std::string error;  // kInvalid: why
};

// `data`: the connection's first bytes. kIncomplete: read more (up to
// kMaxProxyHeaderBytes) and call again with everything read.
ProxyParse ParseProxyHeader(std::string_view data);

}  // namespace portico::dataplane::event
