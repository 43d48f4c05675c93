#include "controller/translate/annotations_upstream_tls.h"

#include <optional>
#include <string>

#include "absl/strings/ascii.h"
#include "absl/strings/str_split.h"
#include "common/net/dns_name.h"
#include "common/net/ip_address.h"
#include "common/strings.h"

namespace portico::controller::translate {
namespace {

constexpr char kFailsClosed[] =
    "with proxy-ssl-verify on, verification cannot succeed and requests get 503";

// nginx's on/off; true/false as every other Portico boolean.
std::optional<bool> OnOff(AnnotationReader& read, std::string_view name) {
  auto found = read.Find(name);
  if (!found) return std::nullopt;
  std::string v = absl::AsciiStrToLower(ToAbsl(found->value));
  if (v == "on" || v == "true") return true;
  if (v == "off" || v == "false") return false;
  read.Invalid(*found, "must be \"on\" or \"off\"");
  return std::nullopt;
}

}  // namespace

std::string ServiceDnsName(std::string_view ns, std::string_view service) {
  return portico::StrCat(service, ".", ns, ".svc");
}

void ParseUpstreamTls(AnnotationReader& read, v1::Cluster& cluster_policy) {
  v1::UpstreamTls tls;
  bool any = false;
  const std::optional<bool> verify = OnOff(read, "proxy-ssl-verify");
  if (verify) {
    tls.set_verify(*verify);
    any = true;
  }
  const std::string_view ns = read.ingress().meta.ns;
  if (auto found = read.Find("proxy-ssl-secret")) {
    std::string_view value = found->value;
    std::string_view secret_ns = ns;
    std::string_view name = value;
    if (size_t slash = value.find('/'); slash != std::string_view::npos) {
      secret_ns = value.substr(0, slash);
      name = value.substr(slash + 1);
    }
    const std::string consequence = tls.verify() ? kFailsClosed : "it is ignored";
    if (!net::IsDnsLabel(secret_ns) || !net::IsDnsName(name)) {
      read.Invalid(*found, "must be a Secret name or namespace/name", consequence);
    } else if (secret_ns != ns) {
      // An Ingress may only use its own namespace's Secrets, as with spec.tls.
      read.Invalid(*found, "must name a Secret in the Ingress's own namespace", consequence);
    } else {
      tls.set_ca_secret(std::string(name));  // namespace-qualified by ResolveCaSecret
      any = true;
    }
  }
  if (auto found = read.Find("proxy-ssl-name")) {
    std::string name = absl::AsciiStrToLower(ToAbsl(found->value));
    if (net::IsDnsName(name) || net::IpAddress::Parse(name).ok()) {
      tls.set_server_name(name);
      any = true;
    } else {
      read.Invalid(
          *found, "must be a DNS name or an IP address",
          tls.verify() ? "the Service's DNS name is sent and verified instead" : "it is ignored");
    }
  }
  if (auto sni = OnOff(read, "proxy-ssl-server-name")) {
    tls.set_disable_sni(!*sni);
    any = true;
  }
  if (auto found = read.Find("proxy-ssl-protocols")) {
    bool v12 = false, v13 = false, bad = false;
    for (absl::string_view p : absl::StrSplit(ToAbsl(found->value), ' ', absl::SkipEmpty())) {
      if (p == "TLSv1.2") {
        v12 = true;
      } else if (p == "TLSv1.3") {
        v13 = true;
      } else {
        bad = true;
      }
    }
    if (bad || (!v12 && !v13)) {
      read.Invalid(*found,
                   "must list TLSv1.2 and/or TLSv1.3 separated by spaces (older versions are "
                   "not offered to backends)",
                   "TLS 1.2 and 1.3 are offered");
    } else if (v12 != v13) {
      auto version = v12 ? v1::UpstreamTls::VERSION_TLS1_2 : v1::UpstreamTls::VERSION_TLS1_3;
      tls.set_min_version(version);
      tls.set_max_version(version);
      any = true;
    }
  }
  // Known and accepted, not acted on (the library's modern defaults apply).
  for (std::string_view ignored : {"proxy-ssl-ciphers", "proxy-ssl-verify-depth"}) {
    if (auto found = read.Find(ignored)) {
      read.Warn("AnnotationIgnored",
                portico::StrCat("annotation ", found->key,
                                " is not supported; the TLS library's defaults apply"));
    }
  }
  if (any) *cluster_policy.mutable_upstream_tls() = std::move(tls);
}

void ResolveCaSecret(const Ingress& ingress, TlsResolver& tls, v1::Cluster& cluster_policy,
                     DiagnosticSink& diagnostics) {
  if (!cluster_policy.has_upstream_tls() || cluster_policy.upstream_tls().ca_secret().empty()) {
    return;
  }
  v1::UpstreamTls& upstream_tls = *cluster_policy.mutable_upstream_tls();
  std::string error;
  std::optional<std::string> id =
      tls.UseCaSecret(ingress.meta.ns, upstream_tls.ca_secret(), &error);
  if (id) {
    upstream_tls.set_ca_secret(*id);
    return;
  }
  const std::string name = portico::StrCat(ingress.meta.ns, "/", upstream_tls.ca_secret());
  // Kept in the cluster, so that the data plane fails closed on it too.
  upstream_tls.set_ca_secret(name);
  diagnostics.Error(
      "Ingress", ingress.meta, error == "not found" ? "SecretNotFound" : "InvalidSecret",
      portico::StrCat(
          "proxy-ssl-secret \"", name, "\" ",
          error == "not found" ? "not found" : "is not usable: " + error, "; ",
          upstream_tls.verify() ? kFailsClosed : "it is unused while proxy-ssl-verify is off"));
}

}  // namespace portico::controller::translate
