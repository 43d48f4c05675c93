#include "dataplane/policy/https_policy.h"

#include <string>
#include <utility>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace portico::dataplane::policy {
namespace {

using ::testing::ElementsAre;
using ::testing::Optional;

net::CidrSet Cidrs(std::string_view list) {
  absl::StatusOr<net::CidrSet> set = net::CidrSet::Parse(list);
  EXPECT_TRUE(set.ok()) << list;
  return set.ok() ? *set : net::CidrSet();
}

ConnectionInfo Conn(std::string_view peer, std::string scheme) {
  ConnectionInfo conn;
  absl::StatusOr<net::IpAddress> ip = net::IpAddress::Parse(peer);
  EXPECT_TRUE(ip.ok()) << peer;
  if (ip.ok()) conn.peer = *ip;
  conn.local_port = scheme == "https" ? 8443 : 8080;
  conn.scheme = std::move(scheme);
  return conn;
}

http::HeaderMap Proto(std::vector<std::string> values) {
  http::HeaderMap headers;
  for (std::string& v : values) headers.Add("x-forwarded-proto", std::move(v));
  return headers;
}

TEST(ArrivedOverHttpsTest, TlsListenerIsHttpsWhateverTheHeadersSay) {
  EXPECT_TRUE(ArrivedOverHttps(net::CidrSet(), Conn("192.0.2.1", "https"), Proto({})));
  EXPECT_TRUE(ArrivedOverHttps(Cidrs("192.0.2.0/24"), Conn("192.0.2.1", "https"), Proto({"http"})));
}

TEST(ArrivedOverHttpsTest, ForwardedProtoCountsOnlyFromTrustedPeers) {
  const net::CidrSet trusted = Cidrs("10.0.0.0/8,2001:db8::/32");
  EXPECT_TRUE(ArrivedOverHttps(trusted, Conn("10.1.2.3", "http"), Proto({"https"})));
  EXPECT_TRUE(ArrivedOverHttps(trusted, Conn("2001:db8::1", "http"), Proto({" HTTPS "})));
  // The client-facing hop comes first in a list.
  EXPECT_TRUE(ArrivedOverHttps(trusted, Conn("10.1.2.3", "http"), Proto({"https, http"})));
  EXPECT_FALSE(ArrivedOverHttps(trusted, Conn("10.1.2.3", "http"), Proto({"http, https"})));
  EXPECT_FALSE(ArrivedOverHttps(trusted, Conn("10.1.2.3", "http"), Proto({"http"})));
  EXPECT_FALSE(ArrivedOverHttps(trusted, Conn("10.1.2.3", "http"), Proto({"httpsx"})));
  EXPECT_FALSE(ArrivedOverHttps(trusted, Conn("10.1.2.3", "http"), Proto({})));
  // Anyone can write the header; only a trusted proxy's is believed.
  EXPECT_FALSE(ArrivedOverHttps(trusted, Conn("192.0.2.1", "http"), Proto({"https"})));
  EXPECT_FALSE(ArrivedOverHttps(net::CidrSet(), Conn("10.1.2.3", "http"), Proto({"https"})));
}

TEST(WantsHttpsRedirectTest, AcmeChallengesAreNeverRedirected) {
  const net::CidrSet none;
  const ConnectionInfo plain = Conn("192.0.2.1", "http");
  EXPECT_TRUE(WantsHttpsRedirect(none, plain, Proto({}), "/"));
  EXPECT_TRUE(WantsHttpsRedirect(none, plain, Proto({}), "/.well-known/other"));
  EXPECT_TRUE(WantsHttpsRedirect(none, plain, Proto({}), "/.well-known/acme-challenge"));
  EXPECT_TRUE(WantsHttpsRedirect(none, plain, Proto({}), "/.well-known/acme-challengex/t"));
  EXPECT_FALSE(WantsHttpsRedirect(none, plain, Proto({}), "/.well-known/acme-challenge/"));
  EXPECT_FALSE(WantsHttpsRedirect(none, plain, Proto({}), "/.well-known/acme-challenge/tok"));
  EXPECT_FALSE(WantsHttpsRedirect(none, Conn("192.0.2.1", "https"), Proto({}), "/"));
}

TEST(HttpsRedirectLocationTest, HostWithoutItsPortAndTheTargetAsReceived) {
  EXPECT_THAT(HttpsRedirectLocation("Example.COM", "/a/b?x=1&y=%20", 443),
              Optional(std::string("https://example.com/a/b?x=1&y=%20")));
  EXPECT_THAT(HttpsRedirectLocation("example.com:8080", "/", 443),
              Optional(std::string("https://example.com/")));
  EXPECT_THAT(HttpsRedirectLocation("example.com.", "/", 443),
              Optional(std::string("https://example.com/")));
  EXPECT_THAT(HttpsRedirectLocation("example.com:8080", "/p?q", 8443),
              Optional(std::string("https://example.com:8443/p?q")));
  EXPECT_THAT(HttpsRedirectLocation("[2001:DB8::1]:8080", "/v6", 443),
              Optional(std::string("https://[2001:db8::1]/v6")));
  EXPECT_THAT(HttpsRedirectLocation("[::1]", "/v6", 8443),
              Optional(std::string("https://[::1]:8443/v6")));
  EXPECT_THAT(HttpsRedirectLocation("127.0.0.1:80", "/", 443),
              Optional(std::string("https://127.0.0.1/")));
}

TEST(HttpsRedirectLocationTest, NothingToRedirectTo) {
  EXPECT_EQ(HttpsRedirectLocation("", "/", 443), std::nullopt);
  EXPECT_EQ(HttpsRedirectLocation(":8080", "/", 443), std::nullopt);
  EXPECT_EQ(HttpsRedirectLocation("[::1", "/", 443), std::nullopt);
  EXPECT_EQ(HttpsRedirectLocation("bad host", "/", 443), std::nullopt);
  EXPECT_EQ(HttpsRedirectLocation("example.com", "*", 443), std::nullopt);
  EXPECT_EQ(HttpsRedirectLocation("example.com", "", 443), std::nullopt);
}

TEST(AddHstsTest, AddsOnceAndKeepsTheUpstreamsOwn) {
  http::HeaderMap headers;
  AddHsts(headers, "max-age=31536000; includeSubDomains");
  std::vector<std::string> values;
  for (const http::Header& h : headers) values.emplace_back(h.name + ": " + h.value);
  EXPECT_THAT(values,
              ElementsAre("strict-transport-security: max-age=31536000; includeSubDomains"));

  http::HeaderMap upstream;
  upstream.Add("strict-transport-security", "max-age=60");
  AddHsts(upstream, "max-age=31536000");
  EXPECT_EQ(upstream.size(), 1u);
  EXPECT_THAT(upstream.Get("strict-transport-security"), Optional(std::string_view("max-age=60")));
}

}  // namespace
}  // namespace portico::dataplane::policy
