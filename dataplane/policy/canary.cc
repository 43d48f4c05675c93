#include "dataplane/policy/canary.h"

#include "dataplane/policy/cookies.h"

namespace portico::dataplane::policy {

bool UseCanary(const router::CanaryRule& rule, const http::HeaderMap& headers,
               std::mt19937_64& rng) {
  if (!rule.header.empty()) {
    if (auto value = headers.Get(rule.header)) {
      if (!rule.header_value.empty()) {
        if (*value == rule.header_value) return true;
      } else if (rule.header_pattern != nullptr) {
        if (RE2::FullMatch(re2::StringPiece(value->data(), value->size()), *rule.header_pattern)) {
          return true;
        }
      } else if (*value == "always") {
        return true;
      } else if (*value == "never") {
        return false;
      }
    }
  }
  if (!rule.cookie.empty()) {
    if (auto value = FindCookie(headers, rule.cookie)) {
      if (*value == "always") return true;
      if (*value == "never") return false;
    }
  }
  if (rule.weight == 0) return false;
  if (rule.weight >= rule.weight_total) return true;
  return std::uniform_int_distribution<uint32_t>(0, rule.weight_total - 1)(rng) < rule.weight;
}

}  // namespace portico::dataplane::policy
