#include "dataplane/policy/forwarded.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace portico::dataplane::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::Optional;
using ::testing::Pair;

net::IpAddress Ip(std::string_view text) {
  absl::StatusOr<net::IpAddress> ip = net::IpAddress::Parse(text);
  EXPECT_TRUE(ip.ok()) << text;
  return ip.ok() ? *ip : net::IpAddress();
}

net::CidrSet Cidrs(std::string_view list) {
  absl::StatusOr<net::CidrSet> set = net::CidrSet::Parse(list);
  EXPECT_TRUE(set.ok()) << list;
  return set.ok() ? *set : net::CidrSet();
}

ConnectionInfo Conn(std::string_view peer, std::string scheme = "https", uint16_t port = 8443) {
  ConnectionInfo conn;
  conn.peer = Ip(peer);
  conn.scheme = std::move(scheme);
  conn.local_port = port;
  return conn;
}

http::HeaderMap Headers(std::vector<std::pair<std::string, std::string>> list) {
  http::HeaderMap headers;
  for (auto& [name, value] : list) headers.Add(std::move(name), std::move(value));
  return headers;
}

std::vector<std::pair<std::string, std::string>> Dump(const http::HeaderMap& headers) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const http::Header& h : headers) out.emplace_back(h.name, h.value);
  return out;
}

// A cluster-internal load balancer tier in 10.0.0.0/8 sits in front of Portico.
const net::CidrSet& Trusted() {
  static const net::CidrSet* set = new net::CidrSet(Cidrs("10.0.0.0/8, fd00::/8"));
  return *set;
}

std::string ClientFor(std::string_view peer, std::string_view xff) {
  http::HeaderMap headers = Headers({{"x-forwarded-for", std::string(xff)}});
  return ResolveClient(Trusted(), Conn(peer), headers).client.ToString();
}

// --- ResolveClient --------------------------------------------------------------

TEST(ResolveClientTest, NoHeadersIsThePeer) {
  ClientIdentity id = ResolveClient(Trusted(), Conn("203.0.113.7"), http::HeaderMap());
  EXPECT_EQ(id.client, Ip("203.0.113.7"));
  EXPECT_FALSE(id.peer_trusted);

  id = ResolveClient(Trusted(), Conn("10.0.0.2"), http::HeaderMap());
  EXPECT_EQ(id.client, Ip("10.0.0.2"));
  EXPECT_TRUE(id.peer_trusted);
}

TEST(ResolveClientTest, UntrustedPeerIgnoresSpoofedHeader) {
  http::HeaderMap headers = Headers({{"x-forwarded-for", "1.1.1.1"}, {"x-real-ip", "1.1.1.1"}});
  ClientIdentity id = ResolveClient(Trusted(), Conn("203.0.113.7"), headers);
  EXPECT_EQ(id.client, Ip("203.0.113.7"));
  EXPECT_FALSE(id.peer_trusted);
}

TEST(ResolveClientTest, EmptyTrustedSetTrustsNobody) {
  http::HeaderMap headers = Headers({{"x-forwarded-for", "1.1.1.1"}});
  ClientIdentity id = ResolveClient(net::CidrSet(), Conn("10.0.0.2"), headers);
  EXPECT_EQ(id.client, Ip("10.0.0.2"));
  EXPECT_FALSE(id.peer_trusted);
}

TEST(ResolveClientTest, OneTrustedProxy) {
  EXPECT_EQ(ClientFor("10.0.0.2", "203.0.113.5"), "203.0.113.5");
}

TEST(ResolveClientTest, ChainThroughTwoTrustedProxies) {
  // client -> 10.0.0.1 -> 10.0.0.2 -> Portico.
  EXPECT_EQ(ClientFor("10.0.0.2", "203.0.113.5, 10.0.0.1"), "203.0.113.5");
}

