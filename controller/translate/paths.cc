#include "controller/translate/paths.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "common/net/dns_name.h"
#include "common/net/ip_address.h"
#include "common/strings.h"
#include "re2/re2.h"

namespace portico::controller::translate {
namespace {

using net::IsDnsLabel;
using net::IsDnsName;

PathConversion Fail(std::string reason, std::string message) {
  PathConversion result;
  result.error_reason = std::move(reason);
  result.error_message = std::move(message);
  return result;
}

PathConversion Ok(v1::PathMatch::Type type, std::string path) {
  PathConversion result;
  result.match.emplace();
  result.match->set_type(type);
  result.match->set_path(std::move(path));
  return result;
}

}  // namespace

std::optional<std::string> NormalizeHost(std::string_view host) {
  std::string lower = absl::AsciiStrToLower(ToAbsl(host));
  if (lower.empty()) return lower;
  std::string_view name = lower;
  if (absl::StartsWith(lower, "*.")) name.remove_prefix(2);
  // Only digits and dots can be an IPv4 literal (a DNS name has no ':'); the
  // check spares the error status every other name would cost to build.
  const bool could_be_ip = name.find_first_not_of("0123456789.") == std::string_view::npos;
  if (!IsDnsName(name) || (could_be_ip && net::IpAddress::Parse(name).ok())) return std::nullopt;
  return lower;
}

PathConversion ConvertPath(const HttpIngressPath& p, bool use_regex) {
  const std::string& type = p.path_type;
  if (type != "Exact" && type != "Prefix" && type != "ImplementationSpecific") {
    return Fail("InvalidPathType",
                portico::StrCat("path \"", p.path, "\" has pathType \"", type,
                                "\"; want Exact, Prefix or ImplementationSpecific"));
  }
  if (type == "ImplementationSpecific" && use_regex) {
    std::string path = p.path.empty() ? "/" : p.path;
    RE2::Options options;
    options.set_log_errors(false);
    RE2 re(path, options);
    if (!re.ok()) {
      return Fail("InvalidRegex",
                  portico::StrCat("path \"", path, "\" is not a valid RE2 regex: ", re.error()));
    }
    return Ok(v1::PathMatch::TYPE_REGEX, std::move(path));
  }
  if (p.path.empty() && type != "Exact") return Ok(v1::PathMatch::TYPE_PREFIX, "/");
  if (p.path.empty() || p.path.front() != '/') {
    return Fail("InvalidPath", portico::StrCat(type, " path \"", p.path, "\" must start with '/'"));
  }
  return Ok(type == "Exact" ? v1::PathMatch::TYPE_EXACT : v1::PathMatch::TYPE_PREFIX, p.path);
}

std::string MatchKey(const v1::PathMatch& match) {
  std::string_view path = match.path();
  if (match.type() == v1::PathMatch::TYPE_PREFIX) {
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  }
  return portico::StrCat(static_cast<int>(match.type()), ":", path);
}

}  // namespace portico::controller::translate
