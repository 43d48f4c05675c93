#include "common/net/ip_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/strings.h"

namespace portico::net {
namespace {

// The longest IPv6 literal, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", is
// 45 characters; anything longer is garbage and never reaches inet_pton.
constexpr size_t kMaxV6Literal = INET6_ADDRSTRLEN - 1;

// Inputs come from annotations, flags and request headers: escape them before
// they land in an error message (and from there in logs and Events).
std::string Quote(std::string_view text) {
  constexpr size_t kMaxShown = 64;
  std::string shown = absl::CHexEscape(ToAbsl(text.substr(0, kMaxShown)));
  if (text.size() > kMaxShown) shown += "...";
  return portico::StrCat("\"", shown, "\"");
}

absl::Status BadAddress(std::string_view text, std::string_view why) {
  return absl::InvalidArgumentError(portico::StrCat("invalid IP address ", Quote(text), ": ", why));
}

// Strict dotted quad: exactly four decimal octets, no leading zeros (which
// inet_aton and some other parsers read as octal), no signs, no spaces.
bool ParseV4(std::string_view text, uint8_t out[4]) {
  int octet = 0;
  for (int i = 0; i < 4; ++i) {
    if (i > 0) {
      if (text.empty() || text.front() != '.') return false;
      text.remove_prefix(1);
    }
    size_t digits = 0;
    int value = 0;
    while (digits < text.size() && absl::ascii_isdigit(text[digits])) {
      value = value * 10 + (text[digits] - '0');
      if (++digits > 3) return false;
    }
    if (digits == 0 || value > 255) return false;
    if (digits > 1 && text.front() == '0') return false;
    out[octet++] = static_cast<uint8_t>(value);
    text.remove_prefix(digits);
  }
  return text.empty();
}

bool IsV4Mapped(const uint8_t bytes[16]) {
  static constexpr uint8_t kPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::memcmp(bytes, kPrefix, sizeof(kPrefix)) == 0;
}

}  // namespace

absl::StatusOr<IpAddress> IpAddress::Parse(std::string_view text) {
  if (text.empty()) return BadAddress(text, "empty");
  std::string_view literal = text;
  const bool bracketed = literal.front() == '[';
  if (bracketed) {
    if (literal.size() < 2 || literal.back() != ']') return BadAddress(text, "unbalanced '['");
    literal = literal.substr(1, literal.size() - 2);
  }
  if (literal.find('%') != std::string_view::npos) {
    // A zone only means something on the host that wrote it; it can never
    // match a CIDR, so it is rejected rather than silently dropped.
    return BadAddress(text, "zone identifiers are not supported");
  }

  IpAddress ip;
  if (literal.find(':') == std::string_view::npos) {
    if (bracketed) return BadAddress(text, "brackets are only for IPv6");
    if (!ParseV4(literal, ip.bytes_.data())) return BadAddress(text, "not a dotted quad");
    ip.family_ = 4;
    return ip;
  }

  if (literal.size() > kMaxV6Literal) return BadAddress(text, "too long");
  // inet_pton reads a C string: an embedded NUL would end the literal early.
  const bool charset_ok = std::all_of(literal.begin(), literal.end(), [](char c) {
    return absl::ascii_isxdigit(c) || c == ':' || c == '.';
  });
  if (!charset_ok) return BadAddress(text, "not an IPv6 address");
  char buf[kMaxV6Literal + 1];
  std::memcpy(buf, literal.data(), literal.size());
  buf[literal.size()] = '\0';
  in6_addr addr;
  if (inet_pton(AF_INET6, buf, &addr) != 1) return BadAddress(text, "not an IPv6 address");
  // inet_pton accepts an embedded dotted quad without the leading-zero check
  // on some libcs; re-check it so that both families are equally strict.
  const size_t last_colon = literal.rfind(':');
  std::string_view tail = literal.substr(last_colon + 1);
  if (tail.find('.') != std::string_view::npos) {
    uint8_t unused[4];
    if (!ParseV4(tail, unused)) return BadAddress(text, "bad embedded IPv4 address");
  }
  return FromV6Bytes(addr.s6_addr);
}

absl::StatusOr<IpAddress> IpAddress::FromSockaddr(const sockaddr* addr) {
  if (addr == nullptr) return absl::InvalidArgumentError("null socket address");
  switch (addr->sa_family) {
    case AF_INET: {
      sockaddr_in sin;
      std::memcpy(&sin, addr, sizeof(sin));
      IpAddress ip;
      ip.family_ = 4;
      std::memcpy(ip.bytes_.data(), &sin.sin_addr, 4);
      return ip;
    }
    case AF_INET6: {
      sockaddr_in6 sin6;
      std::memcpy(&sin6, addr, sizeof(sin6));
      // Dual-stack listeners report IPv4 peers as ::ffff:a.b.c.d; normalising
      // here keeps IPv4 CIDRs (trusted proxies, allow lists) working for them.
      return FromV6Bytes(sin6.sin6_addr.s6_addr);
    }
    default:
      return absl::InvalidArgumentError(
          portico::StrCat("unsupported address family ", static_cast<int>(addr->sa_family)));
  }
}

IpAddress IpAddress::FromV6Bytes(const uint8_t bytes[16]) {
  IpAddress ip;
  if (IsV4Mapped(bytes)) {
    ip.family_ = 4;
    std::memcpy(ip.bytes_.data(), bytes + 12, 4);
  } else {
    ip.family_ = 6;
    std::memcpy(ip.bytes_.data(), bytes, 16);
  }
  return ip;
}

std::string IpAddress::ToString() const {
  if (family_ == 4) {
    return portico::StrCat(bytes_[0], ".", bytes_[1], ".", bytes_[2], ".", bytes_[3]);
  }
  if (family_ != 6) return "";

  // RFC 5952 by hand rather than inet_ntop, whose output for IPv4-compatible
  // addresses ("::0.2.0.3") and exact choices differ between libcs: lower-case
  // hex without leading zeros, the longest run of two or more zero groups (the
  // first on a tie) becomes "::".
  uint16_t groups[8];
  for (int i = 0; i < 8; ++i)
    groups[i] = static_cast<uint16_t>(bytes_[2 * i] << 8 | bytes_[2 * i + 1]);
  int best_start = -1, best_len = 0;
  for (int i = 0; i < 8;) {
    if (groups[i] != 0) {
      ++i;
      continue;
    }
    int j = i;
    while (j < 8 && groups[j] == 0) ++j;
    if (j - i > best_len) {
      best_start = i;
      best_len = j - i;
    }
    i = j;
  }
  if (best_len < 2) best_start = -1;

  std::string out;
  out.reserve(39);
  for (int i = 0; i < 8; ++i) {
    if (i == best_start) {
      out += "::";
      i += best_len - 1;
      continue;
    }
    if (!out.empty() && out.back() != ':') out += ':';
    absl::StrAppend(&out, absl::Hex(groups[i]));
  }
  return out;
}

absl::StatusOr<Cidr> Cidr::Parse(std::string_view text) {
  auto bad = [text](std::string_view why) {
    return absl::InvalidArgumentError(portico::StrCat("invalid CIDR ", Quote(text), ": ", why));
  };
  const size_t slash = text.find('/');
  std::string_view address_text = text.substr(0, slash);
  absl::StatusOr<IpAddress> address = IpAddress::Parse(address_text);
  if (!address.ok()) return bad(ToStd(address.status().message()));

  Cidr cidr;
  cidr.base_ = *address;
  const int max_len = address->is_v4() ? 32 : 128;
  if (slash == std::string_view::npos) {
    cidr.prefix_len_ = max_len;
    return cidr;
  }

  std::string_view len_text = text.substr(slash + 1);
  int len = 0;
  const bool digits_only =
      !len_text.empty() && len_text.size() <= 3 &&
      std::all_of(len_text.begin(), len_text.end(), [](char c) { return absl::ascii_isdigit(c); });
  if (!digits_only || (len_text.size() > 1 && len_text.front() == '0') ||
      !portico::SimpleAtoi(len_text, &len)) {
    return bad("prefix length must be a decimal number");
  }
  // "::ffff:10.0.0.0/104" was written in IPv6 terms but its address has been
  // normalised to IPv4: translate the prefix to match.
  const bool written_as_v6 = address_text.find(':') != std::string_view::npos;
  if (address->is_v4() && written_as_v6) {
    if (len < 96 || len > 128) return bad("prefix of an IPv4-mapped range must be 96..128");
    len -= 96;
  }
  if (len > max_len) return bad(portico::StrCat("prefix length must be 0..", max_len));
  cidr.prefix_len_ = len;

  const auto& bytes = cidr.base_.bytes();
  const int nbytes = address->is_v4() ? 4 : 16;
  for (int bit = len; bit < nbytes * 8; ++bit) {
    if (bytes[bit / 8] & (0x80 >> (bit % 8))) {
      return bad("address has bits set beyond the prefix length");
    }
  }
  return cidr;
}

bool Cidr::Contains(const IpAddress& ip) const {
  // A default-constructed Cidr (or address) matches nothing, and an IPv4
  // range never contains an IPv6 address or the reverse.
  if (!base_.valid() || !ip.valid() || base_.is_v4() != ip.is_v4()) return false;
  const auto& a = base_.bytes();
  const auto& b = ip.bytes();
  const int full_bytes = prefix_len_ / 8;
  if (std::memcmp(a.data(), b.data(), full_bytes) != 0) return false;
  const int rest = prefix_len_ % 8;
  if (rest == 0) return true;
  const uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[full_bytes] & mask) == (b[full_bytes] & mask);
}

std::string Cidr::ToString() const {
  if (!base_.valid()) return "";
  return portico::StrCat(base_.ToString(), "/", prefix_len_);
}

absl::StatusOr<CidrSet> CidrSet::Parse(std::string_view list) {
  CidrSet set;
  int position = 0;
  for (absl::string_view entry :
       absl::StrSplit(ToAbsl(list), absl::ByAnyChar(", \t\r\n"), absl::SkipEmpty())) {
    ++position;
    absl::StatusOr<Cidr> cidr = Cidr::Parse(ToStd(entry));
    // Cidr's message quotes the entry itself; add where it sits in the list.
    if (!cidr.ok()) {
      return absl::InvalidArgumentError(
          portico::StrCat("entry ", position, " of CIDR list: ", cidr.status().message()));
    }
    set.Add(*cidr);
  }
  return set;
}

bool CidrSet::Contains(const IpAddress& ip) const {
  return std::any_of(cidrs_.begin(), cidrs_.end(),
                     [&ip](const Cidr& cidr) { return cidr.Contains(ip); });
}

}  // namespace portico::net
