#include "dataplane/policy/affinity.h"

#include "common/strings.h"
#include "dataplane/policy/cookies.h"
#include "dataplane/upstream/maglev.h"

namespace portico::dataplane::policy {

upstream::PickHints EndpointHints(const upstream::ClusterConfig& cluster,
                                  const http::HeaderMap& headers, const net::IpAddress& client,
                                  std::string_view request_uri) {
  upstream::PickHints hints;
  if (cluster.affinity.enabled) {
    hints.persistent = cluster.affinity.persistent;
    if (auto id = FindCookie(headers, cluster.affinity.cookie_name)) {
      auto it = cluster.by_affinity_id.find(std::string(*id));
      if (it != cluster.by_affinity_id.end()) hints.sticky = it->second;
    }
  }
  switch (cluster.hash.source) {
    case upstream::HashSource::kNone:
      break;
    case upstream::HashSource::kClientIp: {
      const auto& bytes = client.bytes();
      hints.hash = upstream::StableHash(
          std::string_view(reinterpret_cast<const char*>(bytes.data()), client.is_v4() ? 4 : 16));
      break;
    }
    case upstream::HashSource::kRequestUri:
      hints.hash = upstream::StableHash(request_uri);
      break;
    case upstream::HashSource::kHeader:
      if (auto value = headers.GetJoined(cluster.hash.name)) {
        hints.hash = upstream::StableHash(*value);
      }
      break;
    case upstream::HashSource::kCookie:
      if (auto value = FindCookie(headers, cluster.hash.name)) {
        hints.hash = upstream::StableHash(*value);
      }
      break;
  }
  return hints;
}

std::string AffinityCookie(const upstream::AffinityConfig& affinity,
                           const upstream::EndpointConfig& endpoint, std::string_view route_path) {
  std::string_view path = affinity.path.empty() ? route_path : std::string_view(affinity.path);
  if (path.empty()) path = "/";
  std::string cookie =
      portico::StrCat(affinity.cookie_name, "=", endpoint.affinity_id, "; Path=", path);
  if (affinity.max_age_seconds > 0)
    cookie += portico::StrCat("; Max-Age=", affinity.max_age_seconds);
  if (affinity.secure) cookie += "; Secure";
  if (!affinity.samesite.empty()) cookie += portico::StrCat("; SameSite=", affinity.samesite);
  cookie += "; HttpOnly";
  return cookie;
}

}  // namespace portico::dataplane::policy
