#include "controller/translate/tls.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "common/strings.h"

namespace portico::controller::translate {

TlsResolver::TlsResolver(const ClusterState& state, std::optional<absl::Time> now) : now_(now) {
  for (const Secret& s : state.secrets) secrets_.try_emplace({s.meta.ns, s.meta.name}, &s);
}

void TlsResolver::StartIsland() {
  by_host_.clear();
  used_.clear();
  ca_used_.clear();
  stable_until_.reset();
}

void TlsResolver::AddIngress(const Ingress& ingress, DiagnosticSink& diagnostics) {
  for (const IngressTls& tls : ingress.tls) {
    Candidate candidate{&ingress, "", nullptr};
    if (tls.secret_name.empty()) {
      diagnostics.Error("Ingress", ingress.meta, "InvalidSecret",
                        "a spec.tls entry names no secret; its hosts get no certificate");
      continue;
    }
    const std::string id = portico::StrCat(ingress.meta.ns, "/", tls.secret_name);
    if (reads_ != nullptr) reads_->Note(ReadKind::kSecret, ingress.meta.ns, tls.secret_name);
    auto it = secrets_.find({ingress.meta.ns, tls.secret_name});
    if (it == secrets_.end()) {
      diagnostics.Warn("Ingress", ingress.meta, "SecretNotFound",
                       portico::StrCat("TLS Secret \"", id, "\" not found"));
    } else {
      auto checked = checked_.find(it->second);
      if (checked == checked_.end()) {
        checked = checked_.emplace(it->second, CheckTlsSecret(*it->second, now_)).first;
      }
      const TlsSecretCheck& check = checked->second;
      if (check.stable_until && (!stable_until_ || *check.stable_until < *stable_until_)) {
        stable_until_ = check.stable_until;
      }
      if (!check.error.empty()) {
        diagnostics.Error("Ingress", ingress.meta, "InvalidSecret",
                          portico::StrCat("TLS Secret \"", id, "\" is not usable: ", check.error));
      } else {
        if (!check.warning.empty()) {
          diagnostics.Warn("Ingress", ingress.meta, "CertificateExpiresSoon",
                           portico::StrCat("TLS Secret \"", id, "\": ", check.warning));
        }
        candidate.secret = id;
        candidate.object = it->second;
      }
    }
    if (tls.hosts.empty()) by_host_[""].push_back(candidate);
    for (const std::string& host : tls.hosts) {
      by_host_[absl::AsciiStrToLower(ToAbsl(host))].push_back(candidate);
    }
  }
}

std::string TlsResolver::SecretFor(const std::string& hostname,
                                   const std::set<const Ingress*>& routing,
                                   DiagnosticSink& diagnostics) {
  if (by_host_.empty()) return "";
  // Entries naming the host itself, then a wildcard covering it.
  std::string wildcard;
  std::string_view tls_hosts[2] = {hostname};
  size_t count = 1;
  size_t dot = hostname.find('.');
  if (!absl::StartsWith(hostname, "*.") && dot != std::string::npos && dot > 0) {
    wildcard = portico::StrCat("*", std::string_view(hostname).substr(dot));
    tls_hosts[count++] = wildcard;
  }
  for (size_t i = 0; i < count; ++i) {
    auto it = by_host_.find(tls_hosts[i]);
    if (it == by_host_.end()) continue;
    const Candidate* winner = nullptr;
    for (const Candidate& c : it->second) {
      if (c.secret.empty() || !routing.contains(c.ingress)) continue;
      if (winner == nullptr) {
        winner = &c;
      } else if (c.secret != winner->secret && c.ingress != winner->ingress) {
        diagnostics.Warn(
            "Ingress", c.ingress->meta, "TLSConflict",
            portico::StrCat("host \"", hostname, "\" uses TLS Secret \"", winner->secret,
                            "\" of the older Ingress ", winner->ingress->meta.ns, "/",
                            winner->ingress->meta.name, ", not \"", c.secret, "\""));
      }
    }
    if (winner != nullptr) {
      used_.try_emplace(winner->secret, winner->object);
      return winner->secret;
    }
  }
  return "";
}

void CheckTlsHosts(const Ingress& ingress, const std::vector<std::string>& routed,
                   DiagnosticSink& diagnostics) {
  auto routes = [&](const std::string& tls_host) {
    for (const std::string& host : routed) {
      if (host == tls_host) return true;
      size_t dot = host.find('.');
      if (absl::StartsWith(tls_host, "*.") && !absl::StartsWith(host, "*.") &&
          dot != std::string::npos && dot > 0 && host.substr(dot) == tls_host.substr(1)) {
        return true;
      }
    }
    return false;
  };
  for (const IngressTls& tls : ingress.tls) {
    if (tls.hosts.empty() && !routes("")) {
      diagnostics.Warn("Ingress", ingress.meta, "TLSHostNotRouted",
                       "a spec.tls entry without hosts applies to rules without a host, and this "
                       "Ingress has none");
    }
    for (const std::string& host : tls.hosts) {
      if (routes(absl::AsciiStrToLower(ToAbsl(host)))) continue;
      diagnostics.Warn("Ingress", ingress.meta, "TLSHostNotRouted",
                       portico::StrCat("spec.tls host \"", host,
                                       "\" matches no rule host of this Ingress; it gets no "
                                       "certificate from it"));
    }
  }
}

std::optional<std::string> TlsResolver::UseCaSecret(const std::string& ns, const std::string& name,
                                                    std::string* error) {
  if (reads_ != nullptr) reads_->Note(ReadKind::kSecret, ns, name);
  auto it = secrets_.find({ns, name});
  if (it == secrets_.end()) {
    *error = "not found";
    return std::nullopt;
  }
  if (std::string problem = CheckCaBundle(*it->second); !problem.empty()) {
    *error = std::move(problem);
    return std::nullopt;
  }
  std::string id = portico::StrCat(ns, "/", name);
  ca_used_.try_emplace(id, it->second);
  return id;
}

void TlsResolver::Emit(v1::Snapshot& snapshot) const {
  // One snapshot Secret per Kubernetes Secret, in name order; a CA-only use
  // never ships the Secret's private key.
  std::map<std::string, std::pair<const Secret*, bool>> all;  // -> (secret, with key pair)
  for (const auto& [name, secret] : used_) all[name] = {secret, true};
  for (const auto& [name, secret] : ca_used_) all.try_emplace(name, secret, false);
  for (const auto& [name, entry] : all) {
    const auto& [secret, with_key_pair] = entry;
    v1::Secret* out = snapshot.add_secrets();
    out->set_name(name);
    if (with_key_pair) {
      out->set_certificate_chain(secret->data.at("tls.crt"));
      out->set_private_key(secret->data.at("tls.key"));
    }
    if (auto ca = secret->data.find("ca.crt"); ca != secret->data.end()) {
      out->set_ca_bundle(ca->second);
    }
  }
}

}  // namespace portico::controller::translate
