#include "controller/source/manifest_decoder.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace portico::controller::source {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::testing::SizeIs;
using translate::ClusterState;
using translate::Diagnostic;

struct Decoded {
  absl::Status status;
  ClusterState state;
  std::vector<Diagnostic> diagnostics;
};

Decoded Decode(std::string_view text, std::string_view source = "app.yaml") {
  Decoded out;
  out.status = DecodeManifests(text, source, out.state, out.diagnostics);
  return out;
}

size_t ObjectCount(const ClusterState& s) {
  return s.ingresses.size() + s.ingress_classes.size() + s.services.size() +
         s.endpoint_slices.size() + s.secrets.size() + s.config_maps.size();
}

std::string Describe(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const Diagnostic& d : diagnostics) {
    out += d.kind + " " + d.ns + "/" + d.name + " " + d.reason + ": " + d.message + "\n";
  }
  return out;
}

TEST(ManifestDecoderTest, Ingress) {
  Decoded d = Decode(R"(
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  uid: 1234-5678
  resourceVersion: "42"
  creationTimestamp: 2024-01-02T03:04:05Z
  labels: {app: web}
  annotations:
    portico.dev/ssl-redirect: "true"
    nginx.ingress.kubernetes.io/proxy-body-size: "100"
spec:
  ingressClassName: portico
  defaultBackend:
    service: {name: fallback, port: {number: 8080}}
  tls:
  - hosts: [a.example.com, "*.b.example.com"]
    secretName: web-tls
  rules:
  - host: a.example.com
    http:
      paths:
      - path: /api
        pathType: Prefix
        backend:
          service:
            name: api
            port: {name: http}
      - path: /static
        pathType: Exact
        backend:
          resource: {apiGroup: k8s.example.com, kind: Bucket, name: assets}
  - http:
      paths:
      - backend: {service: {name: other, port: {number: 80}}}
  - host: empty.example.com
)");
  ASSERT_TRUE(d.status.ok()) << d.status;
  EXPECT_THAT(d.diagnostics, IsEmpty()) << Describe(d.diagnostics);
  ASSERT_THAT(d.state.ingresses, SizeIs(1));
  const translate::Ingress& ing = d.state.ingresses[0];
  EXPECT_EQ(ing.meta.ns, "default");
  EXPECT_EQ(ing.meta.name, "web");
  EXPECT_EQ(ing.meta.uid, "1234-5678");
  EXPECT_EQ(ing.meta.resource_version, "42");
  EXPECT_EQ(ing.meta.creation_timestamp, "2024-01-02T03:04:05Z");
  EXPECT_EQ(ing.meta.source, "app.yaml#1");
  EXPECT_THAT(ing.meta.labels, ElementsAre(Pair("app", "web")));
  EXPECT_THAT(ing.meta.annotations,
              ElementsAre(Pair("nginx.ingress.kubernetes.io/proxy-body-size", "100"),
                          Pair("portico.dev/ssl-redirect", "true")));
  EXPECT_EQ(ing.ingress_class_name, "portico");
  ASSERT_TRUE(ing.default_backend.has_value());
  EXPECT_EQ(ing.default_backend->service_name, "fallback");
  EXPECT_EQ(ing.default_backend->port.number, 8080);
  EXPECT_FALSE(ing.default_backend->port.name.has_value());
  ASSERT_THAT(ing.tls, SizeIs(1));
  EXPECT_THAT(ing.tls[0].hosts, ElementsAre("a.example.com", "*.b.example.com"));
  EXPECT_EQ(ing.tls[0].secret_name, "web-tls");
  ASSERT_THAT(ing.rules, SizeIs(3));
  EXPECT_EQ(ing.rules[0].host, "a.example.com");
  ASSERT_THAT(ing.rules[0].paths, SizeIs(2));
  const translate::HttpIngressPath& api = ing.rules[0].paths[0];
  EXPECT_EQ(api.path, "/api");
  EXPECT_EQ(api.path_type, "Prefix");
  EXPECT_EQ(api.backend.service_name, "api");
  EXPECT_EQ(api.backend.port.name, "http");
  EXPECT_FALSE(api.backend.port.number.has_value());
  EXPECT_FALSE(api.backend.has_resource);
  EXPECT_TRUE(ing.rules[0].paths[1].backend.has_resource);
  EXPECT_EQ(ing.rules[1].host, "");
  ASSERT_THAT(ing.rules[1].paths, SizeIs(1));
  EXPECT_EQ(ing.rules[1].paths[0].path, "");
  EXPECT_EQ(ing.rules[1].paths[0].backend.port.number, 80);
  EXPECT_THAT(ing.rules[2].paths, IsEmpty());
}

