#include "dataplane/proxy/stream.h"

#include "common/strings.h"
#include "dataplane/policy/affinity.h"
#include "dataplane/policy/canary.h"
#include "dataplane/policy/forwarded.h"
#include "dataplane/policy/https_policy.h"
#include "dataplane/policy/redirect.h"
#include "dataplane/policy/rewrite.h"
#include "dataplane/proxy/access_log.h"
#include "dataplane/proxy/grpc.h"
#include "dataplane/proxy/worker.h"

namespace portico::dataplane::proxy {
namespace {

// Request body kept for a retry after a stale keep-alive connection failed;
// beyond this the request is not retried once body bytes went upstream.
constexpr size_t kMaxReplayBytes = 64 * 1024;
// Body buffered while the upstream connects, before the client is paused.
constexpr size_t kMaxPendingBody = 64 * 1024;

bool IsIdempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "OPTIONS" || method == "PUT" ||
         method == "DELETE";
}

double SecondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

}  // namespace

Stream::Stream(Worker& worker, http::ResponseSink& sink)
    : worker_(worker), sink_(sink), start_(Clock::now()) {
  worker_.stats().active_requests.Add(1);
}

Stream::~Stream() {
  DetachUpstream();
  worker_.stats().active_requests.Add(-1);
}

void Stream::OnHeaders(http::RequestHead head, bool end_stream) {
  config_ = worker_.config();
  method_ = head.method;
  authority_ = head.authority;
  path_ = head.path;
  scheme_ = head.scheme;
  request_has_body_ = head.has_body;
  request_ended_ = end_stream;
  grpc_ = IsGrpcRequest(head.headers);
  accept_encoding_ = head.headers.GetJoined("accept-encoding");
  if (grpc_) StartDeadline(head.headers);
  if (!config_ || !config_->routes) {
    LocalReply(503, "no configuration loaded\n");
    return;
  }
  RouteRequest(head);
}

void Stream::RouteRequest(http::RequestHead& head) {
  size_t query = head.path.find('?');
  auto path = router::NormalizePath(head.path);
  if (!path) {
    LocalReply(400);
    return;
  }
  router::MatchResult match = config_->routes->Match(head.authority, *path);
  route_ = match.route;
  EvaluateCors(head);
  if (RefusedByAccessPolicy(head)) return;
  body_limit_ = route_ != nullptr && route_->max_body_bytes
                    ? *route_->max_body_bytes
                    : config_->settings.max_request_body_bytes;
  // An announced length is refused before any of the body is read or sent.
  if (head.content_length && BodyTooLarge(*head.content_length)) return;
  if (route_ != nullptr && EnforceHttps(head, *path)) return;
  // After the HTTPS redirect (as in nginx, whose rewrite phase runs before
  // access): credentials are not asked for over plain HTTP when the route
  // moves the client to HTTPS anyway.
  // Preflights carry no credentials (Fetch): answered before authentication,
  // as nginx's rewrite-phase CORS return precedes its access phase.
  if (AnswerCorsPreflight()) return;
  if (route_ != nullptr && route_->basic_auth.active && RefusedByBasicAuth(head)) return;
  const router::RouteAction* action = nullptr;
  if (route_ != nullptr) {
    action = &route_->action;
  } else if (config_->routes->default_action()) {
    action = &*config_->routes->default_action();
  }
  if (action == nullptr) {
    LocalReply(404);
    return;
  }
  if (action->redirect) {
    Redirect(*action->redirect);
    return;
  }
  if (action->direct_response) {
    const auto& direct = *action->direct_response;
    std::vector<http::Header> headers;
    if (!direct.content_type.empty()) headers.push_back({"content-type", direct.content_type});
    LocalReply(direct.status, direct.body, std::move(headers));
    return;
  }
  // The forwarded path is the normalised one: what was routed is what the
  // upstream sees, so "/a/../b" cannot reach b's upstream through a's route.
  head.path = *path;
  if (route_ != nullptr && route_->rewrite) {
    head.path = policy::RewritePath(*route_->rewrite, route_->match_type, *path);
  }
  if (query != std::string::npos) head.path.append(path_, query);
  if (route_ != nullptr && route_->external_auth) {
    StartExternalAuth(head);
    return;
  }
  Forward(head);
}

