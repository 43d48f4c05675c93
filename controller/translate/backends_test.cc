// Backends, endpoints and default backends, through Translate.
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

std::vector<std::string> Reasons(const Result& r) {
  std::vector<std::string> out;
  for (const Diagnostic& d : r.diagnostics) out.push_back(d.reason);
  return out;
}

// "address:port r s t" per endpoint of `cluster` (flags: ready, serving, terminating).
std::vector<std::string> Endpoints(const v1::Snapshot& s, const std::string& cluster) {
  std::vector<std::string> out;
  for (const v1::ClusterEndpoints& ce : s.endpoints()) {
    if (ce.cluster() != cluster) continue;
    for (const v1::Endpoint& e : ce.endpoints()) {
      out.push_back(e.address() + ":" + std::to_string(e.port()) + (e.ready() ? " R" : " -") +
                    (e.serving() ? "S" : "-") + (e.terminating() ? "T" : "-"));
    }
  }
  return out;
}

std::vector<std::string> Clusters(const v1::Snapshot& s) {
  std::vector<std::string> out;
  for (const v1::Cluster& c : s.clusters()) out.push_back(c.name());
  return out;
}

class BackendsTest : public ::testing::Test {
 protected:
  BackendsTest() { state_.ingress_classes.push_back(OurClass()); }
  void Route(IngressBackend backend) {
    state_.ingresses.push_back(
        MakeIngress("web", "foo.example.com", {Path("/", "Prefix", std::move(backend))}));
  }
  Result Run() { return Translate(state_, options_); }

  ClusterState state_;
  Options options_;
};

TEST_F(BackendsTest, NumberedPortWithNumericTargetPort) {
  state_.services.push_back(MakeService("app", {Port("http", 80, 8080)}));
  state_.endpoint_slices.push_back(Slice(
      "app-1", "app", {}, {Ep("10.0.0.2"), Ep("10.0.0.1", false), Ep("10.0.0.3", true, true)}));
  Route(Backend("app", 80));
  Result r = Run();
  EXPECT_THAT(Clusters(r.snapshot), ElementsAre("default/app:80"));
  EXPECT_THAT(Endpoints(r.snapshot, "default/app:80"),
              ElementsAre("10.0.0.1:8080 ---", "10.0.0.2:8080 RS-", "10.0.0.3:8080 RST"));
  const v1::Origin& o = r.snapshot.clusters(0).origin();
  EXPECT_EQ(o.namespace_(), "default");
  EXPECT_EQ(o.ingress(), "");  // a cluster may serve several Ingresses
  EXPECT_EQ(o.service(), "app");
  EXPECT_EQ(o.service_port(), "80");
  EXPECT_THAT(r.diagnostics, IsEmpty());
}

TEST_F(BackendsTest, NamedPortsResolveThroughSlicePortNames) {
  // targetPort "web" is a container port name: each slice says what it is.
  state_.services.push_back(MakeService("app", {Port("http", 80, {}, "web"), Port("admin", 9000)}));
  state_.endpoint_slices.push_back(
      Slice("app-a", "app", {SlicePort("http", 8080), SlicePort("admin", 9001)}, {Ep("10.0.0.1")}));
  state_.endpoint_slices.push_back(
      Slice("app-b", "app", {SlicePort("http", 8081)}, {Ep("10.0.0.2")}));
  Route(NamedBackend("app", "http"));
  Result r = Run();
  EXPECT_THAT(Clusters(r.snapshot), ElementsAre("default/app:80"));  // by number: shared
  EXPECT_THAT(Endpoints(r.snapshot, "default/app:80"),
              ElementsAre("10.0.0.1:8080 RS-", "10.0.0.2:8081 RS-"));
  EXPECT_EQ(r.snapshot.virtual_hosts(0).routes(0).origin().service_port(), "80");
  EXPECT_THAT(r.diagnostics, IsEmpty());
}

