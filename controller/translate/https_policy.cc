#include "controller/translate/https_policy.h"

#include "common/strings.h"

namespace portico::controller::translate {

std::optional<uint32_t> ParseHstsMaxAge(std::string_view text) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  uint32_t seconds = 0;
  if (!portico::SimpleAtoi(text, &seconds)) return std::nullopt;
  return seconds;
}

void ApplyHttpsOptions(const HttpsOptions& options, bool host_has_tls, v1::Route& route) {
  // As in ingress-nginx, force-ssl-redirect wins over ssl-redirect "false".
  if (options.force_ssl_redirect || (options.ssl_redirect && host_has_tls)) {
    route.mutable_https_redirect()->set_code(options.redirect_code);
  }
  if (options.hsts.enabled && host_has_tls) {
    v1::Hsts* hsts = route.mutable_hsts();
    hsts->set_max_age_seconds(options.hsts.max_age_seconds);
    hsts->set_include_subdomains(options.hsts.include_subdomains);
    hsts->set_preload(options.hsts.preload);
  }
}

}  // namespace portico::controller::translate
