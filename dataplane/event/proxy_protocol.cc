#include "dataplane/event/proxy_protocol.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace portico::dataplane::event {
namespace {

constexpr std::string_view kV1Prefix = "PROXY ";
constexpr size_t kV1MaxLine = 107;  // including CRLF
constexpr char kV2SignatureBytes[] = "\r\n\r\n\0\r\nQUIT\n";
constexpr std::string_view kV2Signature(kV2SignatureBytes, 12);

ProxyParse Invalid(std::string why) {
  ProxyParse p;
  p.status = ProxyParse::kInvalid;
  p.error = std::move(why);
  return p;
}

bool ParsePort(std::string_view text, uint16_t* out) {
  if (text.empty() || text.size() > 5 || (text.size() > 1 && text[0] == '0')) return false;
  uint32_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<uint32_t>(c - '0');
  }
  if (n > 65535) return false;
  *out = static_cast<uint16_t>(n);
  return true;
}

// inet_pton, so that only the plain dotted quad / RFC 4291 text forms pass
// (no brackets, zones or mapped forms in the wrong family).
bool ParseAddress(std::string_view text, bool v6, net::IpAddress* out) {
  if (text.empty() || text.size() > 45) return false;
  char buf[46];
  std::memcpy(buf, text.data(), text.size());
  buf[text.size()] = '\0';
  sockaddr_storage ss{};
  if (v6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, buf, &sin6->sin6_addr) != 1) return false;
  } else {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    if (inet_pton(AF_INET, buf, &sin->sin_addr) != 1) return false;
  }
  auto ip = net::IpAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss));
  if (!ip.ok()) return false;
  *out = *ip;
  return true;
}

ProxyParse ParseV1(std::string_view data) {
  const size_t crlf = data.substr(0, kV1MaxLine).find("\r\n");
  if (crlf == std::string_view::npos) {
    if (data.size() >= kV1MaxLine) return Invalid("v1 line longer than 107 bytes");
    // A bare LF or other control byte cannot become valid later.
    for (char c : data) {
      if (c == '\n' || c == '\0') return Invalid("v1 line with a control character");
    }
    return {};
  }
  std::string_view line = data.substr(kV1Prefix.size(), crlf - kV1Prefix.size());
  for (char c : line) {
    if (c < 0x20 || c > 0x7e) return Invalid("v1 line with a control character");
  }
  ProxyParse p;
  p.status = ProxyParse::kDone;
  p.consumed = crlf + 2;
  if (line.substr(0, 7) == "UNKNOWN" && (line.size() == 7 || line[7] == ' ')) {
    return p;  // the rest of the line is to be ignored
  }
  std::string_view fields[5];
  size_t n = 0;
  while (n < 5) {
    size_t space = line.find(' ');
    fields[n++] = line.substr(0, space);
    if (space == std::string_view::npos) {
      line = {};
      break;
    }
    line.remove_prefix(space + 1);
  }
  if (n != 5 || !line.empty()) return Invalid("v1 line does not have 5 fields");
  bool v6;
  if (fields[0] == "TCP4") {
    v6 = false;
  } else if (fields[0] == "TCP6") {
    v6 = true;
  } else {
    return Invalid("v1 protocol is not TCP4, TCP6 or UNKNOWN");
  }
  ProxyHeader& h = p.header;
  if (!ParseAddress(fields[1], v6, &h.source) || !ParseAddress(fields[2], v6, &h.destination)) {
    return Invalid("v1 address does not match its protocol");
  }
  if (!ParsePort(fields[3], &h.source_port) || !ParsePort(fields[4], &h.destination_port)) {
    return Invalid("v1 port is not 0..65535");
  }
  h.has_address = true;
  return p;
}

net::IpAddress FromBytes(const unsigned char* bytes, bool v6) {
  sockaddr_storage ss{};
  if (v6) {
    auto* sin6 = reinterpret_cast<sockaddr_in6*>(&ss);
    sin6->sin6_family = AF_INET6;
    std::memcpy(&sin6->sin6_addr, bytes, 16);
  } else {
    auto* sin = reinterpret_cast<sockaddr_in*>(&ss);
    sin->sin_family = AF_INET;
    std::memcpy(&sin->sin_addr, bytes, 4);
  }
  auto ip = net::IpAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&ss));
  return ip.ok() ? *ip : net::IpAddress();
}

ProxyParse ParseV2(std::string_view data) {
  if (data.size() < 16) return {};
  const auto* b = reinterpret_cast<const unsigned char*>(data.data());
  if ((b[12] >> 4) != 2) return Invalid("v2 version is not 2");
  const int command = b[12] & 0x0f;
  if (command > 1) return Invalid("v2 command is neither LOCAL nor PROXY");
  const size_t length = (size_t{b[14]} << 8) | b[15];
  if (16 + length > kMaxProxyHeaderBytes) return Invalid("v2 header too long");
  if (data.size() < 16 + length) return {};
  ProxyParse p;
  p.status = ProxyParse::kDone;
  p.consumed = 16 + length;
  if (command == 0) return p;  // LOCAL: the balancer's own connection
  const int family = b[13] >> 4;
  const int transport = b[13] & 0x0f;
  if (transport > 2) return Invalid("v2 transport is not UNSPEC, STREAM or DGRAM");
  const unsigned char* a = b + 16;
  ProxyHeader& h = p.header;
  if (family == 1) {  // AF_INET
    if (length < 12) return Invalid("v2 IPv4 addresses truncated");
    h.source = FromBytes(a, false);
    h.destination = FromBytes(a + 4, false);
    h.source_port = static_cast<uint16_t>((a[8] << 8) | a[9]);
    h.destination_port = static_cast<uint16_t>((a[10] << 8) | a[11]);
    h.has_address = transport != 0;
  } else if (family == 2) {  // AF_INET6
    if (length < 36) return Invalid("v2 IPv6 addresses truncated");
    h.source = FromBytes(a, true);
    h.destination = FromBytes(a + 16, true);
    h.source_port = static_cast<uint16_t>((a[32] << 8) | a[33]);
    h.destination_port = static_cast<uint16_t>((a[34] << 8) | a[35]);
    h.has_address = transport != 0;
  } else if (family > 3) {
    return Invalid("v2 address family unknown");
  }
  // AF_UNSPEC and AF_UNIX: no IP address to believe; the peer stands.
  if (h.has_address && (!h.source.valid() || !h.destination.valid())) {
    return Invalid("v2 address unusable");
  }
  return p;
}

}  // namespace

ProxyParse ParseProxyHeader(std::string_view data) {
  if (data.empty()) return {};
  if (data[0] == 'P') {
    const size_t n = std::min(data.size(), kV1Prefix.size());
    if (data.substr(0, n) != kV1Prefix.substr(0, n)) return Invalid("not a PROXY protocol header");
    if (data.size() < kV1Prefix.size()) return {};
    return ParseV1(data);
  }
  const size_t n = std::min(data.size(), kV2Signature.size());
  if (data.substr(0, n) != kV2Signature.substr(0, n)) return Invalid("not a PROXY protocol header");
  return ParseV2(data);
}

}  // namespace portico::dataplane::event
