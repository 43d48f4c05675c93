// Stream's external authentication (auth-url): before a route with
// external_auth is proxied, a bodiless subrequest to the auth cluster (or a
// cached allow) decides. 2xx: the request goes on with the auth-response-headers
// copied in; 401: 401 with the service's WWW-Authenticate, or the auth-signin
// redirect; 403: 403; anything else or no answer: 500, as nginx's
// auth_request. The client's body waits in pending_body_ (paused beyond its
// limit) until the request is forwarded. The logic is in policy/ext_auth.h.
#include "common/strings.h"
#include "dataplane/policy/ext_auth.h"
#include "dataplane/policy/forwarded.h"
#include "dataplane/proxy/stream.h"
#include "dataplane/proxy/worker.h"

namespace portico::dataplane::proxy {

void Stream::StartExternalAuth(http::RequestHead& head) {
  const router::ExternalAuthRule& rule = *route_->external_auth;
  if (rule.deny_all) {
    RejectByExternalAuth(503);  // fail closed: the auth-url was invalid
    return;
  }
  std::shared_ptr<upstream::ClusterRuntime> cluster = worker_.FindCluster(rule.cluster);
  if (!cluster) {
    RejectByExternalAuth(500);
    return;
  }
  const http::ConnectionInfo& conn = sink_.connection();
  const policy::ConnectionInfo forwarded_conn{conn.peer, std::string(conn.scheme), conn.local_port};
  http::HeaderMap headers = head.headers;
  policy::ClientIdentity identity;
  policy::ApplyForwardedHeaders(config_->settings.trusted_proxies, forwarded_conn, head.authority,
                                headers, &identity);
  auth_cache_key_ = policy::AuthCacheKey(rule, route_->name, head, path_, identity.client);
  if (auth_cache_key_) {
    if (const auto* cached =
            worker_.auth_cache().Find(*auth_cache_key_, policy::AuthCache::Clock::now())) {
      policy::ApplyAuthResponseHeaders(rule, *cached, head.headers);
      Forward(head);
      return;
    }
  }
  // The scheme the client used: a trusted proxy's X-Forwarded-Proto, else
  // this listener's (ApplyForwardedHeaders settled which).
  auth_scheme_ =
      std::string(headers.Get("x-forwarded-proto").value_or(std::string_view(conn.scheme)));
  const policy::OriginalRequest original{method_, auth_scheme_, head.authority, path_};
  http::RequestHead request = policy::BuildAuthRequest(rule, original, headers);
  auth_held_ = std::move(head);
  auth_ = std::make_unique<AuthSubrequest>(
      worker_, std::move(cluster), std::move(request),
      [this](AuthSubrequest::Answer answer) { OnAuthAnswer(std::move(answer)); });
  auth_->Start();
}

void Stream::OnAuthAnswer(AuthSubrequest::Answer answer) {
  if (done_) return;
  const router::ExternalAuthRule& rule = *route_->external_auth;
  switch (policy::ClassifyAuthStatus(answer.status)) {
    case policy::AuthVerdict::kAllow: {
      std::vector<http::Header> copied = policy::AuthResponseHeaders(rule, answer.headers);
      policy::ApplyAuthResponseHeaders(rule, copied, auth_held_.headers);
      if (auth_cache_key_) {
        worker_.auth_cache().Insert(*auth_cache_key_, std::move(copied),
                                    policy::AuthCache::Clock::now() + rule.cache_duration);
      }
      http::RequestHead head = std::move(auth_held_);
      Forward(head);
      return;
    }
    case policy::AuthVerdict::kUnauthorized: {
      if (!rule.signin_url.empty()) {
        const policy::OriginalRequest original{method_, auth_scheme_, authority_, path_};
        RejectByExternalAuth(302,
                             {{"location", policy::SigninLocation(rule.signin_url, original)}});
        return;
      }
      std::vector<http::Header> challenge;
      for (const http::Header& h : answer.headers) {
        if (h.name == "www-authenticate") challenge.push_back(h);
      }
      RejectByExternalAuth(401, std::move(challenge));
      return;
    }
    case policy::AuthVerdict::kForbidden:
      RejectByExternalAuth(403);
      return;
    case policy::AuthVerdict::kError:
      RejectByExternalAuth(500);
      return;
  }
}

void Stream::RejectByExternalAuth(int status, std::vector<http::Header> headers) {
  worker_.stats().policy_rejections[static_cast<size_t>(RejectPolicy::kExternalAuth)].Inc();
  LocalReply(status, {}, std::move(headers));
}

}  // namespace portico::dataplane::proxy
