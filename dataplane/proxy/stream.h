#pragma once
// One proxied request, independent of the downstream and upstream codecs:
// route lookup, client identity headers, endpoint choice with retries, body
// streaming with backpressure both ways, local replies, access log and metrics.
// Lives on one worker thread; owned by the downstream codec.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/inlined_vector.h"
#include "dataplane/config/config.h"
#include "dataplane/event/buffer.h"
#include "dataplane/event/event_loop.h"
#include "dataplane/event/object_slab.h"
#include "dataplane/http/client_stream.h"
#include "dataplane/http/stream.h"
#include "dataplane/policy/compression.h"
#include "dataplane/policy/cors.h"
#include "dataplane/policy/rate_limiter.h"
#include "dataplane/proxy/auth_subrequest.h"
#include "dataplane/upstream/cluster_runtime.h"
#include "dataplane/upstream/endpoint_lease.h"

namespace portico::dataplane::proxy {

class Worker;

class Stream final : public http::RequestHandler, public http::ClientStreamHandler {
 public:
  // One per request: a slab slot is a free-list pop where malloc would search.
  PORTICO_SLAB_ALLOCATED(Stream)

  Stream(Worker& worker, http::ResponseSink& sink);
  ~Stream() override;

  // http::RequestHandler (downstream side)
  void OnHeaders(http::RequestHead head, bool end_stream) override;
  void OnBody(std::string_view data, bool end_stream) override;
  void OnResponseDrained() override;
  void OnAbort() override;
  void OnComplete() override;

  // http::ClientStreamHandler (upstream side)
  void OnUpstreamReady() override;
  void OnResponseHeaders(http::ResponseHead head, bool end_stream) override;
  void OnResponseBody(std::string_view data, bool end_stream) override;
  void OnResponseTrailers(http::HeaderMap trailers) override;
  void OnUpstreamFailure(http::UpstreamFailure failure, bool response_started) override;
  void OnRequestDrained() override;
  void OnUpgrade(http::ResponseHead head, http::UpgradedUpstream upstream) override;

 private:
  using Clock = std::chrono::steady_clock;

  void RouteRequest(http::RequestHead& head);
  // The route's IP filter, rate limit and concurrency limit, and the block of
  // repeat offenders (stream_access.cc); true: refused (answered).
  bool RefusedByAccessPolicy(const http::RequestHead& head);
  // auth-type: basic (stream_access.cc): answers 401 with the route's
  // challenge, or 503 when it fails closed; true when it answered.
  bool RefusedByBasicAuth(const http::RequestHead& head);
  // Header policies (stream_headers.cc): CORS, request/response header edits,
  // hide-headers, server-tokens. EvaluateCors runs on the routed request head;
  // AnswerCorsPreflight answers an allowed preflight (true: answered).
  void EvaluateCors(const http::RequestHead& head);
  bool AnswerCorsPreflight();
  void ApplyRequestHeaderPolicies(http::RequestHead& head);
  void ApplyResponseHeaderPolicies(http::ResponseHead& head);
  // The same for a 101 websocket answer, keeping its Sec-WebSocket-* fields.
  void ApplyUpgradeHeaderPolicies(http::ResponseHead& head);
  void ApplyLocalReplyHeaders(http::ResponseHead& head);
  // Response policies of pol-traffic: the affinity cookie and compression.
  void ApplyTrafficPolicies(http::ResponseHead& head, bool end_stream);
  // The matched route's HTTPS redirect (true: answered with it) and HSTS.
  bool EnforceHttps(const http::RequestHead& head, std::string_view path);
  // Canary choice, then ProxyTo: a routed request that passed its policies.
  void Forward(http::RequestHead& head);
  // External authentication (stream_auth.cc): the route's auth subrequest,
  // or its cached answer, decides; Forward follows an allow. The client's
  // body waits in pending_body_ meanwhile.
  void StartExternalAuth(http::RequestHead& head);
  void OnAuthAnswer(AuthSubrequest::Answer answer);
  // Answers `status` and counts it in portico_requests_rejected_total.
  void RejectByExternalAuth(int status, std::vector<http::Header> headers = {});
  void ProxyTo(const std::string& cluster_name, http::RequestHead& head);
  // Picks an endpoint (or uses `endpoint` when set) and starts an attempt.
  void StartAttempt(std::optional<size_t> endpoint = std::nullopt);
  void SendUpstreamRequest();
  // gRPC: the call fails with DEADLINE_EXCEEDED when its grpc-timeout passes.
  void StartDeadline(const http::HeaderMap& headers);
  void ReleaseEndpoint(bool success);
  void DetachUpstream();
  // proxy-next-upstream: whether a failed attempt (its RetryOn `condition`)
  // may go to another endpoint. `request_sent`: the endpoint may have acted on
  // the request, so only a replayable, idempotent (or allowed) one is retried.
  bool MayRetry(uint32_t condition, bool request_sent) const;
  // A response whose status the retry policy names, with another endpoint to
  // try: abandoned and retried (true). Before anything went to the client.
  bool RetryOnResponse(int status);
  // The next attempt resends the whole body received so far.
  void ReplayBody();
  // proxy-body-size: the route's limit (else the global one) is exceeded;
  // answered 413 (true).
  bool BodyTooLarge(uint64_t bytes);
  void LocalReply(int status, std::string_view body = {},
                  std::vector<http::Header> extra_headers = {});
  void Redirect(const router::RedirectAction& redirect);
  void WriteLog();

