// Stream's access policies: IP filter (403), repeat-offender block and rate
// limit (429 or limit-req-status-code, with Retry-After), concurrent requests
// (503 or limit-conn-status-code), basic authentication (401). The logic is in dataplane/policy/;
// this is the hook that applies it to a routed request.
#include "common/strings.h"
#include "dataplane/policy/forwarded.h"
#include "dataplane/policy/ip_filter.h"
#include "dataplane/proxy/stream.h"
#include "dataplane/proxy/worker.h"

namespace portico::dataplane::proxy {

bool Stream::RefusedByAccessPolicy(const http::RequestHead& head) {
  policy::RateLimiter* limiter = worker_.rate_limiter();
  const policy::RateLimitOptions& options = config_->settings.rate_limit;
  const bool filtered = route_ != nullptr && route_->ip_filter.active;
  const bool limited = route_ != nullptr && route_->rate_limit.active();
  const bool blocking = limiter != nullptr && options.block_after != 0;
  if (!filtered && !limited && !blocking) return false;

  // The client as trusted-proxy handling resolves it: an untrusted peer's
  // X-Forwarded-For never counts.
  const http::ConnectionInfo& conn = sink_.connection();
  const net::IpAddress client =
      policy::ResolveClient(config_->settings.trusted_proxies,
                            {conn.peer, std::string(conn.scheme), conn.local_port}, head.headers)
          .client;
  auto refuse = [&](RejectPolicy policy, int status, uint32_t retry_after) {
    worker_.stats().policy_rejections[static_cast<size_t>(policy)].Inc();
    std::vector<http::Header> headers;
    if (retry_after != 0) headers.push_back({"retry-after", portico::StrCat(retry_after)});
    LocalReply(status, {}, std::move(headers));
    return true;
  };
  if (filtered && !policy::IpFilterAllows(route_->ip_filter, client)) {
    return refuse(RejectPolicy::kIpFilter, 403, 0);
  }
  if (limiter == nullptr || (limited && route_->rate_limit.exempt.Contains(client))) return false;
  const auto now = policy::RateLimiter::Clock::now();
  if (blocking) {
    policy::RateLimiter::Decision blocked = limiter->CheckBlocked(options, client, now);
    if (blocked.verdict != policy::RateLimiter::Verdict::kAllowed) {
      return refuse(RejectPolicy::kRateLimit, options.status_code, blocked.retry_after_seconds);
    }
  }
  if (!limited) return false;
  policy::RateLimiter::Decision decision = limiter->Admit(route_->rate_limit, options, client, now);
  if (decision.verdict != policy::RateLimiter::Verdict::kAllowed) {
    return refuse(RejectPolicy::kRateLimit, options.status_code, decision.retry_after_seconds);
  }
  std::optional<policy::RateLimiter::Slot> slot =
      limiter->Acquire(route_->rate_limit, options, client);
  if (!slot) return refuse(RejectPolicy::kLimitConnections, options.connections_status_code, 0);
  limit_slot_ = std::move(*slot);
  return false;
}

bool Stream::RefusedByBasicAuth(const http::RequestHead& head) {
  const router::BasicAuthRule& rule = route_->basic_auth;
  if (!rule.deny_all && rule.users != nullptr &&
      worker_.basic_auth().Allows(*rule.users, head.headers.Get("authorization"))) {
    // The Authorization header still goes upstream, as with nginx.
    return false;
  }
  worker_.stats().policy_rejections[static_cast<size_t>(RejectPolicy::kBasicAuth)].Inc();
  if (rule.deny_all || rule.users == nullptr) {
    LocalReply(503);
    return true;
  }
  LocalReply(401, {}, {{"www-authenticate", rule.challenge}});
  return true;
}

}  // namespace portico::dataplane::proxy