TEST_F(BackendsTest, SliceWithoutTheNamedPortIsSkipped) {
  state_.services.push_back(MakeService("app", {Port("http", 80, {}, "web")}));
  state_.endpoint_slices.push_back(
      Slice("app-a", "app", {SlicePort("other", 1)}, {Ep("10.0.0.1")}));
  Route(Backend("app", 80));
  Result r = Run();
  EXPECT_THAT(Endpoints(r.snapshot, "default/app:80"), IsEmpty());
  EXPECT_THAT(Reasons(r), ElementsAre("EndpointPortNotFound"));
  EXPECT_EQ(r.diagnostics[0].kind, "Service");
  EXPECT_EQ(r.diagnostics[0].name, "app");
}

TEST_F(BackendsTest, PodsWithoutTheNamedPortAreSkippedQuietly) {
  // Mid-rollout: new Pods renamed the container port, old ones still have it.
  state_.services.push_back(MakeService("app", {Port("http", 80, {}, "web")}));
  state_.endpoint_slices.push_back(
      Slice("app-a", "app", {SlicePort("http", 8080)}, {Ep("10.0.0.1")}));
  state_.endpoint_slices.push_back(
      Slice("app-b", "app", {SlicePort("metrics", 1)}, {Ep("10.0.0.2")}));
  Route(Backend("app", 80));
  Result r = Run();
  EXPECT_THAT(Endpoints(r.snapshot, "default/app:80"), ElementsAre("10.0.0.1:8080 RS-"));
  EXPECT_THAT(r.diagnostics, IsEmpty());
}

TEST_F(BackendsTest, UnsetTargetPortMeansThePort) {
  state_.services.push_back(MakeService("app", {Port("", 8080)}));
  state_.endpoint_slices.push_back(Slice("app-a", "app", {}, {Ep("10.0.0.1")}));
  Route(Backend("app", 8080));
  EXPECT_THAT(Endpoints(Run().snapshot, "default/app:8080"), ElementsAre("10.0.0.1:8080 RS-"));
}

TEST_F(BackendsTest, SlicesOfOtherServicesAndNamespacesAreIgnored) {
  state_.services.push_back(MakeService("app", {Port("http", 80, 8080)}));
  EndpointSlice other_ns = Slice("app-x", "app", {}, {Ep("10.9.9.9")});
  other_ns.meta.ns = "other";
  state_.endpoint_slices.push_back(other_ns);
  state_.endpoint_slices.push_back(Slice("db-1", "db", {}, {Ep("10.8.8.8")}));
  Route(Backend("app", 80));
  EXPECT_THAT(Endpoints(Run().snapshot, "default/app:80"), IsEmpty());
}

TEST_F(BackendsTest, AddressesAreDeduplicatedPreferringUsableCopies) {
  state_.services.push_back(MakeService("app", {Port("http", 80, 8080)}));
  state_.endpoint_slices.push_back(
      Slice("app-a", "app", {}, {Ep("10.0.0.1", false), Ep("2001:DB8::1")}));
  state_.endpoint_slices.push_back(
      Slice("app-b", "app", {}, {Ep("10.0.0.1", true), Ep("2001:db8::1")}));
  Route(Backend("app", 80));
  EXPECT_THAT(Endpoints(Run().snapshot, "default/app:80"),
              ElementsAre("10.0.0.1:8080 RS-", "2001:db8::1:8080 RS-"));
}

TEST_F(BackendsTest, FqdnSlicesAndBadAddressesAreSkipped) {
  state_.services.push_back(MakeService("app", {Port("http", 80, 8080)}));
  EndpointSlice fqdn = Slice("app-f", "app", {}, {Ep("db.example.com")});
  fqdn.address_type = "FQDN";
  state_.endpoint_slices.push_back(fqdn);
  state_.endpoint_slices.push_back(Slice("app-a", "app", {}, {Ep("not-an-ip"), Ep("10.0.0.1")}));
  Route(Backend("app", 80));
  Result r = Run();
  EXPECT_THAT(Endpoints(r.snapshot, "default/app:80"), ElementsAre("10.0.0.1:8080 RS-"));
  EXPECT_THAT(Reasons(r), ElementsAre("InvalidEndpointAddress", "UnsupportedAddressType"));
}