TEST(ResolveClientTest, RightMostUntrustedWinsOverSpoofedPrefix) {
  // The client itself sent "6.6.6.6"; the first trusted proxy appended what it saw.
  EXPECT_EQ(ClientFor("10.0.0.2", "6.6.6.6, 203.0.113.5, 10.0.0.1"), "203.0.113.5");
  // A spoofed trusted-looking address left of the real client changes nothing.
  EXPECT_EQ(ClientFor("10.0.0.2", "10.9.9.9, 203.0.113.5"), "203.0.113.5");
}

TEST(ResolveClientTest, AllTrustedGivesLeftMost) {
  EXPECT_EQ(ClientFor("10.0.0.2", "10.0.0.5, 10.0.0.1"), "10.0.0.5");
  EXPECT_EQ(ClientFor("10.0.0.2", "10.0.0.5"), "10.0.0.5");
  // Trusting everyone degenerates to the left-most address.
  http::HeaderMap headers = Headers({{"x-forwarded-for", "1.1.1.1, 2.2.2.2"}});
  EXPECT_EQ(ResolveClient(Cidrs("0.0.0.0/0"), Conn("3.3.3.3"), headers).client, Ip("1.1.1.1"));
}

TEST(ResolveClientTest, MultipleHeaderLinesAreOneList) {
  http::HeaderMap headers = Headers({{"x-forwarded-for", "6.6.6.6, 203.0.113.5"},
                                     {"accept", "*/*"},
                                     {"x-forwarded-for", "10.0.0.1"}});
  EXPECT_EQ(ResolveClient(Trusted(), Conn("10.0.0.2"), headers).client, Ip("203.0.113.5"));

  // Order matters: the last line holds the right-most entries.
  headers = Headers({{"x-forwarded-for", "10.0.0.1"}, {"x-forwarded-for", "203.0.113.5"}});
  EXPECT_EQ(ResolveClient(Trusted(), Conn("10.0.0.2"), headers).client, Ip("203.0.113.5"));
}

TEST(ResolveClientTest, GarbageStopsTheWalk) {
  // The last good address right of the garbage is the client.
  EXPECT_EQ(ClientFor("10.0.0.2", "203.0.113.5, garbage, 10.0.0.1"), "10.0.0.1");
  EXPECT_EQ(ClientFor("10.0.0.2", "203.0.113.5, unknown"), "10.0.0.2");
  EXPECT_EQ(ClientFor("10.0.0.2", "203.0.113.5, 010.0.0.1"), "10.0.0.2");
  EXPECT_EQ(ClientFor("10.0.0.2", "203.0.113.5, 10.0.0.1 10.0.0.3"), "10.0.0.2");
  EXPECT_EQ(ClientFor("10.0.0.2", "203.0.113.5, fe80::1%eth0"), "10.0.0.2");
  EXPECT_EQ(ClientFor("10.0.0.2", "203.0.113.5, \"10.0.0.1\""), "10.0.0.2");
  EXPECT_EQ(ClientFor("10.0.0.2", "203.0.113.5, 10.0.0.1/8"), "10.0.0.2");
  // Garbage left of the untrusted client is never reached.
  EXPECT_EQ(ClientFor("10.0.0.2", "garbage, 203.0.113.5, 10.0.0.1"), "203.0.113.5");
}

TEST(ResolveClientTest, EmptyElementsAreIgnored) {
  EXPECT_EQ(ClientFor("10.0.0.2", ""), "10.0.0.2");
  EXPECT_EQ(ClientFor("10.0.0.2", " , ,"), "10.0.0.2");
  EXPECT_EQ(ClientFor("10.0.0.2", "203.0.113.5,, 10.0.0.1,"), "203.0.113.5");
  EXPECT_EQ(ClientFor("10.0.0.2", ",203.0.113.5"), "203.0.113.5");
}

TEST(ResolveClientTest, SpacesAndTabsAroundEntries) {
  EXPECT_EQ(ClientFor("10.0.0.2", "  203.0.113.5\t,\t10.0.0.1  "), "203.0.113.5");
  EXPECT_EQ(ClientFor("10.0.0.2", "203.0.113.5,10.0.0.1"), "203.0.113.5");
}

