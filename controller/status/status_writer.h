#pragma once
// Writes status.loadBalancer.ingress of the Ingresses this controller serves:
// the address of --publish-service (its load balancer's ingress, else its
// external IPs, else its cluster IP) or the literal --publish-address list.
// Ingresses that leave our class (or the controller's hands) have the status
// this leader wrote cleared; Ingresses of other classes are never touched.
// Only the leader submits rounds (the controller decides).
//
// Threading: Submit() from any thread; requests run on the writer's thread.

#include <atomic>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include "controller/kube/api_client.h"
#include "controller/status/latest_worker.h"
#include "controller/translate/translator.h"

namespace portico::controller::status {

struct StatusOptions {
  std::string publish_service;                 // "namespace/name"; wins over the list
  std::vector<std::string> publish_addresses;  // IPs become `ip`, names `hostname`
};

// What the translation says and what the cache holds.
struct StatusRound {
  std::vector<translate::ObjectName> served;
  // status.loadBalancer.ingress of every Ingress in the cache, by "ns/name"
  // (null when unset).
  std::map<std::string, nlohmann::json> current;
};

struct StatusPatch {
  std::string ns, name;
  nlohmann::json ingress;  // the new status.loadBalancer.ingress; null clears it
};

// LoadBalancerIngress entries for a Service object: status.loadBalancer.ingress,
// else spec.externalIPs, else spec.clusterIP (not "None"); empty array if none.
nlohmann::json ServiceAddresses(const nlohmann::json& service);
// Entries for literal addresses: IPv4/IPv6 literals as {ip}, others as {hostname}.
nlohmann::json LiteralAddresses(const std::vector<std::string>& addresses);

// The patches that take the cluster from `round.current` to `addresses` on
// every served Ingress, and clear the Ingresses in `owned` that are no longer
// served. `owned` (the keys this writer has set) is updated as if every patch
// succeeded. Pure: no I/O.
std::vector<StatusPatch> PlanStatus(const StatusRound& round, const nlohmann::json& addresses,
                                    std::set<std::string>& owned);

class StatusWriter {
 public:
  StatusWriter(kube::ApiClient& client, StatusOptions options);
  ~StatusWriter();

  void Submit(StatusRound round) { worker_->Submit(std::move(round)); }
  // Forgets what this writer owns (leadership lost: the next leader decides).
  void Reset();

  uint64_t updates() const { return updates_.load(); }
  uint64_t failures() const { return failures_.load(); }

 private:
  bool Apply(const StatusRound& round);
  absl::StatusOr<nlohmann::json> Addresses();

  kube::ApiClient& client_;
  const StatusOptions options_;
  std::atomic<bool> reset_{false};
  std::set<std::string> owned_;  // writer thread only
  std::atomic<uint64_t> updates_{0}, failures_{0};
  std::unique_ptr<LatestWorker<StatusRound>> worker_;  // last: stops first
};

}  // namespace portico::controller::status