TEST_F(BackendsTest, MissingServiceGives503ThroughAnEmptyCluster) {
  Route(Backend("ghost", 80));
  Result r = Run();
  EXPECT_EQ(r.snapshot.virtual_hosts(0).routes(0).action().cluster(), "default/ghost:80");
  EXPECT_THAT(Clusters(r.snapshot), ElementsAre("default/ghost:80"));
  ASSERT_EQ(r.snapshot.endpoints_size(), 1);
  EXPECT_EQ(r.snapshot.endpoints(0).endpoints_size(), 0);
  EXPECT_THAT(Reasons(r), ElementsAre("ServiceNotFound"));
  EXPECT_EQ(r.diagnostics[0].kind, "Ingress");
  EXPECT_EQ(r.diagnostics[0].name, "web");
}

TEST_F(BackendsTest, MissingServicePortGives503) {
  state_.services.push_back(MakeService("app", {Port("http", 80)}));
  state_.endpoint_slices.push_back(
      Slice("app-a", "app", {SlicePort("http", 80)}, {Ep("10.0.0.1")}));
  Route(NamedBackend("app", "grpc"));
  Result r = Run();
  EXPECT_THAT(Clusters(r.snapshot), ElementsAre("default/app:grpc"));
  EXPECT_THAT(Endpoints(r.snapshot, "default/app:grpc"), IsEmpty());
  EXPECT_THAT(Reasons(r), ElementsAre("ServicePortNotFound"));
}

TEST_F(BackendsTest, ExternalNameWithAnIpLiteralIsOneEndpoint) {
  Service s = MakeService("ext", {});
  s.type = "ExternalName";
  s.external_name = "192.0.2.10";
  state_.services.push_back(s);
  Route(Backend("ext", 8443));
  Result r = Run();
  EXPECT_THAT(Endpoints(r.snapshot, "default/ext:8443"), ElementsAre("192.0.2.10:8443 RS-"));
  EXPECT_THAT(r.diagnostics, IsEmpty());
}

TEST_F(BackendsTest, ExternalNameWithADnsNameIsUnsupported) {
  Service s = MakeService("ext", {Port("https", 443)});
  s.type = "ExternalName";
  s.external_name = "api.example.net";
  state_.services.push_back(s);
  Route(NamedBackend("ext", "https"));
  Result r = Run();
  EXPECT_THAT(Clusters(r.snapshot), ElementsAre("default/ext:443"));
  EXPECT_THAT(Endpoints(r.snapshot, "default/ext:443"), IsEmpty());
  EXPECT_THAT(Reasons(r), ElementsAre("ExternalNameUnsupported"));
}

// The data plane rejects a whole snapshot with a port outside 1..65535, so
// one such backend would block every unrelated change: the translator stops
// it at the route instead.
TEST_F(BackendsTest, OutOfRangeBackendPortIsAnErrorNotAnEndpoint) {
  Service s = MakeService("ext", {});
  s.type = "ExternalName";
  s.external_name = "192.0.2.10";
  state_.services.push_back(s);
  for (int32_t port : {70000, 0, -1}) {
    state_.ingresses.clear();
    Route(Backend("ext", port));
    Result r = Run();
    EXPECT_THAT(Clusters(r.snapshot), IsEmpty()) << port;
    EXPECT_THAT(Reasons(r), ElementsAre("InvalidBackend")) << port;
  }
}

TEST_F(BackendsTest, ResourceBackendAnswers503Directly) {
  IngressBackend b;
  b.has_resource = true;
  Route(b);
  Result r = Run();
  EXPECT_EQ(r.snapshot.virtual_hosts(0).routes(0).action().direct_response().status(), 503u);
  EXPECT_THAT(Clusters(r.snapshot), IsEmpty());
  EXPECT_THAT(Reasons(r), ElementsAre("UnsupportedBackend"));
}

// --- spec.defaultBackend and the controller's default backend ------------------

