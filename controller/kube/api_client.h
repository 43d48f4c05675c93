#pragma once
// A small Kubernetes API client over HTTPS (cpp-httplib + OpenSSL): JSON
// requests, and streamed GETs for watches. Server errors become absl::Status
// codes that callers can act on:
//   401 -> Unauthenticated, 403 -> PermissionDenied (the message names the
//   RBAC verb, resource and namespace that are missing), 404 -> NotFound,
//   409 -> Aborted (conflict: re-read and retry), 410 -> OutOfRange (Gone:
//   the resourceVersion is too old, re-list), 4xx -> InvalidArgument,
//   5xx, 429 and transport failures -> Unavailable, malformed JSON -> DataLoss.
//
// Threading: every method may be called from any thread, concurrently. Each
// request uses its own connection (requests are rare: lists, watch starts,
// status writes), so a slow watch never blocks a status write.

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "controller/kube/client_config.h"

namespace httplib {
class ClientImpl;
}

namespace portico::controller::kube {

// What an API request asks for, in RBAC terms, for error messages.
struct RequestInfo {
  std::string verb;      // get, list, watch, create, update, patch, delete
  std::string group;     // "" for the core group
  std::string resource;  // "ingresses", "ingresses/status"
  std::string ns;        // empty: cluster scope
  std::string name;
};

// Parses "/api/v1/namespaces/x/services?watch=1" style paths.
RequestInfo DescribeRequest(std::string_view method, std::string_view path);

// The Status for an HTTP answer that is not 2xx; `body` is the API's Status object.
absl::Status StatusFromResponse(int http_status, std::string_view body, std::string_view method,
                                std::string_view path);

class ApiClient {
 public:
  // Parses the CA and client certificate once; fails when they do not parse.
  static absl::StatusOr<std::unique_ptr<ApiClient>> Create(ClientConfig config);
  ~ApiClient();

  absl::StatusOr<nlohmann::json> Get(const std::string& path);
  absl::StatusOr<nlohmann::json> Post(const std::string& path, const nlohmann::json& body);
  absl::StatusOr<nlohmann::json> Put(const std::string& path, const nlohmann::json& body);
  // A JSON merge patch (RFC 7386).
  absl::StatusOr<nlohmann::json> MergePatch(const std::string& path, const nlohmann::json& body);

  // GETs `path` and calls on_line with each newline-terminated line of the
  // body as it arrives (a watch). Returns OK when the server ends the stream
  // or on_line returns false; an error status when the request fails, the
  // server answers non-2xx, nothing arrives for `idle_timeout`, a line passes
  // 64 MiB, or Shutdown() was called.
  absl::Status Stream(const std::string& path, std::chrono::seconds idle_timeout,
                      const std::function<bool(std::string_view line)>& on_line);

  // Aborts every request in flight and fails every later one (process exit).
  void Shutdown();

  const ClientConfig& config() const { return config_; }

 private:
  struct TlsMaterial;
  ApiClient(ClientConfig config, std::unique_ptr<TlsMaterial> tls);

  absl::StatusOr<nlohmann::json> Send(std::string_view method, const std::string& path,
                                      const nlohmann::json* body, const char* content_type);
  // A connected-on-demand client with TLS, auth and timeouts set, registered
  // for Shutdown(); nullptr after Shutdown().
  absl::StatusOr<std::shared_ptr<httplib::ClientImpl>> NewClient(std::chrono::seconds read_timeout);
  void Release(const std::shared_ptr<httplib::ClientImpl>& client);

  const ClientConfig config_;
  const std::unique_ptr<TlsMaterial> tls_;
  std::mutex mu_;
  std::set<std::shared_ptr<httplib::ClientImpl>> in_flight_;  // guarded by mu_
  bool shut_down_ = false;                                    // guarded by mu_
};

}  // namespace portico::controller::kube