TEST(ResolveClientTest, Ipv6Entries) {
  EXPECT_EQ(ClientFor("10.0.0.2", "2001:db8::5"), "2001:db8::5");
  EXPECT_EQ(ClientFor("10.0.0.2", "[2001:db8::5]"), "2001:db8::5");
  EXPECT_EQ(ClientFor("10.0.0.2", "2001:DB8:0:0::5, fd00::1"), "2001:db8::5");
  // IPv4-mapped entries are IPv4 and match IPv4 trusted ranges.
  EXPECT_EQ(ClientFor("10.0.0.2", "203.0.113.5, ::ffff:10.0.0.1"), "203.0.113.5");
  EXPECT_EQ(ClientFor("10.0.0.2", "::ffff:203.0.113.5"), "203.0.113.5");
}

TEST(ResolveClientTest, Ipv6Peer) {
  EXPECT_EQ(ClientFor("fd00::2", "203.0.113.5, fd00::1"), "203.0.113.5");
  EXPECT_EQ(ClientFor("2001:db8::99", "203.0.113.5"), "2001:db8::99");
}

TEST(ResolveClientTest, EntriesWithPorts) {
  EXPECT_EQ(ClientFor("10.0.0.2", "203.0.113.5:5678"), "203.0.113.5");
  EXPECT_EQ(ClientFor("10.0.0.2", "203.0.113.5:0, 10.0.0.1:65535"), "203.0.113.5");
  EXPECT_EQ(ClientFor("10.0.0.2", "[2001:db8::5]:443"), "2001:db8::5");
  EXPECT_EQ(ClientFor("10.0.0.2", "[2001:db8::5]:443, [fd00::1]:80"), "2001:db8::5");
  EXPECT_EQ(ClientFor("10.0.0.2", "[::1]:80"), "::1");
}

TEST(ResolveClientTest, BadPortsAreGarbage) {
  for (const char* entry :
       {"203.0.113.5:", "203.0.113.5:99999", "203.0.113.5:123456", "203.0.113.5:-1",
        "203.0.113.5:http", "[2001:db8::5]:", "[2001:db8::5]:x", "[2001:db8::5]80", "[2001:db8::5",
        "[203.0.113.5]:80", "host:80", ":80", "[]:80"}) {
    EXPECT_EQ(ClientFor("10.0.0.2", entry), "10.0.0.2") << entry;
  }
}

TEST(ResolveClientTest, InvalidPeerIsUntrusted) {
  ConnectionInfo conn;  // no IP peer, e.g. a Unix socket listener
  http::HeaderMap headers = Headers({{"x-forwarded-for", "203.0.113.5"}});
  ClientIdentity id = ResolveClient(Cidrs("0.0.0.0/0, ::/0"), conn, headers);
  EXPECT_FALSE(id.peer_trusted);
  EXPECT_FALSE(id.client.valid());
}

// --- ApplyForwardedHeaders --------------------------------------------------------

TEST(ApplyForwardedHeadersTest, UntrustedPeerWithoutHeaders) {
  http::HeaderMap headers = Headers({{"host", "shop.example.com"}});
  ClientIdentity id;
  ApplyForwardedHeaders(Trusted(), Conn("203.0.113.7", "https", 8443), "shop.example.com", headers,
                        &id);
  EXPECT_EQ(id.client, Ip("203.0.113.7"));
  EXPECT_FALSE(id.peer_trusted);
  EXPECT_THAT(
      Dump(headers),
      ElementsAre(Pair("host", "shop.example.com"), Pair("x-forwarded-for", "203.0.113.7"),
                  Pair("x-real-ip", "203.0.113.7"), Pair("x-forwarded-proto", "https"),
                  Pair("x-forwarded-host", "shop.example.com"), Pair("x-forwarded-port", "8443")));
}

