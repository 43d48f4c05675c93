// spec.tls through Translate.
#include <string>

#include "controller/translate/test_util.h"
#include "controller/translate/translator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace portico::controller::translate {
namespace {

using namespace testing;  // NOLINT: the test builders
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr char kCert[] = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
constexpr char kKey[] = "-----BEGIN PRIVATE KEY-----\nSECRETKEYBYTES\n-----END PRIVATE KEY-----\n";

Secret TlsSecret(std::string name) {
  Secret s;
  s.meta = Meta("default", std::move(name));
  s.type = "kubernetes.io/tls";
  s.data["tls.crt"] = kCert;
  s.data["tls.key"] = kKey;
  return s;
}

std::vector<std::string> Reasons(const Result& r) {
  std::vector<std::string> out;
  for (const Diagnostic& d : r.diagnostics) out.push_back(d.reason);
  return out;
}

class TlsTest : public ::testing::Test {
 protected:
  TlsTest() {
    state_.ingress_classes.push_back(OurClass());
    state_.services.push_back(MakeService("app", {Port("http", 80)}));
  }
  Ingress& Add(std::string name, std::string host, std::vector<std::string> tls_hosts,
               std::string secret, std::string created = "2024-01-01T00:00:00Z") {
    Ingress i = MakeIngress(std::move(name), std::move(host),
                            {Path("/", "Prefix", Backend("app", 80))}, std::move(created));
    i.tls.push_back(IngressTls{std::move(tls_hosts), std::move(secret)});
    state_.ingresses.push_back(std::move(i));
    return state_.ingresses.back();
  }
  Result Run() { return Translate(state_, Options()); }

