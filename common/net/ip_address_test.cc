#include "common/net/ip_address.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/un.h>

#include <cstring>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace portico::net {
namespace {

using ::testing::HasSubstr;

IpAddress Ip(std::string_view text) {
  absl::StatusOr<IpAddress> ip = IpAddress::Parse(text);
  EXPECT_TRUE(ip.ok()) << text << ": " << ip.status();
  return ip.ok() ? *ip : IpAddress();
}

Cidr Net(std::string_view text) {
  absl::StatusOr<Cidr> cidr = Cidr::Parse(text);
  EXPECT_TRUE(cidr.ok()) << text << ": " << cidr.status();
  return cidr.ok() ? *cidr : Cidr();
}

// --- IpAddress::Parse ---------------------------------------------------------

TEST(IpAddressTest, DefaultIsInvalid) {
  IpAddress ip;
  EXPECT_FALSE(ip.valid());
  EXPECT_FALSE(ip.is_v4());
  EXPECT_FALSE(ip.is_v6());
  EXPECT_EQ(ip.ToString(), "");
}

TEST(IpAddressTest, ParsesIpv4) {
  IpAddress ip = Ip("10.1.2.3");
  EXPECT_TRUE(ip.valid());
  EXPECT_TRUE(ip.is_v4());
  EXPECT_FALSE(ip.is_v6());
  EXPECT_EQ(ip.bytes()[0], 10);
  EXPECT_EQ(ip.bytes()[1], 1);
  EXPECT_EQ(ip.bytes()[2], 2);
  EXPECT_EQ(ip.bytes()[3], 3);
  for (int i = 4; i < 16; ++i) EXPECT_EQ(ip.bytes()[i], 0) << i;
  EXPECT_EQ(ip.ToString(), "10.1.2.3");
}

TEST(IpAddressTest, ParsesIpv4Extremes) {
  EXPECT_EQ(Ip("0.0.0.0").ToString(), "0.0.0.0");
  EXPECT_EQ(Ip("255.255.255.255").ToString(), "255.255.255.255");
  EXPECT_EQ(Ip("100.64.0.10").ToString(), "100.64.0.10");
}

TEST(IpAddressTest, ParsesIpv6) {
  IpAddress ip = Ip("2001:db8::1");
  EXPECT_TRUE(ip.is_v6());
  EXPECT_EQ(ip.bytes()[0], 0x20);
  EXPECT_EQ(ip.bytes()[1], 0x01);
  EXPECT_EQ(ip.bytes()[2], 0x0d);
  EXPECT_EQ(ip.bytes()[3], 0xb8);
  EXPECT_EQ(ip.bytes()[15], 0x01);
  EXPECT_EQ(ip.ToString(), "2001:db8::1");
}

TEST(IpAddressTest, ParsesBracketedIpv6) {
  EXPECT_EQ(Ip("[::1]"), Ip("::1"));
  EXPECT_EQ(Ip("[2001:db8::1]").ToString(), "2001:db8::1");
}

TEST(IpAddressTest, NormalisesIpv4MappedToIpv4) {
  IpAddress mapped = Ip("::ffff:10.0.0.1");
  EXPECT_TRUE(mapped.is_v4());
  EXPECT_EQ(mapped, Ip("10.0.0.1"));
  EXPECT_EQ(mapped.ToString(), "10.0.0.1");
  EXPECT_EQ(Ip("::ffff:a00:1"), Ip("10.0.0.1"));
  EXPECT_EQ(Ip("[::FFFF:192.168.1.1]"), Ip("192.168.1.1"));
  EXPECT_EQ(Ip("0:0:0:0:0:ffff:1.2.3.4"), Ip("1.2.3.4"));
}

TEST(IpAddressTest, OtherEmbeddedIpv4StaysIpv6) {
  // IPv4-compatible (deprecated) and NAT64 addresses are not normalised.
  EXPECT_TRUE(Ip("::1.2.3.4").is_v6());
  EXPECT_TRUE(Ip("64:ff9b::1.2.3.4").is_v6());
  EXPECT_TRUE(Ip("::fffe:1.2.3.4").is_v6());
}

TEST(IpAddressTest, V4AndV6AreDifferent) {
  // 10.0.0.1 vs ::a00:1: same low bytes in different places, different family.
  EXPECT_FALSE(Ip("10.0.0.1") == Ip("::a00:1"));
  EXPECT_FALSE(Ip("::") == Ip("0.0.0.0"));
  EXPECT_FALSE(IpAddress() == Ip("0.0.0.0"));
}

TEST(IpAddressTest, AcceptsUpperCaseAndLeadingZeroHexGroups) {
  EXPECT_EQ(Ip("2001:DB8:0000:0000:0000:0000:0000:0001"), Ip("2001:db8::1"));
  EXPECT_EQ(Ip("2001:0db8::0001"), Ip("2001:db8::1"));
}

class IpAddressRejectTest : public testing::TestWithParam<std::string> {};

TEST_P(IpAddressRejectTest, Rejects) {
  absl::StatusOr<IpAddress> ip = IpAddress::Parse(GetParam());
  ASSERT_FALSE(ip.ok()) << GetParam() << " parsed as " << ip->ToString();
  EXPECT_EQ(ip.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(ip.status().message(), HasSubstr("invalid IP address"));
}

INSTANTIATE_TEST_SUITE_P(Garbage, IpAddressRejectTest,
                         testing::Values(
                             // Empty and whitespace.
                             "", " ", "10.0.0.1 ", " 10.0.0.1", "\t::1", "::1\n",
                             // Leading zeros (octal in inet_aton), in plain and embedded quads.
                             "010.0.0.1", "10.0.0.01", "00.0.0.0", "10.00.0.1", "::ffff:010.0.0.1",
                             // Wrong shape.
                             "10.0.0", "10.0.0.1.", ".10.0.0.1", "10.0.0.1.2", "10..0.1",
                             "1.2.3.256", "1.2.3.1000", "1234.1.1.1", "+1.2.3.4", "1.2.3.-4",
                             "0x10.0.0.1", "10", "10.0.0.a", "localhost", "1.2.3.4/32",
                             "1.2.3.4:80",
                             // IPv6 garbage.
                             ":", ":::", "1::2::3", "12345::", "2001:db8::g", "1:2:3:4:5:6:7:8:9",
                             "1:2:3:4:5:6:7", "::ffff:1.2.3", "::1/128", "2001:db8:::1",
                             // Zones are not supported.
                             "fe80::1%eth0", "[fe80::1%eth0]", "fe80::1%25eth0",
                             // Brackets.
                             "[]", "[", "]", "[::1", "::1]", "[10.0.0.1]", "[[::1]]", "[::1]:80",
                             // Overlong.
                             "0000:0000:0000:0000:0000:0000:0000:0000:0000", std::string(100, '1'),
                             // Embedded NUL.
                             std::string("10.0.0.1\0", 9), std::string("::1\0", 4)));

TEST(IpAddressTest, ErrorEscapesInput) {
  absl::StatusOr<IpAddress> ip = IpAddress::Parse("bad\n\x01");
  ASSERT_FALSE(ip.ok());
  EXPECT_THAT(ip.status().message(), HasSubstr(R"("bad\n\x01")"));
}

// --- IpAddress::ToString (RFC 5952) -------------------------------------------

TEST(IpAddressTest, ToStringIsRfc5952) {
  struct Case {
    const char* in;
    const char* out;
  };
  const Case cases[] = {
      {"::", "::"},
      {"::1", "::1"},
      {"1::", "1::"},
      {"2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8::1"},
      // A single zero group is not compressed (RFC 5952 4.2.2).
      {"2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"},
      // The longest run wins (4.2.3)...
      {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1"},
      // ...and the first on a tie.
      {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"},
      {"fe80::abcd:ef01", "fe80::abcd:ef01"},
      {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
      {"1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"},
      {"0:0:0:0:0:0:0:1", "::1"},
      {"1:0:0:0:0:0:0:0", "1::"},
      {"0:1:0:0:0:0:0:0", "0:1::"},
      {"::1.2.3.4", "::102:304"},
      {"64:ff9b::192.0.2.33", "64:ff9b::c000:221"},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(Ip(c.in).ToString(), c.out) << c.in;
  }
}

TEST(IpAddressTest, ToStringRoundTrips) {
  for (const char* text : {"10.0.0.1", "0.0.0.0", "::", "::1", "2001:db8::1", "2001:0:0:1::1",
                           "fe80::1:2", "1:2:3:4:5:6:7:8"}) {
    IpAddress ip = Ip(text);
    EXPECT_EQ(ip.ToString(), text);
    EXPECT_EQ(Ip(ip.ToString()), ip) << text;
  }
}

// --- IpAddress::FromSockaddr ----------------------------------------------------

TEST(IpAddressTest, FromSockaddrV4) {
  sockaddr_in sin{};
  sin.sin_family = AF_INET;
  sin.sin_port = htons(8080);
  ASSERT_EQ(inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr), 1);
  absl::StatusOr<IpAddress> ip = IpAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&sin));
  ASSERT_TRUE(ip.ok()) << ip.status();
  EXPECT_EQ(*ip, Ip("192.0.2.7"));
}

TEST(IpAddressTest, FromSockaddrV6) {
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  sin6.sin6_scope_id = 3;  // dropped: addresses are compared without zones
  ASSERT_EQ(inet_pton(AF_INET6, "2001:db8::42", &sin6.sin6_addr), 1);
  absl::StatusOr<IpAddress> ip = IpAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&sin6));
  ASSERT_TRUE(ip.ok()) << ip.status();
  EXPECT_EQ(*ip, Ip("2001:db8::42"));
}