TEST(ApplyForwardedHeadersTest, SpoofedHeadersFromUntrustedPeerAreReplaced) {
  http::HeaderMap headers = Headers({{"x-forwarded-for", "1.1.1.1"},
                                     {"x-forwarded-for", "10.0.0.1"},
                                     {"x-real-ip", "1.1.1.1"},
                                     {"x-forwarded-proto", "https"},
                                     {"x-forwarded-host", "admin.internal"},
                                     {"x-forwarded-port", "443"},
                                     {"user-agent", "curl"}});
  ApplyForwardedHeaders(Trusted(), Conn("203.0.113.7", "http", 8080), "shop.example.com", headers);
  EXPECT_THAT(
      Dump(headers),
      ElementsAre(Pair("x-forwarded-for", "203.0.113.7"), Pair("x-real-ip", "203.0.113.7"),
                  Pair("x-forwarded-proto", "http"), Pair("x-forwarded-host", "shop.example.com"),
                  Pair("x-forwarded-port", "8080"), Pair("user-agent", "curl")));
}

TEST(ApplyForwardedHeadersTest, TrustedPeerAppendsAndKeeps) {
  http::HeaderMap headers = Headers({{"x-forwarded-for", "203.0.113.5, 10.0.0.1"},
                                     {"x-real-ip", "6.6.6.6"},
                                     {"x-forwarded-proto", "https"},
                                     {"x-forwarded-host", "shop.example.com"},
                                     {"x-forwarded-port", "443"}});
  ClientIdentity id;
  ApplyForwardedHeaders(Trusted(), Conn("10.0.0.2", "http", 8080), "internal-lb", headers, &id);
  EXPECT_TRUE(id.peer_trusted);
  EXPECT_EQ(id.client, Ip("203.0.113.5"));
  EXPECT_THAT(
      Dump(headers),
      ElementsAre(Pair("x-forwarded-for", "203.0.113.5, 10.0.0.1, 10.0.0.2"),
                  Pair("x-real-ip", "203.0.113.5"), Pair("x-forwarded-proto", "https"),
                  Pair("x-forwarded-host", "shop.example.com"), Pair("x-forwarded-port", "443")));
}

TEST(ApplyForwardedHeadersTest, TrustedPeerMultipleXffLinesBecomeOne) {
  http::HeaderMap headers =
      Headers({{"x-forwarded-for", "203.0.113.5"}, {"x-forwarded-for", "10.0.0.1"}});
  ApplyForwardedHeaders(Trusted(), Conn("10.0.0.2"), "a.example", headers);
  EXPECT_THAT(headers.GetJoined("x-forwarded-for"),
              Optional(std::string("203.0.113.5, 10.0.0.1, 10.0.0.2")));
  EXPECT_EQ(Dump(headers)[0].first, "x-forwarded-for");
  EXPECT_EQ(std::count_if(headers.begin(), headers.end(),
                          [](const http::Header& h) { return h.name == "x-forwarded-for"; }),
            1);
}

TEST(ApplyForwardedHeadersTest, TrustedPeerWithEmptyXffStartsTheList) {
  http::HeaderMap headers = Headers({{"x-forwarded-for", "  "}});
  ApplyForwardedHeaders(Trusted(), Conn("10.0.0.2"), "a.example", headers);
  EXPECT_THAT(headers.Get("x-forwarded-for"), Optional(std::string_view("10.0.0.2")));
  EXPECT_THAT(headers.Get("x-real-ip"), Optional(std::string_view("10.0.0.2")));
}

TEST(ApplyForwardedHeadersTest, TrustedPeerGarbageIsKeptButNotBelieved) {
  // A trusted proxy's list is forwarded as received (upstreams may log it);
  // the client comes from the walk.
  http::HeaderMap headers = Headers({{"x-forwarded-for", "203.0.113.5, junk, 10.0.0.1"}});
  ClientIdentity id;
  ApplyForwardedHeaders(Trusted(), Conn("10.0.0.2"), "a.example", headers, &id);
  EXPECT_EQ(id.client, Ip("10.0.0.1"));
  EXPECT_THAT(headers.Get("x-forwarded-for"),
              Optional(std::string_view("203.0.113.5, junk, 10.0.0.1, 10.0.0.2")));
  EXPECT_THAT(headers.Get("x-real-ip"), Optional(std::string_view("10.0.0.1")));
}

