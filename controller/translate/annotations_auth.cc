#include "controller/translate/annotations_auth.h"

#include <optional>

#include "common/net/dns_name.h"
#include "common/strings.h"

namespace portico::controller::translate {
namespace {

constexpr char kFailClosed[] =
    "fail closed: every request to this Ingress is refused (503) until it is fixed";

// A realm goes into a quoted-string of WWW-Authenticate: no quote, no
// backslash, no control character.
bool IsRealm(std::string_view realm) {
  if (realm.size() > 256) return false;
  for (char c : realm) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f || c == '"' || c == '\\') return false;
  }
  return true;
}

}  // namespace

BasicAuthAnnotations ParseBasicAuth(AnnotationReader& read) {
  BasicAuthAnnotations out;
  std::optional<AnnotationReader::Found> type = read.Find("auth-type");
  std::optional<AnnotationReader::Found> secret = read.Find("auth-secret");
  std::optional<AnnotationReader::Found> secret_type = read.Find("auth-secret-type");
  std::optional<AnnotationReader::Found> realm = read.Find("auth-realm");
  if (!type && !secret && !secret_type && !realm) return out;
  out.enabled = true;
  auto fail = [&](const AnnotationReader::Found& found, std::string_view why) {
    read.Invalid(found, why, kFailClosed);
    out.fail_closed = true;
  };
  if (!type) {
    // Someone meant to protect this Ingress: refusing is safer than serving it open.
    const AnnotationReader::Found& any = secret ? *secret : secret_type ? *secret_type : *realm;
    fail(any, "needs auth-type: basic");
  } else if (type->value == "digest") {
    fail(*type, "\"digest\" is not supported (use \"basic\" over HTTPS)");
  } else if (type->value != "basic") {
    fail(*type, "must be \"basic\"");
  }
  if (!secret) {
    if (type) fail(*type, "needs auth-secret");
  } else {
    std::string_view value = secret->value;
    std::string_view ns = read.ingress().meta.ns;
    std::string_view secret_ns = ns;
    std::string_view name = value;
    if (size_t slash = value.find('/'); slash != std::string_view::npos) {
      secret_ns = value.substr(0, slash);
      name = value.substr(slash + 1);
    }
    if (!net::IsDnsLabel(secret_ns) || !net::IsDnsName(name)) {
      fail(*secret, "must be a Secret name or namespace/name");
    } else if (secret_ns != ns) {
      // An Ingress may only use its own namespace's Secrets, as with spec.tls.
      fail(*secret, "must name a Secret in the Ingress's own namespace");
    } else {
      out.secret = std::string(name);
    }
  }
  if (secret_type) {
    if (secret_type->value == "auth-map") {
      out.auth_map = true;
    } else if (secret_type->value != "auth-file") {
      fail(*secret_type, "must be \"auth-file\" or \"auth-map\"");
    }
  }
  if (realm) {
    if (IsRealm(realm->value)) {
      out.realm = std::string(realm->value);
    } else {
      read.Invalid(*realm, "must be at most 256 printable characters without '\"' or '\\'",
                   portico::StrCat("the realm \"", kDefaultRealm, "\" is used"));
    }
  }
  return out;
}

CredentialsResolver::CredentialsResolver(const ClusterState& state) {
  for (const Secret& s : state.secrets) secrets_.try_emplace({s.meta.ns, s.meta.name}, &s);
}

const CredentialsResolver::Parsed& CredentialsResolver::Parse(const std::string& id,
                                                              const Secret* secret, bool auth_map) {
  auto it = parsed_.find(id);
  if (it != parsed_.end()) return it->second;
  Parsed parsed;
  if (secret == nullptr) {
    parsed.error = "not found";
  } else if (auth_map) {
    parsed.list = ParseAuthMap(secret->data);
  } else if (auto auth = secret->data.find("auth"); auth == secret->data.end()) {
    parsed.error = "has no key \"auth\" (htpasswd content; or set auth-secret-type: auth-map)";
  } else {
    parsed.list = ParseHtpasswd(auth->second);
  }
  if (parsed.error.empty() && parsed.list.users.empty()) parsed.error = "has no usable user";
  return parsed_.emplace(id, std::move(parsed)).first->second;
}

void CredentialsResolver::Resolve(const Ingress& ingress, const BasicAuthAnnotations& annotations,
                                  v1::Route& route_policy, DiagnosticSink& diagnostics) {
  if (!annotations.enabled) return;
  v1::BasicAuth& auth = *route_policy.mutable_basic_auth();
  auth.set_realm(annotations.realm);
  if (annotations.fail_closed) {
    auth.set_deny_all(true);  // reported by ParseBasicAuth
    return;
  }
  const std::string name = portico::StrCat(ingress.meta.ns, "/", annotations.secret);
  // The same Secret read both ways is two different lists.
  const std::string id = annotations.auth_map ? portico::StrCat(name, "#auth-map") : name;
  if (reads_ != nullptr) reads_->Note(ReadKind::kSecret, ingress.meta.ns, annotations.secret);
  auto found = secrets_.find({ingress.meta.ns, annotations.secret});
  const Parsed& parsed =
      Parse(id, found == secrets_.end() ? nullptr : found->second, annotations.auth_map);
  for (const std::string& problem : parsed.list.problems) {
    diagnostics.Warn("Ingress", ingress.meta, "InvalidAuthSecret",
                     portico::StrCat("auth-secret \"", name, "\": ", problem));
  }
  if (!parsed.error.empty()) {
    auth.set_deny_all(true);
    diagnostics.Error(
        "Ingress", ingress.meta, found == secrets_.end() ? "SecretNotFound" : "InvalidAuthSecret",
        portico::StrCat("auth-secret \"", name, "\" ", parsed.error, "; ", kFailClosed));
    return;
  }
  auth.set_credentials(id);
  used_.emplace(id, &parsed);
}

void CredentialsResolver::Emit(v1::Snapshot& snapshot) const {
  for (const auto& [id, parsed] : used_) {
    v1::Credentials& out = *snapshot.add_credentials();
    out.set_name(id);
    for (const auto& [user, hash] : parsed->list.users) {
      v1::Credential& c = *out.add_users();
      c.set_user(user);
      c.set_hash(hash);
    }
  }
}

}  // namespace portico::controller::translate
