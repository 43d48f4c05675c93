// spec.tls through Translate, and the Secret checks (parse, key match, expiry).
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "controller/translate/test_certs.h"
#include "controller/translate/test_util.h"
#include "controller/translate/tls_secret.h"
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

// The translations' clock; the certificates are dated relative to it.
const absl::Time kNow =
    absl::FromCivil(absl::CivilSecond(2030, 1, 1, 0, 0, 0), absl::UTCTimeZone());

std::string ValidCert(EVP_PKEY* key = EcKey()) {
  return CertPem(key, kNow - absl::Hours(24 * 365), kNow + absl::Hours(24 * 365));
}

Secret TlsSecret(std::string name, std::string cert = ValidCert(),
                 std::string key = KeyPem(EcKey())) {
  Secret s;
  s.meta = Meta("default", std::move(name));
  s.type = "kubernetes.io/tls";
  s.data["tls.crt"] = std::move(cert);
  s.data["tls.key"] = std::move(key);
  return s;
}

std::vector<std::string> Reasons(const Result& r) {
  std::vector<std::string> out;
  for (const Diagnostic& d : r.diagnostics) out.push_back(d.reason);
  return out;
}

// No line of a PEM key's body appears in any diagnostic.
void ExpectNoKeyMaterial(const Result& r, const std::string& key_pem) {
  for (absl::string_view line : absl::StrSplit(key_pem, '\n')) {
    if (line.empty() || absl::StartsWith(line, "-----")) continue;
    for (const Diagnostic& d : r.diagnostics) {
      EXPECT_THAT(d.message, Not(HasSubstr(std::string(line.substr(0, 16)))));
    }
  }
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
  Result Run() { return Translate(state_, options_); }

  ClusterState state_;
  Options options_ = [] {
    Options o;
    o.now = kNow;
    return o;
  }();
};

TEST_F(TlsTest, SecretIsAttachedAndShipped) {
  Secret secret = TlsSecret("foo-tls");
  state_.secrets.push_back(secret);
  Add("a", "foo.example.com", {"foo.example.com"}, "foo-tls");
  Result r = Run();
  EXPECT_EQ(r.snapshot.virtual_hosts(0).tls_secret(), "default/foo-tls");
  ASSERT_EQ(r.snapshot.secrets_size(), 1);
  EXPECT_EQ(r.snapshot.secrets(0).name(), "default/foo-tls");
  EXPECT_EQ(r.snapshot.secrets(0).certificate_chain(), secret.data["tls.crt"]);
  EXPECT_EQ(r.snapshot.secrets(0).private_key(), secret.data["tls.key"]);
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
  garbage.data["tls.key"] =
      "-----BEGIN PRIVATE KEY-----\nSECRETKEYBYTES\n-----END PRIVATE KEY-----\n";
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

TEST_F(TlsTest, RsaAndEcdsaCertificatesAreAccepted) {
  state_.secrets.push_back(TlsSecret("ec"));
  state_.secrets.push_back(TlsSecret("rsa", ValidCert(RsaKey()), KeyPem(RsaKey())));
  Add("a", "a.example.com", {"a.example.com"}, "ec");
  Add("b", "b.example.com", {"b.example.com"}, "rsa");
  Result r = Run();
  EXPECT_THAT(r.diagnostics, IsEmpty());
  EXPECT_EQ(r.snapshot.virtual_hosts(0).tls_secret(), "default/ec");
  EXPECT_EQ(r.snapshot.virtual_hosts(1).tls_secret(), "default/rsa");
}

// Each unusable Secret: an Error naming the Secret and the problem, no key
// bytes, and its host gets no certificate (the data plane's default).
struct Unusable {
  std::string name;
  Secret secret;
  std::string problem;
};

TEST_F(TlsTest, UnusableSecretsAreErrorsAndSkipped) {
  const std::string key = KeyPem(EcKey());
  std::vector<Unusable> cases;
  cases.push_back(
      {"expired",
       TlsSecret("expired", CertPem(EcKey(), kNow - absl::Hours(48), kNow - absl::Seconds(1))),
       "the certificate expired at 2029-12-31T23:59:59Z"});
  cases.push_back({"mismatch", TlsSecret("mismatch", ValidCert(OtherEcKey())),
                   "tls.key does not match the certificate in tls.crt"});
  cases.push_back({"rsa-cert-ec-key", TlsSecret("rsa-cert-ec-key", ValidCert(RsaKey())),
                   "tls.key does not match the certificate in tls.crt"});
  cases.push_back(
      {"bad-cert",
       TlsSecret("bad-cert", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"),
       "tls.crt holds no certificate that parses"});
  cases.push_back(
      {"bad-chain",
       TlsSecret("bad-chain", ValidCert() + "-----BEGIN CERTIFICATE-----\nAAAA\n-----END "
                                            "CERTIFICATE-----\n"),
       "certificate 2 in tls.crt does not parse"});
  // The key's last body line dropped: the PEM block is there but does not decode.
  std::string truncated = key;
  size_t end = truncated.rfind("\n-----END");
  truncated.erase(truncated.rfind('\n', end - 1), end - truncated.rfind('\n', end - 1));
  cases.push_back({"bad-key", TlsSecret("bad-key", ValidCert(), truncated),
                   "tls.key does not parse as a PEM private key"});
  BIO* bio = BIO_new(BIO_s_mem());
  char passphrase[] = "secret";
  ASSERT_EQ(PEM_write_bio_PKCS8PrivateKey(bio, EcKey(), EVP_aes_256_cbc(), nullptr, 0, nullptr,
                                          passphrase),
            1);
  cases.push_back({"encrypted", TlsSecret("encrypted", ValidCert(), Drain(bio)),
                   "tls.key is encrypted; the data plane needs an unencrypted key"});

  for (const Unusable& c : cases) {
    SCOPED_TRACE(c.name);
    state_.secrets = {c.secret};
    state_.ingresses.clear();
    Add("a", "a.example.com", {"a.example.com"}, c.name);
    Result r = Run();
    ASSERT_EQ(r.diagnostics.size(), 1u);
    EXPECT_EQ(r.diagnostics[0].severity, Diagnostic::Severity::kError);
    EXPECT_EQ(r.diagnostics[0].reason, "InvalidSecret");
    EXPECT_EQ(r.diagnostics[0].message,
              "TLS Secret \"default/" + c.name + "\" is not usable: " + c.problem);
    ExpectNoKeyMaterial(r, c.secret.data.at("tls.key"));
    EXPECT_EQ(r.snapshot.virtual_hosts(0).tls_secret(), "");
    EXPECT_EQ(r.snapshot.secrets_size(), 0);
  }
}

TEST_F(TlsTest, AnExpiredCertificateFallsBackLikeAMissingOne) {
  state_.secrets.push_back(TlsSecret("old"));
  state_.secrets.push_back(
      TlsSecret("expired", CertPem(EcKey(), kNow - absl::Hours(48), kNow - absl::Hours(1))));
  Add("new", "foo.example.com", {"foo.example.com"}, "old", "2024-02-01T00:00:00Z");
  Add("oldest", "foo.example.com", {"foo.example.com"}, "expired", "2022-02-01T00:00:00Z");
  Result r = Run();
  EXPECT_EQ(r.snapshot.virtual_hosts(0).tls_secret(), "default/old");
  EXPECT_THAT(Reasons(r), ElementsAre("PathConflict", "InvalidSecret"));
}

TEST_F(TlsTest, ACertificateCloseToExpiryIsServedWithAWarning) {
  state_.secrets.push_back(
      TlsSecret("soon", CertPem(EcKey(), kNow - absl::Hours(48), kNow + absl::Hours(13 * 24))));
  state_.secrets.push_back(
      TlsSecret("later", CertPem(EcKey(), kNow - absl::Hours(48), kNow + absl::Hours(15 * 24))));
  Add("a", "a.example.com", {"a.example.com"}, "soon");
  Add("b", "b.example.com", {"b.example.com"}, "later");
  Result r = Run();
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].severity, Diagnostic::Severity::kWarning);
  EXPECT_EQ(r.diagnostics[0].reason, "CertificateExpiresSoon");
  EXPECT_EQ(r.diagnostics[0].name, "a");
  EXPECT_EQ(r.diagnostics[0].message,
            "TLS Secret \"default/soon\": the certificate expires at 2030-01-14T00:00:00Z, in less "
            "than 14 days");
  EXPECT_EQ(r.snapshot.virtual_hosts(0).tls_secret(), "default/soon");
  EXPECT_EQ(r.snapshot.virtual_hosts(1).tls_secret(), "default/later");
  EXPECT_EQ(r.snapshot.secrets_size(), 2);
}