  Worker& worker_;
  http::ResponseSink& sink_;
  std::shared_ptr<const config::Config> config_;
  Clock::time_point start_;

  // Request.
  std::string method_;
  std::string authority_;
  std::string path_;  // as received, for the log
  std::string scheme_;
  net::IpAddress client_ip_;  // from the forwarded headers; invalid: the peer
  std::optional<std::string> accept_encoding_;
  http::RequestHead upstream_head_;
  bool request_has_body_ = false;
  bool grpc_ = false;                       // failures are answered with grpc-status
  bool websocket_ = false;                  // forwarded with its Upgrade on a fresh connection
  std::unique_ptr<event::Timer> deadline_;  // the call's grpc-timeout
  bool request_ended_ = false;
  bool request_paused_ = false;
  uint64_t bytes_in_ = 0;
  event::Buffer pending_body_;  // body received before the upstream was ready
  std::string replay_;          // body sent so far, kept while small enough to retry
  bool replayable_ = true;
  uint64_t body_limit_ = 0;  // the route's (or global) max body size; 0: unlimited

  // Route and upstream.
  const router::Route* route_ = nullptr;
  policy::RateLimiter::Slot limit_slot_;  // held while the request runs (limit-connections)
  std::unique_ptr<AuthSubrequest> auth_;  // while external auth decides
  http::RequestHead auth_held_;           // the request, waiting for auth_
  std::optional<std::string> auth_cache_key_;
  std::string auth_scheme_;  // the client's, for the signin redirect
  std::shared_ptr<upstream::ClusterRuntime> cluster_;
  absl::InlinedVector<size_t, 4> tried_;  // endpoints tried: no allocation for a few
  upstream::PickHints hints_;             // affinity cookie and hash key
  upstream::EndpointLease lease_;         // after cluster_: ends before it
  http::ClientStream* upstream_ = nullptr;
  bool upstream_sent_ = false;
  bool upstream_paused_ = false;
  uint32_t attempts_ = 0;
  uint32_t failed_attempts_ = 0;
  bool stale_retried_ = false;             // replayed once after a stale keep-alive connection
  int last_failure_status_ = 0;            // answer when no retry is left: 502, 504
  Clock::time_point first_attempt_start_;  // proxy-next-upstream-timeout counts from here
  Clock::time_point upstream_start_;
  double upstream_seconds_ = -1;
  std::string upstream_addr_;
  int upstream_status_ = 0;

  // Response.
  policy::CorsDecision cors_;  // the request's Origin under the route's CORS rule
  std::string_view hsts_;      // Strict-Transport-Security to add (the route's); empty: none
  int status_ = 0;
  bool response_started_ = false;
  bool done_ = false;
  uint64_t bytes_out_ = 0;
  std::unique_ptr<policy::Compressor> compressor_;
  std::string compressed_;  // the current chunk, encoded
};

}  // namespace portico::dataplane::proxy