void Stream::Forward(http::RequestHead& head) {
  const router::RouteAction* action =
      route_ != nullptr ? &route_->action : &*config_->routes->default_action();
  if (route_ != nullptr && route_->canary &&
      policy::UseCanary(*route_->canary, head.headers, worker_.rng())) {
    ProxyTo(route_->canary->cluster, head);
    return;
  }
  ProxyTo(worker_.PickCluster(action->clusters), head);
}

bool Stream::EnforceHttps(const http::RequestHead& head, std::string_view path) {
  const http::ConnectionInfo& conn = sink_.connection();
  // Over TLS only (RFC 6797 7.2); a trusted X-Forwarded-Proto does not count:
  // this hop cannot know how the response travels on.
  if (!route_->hsts.empty() && conn.scheme == "https") hsts_ = route_->hsts;
  if (route_->https_redirect_code == 0) return false;
  if (!policy::WantsHttpsRedirect(config_->settings.trusted_proxies,
                                  {conn.peer, std::string(conn.scheme), conn.local_port},
                                  head.headers, path)) {
    return false;
  }
  // Without a host there is nowhere to send the client: serve it as is.
  auto location =
      policy::HttpsRedirectLocation(head.authority, head.path, worker_.https_redirect_port());
  if (!location) return false;
  LocalReply(route_->https_redirect_code, {}, {{"location", std::move(*location)}});
  return true;
}

void Stream::ProxyTo(const std::string& cluster_name, http::RequestHead& head) {
  cluster_ = worker_.FindCluster(cluster_name);
  if (!cluster_ || !cluster_->config().unavailable.empty()) {
    LocalReply(503);
    return;
  }
  const http::ConnectionInfo& conn = sink_.connection();
  // gRPC needs "te: trailers" to reach an HTTP/2 upstream.
  http::StripHopByHop(head.headers, upstream::IsHttp2(cluster_->config().protocol));
  // A websocket keeps its upgrade, to HTTP/1.1 upstreams only (RFC 8441 over
  // HTTP/2 is not implemented): elsewhere it goes on as a plain GET.
  websocket_ = head.upgrade_websocket && !upstream::IsHttp2(cluster_->config().protocol);
  head.upgrade_websocket = websocket_;
  // (The codec writes "Connection: upgrade" for it.)
  if (websocket_) head.headers.Add("upgrade", "websocket");
  policy::ConnectionInfo forwarded_conn{conn.peer, std::string(conn.scheme), conn.local_port};
  policy::ClientIdentity identity;
  policy::ApplyForwardedHeaders(config_->settings.trusted_proxies, forwarded_conn, head.authority,
                                head.headers, &identity);
  client_ip_ = identity.client;  // its text only for the access log
  // After the forwarded headers: X-Forwarded-Host stays the client's host.
  if (route_ != nullptr && route_->rewrite)
    policy::ApplyRewriteHeaders(*route_->rewrite, head.headers);
  hints_ = policy::EndpointHints(cluster_->config(), head.headers, identity.client, path_);
  if (config_->settings.add_via_header) head.headers.Add("via", "1.1 portico");
  ApplyRequestHeaderPolicies(head);
  bool expect_continue = head.expect_continue;
  upstream_head_ = std::move(head);
  // The proxy answers Expect itself (as nginx does): the body is wanted as
  // soon as a route accepted the request.
  if (expect_continue && !request_ended_) sink_.SendInformational(100);
  StartAttempt();
}

void Stream::StartAttempt(std::optional<size_t> forced) {
  if (!cluster_->HasReadyEndpoint()) {
    LocalReply(503, "no ready endpoints\n");
    return;
  }
  if (attempts_ == 0) first_attempt_start_ = Clock::now();
  const upstream::ClusterConfig& cluster = cluster_->config();
  while (true) {
    auto index = forced ? forced : cluster_->Pick(upstream::Clock::now(), tried_, hints_);
    forced.reset();
    if (!index) {
      // Everything ready is ejected or at its connection limit (503), or
      // every endpoint tried failed this request (the last failure's 502 or 504).
      LocalReply(failed_attempts_ == 0 ? 503
                                       : (last_failure_status_ != 0 ? last_failure_status_ : 502));
      return;
    }
    tried_.push_back(*index);
    ++attempts_;
    const upstream::EndpointConfig& endpoint = cluster_->endpoint_config(*index);
    upstream_addr_ = endpoint.key;
    // After a stale pooled connection failed, the retry gets a new one.
    // A websocket gets a connection of its own, which never returns to the pool.
    upstream_ =
        worker_.pool().Acquire(cluster, endpoint, this, /*fresh=*/stale_retried_ || websocket_);
    if (upstream_ == nullptr) {
      worker_.stats().upstream_overflow.Inc();
      if (attempts_ >= cluster.retry.max_tries) {
        LocalReply(503, "upstream connection limit reached\n");
        return;
      }
      continue;
    }
    break;
  }
  lease_.Take(*cluster_, tried_.back());
  upstream_sent_ = false;
  if (upstream_->connected()) SendUpstreamRequest();
}

