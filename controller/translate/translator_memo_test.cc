// Translate with a TranslateMemo gives what it gives without one, whatever
// the memo holds from earlier translations.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "controller/translate/test_certs.h"
#include "controller/translate/test_util.h"
#include "controller/translate/translator.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "portico/v1/wire_bytes.h"

namespace portico::controller::translate {
namespace {

using namespace testing;  // NOLINT: the test builders

std::string Bytes(const v1::Snapshot& snapshot) { return v1::WireBytes(snapshot); }

Secret AuthSecret(std::string name, std::string htpasswd) {
  Secret s;
  s.meta = Meta("default", std::move(name));
  s.type = "Opaque";
  s.data["auth"] = std::move(htpasswd);
  return s;
}

Ingress* FindIngress(ClusterState& state, const std::string& name) {
  for (Ingress& i : state.ingresses) {
    if (i.meta.name == name) return &i;
  }
  return nullptr;
}

class TranslateMemoTest : public ::testing::Test {
 protected:
  TranslateMemoTest() {
    state_.ingress_classes.push_back(OurClass());
    state_.services.push_back(MakeService("app", {Port("http", 80)}));
    state_.services.push_back(MakeService("other", {Port("http", 8080)}));
    state_.endpoint_slices.push_back(
        Slice("app-1", "app", {SlicePort("http", 8080)}, {Ep("10.0.0.1"), Ep("10.0.0.2")}));
    state_.secrets.push_back(AuthSecret("users", "alice:{SHA}/vNB+F2HQ559kaLUZbmHHvZrXpg=\n"));
    state_.secrets.push_back(AuthSecret("web-tls", "not a certificate"));
    ConfigMap settings;
    settings.meta = Meta("portico", "settings");
    settings.data["hsts"] = "true";
    state_.config_maps.push_back(settings);
    options_.settings_config_map = "portico/settings";

    Ingress web = MakeIngress("web", "web.example.com", {Path("/", "Prefix", Backend("app", 80))},
                              "2024-01-02T00:00:00Z");
    web.meta.annotations["portico.dev/auth-type"] = "basic";
    web.meta.annotations["portico.dev/auth-secret"] = "users";
    web.meta.annotations["portico.dev/no-such-annotation"] = "x";  // a warning
    web.tls.push_back(IngressTls{{"web.example.com"}, "web-tls"});
    state_.ingresses.push_back(web);

    Ingress api = MakeIngress(
        "api", "api.example.com",
        {Path("/v1", "Prefix", Backend("app", 80)), Path("/v2", "Exact", Backend("missing", 80))},
        "2024-01-01T00:00:00Z");
    api.meta.annotations["nginx.ingress.kubernetes.io/ssl-redirect"] = "maybe";  // invalid
    state_.ingresses.push_back(api);

    // The same host and path as "web", younger: it loses the conflict.
    Ingress late = MakeIngress("late", "web.example.com", {Path("/", "Prefix", Backend("app", 80))},
                               "2024-01-03T00:00:00Z");
    state_.ingresses.push_back(late);
    Ingress other =
        MakeIngress("other", "", {Path("/other", "Prefix", Backend("other", 8080))}, "");
    other.meta.annotations["portico.dev/use-regex"] = "true";
    state_.ingresses.push_back(other);
  }

  // Translates the current state with the warm memo and without one, and
  // expects the same result.
  void ExpectSameAsCold(const std::string& step) {
    SCOPED_TRACE(step);
    Result cold = Translate(state_, options_);
    Result warm = Translate(state_, options_, &memo_);
    EXPECT_EQ(Bytes(warm.snapshot), Bytes(cold.snapshot));
    EXPECT_EQ(warm.diagnostics, cold.diagnostics);
    EXPECT_EQ(warm.served_ingresses, cold.served_ingresses);
    // A second translation of the same state from the now warmer memo too.
    Result again = Translate(state_, options_, &memo_);
    EXPECT_EQ(Bytes(again.snapshot), Bytes(cold.snapshot));
    EXPECT_EQ(again.diagnostics, cold.diagnostics);
    // And the same virtual hosts when they are shared, as the controller asks.
    Options share = options_;
    share.share_virtual_hosts = true;
    Result shared = Translate(state_, share, &shared_memo_);
    EXPECT_EQ(Bytes(WithHosts(shared)), Bytes(cold.snapshot));
    EXPECT_EQ(shared.diagnostics, cold.diagnostics);
  }

