#include "dataplane/proxy/auth_subrequest.h"

#include <utility>

#include "dataplane/proxy/worker.h"

namespace portico::dataplane::proxy {

AuthSubrequest::AuthSubrequest(Worker& worker, std::shared_ptr<upstream::ClusterRuntime> cluster,
                               http::RequestHead head, Done done)
    : worker_(worker),
      cluster_(std::move(cluster)),
      head_(std::move(head)),
      done_(std::move(done)) {}

AuthSubrequest::~AuthSubrequest() { Cancel(); }

void AuthSubrequest::Cancel() {
  done_ = nullptr;
  if (upstream_ != nullptr) {
    http::ClientStream* upstream = upstream_;
    upstream_ = nullptr;
    upstream->Cancel();
  }
  lease_.Drop();
}

void AuthSubrequest::Start() { Attempt(); }

void AuthSubrequest::Attempt(std::optional<size_t> forced) {
  const upstream::ClusterConfig& cluster = cluster_->config();
  if (!cluster.unavailable.empty() || !cluster_->HasReadyEndpoint()) {
    Finish(0);
    return;
  }
  while (true) {
    auto index = forced ? forced : cluster_->Pick(upstream::Clock::now(), tried_);
    forced.reset();
    if (!index) {
      Finish(0);
      return;
    }
    tried_.push_back(*index);
    ++attempts_;
    upstream_ = worker_.pool().Acquire(cluster, cluster_->endpoint_config(*index), this, fresh_);
    if (upstream_ != nullptr) break;
    worker_.stats().upstream_overflow.Inc();
    if (attempts_ > cluster.connect_retries) {
      Finish(0);
      return;
    }
  }
  lease_.Take(*cluster_, tried_.back());
  if (upstream_->connected()) Send();
}

void AuthSubrequest::OnUpstreamReady() { Send(); }

void AuthSubrequest::Send() {
  if (upstream_ == nullptr) return;
  upstream_->SendRequest(head_, /*end_stream=*/true);
}

void AuthSubrequest::OnResponseHeaders(http::ResponseHead head, bool end_stream) {
  status_ = head.status;
  headers_ = std::move(head.headers);
  if (end_stream) {
    upstream_ = nullptr;
    Finish(status_);
  }
}

void AuthSubrequest::OnResponseBody(std::string_view, bool end_stream) {
  // The auth service's body is dropped, as nginx's auth_request does.
  if (!end_stream) return;
  upstream_ = nullptr;  // back in its pool
  Finish(status_);
}

void AuthSubrequest::OnResponseTrailers(http::HeaderMap) {
  upstream_ = nullptr;
  Finish(status_);
}

void AuthSubrequest::OnUpgrade(http::ResponseHead, http::UpgradedUpstream) {
  upstream_ = nullptr;  // never asked for; the socket closes with `upstream`
  Finish(0);
}

void AuthSubrequest::OnUpstreamFailure(http::UpstreamFailure failure, bool) {
  worker_.stats().upstream_failures[static_cast<int>(failure)].Inc();
  const bool reused = upstream_ != nullptr && upstream_->reused();
  upstream_ = nullptr;
  const upstream::ClusterConfig& cluster = cluster_->config();
  switch (failure) {
    case http::UpstreamFailure::kConnectFailed:
    case http::UpstreamFailure::kConnectTimeout:
    case http::UpstreamFailure::kTlsHandshakeFailed:
      lease_.Release(false);
      if (attempts_ <= cluster.connect_retries) {
        worker_.stats().upstream_retries.Inc();
        Attempt();
        return;
      }
      break;
    case http::UpstreamFailure::kReset:
      // A pooled connection the auth service closed as it was picked up: the
      // subrequest has no body and no side effects, so it is sent again once,
      // to the same endpoint on a fresh connection.
      if (reused && !fresh_) {
        lease_.Release(true);
        fresh_ = true;
        tried_.pop_back();
        worker_.stats().upstream_retries.Inc();
        Attempt(lease_.endpoint());
        return;
      }
      lease_.Release(false);
      break;
    default:
      lease_.Release(false);
  }
  Finish(0);
}

void AuthSubrequest::Finish(int status) {
  lease_.Release(status != 0 && status < 500);
  Done done = std::move(done_);
  done_ = nullptr;
  if (!done) return;
  Answer answer;
  answer.status = status;
  answer.headers = std::move(headers_);
  // Last: the owner may cancel (not destroy) this subrequest from inside.
  done(std::move(answer));
}

}  // namespace portico::dataplane::proxy