void Stream::OnUpstreamReady() { SendUpstreamRequest(); }

void Stream::SendUpstreamRequest() {
  upstream_sent_ = true;
  upstream_start_ = Clock::now();
  // HTTP/1.1 upstream requires Host; an HTTP/1.0 client may have sent none.
  // Like nginx's default ($proxy_host), name the upstream then.
  // (upstream-vhost has set one.)
  if (authority_.empty() && !upstream_head_.headers.Get("host")) {
    upstream_head_.headers.Set("host", upstream_addr_);
  }
  if (!request_has_body_) {
    upstream_->SendRequest(upstream_head_, true);
    return;
  }
  upstream_->SendRequest(upstream_head_, false);
  if (!pending_body_.empty() || request_ended_) {
    upstream_->SendBody(pending_body_.view(), request_ended_);
    pending_body_.Clear();
  }
  if (request_paused_ && !upstream_->RequestBlocked()) {
    request_paused_ = false;
    sink_.ResumeRequestBody();
  }
}

void Stream::OnBody(std::string_view data, bool end_stream) {
  if (done_) return;
  bytes_in_ += data.size();
  // Chunked and HTTP/2 bodies announce no length: counted as they arrive.
  if (BodyTooLarge(bytes_in_)) return;
  request_ended_ = end_stream;
  if (replayable_) {
    if (replay_.size() + data.size() <= kMaxReplayBytes) {
      replay_.append(data);
    } else {
      replayable_ = false;
      std::string().swap(replay_);
    }
  }
  if (upstream_ != nullptr && upstream_sent_) {
    upstream_->SendBody(data, end_stream);
    if (upstream_ != nullptr && upstream_->RequestBlocked() && !request_paused_) {
      request_paused_ = true;
      sink_.PauseRequestBody();
    }
    return;
  }
  pending_body_.Append(data);
  if (pending_body_.size() > kMaxPendingBody && !request_paused_) {
    request_paused_ = true;
    sink_.PauseRequestBody();
  }
}

void Stream::OnRequestDrained() {
  if (request_paused_) {
    request_paused_ = false;
    sink_.ResumeRequestBody();
  }
}

bool Stream::BodyTooLarge(uint64_t bytes) {
  if (body_limit_ == 0 || bytes <= body_limit_) return false;
  worker_.stats().policy_rejections[static_cast<size_t>(RejectPolicy::kBodySize)].Inc();
  // Nothing more goes upstream. Once the response started, the body can no
  // longer be refused: LocalReply cuts the exchange off (close or RST_STREAM).
  LocalReply(413);
  return true;
}

void Stream::OnResponseHeaders(http::ResponseHead head, bool end_stream) {
  if (done_) return;
  if (RetryOnResponse(head.status)) return;
  upstream_status_ = head.status;
  status_ = head.status;
  http::StripHopByHop(head.headers);
  ApplyResponseHeaderPolicies(head);
  if (config_->settings.add_via_header) head.headers.Add("via", "1.1 portico");
  if (!hsts_.empty()) policy::AddHsts(head.headers, hsts_);
  ApplyTrafficPolicies(head, end_stream);
  response_started_ = true;
  if (end_stream) ReleaseEndpoint(head.status < 500);
  sink_.SendHeaders(std::move(head), end_stream);
}