TEST(IpAddressTest, FromSockaddrNormalisesMappedV6) {
  // What a dual-stack listener reports for an IPv4 peer.
  sockaddr_in6 sin6{};
  sin6.sin6_family = AF_INET6;
  ASSERT_EQ(inet_pton(AF_INET6, "::ffff:203.0.113.9", &sin6.sin6_addr), 1);
  absl::StatusOr<IpAddress> ip = IpAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&sin6));
  ASSERT_TRUE(ip.ok()) << ip.status();
  EXPECT_TRUE(ip->is_v4());
  EXPECT_EQ(*ip, Ip("203.0.113.9"));
}

TEST(IpAddressTest, FromSockaddrWorksFromSockaddrStorage) {
  sockaddr_storage storage{};
  auto* sin = reinterpret_cast<sockaddr_in*>(&storage);
  sin->sin_family = AF_INET;
  ASSERT_EQ(inet_pton(AF_INET, "127.0.0.1", &sin->sin_addr), 1);
  absl::StatusOr<IpAddress> ip = IpAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&storage));
  ASSERT_TRUE(ip.ok());
  EXPECT_EQ(ip->ToString(), "127.0.0.1");
}

TEST(IpAddressTest, FromSockaddrRejectsOtherFamilies) {
  sockaddr_un sun{};
  sun.sun_family = AF_UNIX;
  EXPECT_FALSE(IpAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&sun)).ok());
  sockaddr_storage unspec{};
  unspec.ss_family = AF_UNSPEC;
  EXPECT_FALSE(IpAddress::FromSockaddr(reinterpret_cast<sockaddr*>(&unspec)).ok());
  EXPECT_FALSE(IpAddress::FromSockaddr(nullptr).ok());
}

