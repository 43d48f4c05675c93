#pragma once
// The auth subrequest of external authentication (auth-url): one bodiless
// request to the auth cluster through the worker's upstream machinery (its
// load balancer, pooled keep-alive connections, connect and response
// timeouts), whose answer decides whether the client's request proceeds.
// Owned by the Stream that waits for it; lives on one worker thread.

#include <functional>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "dataplane/http/client_stream.h"
#include "dataplane/upstream/cluster_runtime.h"
#include "dataplane/upstream/endpoint_lease.h"

namespace portico::dataplane::proxy {

class Worker;

class AuthSubrequest final : public http::ClientStreamHandler {
 public:
  struct Answer {
    int status = 0;  // 0: no answer (connect failure, timeout, reset, no endpoint)
    http::HeaderMap headers;
  };
  // Called once, when the answer is complete (its body is read and dropped,
  // so that the connection returns to its pool). The owner may not destroy
  // the subrequest from inside; Cancel() is fine.
  using Done = std::function<void(Answer)>;

  AuthSubrequest(Worker& worker, std::shared_ptr<upstream::ClusterRuntime> cluster,
                 http::RequestHead head, Done done);
  ~AuthSubrequest() override;
  AuthSubrequest(const AuthSubrequest&) = delete;
  AuthSubrequest& operator=(const AuthSubrequest&) = delete;

  // Picks an endpoint and sends the request; `done` may run from inside.
  void Start();
  // Abandons the exchange; `done` never runs.
  void Cancel();

  // http::ClientStreamHandler
  void OnUpstreamReady() override;
  void OnResponseHeaders(http::ResponseHead head, bool end_stream) override;
  void OnResponseBody(std::string_view data, bool end_stream) override;
  void OnResponseTrailers(http::HeaderMap trailers) override;
  void OnUpstreamFailure(http::UpstreamFailure failure, bool response_started) override;
  void OnRequestDrained() override {}
  void OnUpgrade(http::ResponseHead head, http::UpgradedUpstream upstream) override;

 private:
  // One try at an endpoint (`endpoint` forced: the same one, fresh connection).
  void Attempt(std::optional<size_t> endpoint = std::nullopt);
  void Send();
  void Finish(int status);

  Worker& worker_;
  std::shared_ptr<upstream::ClusterRuntime> cluster_;
  http::RequestHead head_;
  Done done_;
  http::ClientStream* upstream_ = nullptr;
  std::vector<size_t> tried_;
  upstream::EndpointLease lease_;  // after cluster_: ends before it
  uint32_t attempts_ = 0;
  bool fresh_ = false;  // after a stale keep-alive connection failed
  int status_ = 0;
  http::HeaderMap headers_;
};

}  // namespace portico::dataplane::proxy
