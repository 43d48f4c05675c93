#include "controller/status/status_writer.h"

#include "common/log.h"
#include "common/net/ip_address.h"
#include "common/strings.h"

namespace portico::controller::status {
namespace {

constexpr std::chrono::milliseconds kRetryDelay{5000};

std::string Key(const std::string& ns, const std::string& name) { return StrCat(ns, "/", name); }

// The same addresses, whatever order the API keeps them in.
bool SameAddresses(const nlohmann::json& a, const nlohmann::json& b) {
  auto normal = [](const nlohmann::json& list) {
    std::vector<std::string> out;
    if (list.is_array()) {
      for (const auto& e : list) out.push_back(e.dump());
    }
    std::sort(out.begin(), out.end());
    return out;
  };
  return normal(a) == normal(b);
}

}  // namespace

nlohmann::json ServiceAddresses(const nlohmann::json& service) {
  nlohmann::json out = nlohmann::json::array();
  const auto lb = service.value("status", nlohmann::json::object())
                      .value("loadBalancer", nlohmann::json::object())
                      .value("ingress", nlohmann::json::array());
  if (lb.is_array()) {
    for (const auto& e : lb) {
      if (!e.is_object()) continue;
      nlohmann::json entry = nlohmann::json::object();
      if (e.contains("ip") && e["ip"].is_string()) entry["ip"] = e["ip"];
      if (e.contains("hostname") && e["hostname"].is_string()) entry["hostname"] = e["hostname"];
      if (!entry.empty()) out.push_back(entry);
    }
  }
  if (!out.empty()) return out;
  const auto spec = service.value("spec", nlohmann::json::object());
  const auto external = spec.value("externalIPs", nlohmann::json::array());
  if (external.is_array()) {
    for (const auto& ip : external) {
      if (ip.is_string()) out.push_back({{"ip", ip}});
    }
  }
  if (!out.empty()) return out;
  std::string cluster_ip = spec.value("clusterIP", "");
  if (!cluster_ip.empty() && cluster_ip != "None") out.push_back({{"ip", cluster_ip}});
  return out;
}

nlohmann::json LiteralAddresses(const std::vector<std::string>& addresses) {
  nlohmann::json out = nlohmann::json::array();
  for (const std::string& a : addresses) {
    if (a.empty()) continue;
    if (net::IpAddress::Parse(a).ok()) {
      out.push_back({{"ip", a}});
    } else {
      out.push_back({{"hostname", a}});
    }
  }
  return out;
}

std::vector<StatusPatch> PlanStatus(const StatusRound& round, const nlohmann::json& addresses,
                                    std::set<std::string>& owned) {
  std::vector<StatusPatch> patches;
  std::set<std::string> served;
  for (const auto& ingress : round.served) {
    std::string key = Key(ingress.ns, ingress.name);
    served.insert(key);
    auto it = round.current.find(key);
    if (it == round.current.end()) continue;  // not in the cache (yet): nothing to patch
    owned.insert(key);
    if (!SameAddresses(it->second, addresses)) {
      patches.push_back({ingress.ns, ingress.name, addresses});
    }
  }
  for (auto it = owned.begin(); it != owned.end();) {
    if (served.count(*it)) {
      ++it;
      continue;
    }
    auto current = round.current.find(*it);
    if (current != round.current.end() && current->second.is_array() && !current->second.empty()) {
      size_t slash = it->find('/');
      patches.push_back({it->substr(0, slash), it->substr(slash + 1), nullptr});
    }
    it = owned.erase(it);
  }
  return patches;
}

StatusWriter::StatusWriter(kube::ApiClient& client, StatusOptions options)
    : client_(client), options_(std::move(options)) {
  worker_ = std::make_unique<LatestWorker<StatusRound>>(
      [this](const StatusRound& round) { return Apply(round); }, kRetryDelay);
}

StatusWriter::~StatusWriter() { worker_->Stop(); }

void StatusWriter::Reset() { reset_.store(true); }

absl::StatusOr<nlohmann::json> StatusWriter::Addresses() {
  if (options_.publish_service.empty()) return LiteralAddresses(options_.publish_addresses);
  size_t slash = options_.publish_service.find('/');
  auto service =
      client_.Get(StrCat("/api/v1/namespaces/", options_.publish_service.substr(0, slash),
                         "/services/", options_.publish_service.substr(slash + 1)));
  if (!service.ok()) return service.status();
  return ServiceAddresses(*service);
}

bool StatusWriter::Apply(const StatusRound& round) {
  if (reset_.exchange(false)) owned_.clear();
  auto addresses = Addresses();
  if (!addresses.ok()) {
    failures_.fetch_add(1);
    LogWarning("status", "publish service ", options_.publish_service, ": ",
               addresses.status().message());
    return false;
  }
  bool all_ok = true;
  for (const StatusPatch& patch : PlanStatus(round, *addresses, owned_)) {
    nlohmann::json body = {{"status", {{"loadBalancer", {{"ingress", patch.ingress}}}}}};
    auto result = client_.MergePatch(StrCat("/apis/networking.k8s.io/v1/namespaces/", patch.ns,
                                            "/ingresses/", patch.name, "/status"),
                                     body);
    if (result.ok() || result.status().code() == absl::StatusCode::kNotFound) {
      if (result.ok()) updates_.fetch_add(1);
      LogInfo("status", patch.ingress.is_null() ? "cleared" : "set", " status of Ingress ",
              patch.ns, "/", patch.name, patch.ingress.is_null() ? "" : " to ",
              patch.ingress.is_null() ? "" : patch.ingress.dump());
      continue;
    }
    failures_.fetch_add(1);
    all_ok = false;
    if (patch.ingress.is_null()) owned_.insert(Key(patch.ns, patch.name));  // clear it next time
    LogWarning("status", "Ingress ", patch.ns, "/", patch.name, ": ", result.status().message());
  }
  return all_ok;
}

}  // namespace portico::controller::status