// --- Cidr ---------------------------------------------------------------------

TEST(CidrTest, ParsesAndFormats) {
  EXPECT_EQ(Net("10.0.0.0/8").ToString(), "10.0.0.0/8");
  EXPECT_EQ(Net("192.168.1.0/24").ToString(), "192.168.1.0/24");
  EXPECT_EQ(Net("0.0.0.0/0").ToString(), "0.0.0.0/0");
  EXPECT_EQ(Net("2001:db8::/32").ToString(), "2001:db8::/32");
  EXPECT_EQ(Net("::/0").ToString(), "::/0");
  EXPECT_EQ(Net("2001:DB8:0:0::/64").ToString(), "2001:db8::/64");
  EXPECT_EQ(Net("[2001:db8::]/48").ToString(), "2001:db8::/48");
}

TEST(CidrTest, BareAddressIsHostRoute) {
  EXPECT_EQ(Net("10.1.2.3").ToString(), "10.1.2.3/32");
  EXPECT_EQ(Net("::1").ToString(), "::1/128");
  EXPECT_TRUE(Net("10.1.2.3").Contains(Ip("10.1.2.3")));
  EXPECT_FALSE(Net("10.1.2.3").Contains(Ip("10.1.2.4")));
  EXPECT_TRUE(Net("::1").Contains(Ip("::1")));
  EXPECT_FALSE(Net("::1").Contains(Ip("::2")));
}

TEST(CidrTest, ContainsIpv4) {
  Cidr net = Net("10.0.0.0/8");
  EXPECT_TRUE(net.Contains(Ip("10.0.0.0")));
  EXPECT_TRUE(net.Contains(Ip("10.255.255.255")));
  EXPECT_TRUE(net.Contains(Ip("10.1.2.3")));
  EXPECT_FALSE(net.Contains(Ip("11.0.0.0")));
  EXPECT_FALSE(net.Contains(Ip("9.255.255.255")));
}

