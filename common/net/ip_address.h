#pragma once
// IP addresses and CIDR sets, for trusted proxies and IP filters. Value types,
// immutable after construction, safe to share between threads for reading.

#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace portico::net {

class IpAddress {
 public:
  IpAddress() = default;
  // Parses an IPv4 ("10.0.0.1") or IPv6 ("::1", "[::1]") literal. IPv4-mapped
  // IPv6 addresses ("::ffff:10.0.0.1") are normalised to IPv4.
  static absl::StatusOr<IpAddress> Parse(std::string_view text);
  // From a socket address (AF_INET / AF_INET6); other families are an error.
  static absl::StatusOr<IpAddress> FromSockaddr(const sockaddr* addr);

  bool is_v4() const { return family_ == 4; }
  bool is_v6() const { return family_ == 6; }
  bool valid() const { return family_ != 0; }
  // 4 or 16 significant bytes, network order.
  const std::array<uint8_t, 16>& bytes() const { return bytes_; }
  // Canonical text: dotted quad, or RFC 5952 IPv6 without brackets.
  std::string ToString() const;

  friend bool operator==(const IpAddress& a, const IpAddress& b) {
    return a.family_ == b.family_ && a.bytes_ == b.bytes_;
  }

 private:
  // IPv6 bytes, with IPv4-mapped addresses normalised to IPv4.
  static IpAddress FromV6Bytes(const uint8_t bytes[16]);

  uint8_t family_ = 0;  // 0 invalid, 4, 6
  std::array<uint8_t, 16> bytes_{};
};

class Cidr {
 public:
  // "10.0.0.0/8", "2001:db8::/32"; a bare address means /32 or /128. Host bits
  // set beyond the prefix are an error ("10.0.0.1/8"), as a typo guard.
  static absl::StatusOr<Cidr> Parse(std::string_view text);
  bool Contains(const IpAddress& ip) const;
  std::string ToString() const;

 private:
  IpAddress base_;
  int prefix_len_ = 0;
};

class CidrSet {
 public:
  CidrSet() = default;
  // Comma- or whitespace-separated list; fails on the first bad entry and names it.
  static absl::StatusOr<CidrSet> Parse(std::string_view list);
  void Add(const Cidr& cidr) { cidrs_.push_back(cidr); }
  bool Contains(const IpAddress& ip) const;
  bool empty() const { return cidrs_.empty(); }
  size_t size() const { return cidrs_.size(); }

 private:
  std::vector<Cidr> cidrs_;
};

}  // namespace portico::net