TEST(ApplyForwardedHeadersTest, TrustedPeerMissingForwardedHeadersAreSetPerHeader) {
  // Each header is decided on its own: the proxy sent only the scheme.
  http::HeaderMap headers = Headers({{"x-forwarded-proto", "https"}, {"x-forwarded-host", ""}});
  ApplyForwardedHeaders(Trusted(), Conn("10.0.0.2", "http", 8080), "a.example", headers);
  EXPECT_THAT(headers.Get("x-forwarded-proto"), Optional(std::string_view("https")));
  EXPECT_THAT(headers.Get("x-forwarded-host"), Optional(std::string_view("a.example")));
  EXPECT_THAT(headers.Get("x-forwarded-port"), Optional(std::string_view("8080")));
}

TEST(ApplyForwardedHeadersTest, NoAuthorityOrPortRemovesSpoofedValues) {
  http::HeaderMap headers =
      Headers({{"x-forwarded-host", "evil.example"}, {"x-forwarded-port", "1"}});
  ApplyForwardedHeaders(Trusted(), Conn("203.0.113.7", "http", 0), "", headers);
  EXPECT_FALSE(headers.Has("x-forwarded-host"));
  EXPECT_FALSE(headers.Has("x-forwarded-port"));
  EXPECT_THAT(headers.Get("x-forwarded-proto"), Optional(std::string_view("http")));
}

TEST(ApplyForwardedHeadersTest, Ipv6ClientAndPeer) {
  http::HeaderMap headers = Headers({{"x-forwarded-for", "[2001:DB8::5]:443"}});
  ClientIdentity id;
  ApplyForwardedHeaders(Trusted(), Conn("fd00::2"), "a.example", headers, &id);
  EXPECT_EQ(id.client, Ip("2001:db8::5"));
  EXPECT_THAT(headers.Get("x-forwarded-for"),
              Optional(std::string_view("[2001:DB8::5]:443, fd00::2")));
  EXPECT_THAT(headers.Get("x-real-ip"), Optional(std::string_view("2001:db8::5")));

  headers = Headers({{"x-forwarded-for", "203.0.113.5"}});
  ApplyForwardedHeaders(Trusted(), Conn("2001:db8::99"), "a.example", headers);
  EXPECT_THAT(headers.Get("x-forwarded-for"), Optional(std::string_view("2001:db8::99")));
  EXPECT_THAT(headers.Get("x-real-ip"), Optional(std::string_view("2001:db8::99")));
}

TEST(ApplyForwardedHeadersTest, MappedPeerIsWrittenAsIpv4) {
  ConnectionInfo conn = Conn("::ffff:10.0.0.2");
  http::HeaderMap headers = Headers({{"x-forwarded-for", "203.0.113.5"}});
  ApplyForwardedHeaders(Trusted(), conn, "a.example", headers);
  EXPECT_THAT(headers.Get("x-forwarded-for"), Optional(std::string_view("203.0.113.5, 10.0.0.2")));
}

TEST(ApplyForwardedHeadersTest, InvalidPeerDropsClientHeaders) {
  ConnectionInfo conn;
  conn.scheme = "http";
  conn.local_port = 8080;
  http::HeaderMap headers = Headers({{"x-forwarded-for", "1.1.1.1"}, {"x-real-ip", "1.1.1.1"}});
  ClientIdentity id;
  ApplyForwardedHeaders(Trusted(), conn, "a.example", headers, &id);
  EXPECT_FALSE(id.client.valid());
  EXPECT_FALSE(headers.Has("x-forwarded-for"));
  EXPECT_FALSE(headers.Has("x-real-ip"));
  EXPECT_THAT(headers.Get("x-forwarded-host"), Optional(std::string_view("a.example")));
}

TEST(ApplyForwardedHeadersTest, IdentityOutIsOptional) {
  http::HeaderMap headers;
  ApplyForwardedHeaders(Trusted(), Conn("203.0.113.7"), "a.example", headers, nullptr);
  EXPECT_THAT(headers.Get("x-real-ip"), Optional(std::string_view("203.0.113.7")));
}

}  // namespace
}  // namespace portico::dataplane::policy