TEST(CidrTest, ContainsOnNonOctetBoundaries) {
  Cidr net = Net("172.16.0.0/12");
  EXPECT_TRUE(net.Contains(Ip("172.16.0.1")));
  EXPECT_TRUE(net.Contains(Ip("172.31.255.255")));
  EXPECT_FALSE(net.Contains(Ip("172.32.0.0")));
  EXPECT_FALSE(net.Contains(Ip("172.15.255.255")));

  Cidr small = Net("192.168.1.64/27");
  EXPECT_TRUE(small.Contains(Ip("192.168.1.64")));
  EXPECT_TRUE(small.Contains(Ip("192.168.1.95")));
  EXPECT_FALSE(small.Contains(Ip("192.168.1.96")));
  EXPECT_FALSE(small.Contains(Ip("192.168.1.63")));

  Cidr v6 = Net("2001:db8:8000::/33");
  EXPECT_TRUE(v6.Contains(Ip("2001:db8:8000::1")));
  EXPECT_TRUE(v6.Contains(Ip("2001:db8:ffff:ffff::")));
  EXPECT_FALSE(v6.Contains(Ip("2001:db8:7fff::")));
}

TEST(CidrTest, ContainsIpv6) {
  Cidr net = Net("2001:db8::/32");
  EXPECT_TRUE(net.Contains(Ip("2001:db8::1")));
  EXPECT_TRUE(net.Contains(Ip("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff")));
  EXPECT_FALSE(net.Contains(Ip("2001:db9::")));
  EXPECT_FALSE(net.Contains(Ip("::1")));
}

TEST(CidrTest, ZeroPrefixMatchesOnlyItsFamily) {
  EXPECT_TRUE(Net("0.0.0.0/0").Contains(Ip("203.0.113.1")));
  EXPECT_FALSE(Net("0.0.0.0/0").Contains(Ip("2001:db8::1")));
  EXPECT_TRUE(Net("::/0").Contains(Ip("2001:db8::1")));
  EXPECT_FALSE(Net("::/0").Contains(Ip("203.0.113.1")));
}

TEST(CidrTest, NeverContainsTheOtherFamily) {
  // Same bit patterns in the significant bytes must not match across families.
  EXPECT_FALSE(Net("10.0.0.0/8").Contains(Ip("a00::")));
  EXPECT_FALSE(Net("a00::/8").Contains(Ip("10.0.0.0")));
  EXPECT_FALSE(Net("::/96").Contains(Ip("10.0.0.1")));
}

TEST(CidrTest, MappedAddressesMatchIpv4Ranges) {
  EXPECT_TRUE(Net("10.0.0.0/8").Contains(Ip("::ffff:10.9.9.9")));
  // A range written in IPv4-mapped form is an IPv4 range.
  Cidr mapped = Net("::ffff:10.0.0.0/104");
  EXPECT_EQ(mapped.ToString(), "10.0.0.0/8");
  EXPECT_TRUE(mapped.Contains(Ip("10.1.1.1")));
  EXPECT_FALSE(mapped.Contains(Ip("11.1.1.1")));
  EXPECT_EQ(Net("::ffff:1.2.3.4").ToString(), "1.2.3.4/32");
  EXPECT_EQ(Net("::ffff:0.0.0.0/96").ToString(), "0.0.0.0/0");
  EXPECT_FALSE(Cidr::Parse("::ffff:0.0.0.0/95").ok());
}

TEST(CidrTest, InvalidIpAndDefaultCidrMatchNothing) {
  EXPECT_FALSE(Net("0.0.0.0/0").Contains(IpAddress()));
  EXPECT_FALSE(Net("::/0").Contains(IpAddress()));
  EXPECT_FALSE(Cidr().Contains(IpAddress()));
  EXPECT_FALSE(Cidr().Contains(Ip("10.0.0.1")));
  EXPECT_EQ(Cidr().ToString(), "");
}

