#include "dataplane/router/route_table.h"

#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "common/net/dns_name.h"
#include "common/strings.h"

namespace portico::dataplane::router {

// Per virtual host indexes. Routes are owned here and never move after
// CompileVirtualHost, so the index maps can point into `routes`.
struct CompiledVirtualHost {
  struct RegexRoute {
    std::unique_ptr<const RE2> re;
    const Route* route;
  };

  std::string name;
  std::vector<std::string> hostnames;  // lower-cased, validated; empty: catch-all
  std::vector<Route> routes;
  absl::flat_hash_map<std::string, const Route*> exact_paths;
  // Key: the configured prefix without trailing slashes, so "/" is "".
  absl::flat_hash_map<std::string, const Route*> prefixes;
  std::vector<RegexRoute> regexes;  // configured order

  const Route* MatchPath(std::string_view path) const;
};

namespace {

// Longest DNS name (253) fits, as does a bracketed IPv6 literal.
constexpr size_t kMaxHostLength = 255;

// Names and paths from the snapshot end up in NACK reasons and logs: escape them.
std::string Quote(std::string_view text) {
  return portico::StrCat("\"", absl::CHexEscape(ToAbsl(text)), "\"");
}

bool IsHostChar(char c) { return absl::ascii_isalnum(c) || c == '-' || c == '_'; }

using net::IsDnsLabel;
using net::IsDnsName;

// The host part of a Host header value: port stripped, one trailing dot
// (fully qualified form) removed, brackets of an IPv6 literal kept. Not yet
// lower-cased. nullopt when malformed.
std::optional<std::string_view> HostPart(std::string_view value) {
  if (value.empty()) return std::nullopt;
  std::string_view host;
  std::string_view rest;
  if (value.front() == '[') {
    size_t close = value.find(']');
    if (close == std::string_view::npos || close == 1) return std::nullopt;
    for (char c : value.substr(1, close - 1)) {
      if (!(absl::ascii_isxdigit(c) || c == ':' || c == '.')) return std::nullopt;
    }
    host = value.substr(0, close + 1);
    rest = value.substr(close + 1);
  } else {
    size_t colon = value.find(':');
    host = value.substr(0, colon);
    if (colon != std::string_view::npos) rest = value.substr(colon);
    if (!host.empty() && host.back() == '.') host.remove_suffix(1);
    if (host.empty()) return std::nullopt;
    char prev = '.';  // a leading dot is an empty label
    for (char c : host) {
      if (c == '.') {
        if (prev == '.') return std::nullopt;
      } else if (!IsHostChar(c)) {
        return std::nullopt;
      }
      prev = c;
    }
    if (prev == '.') return std::nullopt;  // "a.." (one trailing dot was removed above)
  }
  if (!rest.empty()) {
    // RFC 3986 allows an empty port ("host:").
    if (rest.front() != ':' || rest.size() > 6) return std::nullopt;
    uint32_t port = 0;
    for (char c : rest.substr(1)) {
      if (!absl::ascii_isdigit(c)) return std::nullopt;
      port = port * 10 + static_cast<uint32_t>(c - '0');
    }
    if (port > 65535) return std::nullopt;
  }
  return host;
}

// 1 for a "." segment, 2 for "..", 0 otherwise. Dots may be spelled "%2e"
// or "%2E": backends decode them, so they must count as dots here too.
int DotSegment(std::string_view segment) {
  int dots = 0;
  size_t i = 0;
  while (i < segment.size()) {
    if (segment[i] == '.') {
      i += 1;
    } else if (segment.size() - i >= 3 && segment[i] == '%' && segment[i + 1] == '2' &&
               (segment[i + 2] == 'e' || segment[i + 2] == 'E')) {
      i += 3;
    } else {
      return 0;
    }
    if (++dots > 2) return 0;
  }
  return dots;
}

std::string_view StripTrailingSlashes(std::string_view path) {
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  return path;
}

absl::Status ValidateAction(const RouteAction& action) {
  int set = (action.clusters.empty() ? 0 : 1) + (action.redirect.has_value() ? 1 : 0) +
            (action.direct_response.has_value() ? 1 : 0);
  if (set == 0) return absl::InvalidArgumentError("has no action");
  if (set > 1) return absl::InvalidArgumentError("has more than one action");
  uint64_t total_weight = 0;
  for (const ClusterWeight& cw : action.clusters) {
    if (cw.cluster.empty()) return absl::InvalidArgumentError("names an empty cluster");
    total_weight += cw.weight;
  }
  if (!action.clusters.empty() && total_weight == 0) {
    return absl::InvalidArgumentError("has a total cluster weight of zero");
  }
  return absl::OkStatus();
}

absl::Status RouteError(const VirtualHostSpec& vh, const Route& route, std::string_view what) {
  return absl::InvalidArgumentError(
      portico::StrCat("virtual host ", Quote(vh.name), " route ", Quote(route.name), ": ", what));
}

}  // namespace

const Route* CompiledVirtualHost::MatchPath(std::string_view path) const {
  if (path.empty() || path.front() != '/') return nullptr;
  if (auto it = exact_paths.find(ToAbsl(path)); it != exact_paths.end()) return it->second;
  if (!prefixes.empty()) {
    // Candidates from longest to shortest: the whole path, then the path cut
    // before each '/'. A key k matches when path == k or path starts with
    // k + "/", which is exactly this set; the last candidate is "" ("/").
    if (auto it = prefixes.find(ToAbsl(path)); it != prefixes.end()) return it->second;
    size_t end = path.size();
    while (end > 0) {
      end = path.rfind('/', end - 1);
      if (auto it = prefixes.find(ToAbsl(path.substr(0, end))); it != prefixes.end()) {
        return it->second;
      }
    }
  }
  for (const RegexRoute& r : regexes) {
    if (r.re->Match(path, 0, path.size(), RE2::ANCHOR_START, nullptr, 0)) return r.route;
  }
  return nullptr;
}

absl::StatusOr<std::shared_ptr<const CompiledVirtualHost>> RouteTable::CompileVirtualHost(
    VirtualHostSpec spec) {
  auto vh = std::make_shared<VirtualHost>();
  vh->name = spec.name;
  for (std::string& hostname : spec.hostnames) {
    absl::AsciiStrToLower(&hostname);
    bool wildcard = absl::StartsWith(hostname, "*.");
    std::string_view name = wildcard ? std::string_view(hostname).substr(2) : hostname;
    if (!IsDnsName(name)) {
      return absl::InvalidArgumentError(portico::StrCat(
          "virtual host ", Quote(spec.name), ": invalid hostname ", Quote(hostname),
          " (want a DNS name or \"*.\" followed by one; use no hostnames for a catch-all)"));
    }
  }
  vh->hostnames = std::move(spec.hostnames);

  // Validate everything before indexing so pointers are taken only once
  // `routes` has its final address.
  for (const Route& route : spec.routes) {
    if (absl::Status s = ValidateAction(route.action); !s.ok()) {
      return RouteError(spec, route, ToStd(s.message()));
    }
    if (route.path.empty()) return RouteError(spec, route, "empty path");
    if (route.match_type != PathMatchType::kRegex && route.path.front() != '/') {
      return RouteError(spec, route,
                        portico::StrCat("path ", Quote(route.path), " must start with '/'"));
    }
  }
  vh->routes = std::move(spec.routes);
  for (const Route& route : vh->routes) {
    switch (route.match_type) {
      case PathMatchType::kExact:
        // Duplicates: the first configured route wins (the translator has
        // already resolved conflicts between Ingresses).
        vh->exact_paths.emplace(route.path, &route);
        break;
      case PathMatchType::kPrefix:
        vh->prefixes.emplace(std::string(StripTrailingSlashes(route.path)), &route);
        break;
      case PathMatchType::kRegex: {
        RE2::Options options;
        options.set_log_errors(false);
        auto re = std::make_unique<const RE2>(route.path, options);
        if (!re->ok()) {
          return RouteError(
              spec, route, portico::StrCat("invalid regex ", Quote(route.path), ": ", re->error()));
        }
        vh->regexes.push_back({std::move(re), &route});
        break;
      }
    }
  }
  return std::shared_ptr<const VirtualHost>(std::move(vh));
}

absl::StatusOr<std::unique_ptr<RouteTable>> RouteTable::FromCompiled(
    std::vector<std::shared_ptr<const CompiledVirtualHost>> vhosts,
    std::optional<RouteAction> default_action) {
  std::unique_ptr<RouteTable> table(new RouteTable());
  if (default_action.has_value()) {
    if (absl::Status s = ValidateAction(*default_action); !s.ok()) {
      return absl::InvalidArgumentError(portico::StrCat("default action ", s.message()));
    }
  }
  table->default_action_ = std::move(default_action);

  table->exact_hosts_.reserve(vhosts.size());
  for (const std::shared_ptr<const VirtualHost>& vh : vhosts) {
    if (vh->hostnames.empty()) {
      if (table->catch_all_ != nullptr) {
        return absl::InvalidArgumentError(portico::StrCat(
            "virtual host ", Quote(vh->name), " is a second catch-all (no hostnames); ",
            Quote(table->catch_all_->name), " is already one"));
      }
      table->catch_all_ = vh.get();
    }
    for (const std::string& hostname : vh->hostnames) {
      bool wildcard = absl::StartsWith(hostname, "*.");
      std::string_view name = wildcard ? std::string_view(hostname).substr(2) : hostname;
      auto& index = wildcard ? table->wildcard_hosts_ : table->exact_hosts_;
      auto [it, inserted] = index.emplace(ToAbsl(name), vh.get());
      if (!inserted && it->second != vh.get()) {
        return absl::InvalidArgumentError(
            portico::StrCat("virtual host ", Quote(vh->name), ": hostname ", Quote(hostname),
                            " is already claimed by virtual host ", Quote(it->second->name)));
      }
    }
  }
  table->vhosts_ = std::move(vhosts);
  return table;
}

absl::StatusOr<std::unique_ptr<RouteTable>> RouteTable::Build(
    std::vector<VirtualHostSpec> vhosts, std::optional<RouteAction> default_action) {
  std::vector<std::shared_ptr<const VirtualHost>> compiled;
  compiled.reserve(vhosts.size());
  for (VirtualHostSpec& spec : vhosts) {
    absl::StatusOr<std::shared_ptr<const VirtualHost>> vh = CompileVirtualHost(std::move(spec));
    if (!vh.ok()) return vh.status();
    compiled.push_back(std::move(*vh));
  }
  return FromCompiled(std::move(compiled), std::move(default_action));
}

RouteTable::~RouteTable() = default;

const RouteTable::VirtualHost* RouteTable::FindVirtualHost(std::string_view host) const {
  std::optional<std::string_view> part = HostPart(host);
  // A longer name cannot equal any validated hostname; it still gets the catch-all.
  if (part.has_value() && part->size() <= kMaxHostLength) {
    // Lower-case on the stack: no allocation per request.
    char buf[kMaxHostLength];
    for (size_t i = 0; i < part->size(); ++i) buf[i] = absl::ascii_tolower((*part)[i]);
    std::string_view lower(buf, part->size());
    if (auto it = exact_hosts_.find(ToAbsl(lower)); it != exact_hosts_.end()) return it->second;
    size_t dot = lower.find('.');
    if (!wildcard_hosts_.empty() && lower.front() != '[' && dot != std::string_view::npos) {
      // Only the first label is cut: "*.example.com" covers exactly one label.
      auto it = wildcard_hosts_.find(ToAbsl(lower.substr(dot + 1)));
      if (it != wildcard_hosts_.end()) return it->second;
    }
  }
  return catch_all_;
}

MatchResult RouteTable::Match(std::string_view host, std::string_view path) const {
  MatchResult result;
  const VirtualHost* vh = FindVirtualHost(host);
  if (vh == nullptr) return result;
  result.virtual_host = vh->name;
  result.route = vh->MatchPath(path);
  return result;
}

std::optional<std::string> NormalizePath(std::string_view target) {
  if (target.empty() || target.front() != '/') return std::nullopt;
  // A fragment is not valid in a request target; drop it with the query
  // rather than let it become part of a path.
  std::string_view path = target.substr(0, target.find_first_of("?#"));
  if (path.find_first_of(".%") == std::string_view::npos && path.find("//") == path.npos) {
    return std::string(path);
  }

  // Repeated slashes are merged (as nginx's merge_slashes does), so that
  // "//admin" is routed, and filtered, as "/admin".
  // RFC 3986 5.2.4 segment by segment. Other percent-escapes are left alone:
  // decoding them would change what the backend receives.
  std::string out;
  out.reserve(path.size());
  size_t pos = 1;
  while (true) {
    size_t slash = path.find('/', pos);
    bool last = slash == std::string_view::npos;
    std::string_view segment = path.substr(pos, last ? slash : slash - pos);
    switch (DotSegment(segment)) {
      case 1:
        if (last) out.push_back('/');
        break;
      case 2: {
        size_t cut = out.rfind('/');
        out.resize(cut == std::string::npos ? 0 : cut);
        if (last) out.push_back('/');
        break;
      }
      default:
        if (segment.empty()) {
          if (last && (out.empty() || out.back() != '/')) out.push_back('/');
          break;
        }
        out.push_back('/');
        out.append(segment);
        break;
    }
    if (last) break;
    pos = slash + 1;
  }
  return out;
}

std::string NormalizeHost(std::string_view host) {
  std::optional<std::string_view> part = HostPart(host);
  if (!part.has_value()) return std::string();
  return absl::AsciiStrToLower(ToAbsl(*part));
}

}  // namespace portico::dataplane::router
