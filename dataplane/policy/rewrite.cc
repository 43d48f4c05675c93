#include "dataplane/policy/rewrite.h"

#include <algorithm>

namespace portico::dataplane::policy {
namespace {

constexpr int kMaxGroups = 9;  // $1..$9

std::string Substitute(const router::RewriteRule& rule, std::string_view path) {
  const RE2& re = *rule.regex;
  int groups = std::min(re.NumberOfCapturingGroups(), kMaxGroups);
  re2::StringPiece sub[kMaxGroups + 1];
  re2::StringPiece input(path.data(), path.size());
  // The route matched, so this does too; if it somehow did not, the groups
  // stay empty rather than the request failing.
  if (!re.Match(input, 0, input.size(), RE2::ANCHOR_START, sub, groups + 1)) groups = 0;
  std::string out;
  out.reserve(rule.target.size() + path.size());
  const std::string& target = rule.target;
  for (size_t i = 0; i < target.size(); ++i) {
    if (target[i] == '$' && i + 1 < target.size() && target[i + 1] >= '1' && target[i + 1] <= '9') {
      int n = target[i + 1] - '0';
      if (n <= groups && sub[n].data() != nullptr) out.append(sub[n].data(), sub[n].size());
      ++i;
      continue;
    }
    out += target[i];
  }
  return out;
}

}  // namespace

std::string RewritePath(const router::RewriteRule& rule, router::PathMatchType type,
                        std::string_view path) {
  if (rule.target.empty()) return std::string(path);
  switch (type) {
    case router::PathMatchType::kRegex:
      if (rule.regex == nullptr) return rule.target;
      return Substitute(rule, path);
    case router::PathMatchType::kExact:
      return rule.target;
    case router::PathMatchType::kPrefix:
      break;
  }
  // The route matched whole path elements, so path starts with the prefix and
  // what follows is empty or starts with '/'.
  std::string_view rest =
      path.size() >= rule.prefix.size() ? path.substr(rule.prefix.size()) : std::string_view();
  if (rest.empty()) return rule.target;
  std::string_view base = rule.target;
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  std::string out(base);
  out.append(rest);
  return out;
}

void ApplyRewriteHeaders(const router::RewriteRule& rule, http::HeaderMap& headers) {
  if (!rule.forwarded_prefix.empty()) headers.Set("x-forwarded-prefix", rule.forwarded_prefix);
  if (!rule.upstream_host.empty()) headers.Set("host", rule.upstream_host);
}

}  // namespace portico::dataplane::policy
