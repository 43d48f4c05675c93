#include "controller/translate/translator.h"

#include <algorithm>
#include <string>

#include "controller/translate/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace portico::controller::translate {
namespace {

using namespace testing;  // NOLINT: the test builders
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

const v1::VirtualHost* FindVhost(const v1::Snapshot& s, const std::string& name) {
  for (const v1::VirtualHost& vh : s.virtual_hosts()) {
    if (vh.name() == name) return &vh;
  }
  return nullptr;
}

std::vector<std::string> Reasons(const Result& r) {
  std::vector<std::string> out;
  for (const Diagnostic& d : r.diagnostics) out.push_back(d.reason);
  return out;
}

std::vector<std::string> VhostNames(const Result& r) {
  std::vector<std::string> out;
  for (const v1::VirtualHost& vh : r.snapshot.virtual_hosts()) out.push_back(vh.name());
  return out;
}

// "type path -> cluster" per route, for compact assertions.
std::vector<std::string> Routes(const v1::VirtualHost& vh) {
  std::vector<std::string> out;
  for (const v1::Route& r : vh.routes()) {
    std::string action = r.action().has_direct_response() ? "503" : r.action().cluster();
    out.push_back(v1::PathMatch::Type_Name(r.match().type()) + " " + r.match().path() + " -> " +
                  action);
  }
  return out;
}

class TranslatorTest : public ::testing::Test {
 protected:
  TranslatorTest() {
    state_.ingress_classes.push_back(OurClass());
    state_.services.push_back(MakeService("app", {Port("http", 80)}));
  }
  Result Run() { return Translate(state_, options_); }

