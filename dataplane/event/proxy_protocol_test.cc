// PROXY protocol v1/v2 parsing, including truncated, oversized and hostile input.
#include "dataplane/event/proxy_protocol.h"

#include <random>
#include <string>

#include "gtest/gtest.h"

namespace portico::dataplane::event {
namespace {

std::string V2(uint8_t ver_cmd, uint8_t fam, std::string addresses) {
  std::string h("\r\n\r\n\0\r\nQUIT\n", 12);
  h.push_back(static_cast<char>(ver_cmd));
  h.push_back(static_cast<char>(fam));
  h.push_back(static_cast<char>(addresses.size() >> 8));
  h.push_back(static_cast<char>(addresses.size() & 0xff));
  return h + addresses;
}

std::string V4Addresses() {
  return std::string("\xc0\x00\x02\x01\x0a\x00\x00\x01\x30\x39\x1f\x90",
                     12);  // 192.0.2.1:12345 -> 10.0.0.1:8080
}

TEST(ProxyProtocolTest, V1Tcp4) {
  const std::string data = "PROXY TCP4 192.0.2.1 10.0.0.1 12345 8080\r\nGET / HTTP/1.1\r\n";
  ProxyParse p = ParseProxyHeader(data);
  ASSERT_EQ(p.status, ProxyParse::kDone) << p.error;
  EXPECT_EQ(data.substr(p.consumed), "GET / HTTP/1.1\r\n");
  EXPECT_TRUE(p.header.has_address);
  EXPECT_EQ(p.header.source.ToString(), "192.0.2.1");
  EXPECT_EQ(p.header.source_port, 12345);
  EXPECT_EQ(p.header.destination.ToString(), "10.0.0.1");
  EXPECT_EQ(p.header.destination_port, 8080);
}

TEST(ProxyProtocolTest, V1Tcp6AndUnknown) {
  ProxyParse p = ParseProxyHeader("PROXY TCP6 2001:db8::1 ::1 1 65535\r\n");
  ASSERT_EQ(p.status, ProxyParse::kDone) << p.error;
  EXPECT_EQ(p.header.source.ToString(), "2001:db8::1");
  EXPECT_EQ(p.header.destination_port, 65535);
  p = ParseProxyHeader("PROXY UNKNOWN whatever follows\r\n");
  ASSERT_EQ(p.status, ProxyParse::kDone);
  EXPECT_FALSE(p.header.has_address);
  p = ParseProxyHeader("PROXY UNKNOWN\r\n");
  ASSERT_EQ(p.status, ProxyParse::kDone);
}

TEST(ProxyProtocolTest, V1IncompleteUntilCrlf) {
  const std::string full = "PROXY TCP4 192.0.2.1 10.0.0.1 12345 8080\r\n";
  for (size_t n = 0; n < full.size(); ++n) {
    EXPECT_EQ(ParseProxyHeader(full.substr(0, n)).status, ProxyParse::kIncomplete) << n;
  }
}

TEST(ProxyProtocolTest, V1Rejects) {
  for (const char* bad : {
           "GET / HTTP/1.1\r\n",
           "PROXY TCP4 192.0.2.1 10.0.0.1 12345\r\n",
           "PROXY TCP4 192.0.2.1 10.0.0.1 12345 8080 extra\r\n",
           "PROXY TCP4  192.0.2.1 10.0.0.1 12345 8080\r\n",
           "PROXY TCP4 192.0.2.1 10.0.0.1 12345 65536\r\n",
           "PROXY TCP4 192.0.2.1 10.0.0.1 -1 80\r\n",
           "PROXY TCP4 192.0.2.1 10.0.0.1 0080 80\r\n",
           "PROXY TCP4 2001:db8::1 10.0.0.1 1 2\r\n",
           "PROXY TCP6 192.0.2.1 ::1 1 2\r\n",
           "PROXY TCP4 192.0.2.256 10.0.0.1 1 2\r\n",
           "PROXY UDP4 192.0.2.1 10.0.0.1 1 2\r\n",
           "PROXY TCP4 192.0.2.1 10.0.0.1 1 2\n",
           "proxy TCP4 192.0.2.1 10.0.0.1 1 2\r\n",
       }) {
    EXPECT_EQ(ParseProxyHeader(bad).status, ProxyParse::kInvalid) << bad;
  }
  const std::string nul("PROXY TCP4 192.0.2.1\0 10.0.0.1 1 2\r\n", 37);
  EXPECT_EQ(ParseProxyHeader(nul).status, ProxyParse::kInvalid);
  EXPECT_EQ(ParseProxyHeader(nul.substr(0, 25)).status, ProxyParse::kInvalid);
  EXPECT_EQ(ParseProxyHeader("PROXY " + std::string(200, 'A')).status, ProxyParse::kInvalid);
}

TEST(ProxyProtocolTest, V2Tcp4WithTlvAndPayload) {
  std::string tlv(
      "\x04\x00\x03"
      "abc",
      6);  // PP2_TYPE_NOOP
  const std::string data = V2(0x21, 0x11, V4Addresses() + tlv) + "payload";
  ProxyParse p = ParseProxyHeader(data);
  ASSERT_EQ(p.status, ProxyParse::kDone) << p.error;
  EXPECT_EQ(data.substr(p.consumed), "payload");
  EXPECT_TRUE(p.header.has_address);
  EXPECT_EQ(p.header.source.ToString(), "192.0.2.1");
  EXPECT_EQ(p.header.source_port, 12345);
  EXPECT_EQ(p.header.destination_port, 8080);
}

TEST(ProxyProtocolTest, V2Tcp6) {
  std::string a(36, '\0');
  a[0] = 0x20;
  a[1] = 0x01;
  a[15] = 0x05;  // 2001::5
  a[31] = 1;     // ::1
  a[32] = 0x01;
  a[33] = 0xbb;  // 443
  ProxyParse p = ParseProxyHeader(V2(0x21, 0x21, a));
  ASSERT_EQ(p.status, ProxyParse::kDone) << p.error;
  EXPECT_EQ(p.header.source.ToString(), "2001::5");
  EXPECT_EQ(p.header.source_port, 443);
}

TEST(ProxyProtocolTest, V2LocalAndUnspecKeepThePeer) {
  ProxyParse p = ParseProxyHeader(V2(0x20, 0x00, ""));
  ASSERT_EQ(p.status, ProxyParse::kDone);
  EXPECT_FALSE(p.header.has_address);
  p = ParseProxyHeader(V2(0x21, 0x00, ""));
  ASSERT_EQ(p.status, ProxyParse::kDone);
  EXPECT_FALSE(p.header.has_address);
  p = ParseProxyHeader(V2(0x21, 0x31, std::string(216, 'x')));  // AF_UNIX
  ASSERT_EQ(p.status, ProxyParse::kDone);
  EXPECT_FALSE(p.header.has_address);
}

TEST(ProxyProtocolTest, V2Rejects) {
  EXPECT_EQ(ParseProxyHeader(V2(0x11, 0x11, V4Addresses())).status, ProxyParse::kInvalid);
  EXPECT_EQ(ParseProxyHeader(V2(0x22, 0x11, V4Addresses())).status, ProxyParse::kInvalid);
  EXPECT_EQ(ParseProxyHeader(V2(0x21, 0x11, V4Addresses().substr(0, 8))).status,
            ProxyParse::kInvalid);
  EXPECT_EQ(ParseProxyHeader(V2(0x21, 0x21, std::string(20, '\0'))).status, ProxyParse::kInvalid);
  EXPECT_EQ(ParseProxyHeader(V2(0x21, 0x51, V4Addresses())).status, ProxyParse::kInvalid);
  EXPECT_EQ(ParseProxyHeader(V2(0x21, 0x13, V4Addresses())).status, ProxyParse::kInvalid);
  // A length beyond the bound is refused before waiting for it.
  std::string big = V2(0x21, 0x11, "");
  big[14] = '\xff';
  big[15] = '\xff';
  EXPECT_EQ(ParseProxyHeader(big).status, ProxyParse::kInvalid);
  std::string sig("\r\n\r\n\0\r\nQUIx\n", 12);
  EXPECT_EQ(ParseProxyHeader(sig).status, ProxyParse::kInvalid);
}

TEST(ProxyProtocolTest, V2IncompleteUntilLength) {
  const std::string full = V2(0x21, 0x11, V4Addresses());
  for (size_t n = 0; n < full.size(); ++n) {
    EXPECT_EQ(ParseProxyHeader(full.substr(0, n)).status, ProxyParse::kIncomplete) << n;
  }
}

// Random bytes and mutations of valid headers: no crash, and "done" never
// consumes more than was given.
TEST(ProxyProtocolTest, RandomInputNeverOverreads) {
  std::mt19937 rng(9);
  const std::string seeds[] = {"PROXY TCP4 192.0.2.1 10.0.0.1 12345 8080\r\n",
                               V2(0x21, 0x11, V4Addresses())};
  for (int i = 0; i < 20000; ++i) {
    std::string data = seeds[i % 2];
    const int edits = 1 + rng() % 4;
    for (int e = 0; e < edits; ++e) data[rng() % data.size()] = static_cast<char>(rng());
    if (rng() % 3 == 0) data.resize(rng() % (data.size() + 1));
    ProxyParse p = ParseProxyHeader(data);
    if (p.status == ProxyParse::kDone) EXPECT_LE(p.consumed, data.size());
  }
}

}  // namespace
}  // namespace portico::dataplane::event
