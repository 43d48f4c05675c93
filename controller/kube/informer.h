#pragma once
// An informer keeps a local copy of one resource type (in one namespace or
// all): a paginated LIST, then a WATCH from the listed resourceVersion with
// bookmarks; a watch that ends is resumed from the last version seen, a
// 410 Gone (or a watch ERROR event of any code) re-lists and replaces the
// cache with what the server has, and failures retry with jittered exponential
// backoff. Every change to the cache calls on_change (from the informer's own
// thread), which only has to wake the reader: the reader copies Objects().
//
// Threading: Start() and Stop() from the owner; Objects(), synced() and the
// counters from any thread. Stop() does not abort a request in flight: the
// owner calls ApiClient::Shutdown() first (or the request times out).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>
#include "absl/status/status.h"
#include "controller/kube/api_client.h"
#include "controller/kube/backoff.h"

namespace portico::controller::kube {

// A resource type as the API serves it.
struct Resource {
  std::string kind;         // "Ingress"
  std::string api_version;  // "networking.k8s.io/v1", "v1"
  std::string plural;       // "ingresses"
  bool namespaced = true;
  std::string field_selector;  // e.g. "type=kubernetes.io/tls"; empty: none
  // Names the informer in logs and metrics instead of `plural`, when one
  // kind has two informers (Secrets of two types).
  std::string label;

  // "/apis/networking.k8s.io/v1/namespaces/NS/ingresses" (ns empty: all namespaces).
  std::string CollectionPath(const std::string& ns) const;
};

struct InformerOptions {
  int page_size = 500;
  // The server ends each watch after about this long (timeoutSeconds, with
  // jitter); the informer then resumes from the last resourceVersion.
  std::chrono::seconds watch_timeout{300};
  BackoffPolicy backoff;
};

// Objects keyed by "namespace/name" (or "name" for cluster-scoped kinds).
using ObjectCache = std::map<std::string, nlohmann::json>;

struct CacheDiff {
  size_t added = 0, updated = 0, deleted = 0;
  bool empty() const { return added + updated + deleted == 0; }
};
// What changed from `before` to `after`; objects compare by resourceVersion.
CacheDiff DiffCaches(const ObjectCache& before, const ObjectCache& after);

// "namespace/name" of an object; empty when it has no name.
std::string ObjectKey(const nlohmann::json& object);

class Informer {
 public:
  Informer(ApiClient& client, Resource resource, std::string ns, InformerOptions options,
           std::function<void()> on_change);
  ~Informer();

  void Start();
  void Stop();

  // True once the first LIST has completed.
  bool synced() const { return synced_.load(); }
  // A copy of the cache, each object with kind and apiVersion set.
  std::vector<nlohmann::json> Objects() const;
  // "ingresses" or "ingresses/NAMESPACE", for logs and metric labels.
  const std::string& name() const { return name_; }
  const Resource& resource() const { return resource_; }

  uint64_t lists() const { return lists_.load(); }
  uint64_t relists() const { return relists_.load(); }
  uint64_t watch_restarts() const { return watch_restarts_.load(); }
  uint64_t errors() const { return errors_.load(); }

 private:
  void Run();
  absl::Status List();
  absl::Status Watch();
  // Applies one watch event line; OutOfRange for a 410 ERROR event, Aborted
  // for other ERROR events (both re-list).
  absl::Status ApplyEvent(std::string_view line);
  void Normalize(nlohmann::json& object) const;
  bool SleepFor(std::chrono::milliseconds wait);  // false once stopped

  ApiClient& client_;
  const Resource resource_;
  const std::string ns_;
  const InformerOptions options_;
  const std::function<void()> on_change_;
  const std::string name_;

  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;         // guarded by mu_
  ObjectCache cache_;             // guarded by mu_
  std::string resource_version_;  // informer thread only
  std::atomic<bool> synced_{false};
  std::atomic<uint64_t> lists_{0}, relists_{0}, watch_restarts_{0}, errors_{0}, events_{0};
};

}  // namespace portico::controller::kube
