#pragma once
// HTTPS redirect and HSTS: the options a route gets from the settings
// ConfigMap (global defaults) and its Ingress's annotations (overrides), and
// how they become the snapshot Route's https_redirect and hsts once the
// route's host is known to have a certificate or not.

#include <cstdint>
#include <optional>
#include <string_view>

#include "portico/v1/snapshot.pb.h"

namespace portico::controller::translate {

struct HstsOptions {
  bool enabled = true;                  // hsts
  uint32_t max_age_seconds = 31536000;  // hsts-max-age (one year, as ingress-nginx)
  bool include_subdomains = true;       // hsts-include-subdomains
  bool preload = false;                 // hsts-preload
};

struct HttpsOptions {
  bool ssl_redirect = true;         // redirect plain HTTP when the host has a certificate
  bool force_ssl_redirect = false;  // redirect even without one (TLS terminated in front)
  uint32_t redirect_code = 308;     // http-redirect-code: 301, 302, 307 or 308 (ConfigMap only)
  HstsOptions hsts;
};

// hsts-max-age: whole seconds ("0" tells browsers to drop the policy), no
// sign or unit, at most 2^32-1.
std::optional<uint32_t> ParseHstsMaxAge(std::string_view text);

// A host "has TLS" when it got a usable certificate from some spec.tls entry
// (VirtualHost.tls_secret is set). A host whose Secret is missing or invalid
// is served with the data plane's default certificate, which browsers do not
// trust: redirecting it, or worse pinning it with HSTS, would lock users out,
// so such a host counts as without TLS. force-ssl-redirect still applies.
void ApplyHttpsOptions(const HttpsOptions& options, bool host_has_tls, v1::Route& route);

}  // namespace portico::controller::translate