TEST(ManifestDecoderTest, MinimalIngressHasNoClassOrDefaultBackend) {
  Decoded d = Decode(R"(
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: bare, namespace: shop, creationTimestamp: null}
)");
  ASSERT_THAT(d.state.ingresses, SizeIs(1)) << Describe(d.diagnostics);
  EXPECT_EQ(d.state.ingresses[0].meta.ns, "shop");
  EXPECT_EQ(d.state.ingresses[0].meta.creation_timestamp, "");
  EXPECT_FALSE(d.state.ingresses[0].ingress_class_name.has_value());
  EXPECT_FALSE(d.state.ingresses[0].default_backend.has_value());
}

TEST(ManifestDecoderTest, IngressClass) {
  Decoded d = Decode(R"(
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: portico
  namespace: ignored
  annotations: {ingressclass.kubernetes.io/is-default-class: "true"}
spec: {controller: portico.dev/ingress-controller}
---
apiVersion: networking.k8s.io/v1
kind: IngressClass
metadata:
  name: other
  annotations: {ingressclass.kubernetes.io/is-default-class: "True"}
spec: {controller: example.com/other}
)");
  ASSERT_THAT(d.state.ingress_classes, SizeIs(2)) << Describe(d.diagnostics);
  EXPECT_EQ(d.state.ingress_classes[0].meta.ns, "");
  EXPECT_EQ(d.state.ingress_classes[0].controller, "portico.dev/ingress-controller");
  EXPECT_TRUE(d.state.ingress_classes[0].is_default);
  // Kubernetes compares the annotation with "true" exactly.
  EXPECT_FALSE(d.state.ingress_classes[1].is_default);
  EXPECT_EQ(d.state.ingress_classes[1].meta.source, "app.yaml#2");
}

TEST(ManifestDecoderTest, Service) {
  Decoded d = Decode(R"(
apiVersion: v1
kind: Service
metadata: {name: api, namespace: shop}
spec:
  clusterIP: 10.0.0.10
  ports:
  - {name: http, port: 80, targetPort: 8080}
  - {name: grpc, port: 9000, targetPort: grpc, protocol: TCP, appProtocol: kubernetes.io/h2c}
  - {port: 53, protocol: UDP}
---
apiVersion: v1
kind: Service
metadata: {name: ext}
spec: {type: ExternalName, externalName: example.com}
)");
  ASSERT_THAT(d.state.services, SizeIs(2)) << Describe(d.diagnostics);
  const translate::Service& api = d.state.services[0];
  EXPECT_EQ(api.type, "ClusterIP");
  EXPECT_EQ(api.cluster_ip, "10.0.0.10");
  ASSERT_THAT(api.ports, SizeIs(3));
  EXPECT_EQ(api.ports[0].name, "http");
  EXPECT_EQ(api.ports[0].protocol, "TCP");
  EXPECT_EQ(api.ports[0].port, 80);
  EXPECT_EQ(api.ports[0].target_port_number, 8080);
  EXPECT_FALSE(api.ports[0].target_port_name.has_value());
  EXPECT_EQ(api.ports[1].target_port_name, "grpc");
  EXPECT_EQ(api.ports[1].app_protocol, "kubernetes.io/h2c");
  EXPECT_EQ(api.ports[2].protocol, "UDP");
  EXPECT_FALSE(api.ports[2].target_port_number.has_value());
  EXPECT_FALSE(api.ports[2].target_port_name.has_value());
  EXPECT_EQ(d.state.services[1].type, "ExternalName");
  EXPECT_EQ(d.state.services[1].external_name, "example.com");
  EXPECT_THAT(d.state.services[1].ports, IsEmpty());
}

