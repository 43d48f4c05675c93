#include "controller/translate/annotations_upstream.h"

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "common/strings.h"
#include "controller/translate/annotation_values.h"

namespace portico::controller::translate {
namespace {

constexpr uint32_t kMaxTries = 100;

void SetDuration(google::protobuf::Duration* out, absl::Duration d) {
  const int64_t nanos = absl::ToInt64Nanoseconds(d);
  out->set_seconds(nanos / 1000000000);
  out->set_nanos(static_cast<int32_t>(nanos % 1000000000));
}

// Timeouts: zero would mean "fail at once", which nobody means.
void ParseTimeout(AnnotationReader& read, std::string_view name,
                  google::protobuf::Duration* (v1::Cluster::*field)(), v1::Cluster& cluster) {
  std::optional<absl::Duration> d = read.Duration(name);
  if (!d) return;
  if (*d <= absl::ZeroDuration()) {
    read.Invalid(*read.Find(name), "must be above zero");
    return;
  }
  SetDuration((cluster.*field)(), *d);
}

}  // namespace

std::optional<v1::RetryPolicy> ParseNextUpstream(std::string_view value) {
  struct Name {
    std::string_view text;
    v1::RetryPolicy::Condition condition;
  };
  static constexpr Name kNames[] = {
      {"error", v1::RetryPolicy::CONDITION_ERROR},
      {"timeout", v1::RetryPolicy::CONDITION_TIMEOUT},
      {"invalid_header", v1::RetryPolicy::CONDITION_INVALID_HEADER},
      {"http_500", v1::RetryPolicy::CONDITION_HTTP_500},
      {"http_502", v1::RetryPolicy::CONDITION_HTTP_502},
      {"http_503", v1::RetryPolicy::CONDITION_HTTP_503},
      {"http_504", v1::RetryPolicy::CONDITION_HTTP_504},
      {"http_403", v1::RetryPolicy::CONDITION_HTTP_403},
      {"http_404", v1::RetryPolicy::CONDITION_HTTP_404},
      {"http_429", v1::RetryPolicy::CONDITION_HTTP_429},
      {"non_idempotent", v1::RetryPolicy::CONDITION_NON_IDEMPOTENT},
  };
  std::vector<absl::string_view> words =
      absl::StrSplit(ToAbsl(value), absl::ByAnyChar(" \t"), absl::SkipEmpty());
  if (words.empty()) return std::nullopt;
  v1::RetryPolicy policy;
  if (words.size() == 1 && words[0] == "off") {
    policy.set_off(true);
    return policy;
  }
  for (absl::string_view word : words) {
    const Name* found = nullptr;
    for (const Name& n : kNames) {
      if (ToAbsl(n.text) == word) found = &n;
    }
    if (found == nullptr) return std::nullopt;  // "off" among others too, as nginx
    const auto& have = policy.conditions();
    if (std::find(have.begin(), have.end(), found->condition) == have.end()) {
      policy.add_conditions(found->condition);
    }
  }
  return policy;
}

void ParseUpstreamBehaviour(AnnotationReader& read, v1::Route& route_policy,
                            v1::Cluster& cluster_policy) {
  if (std::optional<uint64_t> size = read.Size("proxy-body-size")) {
    route_policy.set_max_request_body_bytes(*size);
  }
  ParseTimeout(read, "proxy-connect-timeout", &v1::Cluster::mutable_connect_timeout,
               cluster_policy);
  ParseTimeout(read, "proxy-send-timeout", &v1::Cluster::mutable_send_timeout, cluster_policy);
  ParseTimeout(read, "proxy-read-timeout", &v1::Cluster::mutable_response_timeout, cluster_policy);

  v1::RetryPolicy retry;
  bool any = false;
  if (auto found = read.Find("proxy-next-upstream")) {
    if (std::optional<v1::RetryPolicy> parsed = ParseNextUpstream(found->value)) {
      retry = std::move(*parsed);
      any = true;
    } else {
      read.Invalid(*found,
                   "must be \"off\" or conditions among error, timeout, invalid_header, "
                   "http_500, http_502, http_503, http_504, http_403, http_404, http_429, "
                   "non_idempotent, separated by spaces");
    }
  }
  // nginx's 0 means "unlimited": every endpoint once at most (each try goes
  // to an endpoint not tried yet), which kMaxTries stands for.
  if (auto tries = read.Uint("proxy-next-upstream-tries", 0, kMaxTries)) {
    retry.set_tries(*tries == 0 ? kMaxTries : static_cast<uint32_t>(*tries));
    any = true;
  }
  if (auto timeout = read.Duration("proxy-next-upstream-timeout")) {
    SetDuration(retry.mutable_timeout(), *timeout);  // 0: unlimited
    any = true;
  }
  if (any) *cluster_policy.mutable_retry() = std::move(retry);
}

v1::Cluster MergeClusterDefaults(const v1::Cluster& defaults, const v1::Cluster& policy) {
  v1::Cluster out = defaults;
  // MergeFrom would mix a Duration's seconds and nanos from both sides.
  if (policy.has_connect_timeout()) out.clear_connect_timeout();
  if (policy.has_response_timeout()) out.clear_response_timeout();
  if (policy.has_send_timeout()) out.clear_send_timeout();
  if (policy.has_idle_timeout()) out.clear_idle_timeout();
  v1::RetryPolicy retry = out.retry();
  const bool has_retry = out.has_retry() || policy.has_retry();
  if (policy.has_retry()) {
    const v1::RetryPolicy& p = policy.retry();
    if (p.off() || p.conditions_size() > 0) {
      retry.clear_conditions();
      retry.set_off(p.off());
      for (int c : p.conditions()) retry.add_conditions(static_cast<v1::RetryPolicy::Condition>(c));
    }
    if (p.tries() != 0) retry.set_tries(p.tries());
    if (p.has_timeout()) *retry.mutable_timeout() = p.timeout();
  }
  v1::Cluster rest = policy;
  rest.clear_retry();
  out.MergeFrom(rest);
  if (has_retry) *out.mutable_retry() = std::move(retry);
  return out;
}

}  // namespace portico::controller::translate