  ClusterState state_;
  Options options_;
};

// --- IngressClass selection ----------------------------------------------------

TEST_F(TranslatorTest, ServesItsClassByName) {
  state_.ingresses.push_back(
      MakeIngress("a", "foo.example.com", {Path("/", "Prefix", Backend("app", 80))}));
  Result r = Run();
  EXPECT_THAT(VhostNames(r), ElementsAre("host:foo.example.com"));
  EXPECT_THAT(r.diagnostics, IsEmpty());
}

TEST_F(TranslatorTest, ClassNameWithoutIngressClassObjectIsNotServed) {
  state_.ingress_classes.clear();
  state_.ingresses.push_back(
      MakeIngress("a", "foo.example.com", {Path("/", "Prefix", Backend("app", 80))}));
  Result r = Run();
  EXPECT_THAT(VhostNames(r), IsEmpty());
  EXPECT_THAT(Reasons(r), ElementsAre("IngressClassNotFound"));
}

TEST_F(TranslatorTest, ClassOfAnotherControllerIsIgnoredSilently) {
  state_.ingress_classes[0].controller = "k8s.io/ingress-nginx";
  state_.ingresses.push_back(
      MakeIngress("a", "foo.example.com", {Path("/", "Prefix", Backend("app", 80))}));
  Ingress other = MakeIngress("b", "bar.example.com", {Path("/", "Prefix", Backend("app", 80))});
  other.ingress_class_name = "nginx";
  state_.ingresses.push_back(other);
  Result r = Run();
  EXPECT_THAT(VhostNames(r), IsEmpty());
  EXPECT_THAT(r.diagnostics, IsEmpty());
}

TEST_F(TranslatorTest, LegacyAnnotationSelectsByNameAlone) {
  state_.ingress_classes.clear();
  Ingress ours = MakeIngress("a", "foo.example.com", {Path("/", "Prefix", Backend("app", 80))});
  ours.ingress_class_name.reset();
  ours.meta.annotations["kubernetes.io/ingress.class"] = "portico";
  Ingress theirs = ours;
  theirs.meta.name = "b";
  theirs.rules[0].host = "bar.example.com";
  theirs.meta.annotations["kubernetes.io/ingress.class"] = "nginx";
  state_.ingresses = {ours, theirs};
  Result r = Run();
  EXPECT_THAT(VhostNames(r), ElementsAre("host:foo.example.com"));
  // Status goes on exactly the Ingresses served, never on another class's.
  ASSERT_EQ(r.served_ingresses.size(), 1u);
  EXPECT_EQ(r.served_ingresses[0].name, "a");
}

TEST_F(TranslatorTest, ClassNameWinsOverLegacyAnnotation) {
  Ingress i = MakeIngress("a", "foo.example.com", {Path("/", "Prefix", Backend("app", 80))});
  i.ingress_class_name = "nginx";
  i.meta.annotations["kubernetes.io/ingress.class"] = "portico";
  state_.ingresses.push_back(i);
  EXPECT_THAT(VhostNames(Run()), IsEmpty());
}

TEST_F(TranslatorTest, ClasslessIngressFollowsTheDefaultClass) {
  Ingress i = MakeIngress("a", "foo.example.com", {Path("/", "Prefix", Backend("app", 80))});
  i.ingress_class_name.reset();
  state_.ingresses.push_back(i);
  EXPECT_THAT(VhostNames(Run()), IsEmpty());  // no default, not watching class-less

  options_.watch_ingress_without_class = true;
  EXPECT_THAT(VhostNames(Run()), ElementsAre("host:foo.example.com"));

  IngressClass nginx;
  nginx.meta.name = "nginx";
  nginx.controller = "k8s.io/ingress-nginx";
  nginx.is_default = true;
  state_.ingress_classes.push_back(nginx);
  EXPECT_THAT(VhostNames(Run()), IsEmpty());  // someone else is the default

  options_.watch_ingress_without_class = false;
  state_.ingress_classes[0].is_default = true;
  EXPECT_THAT(VhostNames(Run()), ElementsAre("host:foo.example.com"));
}

// --- Hosts and paths -----------------------------------------------------------

TEST_F(TranslatorTest, PathTypesMapToMatchTypes) {
  state_.ingresses.push_back(
      MakeIngress("a", "",
                  {
                      Path("/exact", "Exact", Backend("app", 80)),
                      Path("/prefix", "Prefix", Backend("app", 80)),
                      Path("/impl", "ImplementationSpecific", Backend("app", 80)),
                      Path("", "ImplementationSpecific", Backend("app", 80)),
                  }));
  Result r = Run();
  ASSERT_THAT(VhostNames(r), ElementsAre("catch-all"));
  EXPECT_THAT(
      Routes(r.snapshot.virtual_hosts(0)),
      ElementsAre("TYPE_PREFIX / -> default/app:80", "TYPE_PREFIX /impl -> default/app:80",
                  "TYPE_PREFIX /prefix -> default/app:80", "TYPE_EXACT /exact -> default/app:80"));
  EXPECT_TRUE(r.snapshot.virtual_hosts(0).hostnames().empty());
  EXPECT_THAT(r.diagnostics, IsEmpty());
}

TEST_F(TranslatorTest, InvalidPathsAreDroppedWithADiagnostic) {
  state_.ingresses.push_back(
      MakeIngress("a", "foo.example.com",
                  {
                      Path("", "Exact", Backend("app", 80)),
                      Path("relative", "Prefix", Backend("app", 80)),
                      Path("relative", "ImplementationSpecific", Backend("app", 80)),
                      Path("/x", "Regex", Backend("app", 80)),
                      Path("/ok", "Prefix", Backend("app", 80)),
                  }));
  Result r = Run();
  ASSERT_EQ(r.snapshot.virtual_hosts_size(), 1);
  EXPECT_THAT(Routes(r.snapshot.virtual_hosts(0)),
              ElementsAre("TYPE_PREFIX /ok -> default/app:80"));
  EXPECT_THAT(Reasons(r),
              ElementsAre("InvalidPath", "InvalidPath", "InvalidPath", "InvalidPathType"));
  for (const Diagnostic& d : r.diagnostics) {
    EXPECT_EQ(d.severity, Diagnostic::Severity::kError);
    EXPECT_EQ(d.kind, "Ingress");
    EXPECT_EQ(d.name, "a");
  }
}

TEST_F(TranslatorTest, UseRegexTurnsImplementationSpecificIntoRegex) {
  Ingress i = MakeIngress("a", "foo.example.com",
                          {
                              Path("/api/v[0-9]+", "ImplementationSpecific", Backend("app", 80)),
                              Path("/a", "ImplementationSpecific", Backend("app", 80)),
                              Path("/(unclosed", "ImplementationSpecific", Backend("app", 80)),
                              Path("/p", "Prefix", Backend("app", 80)),
                              Path("/e", "Exact", Backend("app", 80)),
                          });
  i.meta.annotations["nginx.ingress.kubernetes.io/use-regex"] = "true";
  state_.ingresses.push_back(i);
  Result r = Run();
  ASSERT_EQ(r.snapshot.virtual_hosts_size(), 1);
  EXPECT_THAT(
      Routes(r.snapshot.virtual_hosts(0)),
      ElementsAre("TYPE_PREFIX /p -> default/app:80", "TYPE_EXACT /e -> default/app:80",
                  "TYPE_REGEX /api/v[0-9]+ -> default/app:80", "TYPE_REGEX /a -> default/app:80"));
  EXPECT_THAT(Reasons(r), ElementsAre("InvalidRegex"));
}

TEST_F(TranslatorTest, APrefixRootHidesRegexesAndSaysSo) {
  Ingress i = MakeIngress("a", "foo.example.com",
                          {
                              Path("/v[0-9]+", "ImplementationSpecific", Backend("app", 80)),
                              Path("/", "Prefix", Backend("app", 80)),
                          });
  i.meta.annotations["portico.dev/use-regex"] = "true";
  state_.ingresses.push_back(i);
  Result r = Run();
  EXPECT_THAT(
      Routes(r.snapshot.virtual_hosts(0)),
      ElementsAre("TYPE_PREFIX / -> default/app:80", "TYPE_REGEX /v[0-9]+ -> default/app:80"));
  EXPECT_THAT(Reasons(r), ElementsAre("RegexShadowed"));
}

TEST_F(TranslatorTest, DefaultBackendRootYieldsToRegexes) {
  state_.services.push_back(MakeService("fallback", {Port("http", 80)}));
  Ingress i = MakeIngress("a", "foo.example.com",
                          {Path("/v[0-9]+", "ImplementationSpecific", Backend("app", 80))});
  i.meta.annotations["portico.dev/use-regex"] = "true";
  i.default_backend = Backend("fallback", 80);
  state_.ingresses.push_back(i);
  Result r = Run();
  EXPECT_THAT(
      Routes(r.snapshot.virtual_hosts(0)),
      ElementsAre("TYPE_REGEX /v[0-9]+ -> default/app:80", "TYPE_REGEX / -> default/fallback:80"));
  EXPECT_THAT(r.diagnostics, IsEmpty());

  // A rule's own regex "/" takes the place of the default backend.
  state_.ingresses[0].rules[0].paths.push_back(
      Path("/", "ImplementationSpecific", Backend("app", 80)));
  r = Run();
  EXPECT_THAT(
      Routes(r.snapshot.virtual_hosts(0)),
      ElementsAre("TYPE_REGEX /v[0-9]+ -> default/app:80", "TYPE_REGEX / -> default/app:80"));
}

TEST_F(TranslatorTest, PorticoAnnotationWinsOverNginxAlias) {
  Ingress i = MakeIngress("a", "", {Path("/a.*", "ImplementationSpecific", Backend("app", 80))});
  i.meta.annotations["nginx.ingress.kubernetes.io/use-regex"] = "true";
  i.meta.annotations["portico.dev/use-regex"] = "false";
  state_.ingresses.push_back(i);
  Result r = Run();
  EXPECT_EQ(r.snapshot.virtual_hosts(0).routes(0).match().type(), v1::PathMatch::TYPE_PREFIX);
}

TEST_F(TranslatorTest, BadAndUnknownAnnotations) {
  Ingress i = MakeIngress("a", "", {Path("/a", "ImplementationSpecific", Backend("app", 80))});
  i.meta.annotations["portico.dev/use-regex"] = "yes";
  i.meta.annotations["portico.dev/no-such-annotation"] = "/";
  i.meta.annotations["nginx.ingress.kubernetes.io/ssl-redirect"] = "false";  // not warned
  state_.ingresses.push_back(i);
  Result r = Run();
  EXPECT_THAT(Reasons(r), ElementsAre("InvalidAnnotation", "UnknownAnnotation"));
  EXPECT_EQ(r.snapshot.virtual_hosts(0).routes(0).match().type(), v1::PathMatch::TYPE_PREFIX);
}

TEST_F(TranslatorTest, HostsAreNormalizedAndValidated) {
  state_.ingresses.push_back(
      MakeIngress("a", "Foo.Example.COM", {Path("/", "Prefix", Backend("app", 80))}));
  state_.ingresses.push_back(
      MakeIngress("b", "*.example.com", {Path("/", "Prefix", Backend("app", 80))}));
  state_.ingresses.push_back(
      MakeIngress("c", "10.0.0.1", {Path("/", "Prefix", Backend("app", 80))}));
  state_.ingresses.push_back(
      MakeIngress("d", "a.*.com", {Path("/", "Prefix", Backend("app", 80))}));
  state_.ingresses.push_back(
      MakeIngress("e", "under_score.com", {Path("/", "Prefix", Backend("app", 80))}));
  Result r = Run();
  EXPECT_THAT(VhostNames(r), ElementsAre("host:*.example.com", "host:foo.example.com"));
  EXPECT_EQ(FindVhost(r.snapshot, "host:*.example.com")->hostnames(0), "*.example.com");
  EXPECT_THAT(Reasons(r), ElementsAre("InvalidHost", "InvalidHost", "InvalidHost"));
}

TEST_F(TranslatorTest, HostWithNoValidPathStillGetsAVirtualHost) {
  // So that its requests get the default action, not the catch-all's routes.
  state_.ingresses.push_back(
      MakeIngress("a", "foo.example.com", {Path("x", "Prefix", Backend("app", 80))}));
  state_.ingresses.push_back(MakeIngress("b", "", {Path("/", "Prefix", Backend("app", 80))}));
  Result r = Run();
  EXPECT_THAT(VhostNames(r), ElementsAre("catch-all", "host:foo.example.com"));
  EXPECT_EQ(FindVhost(r.snapshot, "host:foo.example.com")->routes_size(), 0);
}

TEST_F(TranslatorTest, RoutesOfOneHostMergeAcrossIngresses) {
  state_.ingresses.push_back(
      MakeIngress("b", "foo.example.com", {Path("/b", "Prefix", Backend("app", 80))}));
  state_.ingresses.push_back(
      MakeIngress("a", "foo.example.com", {Path("/a", "Prefix", Backend("app", 80))}));
  Result r = Run();
  ASSERT_EQ(r.snapshot.virtual_hosts_size(), 1);
  EXPECT_THAT(Routes(r.snapshot.virtual_hosts(0)),
              ElementsAre("TYPE_PREFIX /a -> default/app:80", "TYPE_PREFIX /b -> default/app:80"));
  EXPECT_EQ(r.snapshot.virtual_hosts(0).routes(0).name(), "default/a:prefix:/a");
  const v1::Origin& o = r.snapshot.virtual_hosts(0).routes(1).origin();
  EXPECT_EQ(o.namespace_(), "default");
  EXPECT_EQ(o.ingress(), "b");
  EXPECT_EQ(o.service(), "app");
  EXPECT_EQ(o.service_port(), "80");
}

// --- Conflicts -----------------------------------------------------------------

TEST_F(TranslatorTest, OldestIngressWinsAPathConflict) {
  state_.services.push_back(MakeService("other", {Port("http", 80)}));
  state_.ingresses.push_back(MakeIngress("young", "foo.example.com",
                                         {Path("/foo/", "Prefix", Backend("other", 80))},
                                         "2024-05-01T00:00:00Z"));
  state_.ingresses.push_back(MakeIngress("old", "foo.example.com",
                                         {Path("/foo", "Prefix", Backend("app", 80))},
                                         "2023-05-01T00:00:00Z"));
  Result r = Run();
  EXPECT_THAT(Routes(r.snapshot.virtual_hosts(0)),
              ElementsAre("TYPE_PREFIX /foo -> default/app:80"));
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].reason, "PathConflict");
  EXPECT_EQ(r.diagnostics[0].name, "young");
  EXPECT_EQ(r.diagnostics[0].severity, Diagnostic::Severity::kWarning);
  EXPECT_THAT(r.diagnostics[0].message, HasSubstr("default/old"));
  // The loser's cluster is not emitted: nothing routes to it.
  ASSERT_EQ(r.snapshot.clusters_size(), 1);
  EXPECT_EQ(r.snapshot.clusters(0).name(), "default/app:80");
}