TEST_F(BackendsTest, IngressDefaultBackendCoversItsHostsWithoutARootPath) {
  state_.services.push_back(MakeService("app", {Port("http", 80)}));
  state_.services.push_back(MakeService("fallback", {Port("http", 80)}));
  Ingress i = MakeIngress("web", "foo.example.com", {Path("/api", "Prefix", Backend("app", 80))});
  i.rules.push_back(IngressRule{"bar.example.com", {Path("/", "Prefix", Backend("app", 80))}});
  i.default_backend = Backend("fallback", 80);
  state_.ingresses.push_back(i);
  Result r = Run();
  ASSERT_EQ(r.snapshot.virtual_hosts_size(), 2);
  const v1::VirtualHost& bar = r.snapshot.virtual_hosts(0);
  const v1::VirtualHost& foo = r.snapshot.virtual_hosts(1);
  ASSERT_EQ(bar.routes_size(), 1);
  EXPECT_EQ(bar.routes(0).action().cluster(), "default/app:80");
  ASSERT_EQ(foo.routes_size(), 2);
  EXPECT_EQ(foo.routes(0).match().path(), "/");
  EXPECT_EQ(foo.routes(0).action().cluster(), "default/fallback:80");
  EXPECT_EQ(foo.routes(0).name(), "default/web:default-backend");
  EXPECT_THAT(r.diagnostics, IsEmpty());  // a rule's "/" displacing it is no conflict
}

TEST_F(BackendsTest, DefaultBackendOnlyIngressTakesTheCatchAll) {
  state_.services.push_back(MakeService("fallback", {Port("http", 80)}));
  Ingress i;
  i.meta = Meta("default", "fallback", "2024-01-01T00:00:00Z");
  i.ingress_class_name = "portico";
  i.default_backend = Backend("fallback", 80);
  state_.ingresses.push_back(i);
  Result r = Run();
  ASSERT_EQ(r.snapshot.virtual_hosts_size(), 1);
  EXPECT_EQ(r.snapshot.virtual_hosts(0).name(), "catch-all");
  EXPECT_EQ(r.snapshot.virtual_hosts(0).routes(0).action().cluster(), "default/fallback:80");
}

TEST_F(BackendsTest, RuleRootBeatsAnOlderIngressDefaultBackend) {
  state_.services.push_back(MakeService("app", {Port("http", 80)}));
  state_.services.push_back(MakeService("fallback", {Port("http", 80)}));
  Ingress old = MakeIngress("old", "foo.example.com", {Path("/x", "Prefix", Backend("app", 80))},
                            "2020-01-01T00:00:00Z");
  old.default_backend = Backend("fallback", 80);
  state_.ingresses.push_back(old);
  state_.ingresses.push_back(
      MakeIngress("new", "foo.example.com", {Path("/", "Prefix", Backend("app", 80))}));
  Result r = Run();
  ASSERT_EQ(r.snapshot.virtual_hosts(0).routes_size(), 2);
  EXPECT_EQ(r.snapshot.virtual_hosts(0).routes(0).origin().ingress(), "new");
  EXPECT_THAT(r.diagnostics, IsEmpty());
}

TEST_F(BackendsTest, ControllerDefaultBackendIsTheDefaultAction) {
  Service s = MakeService("default-http-backend", {Port("http", 8080), Port("metrics", 9090)});
  s.meta.ns = "portico";
  state_.services.push_back(s);
  options_.default_backend_service = "portico/default-http-backend";
  Result r = Run();
  EXPECT_EQ(r.snapshot.default_action().cluster(), "portico/default-http-backend:8080");
  EXPECT_THAT(Clusters(r.snapshot), ElementsAre("portico/default-http-backend:8080"));
  EXPECT_THAT(r.diagnostics, IsEmpty());
}

TEST_F(BackendsTest, MissingOrMalformedControllerDefaultBackend) {
  options_.default_backend_service = "portico/nothing";
  Result r = Run();
  EXPECT_EQ(r.snapshot.default_action().cluster(), "portico/nothing");
  EXPECT_THAT(Reasons(r), ElementsAre("ServiceNotFound"));
  EXPECT_EQ(r.diagnostics[0].kind, "Service");

  options_.default_backend_service = "nothing";
  r = Run();
  EXPECT_FALSE(r.snapshot.has_default_action());
  EXPECT_THAT(Reasons(r), ElementsAre("InvalidOption"));
}

}  // namespace
}  // namespace portico::controller::translate
