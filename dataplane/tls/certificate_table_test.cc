#include "dataplane/tls/certificate_table.h"

#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/strings.h"
#include "dataplane/tls/ticket_keys.h"

namespace portico::dataplane::tls {
namespace {

std::string Read(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class CertificateTableTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/portico-tls-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = new std::string(tmpl);
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(*dir_);
    delete dir_;
  }

  // A self-signed certificate for `cn` made by the openssl command line.
  static std::shared_ptr<const ServerCertificate> Make(const std::string& cn, bool rsa = false) {
    std::string base = StrCat(*dir_, "/", cn, rsa ? "-rsa" : "-ec");
    std::string key_opt = rsa ? "-newkey rsa:2048" : "-newkey ec -pkeyopt ec_paramgen_curve:P-256";
    std::string cmd = StrCat("openssl req -x509 ", key_opt, " -nodes -days 2 -subj /CN=", cn,
                             " -keyout ", base, ".key -out ", base, ".pem 2>/dev/null");
    EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
    auto cert = ServerCertificate::FromPem(Read(base + ".pem"), Read(base + ".key"), cn);
    EXPECT_TRUE(cert.ok()) << cert.status();
    return cert.ok() ? *cert : nullptr;
  }

  static std::string* dir_;
};
std::string* CertificateTableTest::dir_ = nullptr;

std::string CommonName(X509* cert) {
  char cn[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
  return cn;
}

// A real handshake in memory: a client SSL and the table's server SSL over a BIO pair.
struct Handshake {
  std::string peer_cn, alpn, version;
  bool resumed = false;
  SSL_SESSION* session = nullptr;  // owned by the caller when set
};

Handshake Connect(const CertificateTable& table, const char* sni, const std::string& alpn_wire,
                  SSL_SESSION* resume = nullptr, int max_version = TLS1_3_VERSION) {
  SSL_CTX* client_ctx = SSL_CTX_new(TLS_client_method());
  SSL_CTX_set_max_proto_version(client_ctx, max_version);
  SSL* client = SSL_new(client_ctx);
  SSL* server = table.NewSsl();
  BIO *client_bio, *server_bio;
  BIO_new_bio_pair(&client_bio, 0, &server_bio, 0);
  SSL_set_bio(client, client_bio, client_bio);
  SSL_set_bio(server, server_bio, server_bio);
  SSL_set_connect_state(client);
  SSL_set_accept_state(server);
  if (sni != nullptr) SSL_set_tlsext_host_name(client, sni);
  if (!alpn_wire.empty()) {
    SSL_set_alpn_protos(client, reinterpret_cast<const unsigned char*>(alpn_wire.data()),
                        static_cast<unsigned int>(alpn_wire.size()));
  }
  if (resume != nullptr) SSL_set_session(client, resume);
  for (int i = 0; i < 100 && !(SSL_is_init_finished(client) && SSL_is_init_finished(server)); ++i) {
    SSL_do_handshake(client);
    SSL_do_handshake(server);
  }
  Handshake result;
  // TLS 1.3 tickets arrive after the handshake: let the client read them.
  char byte;
  SSL_write(server, "x", 1);
  SSL_read(client, &byte, 1);
  if (X509* peer = SSL_get1_peer_certificate(client)) {
    result.peer_cn = CommonName(peer);
    X509_free(peer);
  }
  const unsigned char* proto = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(server, &proto, &len);
  if (proto != nullptr) result.alpn.assign(reinterpret_cast<const char*>(proto), len);
  result.version = SSL_get_version(server);
  result.resumed = SSL_session_reused(server);
  result.session = SSL_get1_session(client);
  // A connection freed without a shutdown marks its session unusable.
  SSL_set_shutdown(client, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_set_shutdown(server, SSL_SENT_SHUTDOWN | SSL_RECEIVED_SHUTDOWN);
  SSL_free(client);
  SSL_free(server);
  SSL_CTX_free(client_ctx);
  ERR_clear_error();
  return result;
}

TEST_F(CertificateTableTest, SniPicksExactThenWildcardThenCatchAllThenFallback) {
  auto exact = Make("shop.example.com");
  auto wildcard = Make("star.example.com", /*rsa=*/true);
  auto catch_all = Make("catch-all");
  auto fallback = Make("fallback");
  auto table = CertificateTable::Build(
      {{"shop.example.com", exact}, {"*.example.com", wildcard}, {"", catch_all}}, fallback);
  ASSERT_TRUE(table.ok()) << table.status();
  const CertificateTable& t = **table;
  EXPECT_EQ(t.Select("shop.example.com").name(), "shop.example.com");
  EXPECT_EQ(t.Select("SHOP.Example.COM.").name(), "shop.example.com");
  EXPECT_EQ(t.Select("api.example.com").name(), "star.example.com");
  EXPECT_EQ(t.Select("a.b.example.com").name(), "catch-all");  // one label only
  EXPECT_EQ(t.Select("example.com").name(), "catch-all");
  EXPECT_EQ(t.Select("").name(), "catch-all");

  EXPECT_EQ(Connect(t, "shop.example.com", "").peer_cn, "shop.example.com");
  EXPECT_EQ(Connect(t, "api.example.com", "").peer_cn, "star.example.com");  // RSA
  EXPECT_EQ(Connect(t, nullptr, "").peer_cn, "catch-all");

  auto no_catch_all = CertificateTable::Build({{"shop.example.com", exact}}, fallback);
  ASSERT_TRUE(no_catch_all.ok());
  EXPECT_EQ(Connect(**no_catch_all, "other.test", "").peer_cn, "fallback");
  auto generated = CertificateTable::Build({}, nullptr);
  ASSERT_TRUE(generated.ok());
  EXPECT_EQ(Connect(**generated, "other.test", "").peer_cn, "portico-default");
}

TEST_F(CertificateTableTest, AlpnAndVersions) {
  auto table = CertificateTable::Build({}, Make("alpn"), {"h2", "http/1.1"});
  ASSERT_TRUE(table.ok());
  std::string both("\x08http/1.1\x02h2", 12);
  EXPECT_EQ(Connect(**table, "x", both).alpn, "h2");  // server preference
  EXPECT_EQ(Connect(**table, "x", std::string("\x08http/1.1", 9)).alpn, "http/1.1");
  EXPECT_EQ(Connect(**table, "x", std::string("\x06spdy/3", 7)).alpn, "");  // no ALPN, no failure
  Handshake tls12 = Connect(**table, "x", "", nullptr, TLS1_2_VERSION);
  EXPECT_EQ(tls12.version, "TLSv1.2");
  EXPECT_EQ(tls12.peer_cn, "alpn");
  SSL_SESSION_free(tls12.session);
}

TEST_F(CertificateTableTest, TicketsResumeAcrossTablesAndOneRotation) {
  auto cert = Make("resume");
  auto first = CertificateTable::Build({}, cert);
  auto second = CertificateTable::Build({}, cert);  // a new configuration
  ASSERT_TRUE(first.ok() && second.ok());
  Handshake full = Connect(**first, "x", "");
  ASSERT_NE(full.session, nullptr);
  EXPECT_FALSE(full.resumed);
  Handshake resumed = Connect(**second, "x", "", full.session);
  EXPECT_TRUE(resumed.resumed);
  // TLS 1.3 tickets are single-use for clients: a resumption brings a new one.
  const unsigned char* ticket_full = nullptr;
  const unsigned char* ticket_resumed = nullptr;
  size_t len_full = 0, len_resumed = 0;
  SSL_SESSION_get0_ticket(full.session, &ticket_full, &len_full);
  SSL_SESSION_get0_ticket(resumed.session, &ticket_resumed, &len_resumed);
  ASSERT_GT(len_full, 0u);
  ASSERT_GT(len_resumed, 0u);
  EXPECT_NE(std::string(reinterpret_cast<const char*>(ticket_full), len_full),
            std::string(reinterpret_cast<const char*>(ticket_resumed), len_resumed))
      << "a TLS 1.3 resumption issues a fresh ticket";
  Handshake again = Connect(**second, "x", "", resumed.session);
  EXPECT_TRUE(again.resumed) << "resume a resumed session";
  Handshake again12 = Connect(**second, "x", "", nullptr, TLS1_2_VERSION);
  Handshake resumed12 = Connect(**second, "x", "", again12.session, TLS1_2_VERSION);
  EXPECT_TRUE(resumed12.resumed) << "tls1.2";
  TicketKeys::Global().Rotate();
  Handshake rot12 = Connect(**second, "x", "", resumed12.session, TLS1_2_VERSION);
  EXPECT_TRUE(rot12.resumed) << "tls1.2 after rotation";
  Handshake after_rotation = Connect(**second, "x", "", resumed.session);
  EXPECT_TRUE(after_rotation.resumed);  // the previous key still decrypts
  for (size_t i = 0; i < TicketKeys::kKept; ++i) TicketKeys::Global().Rotate();
  Handshake expired = Connect(**second, "x", "", after_rotation.session);
  EXPECT_FALSE(expired.resumed);
  for (SSL_SESSION* s : {full.session, resumed.session, after_rotation.session, expired.session}) {
    SSL_SESSION_free(s);
  }
}

TEST_F(CertificateTableTest, BadMaterialIsRejectedWithoutShowingIt) {
  auto a = Make("a.test");
  std::string base = StrCat(*dir_, "/b.test-ec");
  Make("b.test");
  std::string key_b = Read(base + ".key");
  std::string chain_a = Read(StrCat(*dir_, "/a.test-ec.pem"));
  auto mismatch = ServerCertificate::FromPem(chain_a, key_b, "ns/mismatch");
  ASSERT_FALSE(mismatch.ok());
  EXPECT_NE(std::string(mismatch.status().message()).find("ns/mismatch"), std::string::npos);
  EXPECT_EQ(std::string(mismatch.status().message()).find("PRIVATE"), std::string::npos);
  EXPECT_FALSE(ServerCertificate::FromPem("garbage", key_b, "x").ok());
  EXPECT_FALSE(ServerCertificate::FromPem(chain_a, "garbage", "x").ok());
  EXPECT_GT(a->not_after(), 0);
}

}  // namespace
}  // namespace portico::dataplane::tls