void Stream::ApplyTrafficPolicies(http::ResponseHead& head, bool end_stream) {
  const upstream::AffinityConfig& affinity = cluster_->config().affinity;
  if (affinity.enabled && hints_.sticky != lease_.endpoint()) {
    // Regex paths cannot be cookie paths: those routes pin the whole site.
    std::string_view path = "/";
    if (route_ != nullptr && route_->match_type != router::PathMatchType::kRegex) {
      path = route_->path;
    }
    head.headers.Add(
        "set-cookie",
        policy::AffinityCookie(affinity, cluster_->endpoint_config(lease_.endpoint()), path));
  }
  if (end_stream || grpc_) return;
  const policy::CompressionSettings& compression = config_->settings.compression;
  bool gzip = compression.gzip, brotli = compression.brotli;
  if (route_ != nullptr && route_->compression) {
    gzip = route_->compression->gzip;
    brotli = route_->compression->brotli;
  }
  if (gzip || brotli) {
    compressor_ = policy::StartCompression(compression, gzip, brotli, accept_encoding_, head);
  }
}

void Stream::OnUpgrade(http::ResponseHead head, http::UpgradedUpstream upstream) {
  upstream_ = nullptr;  // the connection left its pool; its socket is in `upstream`
  if (done_) return;
  upstream_status_ = 101;
  status_ = 101;
  ReleaseEndpoint(true);
  http::StripHopByHop(head.headers);
  ApplyUpgradeHeaderPolicies(head);
  head.headers.Add("upgrade", "websocket");  // the codec adds "Connection: upgrade"
  if (config_->settings.add_via_header) head.headers.Add("via", "1.1 portico");
  response_started_ = true;
  // proxy-read-timeout's meaning for a websocket, as in ingress-nginx: the
  // longest silence in both directions.
  upstream.idle_timeout = cluster_->config().response_timeout.count() / 1000.0;
  // OnComplete (the access log line) runs from inside; this stream is then done.
  sink_.SendUpgrade(std::move(head), std::move(upstream));
}

void Stream::OnResponseBody(std::string_view data, bool end_stream) {
  if (done_) return;
  if (compressor_ != nullptr) {
    if (data.empty() && !end_stream) return;
    compressed_.clear();
    if (!compressor_->Process(data, end_stream, compressed_)) {
      LocalReply(502);  // the response started: this cuts it off visibly
      return;
    }
    data = compressed_;
  }
  bytes_out_ += data.size();
  if (end_stream) {
    upstream_ = nullptr;  // the connection went back to its pool
    ReleaseEndpoint(upstream_status_ < 500);
    sink_.SendBody(data, true);
    return;
  }
  sink_.SendBody(data, false);
  if (upstream_ != nullptr && !upstream_paused_ && sink_.ResponseBlocked()) {
    upstream_paused_ = true;
    upstream_->PauseResponse();
  }
}

void Stream::OnResponseTrailers(http::HeaderMap trailers) {
  if (done_) return;
  upstream_ = nullptr;  // the stream is finished
  ReleaseEndpoint(upstream_status_ < 500);
  if (compressor_ != nullptr) {  // the encoding ends before the trailers
    compressed_.clear();
    if (compressor_->Process({}, true, compressed_)) sink_.SendBody(compressed_, false);
  }
  sink_.SendTrailers(std::move(trailers));
}

void Stream::StartDeadline(const http::HeaderMap& headers) {
  auto value = headers.Get("grpc-timeout");
  if (!value) return;
  auto seconds = ParseGrpcTimeout(*value);
  if (!seconds) return;
  deadline_ = std::make_unique<event::Timer>(worker_.loop(), [this] {
    if (!done_) LocalReply(504, "deadline exceeded");
  });
  deadline_->Start(*seconds);
}

void Stream::OnResponseDrained() {
  if (upstream_paused_ && upstream_ != nullptr) {
    upstream_paused_ = false;
    upstream_->ResumeResponse();
  }
}

namespace {

uint32_t RetryCondition(http::UpstreamFailure failure) {
  switch (failure) {
    case http::UpstreamFailure::kConnectTimeout:
    case http::UpstreamFailure::kResponseTimeout:
    case http::UpstreamFailure::kSendTimeout:
      return upstream::kRetryTimeout;
    case http::UpstreamFailure::kProtocolError:
      return upstream::kRetryInvalidHeader;
    default:
      return upstream::kRetryError;
  }
}

int FailureStatus(http::UpstreamFailure failure) {
  switch (failure) {
    case http::UpstreamFailure::kConnectTimeout:
    case http::UpstreamFailure::kResponseTimeout:
    case http::UpstreamFailure::kSendTimeout:
      return 504;
    default:
      return 502;
  }
}

}  // namespace

