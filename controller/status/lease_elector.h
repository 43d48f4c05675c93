#pragma once
// Leader election with a coordination.k8s.io/v1 Lease, as client-go's
// leaderelection package does it: a candidate takes the Lease when it is
// free or its holder has not renewed for leaseDurationSeconds (judged by when
// this process last saw the record change, so clocks need not agree), renews
// it every retry_period, and steps down when it could not renew for
// renew_deadline. On Stop() a leader releases the Lease (empty holder) so a
// standby takes over at once instead of waiting out the lease.
// Updates carry the resourceVersion read, so two candidates cannot both win.
//
// Threading: Start()/Stop() from the owner; leading() from any thread;
// on_change runs on the elector's thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>
#include "absl/status/status.h"
#include "controller/kube/api_client.h"

namespace portico::controller::status {

struct LeaderElectionOptions {
  std::string ns = "default";
  std::string name = "portico-controller-leader";
  std::string identity;  // unique per replica (host name and pid by default)
  std::chrono::milliseconds lease_duration{15000};
  std::chrono::milliseconds renew_deadline{10000};
  std::chrono::milliseconds retry_period{2000};
};

// The Lease's spec as candidates read and write it.
struct LeaseRecord {
  std::string holder;
  int lease_duration_seconds = 0;
  std::string acquire_time, renew_time;  // RFC 3339 with microseconds
  int transitions = 0;

  static LeaseRecord FromLease(const nlohmann::json& lease);
  nlohmann::json ToSpec() const;
  friend bool operator==(const LeaseRecord&, const LeaseRecord&) = default;
};

// Now as a Kubernetes MicroTime ("2026-12-02T07:00:00.123456Z").
std::string MicroTimeNow();

class LeaderElector {
 public:
  LeaderElector(kube::ApiClient& client, LeaderElectionOptions options,
                std::function<void(bool leading)> on_change);
  ~LeaderElector();

  void Start();
  // Releases the Lease when leading, then joins. Call before ApiClient::Shutdown().
  void Stop();
  bool leading() const { return leading_.load(); }
  uint64_t transitions() const { return transitions_.load(); }

 private:
  void Run();
  // One attempt to acquire or renew; true when we hold the Lease afterwards.
  bool TryAcquireOrRenew();
  void Release();
  void SetLeading(bool leading);
  bool SleepFor(std::chrono::milliseconds wait);  // false once stopping

  kube::ApiClient& client_;
  const LeaderElectionOptions options_;
  const std::function<void(bool)> on_change_;
  const std::string path_;  // the Lease's URL path

  std::thread thread_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mu_
  std::atomic<bool> leading_{false};
  std::atomic<uint64_t> transitions_{0};

  // Elector thread only.
  LeaseRecord observed_;
  std::chrono::steady_clock::time_point observed_at_{};
  std::string resource_version_;
};

}  // namespace portico::controller::status