TEST_F(TranslatorTest, SameAgeConflictGoesToNamespaceThenName) {
  state_.ingresses.push_back(
      MakeIngress("b", "foo.example.com", {Path("/", "Exact", Backend("app", 80))}));
  state_.ingresses.push_back(
      MakeIngress("a", "foo.example.com", {Path("/", "Exact", Backend("app", 80))}));
  Result r = Run();
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].name, "b");
  EXPECT_EQ(r.snapshot.virtual_hosts(0).routes(0).origin().ingress(), "a");
}

TEST_F(TranslatorTest, ExactAndPrefixOfTheSamePathCoexist) {
  state_.ingresses.push_back(
      MakeIngress("a", "foo.example.com", {Path("/foo", "Exact", Backend("app", 80))}));
  state_.ingresses.push_back(
      MakeIngress("b", "foo.example.com", {Path("/foo", "Prefix", Backend("app", 80))}));
  Result r = Run();
  EXPECT_EQ(r.snapshot.virtual_hosts(0).routes_size(), 2);
  EXPECT_THAT(r.diagnostics, IsEmpty());
}

TEST_F(TranslatorTest, DuplicatePathInOneIngressKeepsTheFirst) {
  state_.services.push_back(MakeService("other", {Port("http", 80)}));
  state_.ingresses.push_back(MakeIngress(
      "a", "foo.example.com",
      {Path("/x", "Prefix", Backend("app", 80)), Path("/x", "Prefix", Backend("other", 80))}));
  Result r = Run();
  EXPECT_THAT(Routes(r.snapshot.virtual_hosts(0)), ElementsAre("TYPE_PREFIX /x -> default/app:80"));
  EXPECT_THAT(Reasons(r), ElementsAre("PathConflict"));
  EXPECT_THAT(r.diagnostics[0].message, HasSubstr("same Ingress"));
}

}  // namespace
}  // namespace portico::controller::translate