TEST(ManifestDecoderTest, WrongTypesRejectOnlyThatObject) {
  Decoded d = Decode(R"(
apiVersion: v1
kind: Service
metadata: {name: quoted-port}
spec:
  ports: [{port: "80"}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: bool-annotation
  namespace: shop
  annotations: {portico.dev/ssl-redirect: true}
---
apiVersion: v1
kind: Service
metadata: {name: fine}
spec:
  ports: [{port: 80}]
)");
  EXPECT_TRUE(d.status.ok());
  ASSERT_THAT(d.state.services, SizeIs(1));
  EXPECT_EQ(d.state.services[0].meta.name, "fine");
  EXPECT_EQ(d.state.services[0].meta.source, "app.yaml#3");
  EXPECT_THAT(d.state.ingresses, IsEmpty());
  ASSERT_THAT(d.diagnostics, SizeIs(2));
  EXPECT_EQ(d.diagnostics[0].severity, Diagnostic::Severity::kError);
  EXPECT_EQ(d.diagnostics[0].kind, "Service");
  EXPECT_EQ(d.diagnostics[0].ns, "default");
  EXPECT_EQ(d.diagnostics[0].name, "quoted-port");
  EXPECT_EQ(d.diagnostics[0].reason, "InvalidManifest");
  EXPECT_EQ(d.diagnostics[0].message,
            "app.yaml#1: spec.ports[0].port: expected an integer, got string \"80\"");
  EXPECT_EQ(d.diagnostics[1].kind, "Ingress");
  EXPECT_EQ(d.diagnostics[1].ns, "shop");
  EXPECT_EQ(d.diagnostics[1].message,
            "app.yaml#2: metadata.annotations[\"portico.dev/ssl-redirect\"]: expected a string, "
            "got boolean true");
}

TEST(ManifestDecoderTest, MoreTypeErrors) {
  struct Case {
    const char* yaml;
    const char* message;
  };
  const Case cases[] = {
      {"apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 70000000000}]}",
       "spec.ports[0].port: 70000000000 is out of range"},
      {"apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80.5}]}",
       "spec.ports[0].port: expected an integer, got number 80.5"},
      {"apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{port: 80, "
       "targetPort: \"8080\"}]}",
       "spec.ports[0].targetPort: \"8080\" is a string"},
      {"apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: [{}]}",
       "spec.ports[0].port: required"},
      {"apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: {ports: {port: 80}}",
       "spec.ports: expected a list, got an object"},
      {"apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: [1]",
       "spec: expected an object, got a list"},
      {"apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\nspec: {rules: "
       "[{host: 1}]}",
       "spec.rules[0].host: expected a string, got number 1"},
      {"apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\nspec: {tls: "
       "[{hosts: [a, 2]}]}",
       "spec.tls[0].hosts[1]: expected a string, got number 2"},
      {"apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: i}\nspec: {rules: "
       "[{http: {paths: [{backend: {service: {name: a, port: {number: \"80\"}}}}]}}]}",
       "spec.rules[0].http.paths[0].backend.service.port.number: expected an integer, got "
       "string \"80\""},
      {"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: e}\nendpoints: "
       "[{addresses: [10.0.0.1], conditions: {ready: \"yes\"}}]",
       "endpoints[0].conditions.ready: expected a boolean, got string \"yes\""},
      {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {workers: 4}",
       "data[\"workers\"]: expected a string, got number 4"},
      {"apiVersion: v1\nkind: Endpoints\nmetadata: {name: e}\nsubsets: [{addresses: [{}]}]",
       "subsets[0].addresses[0].ip: required"},
      {"apiVersion: v1\nkind: ConfigMap\nmetadata: {namespace: x}", "metadata.name: required"},
      {"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: 7}",
       "metadata.name: expected a string, got number 7"},
  };
  for (const Case& c : cases) {
    Decoded d = Decode(c.yaml);
    EXPECT_EQ(ObjectCount(d.state), 0u) << c.yaml;
    ASSERT_THAT(d.diagnostics, SizeIs(1)) << c.yaml;
    EXPECT_EQ(d.diagnostics[0].reason, "InvalidManifest");
    EXPECT_THAT(d.diagnostics[0].message, HasSubstr(c.message)) << c.yaml;
  }
}

TEST(ManifestDecoderTest, NullMeansAbsent) {
  Decoded d = Decode(R"(
apiVersion: v1
kind: Service
metadata: {name: s, labels: null, annotations: {a: null}}
spec: {type: null, ports: [{port: 80, targetPort: null, name: ~}]}
)");
  ASSERT_THAT(d.state.services, SizeIs(1)) << Describe(d.diagnostics);
  EXPECT_THAT(d.state.services[0].meta.annotations, ElementsAre(Pair("a", "")));
  EXPECT_EQ(d.state.services[0].type, "ClusterIP");
  EXPECT_FALSE(d.state.services[0].ports[0].target_port_number.has_value());
}

TEST(ManifestDecoderTest, EndpointSliceV1) {
  Decoded d = Decode(R"(
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: api-abc
  namespace: shop
  labels: {kubernetes.io/service-name: api}
addressType: IPv6
ports:
- {name: http, port: 8080, protocol: TCP, appProtocol: http}
- {name: ""}
endpoints:
- addresses: ["fd00::1"]
  conditions: {ready: true, serving: true, terminating: false}
  zone: zone-a
- addresses: ["fd00::2"]
)");
  ASSERT_THAT(d.state.endpoint_slices, SizeIs(1)) << Describe(d.diagnostics);
  const translate::EndpointSlice& s = d.state.endpoint_slices[0];
  EXPECT_EQ(s.meta.ns, "shop");
  EXPECT_EQ(s.service_name, "api");
  EXPECT_EQ(s.address_type, "IPv6");
  ASSERT_THAT(s.ports, SizeIs(2));
  EXPECT_EQ(s.ports[0].name, "http");
  EXPECT_EQ(s.ports[0].port, 8080);
  EXPECT_EQ(s.ports[0].app_protocol, "http");
  EXPECT_FALSE(s.ports[1].port.has_value());
  ASSERT_THAT(s.endpoints, SizeIs(2));
  EXPECT_THAT(s.endpoints[0].addresses, ElementsAre("fd00::1"));
  EXPECT_EQ(s.endpoints[0].conditions.ready, true);
  EXPECT_EQ(s.endpoints[0].conditions.serving, true);
  EXPECT_EQ(s.endpoints[0].conditions.terminating, false);
  EXPECT_EQ(s.endpoints[0].zone, "zone-a");
  // Unset conditions stay unset: the translator applies Kubernetes defaults.
  EXPECT_FALSE(s.endpoints[1].conditions.ready.has_value());
  EXPECT_FALSE(s.endpoints[1].conditions.terminating.has_value());
  EXPECT_EQ(s.endpoints[1].zone, "");
}

TEST(ManifestDecoderTest, EndpointSliceV1beta1ReadsZoneFromTopology) {
  Decoded d = Decode(R"(
apiVersion: discovery.k8s.io/v1beta1
kind: EndpointSlice
metadata: {name: api-abc, labels: {kubernetes.io/service-name: api}}
addressType: IPv4
endpoints:
- addresses: [10.0.0.1]
  topology: {topology.kubernetes.io/zone: zone-b, kubernetes.io/hostname: node-1}
- addresses: [10.0.0.2]
  topology: {failure-domain.beta.kubernetes.io/zone: zone-c}
)");
  ASSERT_THAT(d.state.endpoint_slices, SizeIs(1)) << Describe(d.diagnostics);
  EXPECT_EQ(d.state.endpoint_slices[0].endpoints[0].zone, "zone-b");
  EXPECT_EQ(d.state.endpoint_slices[0].endpoints[1].zone, "zone-c");
}

TEST(ManifestDecoderTest, EndpointsBecomeOneSlicePerSubset) {
  Decoded d = Decode(R"(
apiVersion: v1
kind: Endpoints
metadata: {name: api, namespace: shop, labels: {team: a}}
subsets:
- addresses: [{ip: 10.0.0.1}, {ip: 10.0.0.2, hostname: b}]
  notReadyAddresses: [{ip: 10.0.0.3}]
  ports: [{name: http, port: 8080}]
- addresses: [{ip: 10.0.1.1}, {ip: "fd00::1"}]
  ports: [{port: 9090, protocol: TCP}]
)");
  ASSERT_THAT(d.state.endpoint_slices, SizeIs(3)) << Describe(d.diagnostics);
  const translate::EndpointSlice& s0 = d.state.endpoint_slices[0];
  EXPECT_EQ(s0.meta.name, "api-subset-0");
  EXPECT_EQ(s0.meta.ns, "shop");
  EXPECT_THAT(s0.meta.labels, ElementsAre(Pair("team", "a")));
  EXPECT_EQ(s0.service_name, "api");
  EXPECT_EQ(s0.address_type, "IPv4");
  ASSERT_THAT(s0.ports, SizeIs(1));
  EXPECT_EQ(s0.ports[0].name, "http");
  EXPECT_EQ(s0.ports[0].port, 8080);
  ASSERT_THAT(s0.endpoints, SizeIs(3));
  EXPECT_THAT(s0.endpoints[0].addresses, ElementsAre("10.0.0.1"));
  EXPECT_EQ(s0.endpoints[0].conditions.ready, true);
  EXPECT_EQ(s0.endpoints[1].conditions.ready, true);
  EXPECT_THAT(s0.endpoints[2].addresses, ElementsAre("10.0.0.3"));
  EXPECT_EQ(s0.endpoints[2].conditions.ready, false);
  // The mixed-family subset splits: one address family per slice.
  const translate::EndpointSlice& v4 = d.state.endpoint_slices[1];
  const translate::EndpointSlice& v6 = d.state.endpoint_slices[2];
  EXPECT_EQ(v4.meta.name, "api-subset-1");
  EXPECT_EQ(v4.address_type, "IPv4");
  EXPECT_THAT(v4.endpoints, SizeIs(1));
  EXPECT_EQ(v6.meta.name, "api-subset-1-ipv6");
  EXPECT_EQ(v6.address_type, "IPv6");
  EXPECT_THAT(v6.endpoints[0].addresses, ElementsAre("fd00::1"));
  EXPECT_EQ(v6.ports[0].port, 9090);
}

TEST(ManifestDecoderTest, EndpointsWithoutSubsetsGiveNoSlices) {
  Decoded d = Decode("apiVersion: v1\nkind: Endpoints\nmetadata: {name: api}\n");
  EXPECT_THAT(d.diagnostics, IsEmpty());
  EXPECT_THAT(d.state.endpoint_slices, IsEmpty());
}

TEST(ManifestDecoderTest, Secret) {
  Decoded d = Decode(R"(
apiVersion: v1
kind: Secret
metadata: {name: tls, namespace: shop}
type: kubernetes.io/tls
data:
  tls.crt: Q0VSVA==
  tls.key: not base64!
  ca.crt: b2xk
stringData:
  ca.crt: new
---
apiVersion: v1
kind: Secret
metadata: {name: plain}
)");
  ASSERT_THAT(d.state.secrets, SizeIs(2));
  const translate::Secret& s = d.state.secrets[0];
  EXPECT_EQ(s.type, "kubernetes.io/tls");
  EXPECT_THAT(s.data, ElementsAre(Pair("ca.crt", "new"), Pair("tls.crt", "CERT")));
  ASSERT_THAT(d.diagnostics, SizeIs(1));
  EXPECT_EQ(d.diagnostics[0].kind, "Secret");
  EXPECT_EQ(d.diagnostics[0].ns, "shop");
  EXPECT_EQ(d.diagnostics[0].name, "tls");
  EXPECT_EQ(d.diagnostics[0].reason, "InvalidSecretData");
  EXPECT_THAT(d.diagnostics[0].message, HasSubstr("app.yaml#1: data[\"tls.key\"]"));
  EXPECT_EQ(d.state.secrets[1].type, "Opaque");
  EXPECT_THAT(d.state.secrets[1].data, IsEmpty());
}

TEST(ManifestDecoderTest, ConfigMap) {
  Decoded d = Decode(R"(
apiVersion: v1
kind: ConfigMap
metadata: {name: portico, namespace: portico-system}
data: {use-forwarded-headers: "true", workers: "4"}
)");
  ASSERT_THAT(d.state.config_maps, SizeIs(1));
  EXPECT_EQ(d.state.config_maps[0].meta.ns, "portico-system");
  EXPECT_THAT(d.state.config_maps[0].data,
              ElementsAre(Pair("use-forwarded-headers", "true"), Pair("workers", "4")));
}

TEST(ManifestDecoderTest, ListKinds) {
  Decoded d = Decode(R"(
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: a}
- apiVersion: apps/v1
  kind: Deployment
  metadata: {name: a}
- kind: Service
  metadata: {name: b}
---
apiVersion: networking.k8s.io/v1
kind: IngressList
metadata: {resourceVersion: "7"}
items:
- metadata: {name: x, namespace: n}
- metadata: {name: y, namespace: n}
)");
  EXPECT_TRUE(d.status.ok());
  ASSERT_THAT(d.state.services, SizeIs(1));
  EXPECT_EQ(d.state.services[0].meta.source, "app.yaml#1.items[0]");
  ASSERT_THAT(d.state.ingresses, SizeIs(2));
  EXPECT_EQ(d.state.ingresses[1].meta.name, "y");
  EXPECT_EQ(d.state.ingresses[1].meta.source, "app.yaml#2.items[1]");
  ASSERT_THAT(d.diagnostics, SizeIs(2)) << Describe(d.diagnostics);
  EXPECT_EQ(d.diagnostics[0].reason, "UnsupportedKind");
  EXPECT_EQ(d.diagnostics[1].kind, "File");
  EXPECT_EQ(d.diagnostics[1].message, "app.yaml#1.items[2]: apiVersion: required");
}