bool Stream::MayRetry(uint32_t condition, bool request_sent) const {
  const upstream::RetryConfig& retry = cluster_->config().retry;
  if ((retry.conditions & condition) == 0 || attempts_ >= retry.max_tries) return false;
  if (retry.timeout.count() > 0 && Clock::now() - first_attempt_start_ >= retry.timeout) {
    return false;
  }
  if (!request_sent) return true;  // a connect failure: nothing reached the endpoint
  // The endpoint may have acted on the request: it is sent again only whole
  // (the body so far kept in `replay_`), and a method that is not idempotent
  // (RFC 9110 9.2.2) only when the policy says non_idempotent, as in nginx.
  if (websocket_ || !replayable_) return false;
  return IsIdempotent(method_) || (retry.conditions & upstream::kRetryNonIdempotent) != 0;
}

void Stream::ReplayBody() {
  pending_body_.Clear();
  pending_body_.Append(replay_);
}

bool Stream::RetryOnResponse(int status) {
  const uint32_t condition = upstream::RetryOnStatus(status);
  if (condition == 0 || response_started_ || !MayRetry(condition, true)) return false;
  // With no endpoint left to try, this response is the answer (nginx passes
  // the last one on too) rather than a 502 of our own.
  if (!cluster_->HasUntried(upstream::Clock::now(), tried_)) return false;
  worker_.stats().upstream_retries.Inc();
  ++failed_attempts_;
  last_failure_status_ = status;
  ReleaseEndpoint(status < 500);
  DetachUpstream();  // the response is abandoned with its connection or stream
  ReplayBody();
  StartAttempt();
  return true;
}

void Stream::OnUpstreamFailure(http::UpstreamFailure failure, bool response_started) {
  if (done_) return;
  worker_.stats().upstream_failures[static_cast<int>(failure)].Inc();
  ++failed_attempts_;
  // A reused keep-alive connection the upstream closed as we picked it up:
  // retried once on the same endpoint whatever the policy says, since it says
  // nothing about the endpoint. The upstream may have acted on the request
  // before closing, so only idempotent methods are replayed (RFC 9110 9.2.2).
  const bool stale_reuse = !response_started_ && failure == http::UpstreamFailure::kReset &&
                           upstream_ != nullptr && upstream_->reused() && replayable_ &&
                           !stale_retried_ && IsIdempotent(method_);
  const bool sent = upstream_sent_;
  upstream_ = nullptr;
  ReleaseEndpoint(stale_reuse);
  if (response_started_) {
    // Part of the response is already with the client: cut it off visibly.
    done_ = true;
    sink_.Abort();
    return;
  }
  last_failure_status_ = FailureStatus(failure);
  if (stale_reuse) {
    worker_.stats().upstream_retries.Inc();
    // The endpoint is fine, the pooled connection was not: same endpoint,
    // fresh connection, body replayed, and the try does not count. Picking
    // again would skew the balancer's rotation.
    stale_retried_ = true;
    tried_.pop_back();
    --attempts_;
    ReplayBody();
    StartAttempt(lease_.endpoint());
    return;
  }
  if (MayRetry(RetryCondition(failure), sent)) {
    worker_.stats().upstream_retries.Inc();
    if (sent) ReplayBody();  // else the body is still in pending_body_
    StartAttempt();
    return;
  }
  LocalReply(last_failure_status_);
}

void Stream::ReleaseEndpoint(bool success) {
  if (upstream_seconds_ < 0 && upstream_sent_) {
    upstream_seconds_ = SecondsSince(upstream_start_);
  }
  lease_.Release(success);
}

void Stream::DetachUpstream() {
  if (auth_ != nullptr) auth_->Cancel();
  if (upstream_ != nullptr) {
    http::ClientStream* upstream = upstream_;
    upstream_ = nullptr;
    upstream->Cancel();
  }
  lease_.Drop();
}