  static v1::Snapshot WithHosts(const Result& shared) {
    v1::Snapshot snapshot = shared.snapshot;
    EXPECT_EQ(snapshot.virtual_hosts_size(), 0);
    for (const auto& vh : shared.virtual_hosts) *snapshot.add_virtual_hosts() = *vh;
    return snapshot;
  }

  ClusterState state_;
  Options options_;
  TranslateMemo memo_;
  TranslateMemo shared_memo_;  // for translations with Options::share_virtual_hosts
};

TEST_F(TranslateMemoTest, WarmGivesTheSameSnapshotsAsColdAcrossChanges) {
  ExpectSameAsCold("first");
  {
    Result r = Translate(state_, options_);
    EXPECT_FALSE(r.diagnostics.empty());  // the case exercises diagnostics
  }

  // An Ingress edited: its backend, then its annotations.
  FindIngress(state_, "api")->rules[0].paths[0].backend = Backend("other", 8080);
  ExpectSameAsCold("Ingress backend edited");
  FindIngress(state_, "api")->meta.annotations["nginx.ingress.kubernetes.io/ssl-redirect"] =
      "false";
  ExpectSameAsCold("Ingress annotation fixed");
  FindIngress(state_, "web")->meta.annotations.erase("portico.dev/auth-type");
  ExpectSameAsCold("Ingress annotation removed");
  FindIngress(state_, "web")->meta.annotations["portico.dev/auth-type"] = "basic";
  ExpectSameAsCold("Ingress annotation restored");
  FindIngress(state_, "web")->meta.uid = "uid-2";
  ExpectSameAsCold("Ingress recreated with a new uid");

  // The age order changes: "late" becomes the oldest and wins the conflict.
  FindIngress(state_, "late")->meta.creation_timestamp = "2023-12-31T00:00:00Z";
  ExpectSameAsCold("creation timestamp edited");

  // A Service edited, then an EndpointSlice.
  state_.services[0].ports[0].port = 81;
  ExpectSameAsCold("Service port edited");
  state_.services[0].ports[0].port = 80;
  state_.endpoint_slices[0].endpoints.pop_back();
  ExpectSameAsCold("EndpointSlice edited");

  // Secrets edited: the basic auth users, the TLS Secret.
  state_.secrets[0].data["auth"] = "bob:{SHA}/vNB+F2HQ559kaLUZbmHHvZrXpg=\n";
  ExpectSameAsCold("auth Secret edited");
  state_.secrets[1].data["tls.crt"] = "still not a certificate";
  ExpectSameAsCold("TLS Secret edited");

  // The settings ConfigMap edited: every Ingress's annotation defaults change.
  state_.config_maps[0].data["ssl-redirect"] = "false";
  ExpectSameAsCold("settings edited");
  state_.config_maps.clear();
  ExpectSameAsCold("settings deleted");

  // Ingresses deleted, one added, and their order in the state shuffled.
  state_.ingresses.erase(state_.ingresses.begin());  // "web"
  ExpectSameAsCold("Ingress deleted");
  state_.ingresses.push_back(
      MakeIngress("web", "web.example.com", {Path("/", "Prefix", Backend("app", 80))}));
  ExpectSameAsCold("Ingress added again, without annotations");
  std::swap(state_.ingresses.front(), state_.ingresses.back());
  ExpectSameAsCold("Ingresses reordered");
  state_.ingresses.clear();
  ExpectSameAsCold("every Ingress deleted");
}

const v1::VirtualHost* FindHost(const Result& result, const std::string& name) {
  for (const v1::VirtualHost& vh : result.snapshot.virtual_hosts()) {
    if (vh.name() == name) return &vh;
  }
  return nullptr;
}

// Ingresses meet on hosts (islands.h): each change here joins or splits the
// groups a warm translation keeps.
TEST_F(TranslateMemoTest, WarmGivesTheSameSnapshotsAsColdAsIngressesMeetOnHosts) {
  ExpectSameAsCold("first");
  // "api" (the oldest) takes web's path: it wins web's host, then lets go.
  FindIngress(state_, "api")
      ->rules.push_back(
          IngressRule{"web.example.com", {Path("/", "Prefix", Backend("other", 8080))}});
  ExpectSameAsCold("an Ingress joins another's host");
  FindIngress(state_, "api")->rules.pop_back();
  ExpectSameAsCold("and leaves it");

  // A www redirect, until another Ingress routes the www host itself.
  Ingress shop = MakeIngress("shop", "shop.example.com", {Path("/", "Prefix", Backend("app", 80))},
                             "2024-02-01T00:00:00Z");
  shop.meta.annotations["nginx.ingress.kubernetes.io/from-to-www-redirect"] = "true";
  state_.ingresses.push_back(shop);
  ExpectSameAsCold("www redirect");
  Result redirected = Translate(state_, options_);
  const v1::VirtualHost* www = FindHost(redirected, "host:www.shop.example.com");
  ASSERT_NE(www, nullptr);
  EXPECT_TRUE(www->routes(0).action().has_redirect());
  state_.ingresses.push_back(MakeIngress("www-shop", "www.shop.example.com",
                                         {Path("/", "Prefix", Backend("app", 80))},
                                         "2024-02-02T00:00:00Z"));
  ExpectSameAsCold("the www host routed by a rule");
  Result routed = Translate(state_, options_);
  www = FindHost(routed, "host:www.shop.example.com");
  ASSERT_NE(www, nullptr);
  EXPECT_TRUE(www->routes(0).action().has_cluster());

  // A canary on web's host, then without the main Ingresses.
  Ingress canary =
      MakeIngress("web-canary", "web.example.com", {Path("/", "Prefix", Backend("other", 8080))},
                  "2024-02-03T00:00:00Z");
  canary.meta.annotations["nginx.ingress.kubernetes.io/canary"] = "true";
  canary.meta.annotations["nginx.ingress.kubernetes.io/canary-weight"] = "10";
  state_.ingresses.push_back(canary);
  ExpectSameAsCold("canary added");
  Result with_canary = Translate(state_, options_);
  ASSERT_NE(FindHost(with_canary, "host:web.example.com"), nullptr);
  EXPECT_TRUE(FindHost(with_canary, "host:web.example.com")->routes(0).has_canary());
  std::erase_if(state_.ingresses,
                [](const Ingress& i) { return i.meta.name == "web" || i.meta.name == "late"; });
  ExpectSameAsCold("the canary's main Ingresses deleted");
  EXPECT_EQ(FindHost(Translate(state_, options_), "host:web.example.com"),
            nullptr);  // no dereference
}

// An island looks up Services, Secrets and ConfigMaps by name: a change to
// one of them, or its creation after a miss, reaches exactly the islands that
// named it.
TEST_F(TranslateMemoTest, WarmGivesTheSameSnapshotsAsColdAsTheObjectsIslandsNameChange) {
  FindIngress(state_, "other")->meta.annotations["nginx.ingress.kubernetes.io/custom-headers"] =
      "headers";
  ExpectSameAsCold("custom headers from a missing ConfigMap");
  ConfigMap headers;
  headers.meta = Meta("default", "headers");
  headers.data["X-Frame-Options"] = "DENY";
  state_.config_maps.push_back(headers);
  ExpectSameAsCold("the ConfigMap created");
  state_.config_maps.back().data["X-Frame-Options"] = "SAMEORIGIN";
  ExpectSameAsCold("the ConfigMap edited");

  // "api" names the Service "missing" for /v2.
  state_.services.push_back(MakeService("missing", {Port("http", 80)}));
  ExpectSameAsCold("a missing Service created");
  state_.services.back().ports[0].port = 81;
  ExpectSameAsCold("its port changed");
  state_.services.pop_back();
  ExpectSameAsCold("and deleted again");

  // Two Services of one name: the first counts.
  state_.services.push_back(MakeService("app", {Port("http", 8080)}));
  ExpectSameAsCold("a second app Service");
  state_.services.erase(state_.services.begin());
  ExpectSameAsCold("the first app Service deleted");

  // "web" names both Secrets: its TLS one and its users.
  state_.secrets.push_back(state_.secrets[1]);
  state_.secrets.erase(state_.secrets.begin() + 1);
  ExpectSameAsCold("Secrets reordered");
  state_.secrets.clear();
  ExpectSameAsCold("Secrets deleted");
}

// Two Ingresses of one namespace/name (sources drop such duplicates; a
// caller of Translate may not): each is translated as itself.
TEST_F(TranslateMemoTest, DuplicateNamesAreEachTranslatedAsThemselves) {
  Ingress twin = *FindIngress(state_, "api");
  twin.rules = {IngressRule{"twin.example.com", {Path("/", "Prefix", Backend("other", 8080))}}};
  twin.meta.annotations = {
      {"nginx.ingress.kubernetes.io/permanent-redirect", "https://elsewhere.example.com/"}};
  state_.ingresses.push_back(twin);
  ExpectSameAsCold("a duplicate");
  ExpectSameAsCold("again");
  Result result = Translate(state_, options_, &memo_);
  const v1::VirtualHost* twin_host = FindHost(result, "host:twin.example.com");
  const v1::VirtualHost* api_host = FindHost(result, "host:api.example.com");
  ASSERT_NE(twin_host, nullptr);
  ASSERT_NE(api_host, nullptr);
  EXPECT_TRUE(twin_host->routes(0).action().has_redirect());
  EXPECT_EQ(api_host->routes(0).action().cluster(), "default/app:80");
}

// A source's revision stands for the object's content: an Ingress whose
// revision is unchanged is not compared, and one without is.
TEST_F(TranslateMemoTest, ARevisionStandsForTheContent) {
  Ingress* api = FindIngress(state_, "api");
  api->meta.revision = NextRevision();
  ExpectSameAsCold("with revisions");
  api = FindIngress(state_, "api");
  api->rules[0].paths[0].backend = Backend("other", 8080);
  api->meta.revision = NextRevision();
  ExpectSameAsCold("edited, with a new revision");
  api->meta.revision = 0;
  api->rules[0].paths[0].backend = Backend("app", 80);
  ExpectSameAsCold("edited, without a revision");
}

// Shared virtual hosts that did not change are the objects of the last
// translation, also when their island was translated again.
TEST_F(TranslateMemoTest, SharedVirtualHostsKeepTheirObjectWhileUnchanged) {
  options_.share_virtual_hosts = true;
  Result first = Translate(state_, options_, &memo_);
  auto host = [](const Result& r, const std::string& name) -> const v1::VirtualHost* {
    for (const auto& vh : r.virtual_hosts) {
      if (vh->name() == name) return vh.get();
    }
    return nullptr;
  };
  ASSERT_NE(host(first, "host:api.example.com"), nullptr);
  ASSERT_NE(host(first, "host:web.example.com"), nullptr);
  FindIngress(state_, "api")->rules[0].paths[0].backend = Backend("other", 8080);
  // "late" loses web's only path to "web": editing it changes no host.
  FindIngress(state_, "late")->meta.labels["edited"] = "yes";
  Result second = Translate(state_, options_, &memo_);
  EXPECT_NE(host(second, "host:api.example.com"), host(first, "host:api.example.com"));
  EXPECT_EQ(host(second, "host:web.example.com"), host(first, "host:web.example.com"));
  EXPECT_EQ(host(second, "catch-all"), host(first, "catch-all"));
}

// A kept island's certificate checks hold until `now` passes the next
// threshold (a warning's start, an expiry): then the island is translated
// again.
TEST(TranslateMemoTlsTest, WarmFollowsTheClockAcrossCertificateThresholds) {
  const absl::Time t0 =
      absl::FromCivil(absl::CivilSecond(2030, 1, 1, 0, 0, 0), absl::UTCTimeZone());
  ClusterState state;
  state.ingress_classes.push_back(OurClass(/*is_default=*/true));
  state.services.push_back(MakeService("app", {Port("http", 80)}));
  Secret secret;
  secret.meta = Meta("default", "web-tls");
  secret.type = "kubernetes.io/tls";
  secret.data["tls.crt"] = CertPem(EcKey(), t0 - absl::Hours(24 * 365), t0 + absl::Hours(24 * 30));
  secret.data["tls.key"] = KeyPem(EcKey());
  state.secrets.push_back(secret);
  Ingress web = MakeIngress("web", "web.example.com", {Path("/", "Prefix", Backend("app", 80))});
  web.tls.push_back(IngressTls{{"web.example.com"}, "web-tls"});
  state.ingresses.push_back(web);
  state.ingresses.push_back(
      MakeIngress("plain", "plain.example.com", {Path("/", "Prefix", Backend("app", 80))}));

  Options options;
  TranslateMemo memo;
  auto has_reason = [](const Result& r, const std::string& reason) {
    return std::any_of(r.diagnostics.begin(), r.diagnostics.end(),
                       [&](const Diagnostic& d) { return d.reason == reason; });
  };
  for (int hours : {0, 1, 24 * 16 - 1, 24 * 16 + 1, 24 * 20, 24 * 30 + 1, 24 * 31}) {
    SCOPED_TRACE(hours);
    options.now = t0 + absl::Hours(hours);
    Result cold = Translate(state, options);
    Result warm = Translate(state, options, &memo);
    EXPECT_EQ(Bytes(warm.snapshot), Bytes(cold.snapshot));
    EXPECT_EQ(warm.diagnostics, cold.diagnostics);
    EXPECT_EQ(has_reason(cold, "CertificateExpiresSoon"), hours > 24 * 16 && hours <= 24 * 30);
    ASSERT_NE(FindHost(cold, "host:web.example.com"), nullptr);
    EXPECT_EQ(FindHost(cold, "host:web.example.com")->tls_secret().empty(), hours > 24 * 30);
  }
  // Renewed (as cert-manager does, in place): the island that names it follows.
  state.secrets[0].data["tls.crt"] = CertPem(EcKey(), t0, t0 + absl::Hours(24 * 400), "renewed");
  Result cold = Translate(state, options);
  Result warm = Translate(state, options, &memo);
  EXPECT_EQ(Bytes(warm.snapshot), Bytes(cold.snapshot));
  EXPECT_EQ(warm.diagnostics, cold.diagnostics);
  ASSERT_NE(FindHost(cold, "host:web.example.com"), nullptr);
  EXPECT_FALSE(FindHost(cold, "host:web.example.com")->tls_secret().empty());
}

// proxy-ssl-secret names a CA Secret: its creation after a miss reaches the
// island that named it.
TEST(TranslateMemoCaTest, ACaSecretCreatedAfterAMissReachesItsIsland) {
  ClusterState state;
  state.ingress_classes.push_back(OurClass(/*is_default=*/true));
  state.services.push_back(MakeService("app", {Port("https", 443)}));
  Ingress web = MakeIngress("web", "web.example.com", {Path("/", "Prefix", Backend("app", 443))});
  web.meta.annotations = {{"nginx.ingress.kubernetes.io/backend-protocol", "HTTPS"},
                          {"nginx.ingress.kubernetes.io/proxy-ssl-verify", "on"},
                          {"nginx.ingress.kubernetes.io/proxy-ssl-secret", "default/backend-ca"}};
  state.ingresses.push_back(web);
  Options options;
  TranslateMemo memo;
  auto same_as_cold = [&](const std::string& step) {
    SCOPED_TRACE(step);
    Result cold = Translate(state, options);
    Result warm = Translate(state, options, &memo);
    EXPECT_EQ(Bytes(warm.snapshot), Bytes(cold.snapshot));
    EXPECT_EQ(warm.diagnostics, cold.diagnostics);
    return Bytes(cold.snapshot);
  };
  const std::string missing = same_as_cold("CA Secret missing");
  Secret ca;
  ca.meta = Meta("default", "backend-ca");
  ca.type = "Opaque";
  const absl::Time now = absl::Now();
  ca.data["ca.crt"] =
      CertPem(EcKey(), now - absl::Hours(24), now + absl::Hours(24 * 365), "backend-ca");
  state.secrets.push_back(ca);
  EXPECT_NE(same_as_cold("CA Secret created"), missing);
}

TEST_F(TranslateMemoTest, OneMemoServesDifferentOptions) {
  ExpectSameAsCold("first");
  options_.ingress_class = "other";  // selects nothing
  ExpectSameAsCold("another class");
  options_.ingress_class = "portico";
  options_.settings_config_map.clear();
  ExpectSameAsCold("no settings");
}

// 10,000 one-host Ingresses over two Services, as bench/run.sh
// config-propagation writes them, translated again and again with a warm memo
// after one Ingress changed. A measurement, not a check: run with
// PORTICO_TRANSLATE_BENCH=1 (it prints the median and fastest milliseconds).
TEST(TranslateBench, OneChangeInTenThousandIngresses) {
  if (std::getenv("PORTICO_TRANSLATE_BENCH") == nullptr) GTEST_SKIP() << "PORTICO_TRANSLATE_BENCH";
  ClusterState state;
  state.ingress_classes.push_back(OurClass(/*is_default=*/true));
  for (const char* name : {"svc-a", "svc-b"}) {
    state.services.push_back(MakeService(name, {Port("http", 80)}));
    state.endpoint_slices.push_back(
        Slice(std::string(name) + "-1", name, {SlicePort("http", 8080)}, {Ep("127.0.0.1")}));
  }
  constexpr int kIngresses = 10000;
  for (int i = 0; i < kIngresses; ++i) {
    state.ingresses.push_back(
        MakeIngress("ing-" + std::to_string(i), "h" + std::to_string(i) + ".bench.test",
                    {Path("/", "Prefix", Backend(i % 2 == 0 ? "svc-a" : "svc-b", 80))}));
  }
  std::sort(state.ingresses.begin(), state.ingresses.end(),
            [](const Ingress& a, const Ingress& b) { return a.meta.name < b.meta.name; });
  Options options;
  options.share_virtual_hosts = true;  // as the controller translates
  TranslateMemo memo;
  (void)Translate(state, options, &memo);
  std::vector<double> ms;
  for (int round = 0; round < 30; ++round) {
    Ingress& changed = state.ingresses[(round * 997) % kIngresses];
    changed.rules[0].paths[0].backend = Backend(round % 2 == 0 ? "svc-b" : "svc-a", 80);
    auto start = std::chrono::steady_clock::now();
    Result result = Translate(state, options, &memo);
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
                     .count());
    ASSERT_EQ(result.virtual_hosts.size(), kIngresses);
  }
  std::sort(ms.begin(), ms.end());
  std::printf("Translate (result freed outside): median %.2f ms, fastest %.2f ms\n",
              ms[ms.size() / 2], ms.front());
}

}  // namespace
}  // namespace portico::controller::translate