TEST(ManifestDecoderTest, NestedListsAreRejected) {
  Decoded d = Decode(R"(
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: List
  items: [{apiVersion: v1, kind: ConfigMap, metadata: {name: c}}]
)");
  EXPECT_EQ(ObjectCount(d.state), 0u);
  ASSERT_THAT(d.diagnostics, SizeIs(1));
  EXPECT_EQ(d.diagnostics[0].message, "app.yaml#1.items[0]: a list inside a list is not supported");
}

TEST(ManifestDecoderTest, UnsupportedKindIsAWarning) {
  Decoded d = Decode(R"(
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
)");
  EXPECT_TRUE(d.status.ok());
  EXPECT_EQ(ObjectCount(d.state), 0u);
  ASSERT_THAT(d.diagnostics, SizeIs(1));
  EXPECT_EQ(d.diagnostics[0].severity, Diagnostic::Severity::kWarning);
  EXPECT_EQ(d.diagnostics[0].kind, "Deployment");
  EXPECT_EQ(d.diagnostics[0].ns, "shop");
  EXPECT_EQ(d.diagnostics[0].name, "web");
  EXPECT_EQ(d.diagnostics[0].reason, "UnsupportedKind");
  EXPECT_EQ(d.diagnostics[0].message,
            "app.yaml#1: kind Deployment is not used by Portico; skipped");
}

