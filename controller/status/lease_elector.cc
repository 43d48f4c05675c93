#include "controller/status/lease_elector.h"

#include <random>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "common/log.h"
#include "common/strings.h"

namespace portico::controller::status {
namespace {

std::string StringField(const nlohmann::json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

std::string MicroTimeNow() {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E6SZ", absl::Now(), absl::UTCTimeZone());
}

LeaseRecord LeaseRecord::FromLease(const nlohmann::json& lease) {
  LeaseRecord record;
  auto spec = lease.find("spec");
  if (spec == lease.end() || !spec->is_object()) return record;
  record.holder = StringField(*spec, "holderIdentity");
  record.acquire_time = StringField(*spec, "acquireTime");
  record.renew_time = StringField(*spec, "renewTime");
  if (auto d = spec->find("leaseDurationSeconds"); d != spec->end() && d->is_number_integer()) {
    record.lease_duration_seconds = d->get<int>();
  }
  if (auto t = spec->find("leaseTransitions"); t != spec->end() && t->is_number_integer()) {
    record.transitions = t->get<int>();
  }
  return record;
}

nlohmann::json LeaseRecord::ToSpec() const {
  nlohmann::json spec = {{"leaseDurationSeconds", lease_duration_seconds},
                         {"leaseTransitions", transitions}};
  spec["holderIdentity"] = holder;
  if (!acquire_time.empty()) spec["acquireTime"] = acquire_time;
  if (!renew_time.empty()) spec["renewTime"] = renew_time;
  return spec;
}

LeaderElector::LeaderElector(kube::ApiClient& client, LeaderElectionOptions options,
                             std::function<void(bool)> on_change)
    : client_(client),
      options_(std::move(options)),
      on_change_(std::move(on_change)),
      path_(StrCat("/apis/coordination.k8s.io/v1/namespaces/", options_.ns, "/leases/",
                   options_.name)) {}

LeaderElector::~LeaderElector() { Stop(); }

void LeaderElector::Start() {
  thread_ = std::thread([this] { Run(); });
}

void LeaderElector::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ && !thread_.joinable()) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool LeaderElector::SleepFor(std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(mu_);
  return !wake_.wait_for(lock, wait, [this] { return stopping_; });
}

void LeaderElector::SetLeading(bool leading) {
  if (leading_.exchange(leading) == leading) return;
  transitions_.fetch_add(1);
  if (leading) {
    LogInfo("leader", options_.identity, " became leader (lease ", options_.ns, "/", options_.name,
            ")");
  } else {
    LogWarning("leader", options_.identity, " stepped down (lease ", options_.ns, "/",
               options_.name, ")");
  }
  on_change_(leading);
}

void LeaderElector::Run() {
  std::mt19937 rng{std::random_device{}()};
  auto jittered = [&](std::chrono::milliseconds base) {
    std::uniform_real_distribution<double> draw(1.0, 1.2);
    return std::chrono::milliseconds(static_cast<int64_t>(base.count() * draw(rng)));
  };
  auto last_renew = std::chrono::steady_clock::now();
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) break;
    }
    bool held = TryAcquireOrRenew();
    auto now = std::chrono::steady_clock::now();
    if (held) {
      last_renew = now;
      SetLeading(true);
    } else if (leading_.load() && (observed_.holder != options_.identity ||
                                   now - last_renew >= options_.renew_deadline)) {
      // Someone else holds it, or we could not renew in time and someone may.
      SetLeading(false);
    }
    // A leader renews every retry period; candidates poll at the same pace, jittered.
    if (!SleepFor(held ? options_.retry_period : jittered(options_.retry_period))) break;
  }
  if (leading_.load()) {
    Release();
    SetLeading(false);
  }
}

bool LeaderElector::TryAcquireOrRenew() {
  auto now = std::chrono::steady_clock::now();
  std::string micro_now = MicroTimeNow();
  int duration_seconds = static_cast<int>(
      std::chrono::duration_cast<std::chrono::seconds>(options_.lease_duration).count());
  if (duration_seconds < 1) duration_seconds = 1;

  auto lease = client_.Get(path_);
  if (!lease.ok() && lease.status().code() == absl::StatusCode::kNotFound) {
    LeaseRecord mine{options_.identity, duration_seconds, micro_now, micro_now, 0};
    nlohmann::json body = {{"apiVersion", "coordination.k8s.io/v1"},
                           {"kind", "Lease"},
                           {"metadata", {{"name", options_.name}, {"namespace", options_.ns}}},
                           {"spec", mine.ToSpec()}};
    auto created = client_.Post(
        StrCat("/apis/coordination.k8s.io/v1/namespaces/", options_.ns, "/leases"), body);
    if (!created.ok()) {
      if (created.status().code() != absl::StatusCode::kAborted) {
        LogWarning("leader", "creating lease: ", created.status().message());
      }
      return false;
    }
    observed_ = mine;
    observed_at_ = now;
    return true;
  }
  if (!lease.ok()) {
    LogWarning("leader", "reading lease: ", lease.status().message());
    return false;
  }
  LeaseRecord current = LeaseRecord::FromLease(*lease);
  if (!(current == observed_)) {
    observed_ = current;
    observed_at_ = now;
  }
  bool mine = current.holder == options_.identity;
  auto held_for = std::chrono::seconds(current.lease_duration_seconds);
  if (!mine && !current.holder.empty() && observed_at_ + held_for > now) {
    return false;  // held by someone who renewed recently
  }
  LeaseRecord next = current;
  next.holder = options_.identity;
  next.lease_duration_seconds = duration_seconds;
  next.renew_time = micro_now;
  if (!mine) {
    next.acquire_time = micro_now;
    next.transitions = current.transitions + 1;
  }
  nlohmann::json body = *lease;
  body["spec"] = next.ToSpec();
  auto updated = client_.Put(path_, body);
  if (!updated.ok()) {
    if (updated.status().code() != absl::StatusCode::kAborted) {
      LogWarning("leader", "updating lease: ", updated.status().message());
    }
    return false;
  }
  observed_ = next;
  observed_at_ = now;
  return true;
}

void LeaderElector::Release() {
  auto lease = client_.Get(path_);
  if (!lease.ok()) return;
  LeaseRecord current = LeaseRecord::FromLease(*lease);
  if (current.holder != options_.identity) return;
  std::string micro_now = MicroTimeNow();
  LeaseRecord released{"", 1, micro_now, micro_now, current.transitions};
  nlohmann::json body = *lease;
  body["spec"] = released.ToSpec();
  if (auto s = client_.Put(path_, body); !s.ok()) {
    LogWarning("leader", "releasing lease: ", s.status().message());
  }
}

}  // namespace portico::controller::status