void Stream::LocalReply(int status, std::string_view body, std::vector<http::Header> extra) {
  DetachUpstream();
  if (response_started_) {
    done_ = true;
    sink_.Abort();
    return;
  }
  done_ = true;
  status_ = status;
  if (deadline_) deadline_->Stop();
  if (grpc_) {
    // A call the proxy fails ends in gRPC's terms (trailers-only response).
    http::ResponseHead head =
        GrpcErrorResponse(status, body.empty() ? http::ReasonPhrase(status) : body);
    ApplyLocalReplyHeaders(head);
    sink_.SendHeaders(std::move(head), true);
    response_started_ = true;
    return;
  }
  // 204 and 304 have no body (the CORS preflight answer is a 204).
  const bool bodiless = status == 204 || status == 304;
  std::string text = bodiless       ? std::string()
                     : body.empty() ? StrCat(status, " ", http::ReasonPhrase(status), "\n")
                                    : std::string(body);
  http::ResponseHead head;
  head.status = status;
  bool has_type = false;
  for (auto& h : extra) {
    has_type |= h.name == "content-type";
    head.headers.Add(std::move(h.name), std::move(h.value));
  }
  if (!has_type && !bodiless) head.headers.Add("content-type", "text/plain; charset=utf-8");
  if (!hsts_.empty()) policy::AddHsts(head.headers, hsts_);
  ApplyLocalReplyHeaders(head);
  head.content_length = text.size();
  head.has_body = method_ != "HEAD" && !text.empty();
  response_started_ = true;
  bytes_out_ = head.has_body ? text.size() : 0;
  if (!head.has_body) {
    sink_.SendHeaders(std::move(head), true);
    return;
  }
  sink_.SendHeaders(std::move(head), false);
  sink_.SendBody(text, true);
}

void Stream::Redirect(const router::RedirectAction& redirect) {
  LocalReply(redirect.code, StrCat(redirect.code, " ", http::ReasonPhrase(redirect.code), "\n"),
             {{"location", policy::RedirectLocation(redirect, scheme_, authority_, path_)}});
}

void Stream::OnAbort() {
  DetachUpstream();
  if (!done_) {
    done_ = true;
    // nginx's convention for "client closed the connection first".
    if (!response_started_) status_ = 499;
    WriteLog();
  }
}

void Stream::OnComplete() {
  done_ = true;
  WriteLog();
}

void Stream::WriteLog() {
  double duration = SecondsSince(start_);
  WorkerStats& stats = worker_.stats();
  {
    RequestKeyView key;
    if (route_ != nullptr) {
      key.ns = route_->origin.ns;
      key.ingress = route_->origin.ingress;
      key.service = route_->origin.service;
    }
    std::string host;
    if (worker_.metrics_per_host()) {
      host = router::NormalizeHost(authority_);
      key.host = host;
    }
    key.method = MethodIndex(method_);
    key.status = static_cast<uint16_t>(status_ < 0 || status_ > 999 ? 0 : status_);
    worker_.request_metrics().Record(key, duration);
  }
  if (upstream_seconds_ >= 0) stats.upstream_duration.Observe(upstream_seconds_);
  stats.bytes_in.Inc(bytes_in_);
  stats.bytes_out.Inc(bytes_out_);
  if (!worker_.access_log_enabled()) return;
  AccessLogEntry entry;
  // The entry holds views: the peer's text must outlive it (a temporary would not).
  const std::string client_ip =
      client_ip_.valid() ? client_ip_.ToString() : sink_.connection().peer.ToString();
  entry.client_ip = client_ip;
  entry.method = method_;
  entry.host = authority_;
  entry.path = path_;
  entry.protocol = sink_.connection().protocol;
  entry.status = status_;
  entry.bytes_in = bytes_in_;
  entry.bytes_out = bytes_out_;
  entry.duration = duration;
  entry.upstream_addr = upstream_addr_;
  entry.upstream_status = upstream_status_;
  entry.upstream_duration = upstream_seconds_;
  if (route_ != nullptr) {
    entry.route = route_->name;
    entry.ns = route_->origin.ns;
    entry.ingress = route_->origin.ingress;
    entry.service = route_->origin.service;
  }
  if (cluster_) entry.cluster = cluster_->config().name;
  worker_.WriteAccessLog(entry);
}

}  // namespace portico::dataplane::proxy