TEST(ManifestDecoderTest, UnsupportedApiVersionIsAnError) {
  Decoded d = Decode(R"(
apiVersion: extensions/v1beta1
kind: Ingress
metadata: {name: old}
spec: {backend: {serviceName: a, servicePort: 80}}
)");
  EXPECT_EQ(ObjectCount(d.state), 0u);
  ASSERT_THAT(d.diagnostics, SizeIs(1));
  EXPECT_EQ(d.diagnostics[0].severity, Diagnostic::Severity::kError);
  EXPECT_EQ(d.diagnostics[0].reason, "UnsupportedApiVersion");
  EXPECT_EQ(d.diagnostics[0].name, "old");
  EXPECT_THAT(d.diagnostics[0].message, HasSubstr("use networking.k8s.io/v1"));
}

TEST(ManifestDecoderTest, DocumentsThatAreNotObjects) {
  Decoded d = Decode("- a\n- b\n---\njust text\n---\nkind: Service\n");
  EXPECT_TRUE(d.status.ok());
  ASSERT_THAT(d.diagnostics, SizeIs(3)) << Describe(d.diagnostics);
  EXPECT_EQ(d.diagnostics[0].kind, "File");
  EXPECT_EQ(d.diagnostics[0].message, "app.yaml#1: expected an object, got a list");
  EXPECT_EQ(d.diagnostics[1].message, "app.yaml#2: expected an object, got a scalar");
  EXPECT_EQ(d.diagnostics[2].message, "app.yaml#3: apiVersion: required");
}