TEST_F(TlsTest, EveryCertificateOfTheChainIsCheckedForExpiry) {
  // A leaf signed by an intermediate that has expired; the leaf alone is fine.
  std::string leaf = CertPem(EcKey(), kNow - absl::Hours(48), kNow + absl::Hours(24 * 365), "leaf",
                             RsaKey(), "intermediate");
  std::string expired_ca =
      CertPem(RsaKey(), kNow - absl::Hours(24 * 365), kNow - absl::Hours(24), "intermediate");
  std::string soon_ca =
      CertPem(RsaKey(), kNow - absl::Hours(24 * 365), kNow + absl::Hours(24), "intermediate");
  Secret expired_chain = TlsSecret("expired", leaf + expired_ca);
  Secret soon_chain = TlsSecret("soon", leaf + soon_ca);
  EXPECT_EQ(CheckTlsSecret(expired_chain, kNow).error,
            "certificate 2 in tls.crt expired at 2029-12-31T00:00:00Z");
  TlsSecretCheck soon = CheckTlsSecret(soon_chain, kNow);
  EXPECT_EQ(soon.error, "");
  EXPECT_EQ(soon.warning,
            "certificate 2 in tls.crt expires at 2030-01-02T00:00:00Z, in less than 14 days");
}

TEST_F(TlsTest, WithoutAClockExpiryIsNotChecked) {
  Secret expired =
      TlsSecret("expired", CertPem(EcKey(), kNow - absl::Hours(48), kNow - absl::Hours(1)));
  EXPECT_EQ(CheckTlsSecret(expired, std::nullopt).error, "");
  EXPECT_EQ(CheckTlsSecret(expired, kNow).error, "the certificate expired at 2029-12-31T23:00:00Z");
  // The rest of the checks still apply.
  EXPECT_EQ(CheckTlsSecret(TlsSecret("x", ValidCert(OtherEcKey())), std::nullopt).error,
            "tls.key does not match the certificate in tls.crt");
}

TEST_F(TlsTest, TheSameInputAndClockGiveTheSameOutput) {
  state_.secrets.push_back(
      TlsSecret("soon", CertPem(EcKey(), kNow - absl::Hours(48), kNow + absl::Hours(24))));
  Add("a", "a.example.com", {"a.example.com"}, "soon");
  Result first = Run();
  Result second = Run();
  EXPECT_EQ(first.diagnostics, second.diagnostics);
  EXPECT_EQ(first.snapshot.SerializeAsString(), second.snapshot.SerializeAsString());
}

}  // namespace
}  // namespace portico::controller::translate