TEST(CidrTest, HostBitsSetAreAnError) {
  absl::StatusOr<Cidr> cidr = Cidr::Parse("10.0.0.1/8");
  ASSERT_FALSE(cidr.ok());
  EXPECT_EQ(cidr.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(cidr.status().message(), HasSubstr("10.0.0.1/8"));
  EXPECT_THAT(cidr.status().message(), HasSubstr("beyond the prefix"));
  EXPECT_FALSE(Cidr::Parse("192.168.1.1/31").ok());
  EXPECT_FALSE(Cidr::Parse("2001:db8::1/64").ok());
  EXPECT_FALSE(Cidr::Parse("2001:db8:8000::/32").ok());
  EXPECT_FALSE(Cidr::Parse("0.0.0.1/0").ok());
  EXPECT_TRUE(Cidr::Parse("192.168.1.2/31").ok());
  EXPECT_TRUE(Cidr::Parse("2001:db8::1/128").ok());
}

class CidrRejectTest : public testing::TestWithParam<std::string> {};

TEST_P(CidrRejectTest, Rejects) {
  absl::StatusOr<Cidr> cidr = Cidr::Parse(GetParam());
  ASSERT_FALSE(cidr.ok()) << GetParam() << " parsed as " << cidr->ToString();
  EXPECT_EQ(cidr.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(cidr.status().message(), HasSubstr("invalid CIDR"));
}

INSTANTIATE_TEST_SUITE_P(Garbage, CidrRejectTest,
                         testing::Values("", "/", "/8", "1.2.3.4/", "1.2.3.4/33", "1.2.3.4/-1",
                                         "1.2.3.4/+8", "10.0.0.0/08", "10.0.0.0/8 ", " 10.0.0.0/8",
                                         "10.0.0.0 /8", "10.0.0.0/ 8", "10.0.0.0/8/8",
                                         "10.0.0.0/0x8", "10.0.0.0/8a", "10.0.0.0/1000",
                                         "10.0.0.0/255.0.0.0", "::/129", "::/1280", "2001:db8::/",
                                         "2001:db8::/032", "010.0.0.0/8", "fe80::%eth0/64",
                                         "10.0.0.0/8,", "10.0.0.0/99999999999999999999"));

TEST(CidrTest, PrefixBoundaries) {
  EXPECT_TRUE(Cidr::Parse("1.2.3.4/32").ok());
  EXPECT_TRUE(Cidr::Parse("0.0.0.0/0").ok());
  EXPECT_TRUE(Cidr::Parse("::1/128").ok());
  EXPECT_TRUE(Cidr::Parse("::/0").ok());
  EXPECT_FALSE(Cidr::Parse("::1/129").ok());
}

// --- CidrSet ------------------------------------------------------------------

TEST(CidrSetTest, EmptyListIsEmptySet) {
  for (const char* list : {"", " ", ",", " , \t\n"}) {
    absl::StatusOr<CidrSet> set = CidrSet::Parse(list);
    ASSERT_TRUE(set.ok()) << set.status();
    EXPECT_TRUE(set->empty());
    EXPECT_FALSE(set->Contains(Ip("10.0.0.1")));
  }
  CidrSet set;
  EXPECT_TRUE(set.empty());
  EXPECT_EQ(set.size(), 0u);
  EXPECT_FALSE(set.Contains(Ip("::1")));
}

TEST(CidrSetTest, ParsesCommaAndWhitespaceSeparatedLists) {
  absl::StatusOr<CidrSet> set =
      CidrSet::Parse("10.0.0.0/8, 192.168.0.0/16\t2001:db8::/32\n127.0.0.1,,::1");
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->size(), 5u);
  EXPECT_TRUE(set->Contains(Ip("10.20.30.40")));
  EXPECT_TRUE(set->Contains(Ip("192.168.99.1")));
  EXPECT_TRUE(set->Contains(Ip("2001:db8::99")));
  EXPECT_TRUE(set->Contains(Ip("127.0.0.1")));
  EXPECT_TRUE(set->Contains(Ip("::1")));
  EXPECT_TRUE(set->Contains(Ip("::ffff:10.0.0.1")));
  EXPECT_FALSE(set->Contains(Ip("127.0.0.2")));
  EXPECT_FALSE(set->Contains(Ip("172.16.0.1")));
  EXPECT_FALSE(set->Contains(Ip("2001:db9::")));
  EXPECT_FALSE(set->Contains(IpAddress()));
}

TEST(CidrSetTest, NamesTheBadEntry) {
  absl::StatusOr<CidrSet> set = CidrSet::Parse("10.0.0.0/8, 192.168.1.1/16, bogus");
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
  // The first bad entry, by text and position.
  EXPECT_THAT(set.status().message(), HasSubstr("\"192.168.1.1/16\""));
  EXPECT_THAT(set.status().message(), HasSubstr("entry 2"));
  EXPECT_THAT(set.status().message(), testing::Not(HasSubstr("bogus")));

  set = CidrSet::Parse("::1 1.2.3.4/");
  ASSERT_FALSE(set.ok());
  EXPECT_THAT(set.status().message(), HasSubstr("\"1.2.3.4/\""));
}

TEST(CidrSetTest, AddAppends) {
  CidrSet set;
  set.Add(Net("10.0.0.0/8"));
  set.Add(Net("::1"));
  EXPECT_EQ(set.size(), 2u);
  EXPECT_FALSE(set.empty());
  EXPECT_TRUE(set.Contains(Ip("10.1.1.1")));
  EXPECT_TRUE(set.Contains(Ip("::1")));
  EXPECT_FALSE(set.Contains(Ip("11.1.1.1")));
}

}  // namespace
}  // namespace portico::net