TEST(ManifestDecoderTest, SyntaxErrorRejectsTheWholeText) {
  Decoded d = Decode(R"(
apiVersion: v1
kind: ConfigMap
metadata: {name: fine}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: [broken}
)",
                     "dir/app.yaml");
  EXPECT_FALSE(d.status.ok());
  EXPECT_EQ(ObjectCount(d.state), 0u);
  ASSERT_THAT(d.diagnostics, SizeIs(1));
  EXPECT_EQ(d.diagnostics[0].kind, "File");
  EXPECT_EQ(d.diagnostics[0].reason, "InvalidManifest");
  EXPECT_THAT(d.diagnostics[0].message, HasSubstr("dir/app.yaml: line 8"));
}

TEST(ManifestDecoderTest, EmptyDocumentsCountButAreSkipped) {
  Decoded d = Decode(
      "---\n# comment only\n---\napiVersion: v1\nkind: ConfigMap\n"
      "metadata: {name: c}\n---\n");
  EXPECT_THAT(d.diagnostics, IsEmpty()) << Describe(d.diagnostics);
  ASSERT_THAT(d.state.config_maps, SizeIs(1));
  EXPECT_EQ(d.state.config_maps[0].meta.source, "app.yaml#2");
}

TEST(ManifestDecoderTest, JsonManifest) {
  Decoded d = Decode(R"({
  "apiVersion": "v1", "kind": "Service",
  "metadata": {"name": "api", "namespace": "shop", "annotations": {"x": "100"}},
  "spec": {"ports": [{"port": 80, "targetPort": "http"}]}
})",
                     "svc.json");
  ASSERT_THAT(d.state.services, SizeIs(1)) << Describe(d.diagnostics);
  EXPECT_EQ(d.state.services[0].meta.source, "svc.json#1");
  EXPECT_EQ(d.state.services[0].ports[0].target_port_name, "http");
}

TEST(DecodeObjectTest, ReturnsWhetherTheObjectWasAccepted) {
  ClusterState state;
  std::vector<Diagnostic> diagnostics;
  nlohmann::json good = nlohmann::json::parse(
      R"({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "n"}})");
  EXPECT_TRUE(DecodeObject(good, "watch", state, diagnostics).ok());
  nlohmann::json bad = good;
  bad["data"] = {{"k", 1}};
  absl::Status status = DecodeObject(bad, "watch", state, diagnostics);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  nlohmann::json other = {{"apiVersion", "v1"}, {"kind", "Pod"}, {"metadata", {{"name", "p"}}}};
  EXPECT_TRUE(DecodeObject(other, "watch", state, diagnostics).ok());
  ASSERT_THAT(state.config_maps, SizeIs(1));
  EXPECT_EQ(state.config_maps[0].meta.source, "watch");
  EXPECT_THAT(diagnostics, SizeIs(2));
}

}  // namespace
}  // namespace portico::controller::source