  ClusterState state_;
};

TEST_F(TlsTest, SecretIsAttachedAndShipped) {
  state_.secrets.push_back(TlsSecret("foo-tls"));
  Add("a", "foo.example.com", {"foo.example.com"}, "foo-tls");
  Result r = Run();
  EXPECT_EQ(r.snapshot.virtual_hosts(0).tls_secret(), "default/foo-tls");
  ASSERT_EQ(r.snapshot.secrets_size(), 1);
  EXPECT_EQ(r.snapshot.secrets(0).name(), "default/foo-tls");
  EXPECT_EQ(r.snapshot.secrets(0).certificate_chain(), kCert);
  EXPECT_EQ(r.snapshot.secrets(0).private_key(), kKey);
  EXPECT_THAT(r.diagnostics, IsEmpty());
}

TEST_F(TlsTest, WildcardEntryCoversOneLabelAndExactEntryWins) {
  state_.secrets.push_back(TlsSecret("wild"));
  state_.secrets.push_back(TlsSecret("exact"));
  Add("a", "a.example.com", {"*.example.com"}, "wild");
  Add("b", "b.example.com", {"b.example.com"}, "exact");
  Add("c", "x.y.example.com", {}, "unused-for-hosts");
  state_.secrets.push_back(TlsSecret("unused-for-hosts"));
  Add("d", "*.example.com", {"*.example.com"}, "wild");
  Result r = Run();
  ASSERT_EQ(r.snapshot.virtual_hosts_size(), 4);
  EXPECT_EQ(r.snapshot.virtual_hosts(0).name(), "host:*.example.com");
  EXPECT_EQ(r.snapshot.virtual_hosts(0).tls_secret(), "default/wild");
  EXPECT_EQ(r.snapshot.virtual_hosts(1).tls_secret(), "default/wild");   // a.example.com
  EXPECT_EQ(r.snapshot.virtual_hosts(2).tls_secret(), "default/exact");  // b.example.com
  EXPECT_EQ(r.snapshot.virtual_hosts(3).tls_secret(), "");               // x.y: two labels
  ASSERT_EQ(r.snapshot.secrets_size(), 2);  // only referenced secrets travel
  EXPECT_EQ(r.snapshot.secrets(0).name(), "default/exact");
  EXPECT_EQ(r.snapshot.secrets(1).name(), "default/wild");
}

TEST_F(TlsTest, AnIngressCannotCertifyAHostItDoesNotRoute) {
  state_.secrets.push_back(TlsSecret("foo-tls"));
  Secret intruder = TlsSecret("intruder");
  intruder.meta.ns = "other";
  state_.secrets.push_back(intruder);
  Add("a", "foo.example.com", {"foo.example.com"}, "foo-tls", "2024-02-01T00:00:00Z");
  Ingress& other =
      Add("b", "bar.example.com", {"foo.example.com"}, "intruder", "2020-01-01T00:00:00Z");
  other.meta.ns = "other";
  Result r = Run();
  ASSERT_EQ(r.snapshot.virtual_hosts_size(), 2);
  EXPECT_EQ(r.snapshot.virtual_hosts(0).tls_secret(), "");                 // bar.example.com
  EXPECT_EQ(r.snapshot.virtual_hosts(1).tls_secret(), "default/foo-tls");  // foo.example.com
  // (and ServiceNotFound: "app" lives in "default")
  EXPECT_THAT(Reasons(r), ElementsAre("ServiceNotFound", "TLSHostNotRouted"));
  EXPECT_EQ(r.diagnostics[1].ns, "other");
}

TEST_F(TlsTest, EntryWithoutHostsCoversTheCatchAll) {
  state_.secrets.push_back(TlsSecret("default-cert"));
  Add("a", "", {}, "default-cert");
  EXPECT_EQ(Run().snapshot.virtual_hosts(0).tls_secret(), "default/default-cert");
}

TEST_F(TlsTest, MissingSecret) {
  Add("a", "foo.example.com", {"foo.example.com"}, "nope");
  Result r = Run();
  EXPECT_EQ(r.snapshot.virtual_hosts(0).tls_secret(), "");
  EXPECT_EQ(r.snapshot.secrets_size(), 0);
  EXPECT_THAT(Reasons(r), ElementsAre("SecretNotFound"));
}

TEST_F(TlsTest, InvalidSecretsNeverLeakKeyMaterial) {
  Secret opaque = TlsSecret("opaque");
  opaque.type = "Opaque";
  Secret no_key = TlsSecret("no-key");
  no_key.data.erase("tls.key");
  Secret garbage = TlsSecret("garbage");
  garbage.data["tls.crt"] = "SECRETKEYBYTES";
  state_.secrets = {opaque, no_key, garbage};
  Add("a", "a.example.com", {"a.example.com"}, "opaque");
  Add("b", "b.example.com", {"b.example.com"}, "no-key");
  Add("c", "c.example.com", {"c.example.com"}, "garbage");
  Result r = Run();
  EXPECT_THAT(Reasons(r), ElementsAre("InvalidSecret", "InvalidSecret", "InvalidSecret"));
  for (const Diagnostic& d : r.diagnostics) EXPECT_THAT(d.message, Not(HasSubstr("SECRETKEY")));
  for (const v1::VirtualHost& vh : r.snapshot.virtual_hosts()) EXPECT_EQ(vh.tls_secret(), "");
  EXPECT_EQ(r.snapshot.secrets_size(), 0);
}

TEST_F(TlsTest, OlderIngressCertificateWinsAndABrokenOneFallsBack) {
  state_.secrets.push_back(TlsSecret("old"));
  state_.secrets.push_back(TlsSecret("new"));
  Add("new", "foo.example.com", {"foo.example.com"}, "new", "2024-02-01T00:00:00Z");
  Add("old", "foo.example.com", {"foo.example.com"}, "old", "2023-02-01T00:00:00Z");
  Add("oldest", "foo.example.com", {"foo.example.com"}, "missing", "2022-02-01T00:00:00Z");
  Result r = Run();
  EXPECT_EQ(r.snapshot.virtual_hosts(0).tls_secret(), "default/old");
  EXPECT_THAT(Reasons(r),
              ElementsAre("PathConflict", "TLSConflict", "PathConflict", "SecretNotFound"));
}

}  // namespace
}  // namespace portico::controller::translate
