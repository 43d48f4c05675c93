#include "controller/kube/informer.h"

#include <random>

#include "common/log.h"
#include "common/strings.h"

namespace portico::controller::kube {
namespace {

std::string QueryEscape(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string ResourceVersionOf(const nlohmann::json& object) {
  const auto& meta = object.value("metadata", nlohmann::json::object());
  if (!meta.is_object()) return "";
  auto rv = meta.find("resourceVersion");
  return rv != meta.end() && rv->is_string() ? rv->get<std::string>() : "";
}

}  // namespace

std::string Resource::CollectionPath(const std::string& ns) const {
  std::string path = api_version.find('/') == std::string::npos ? StrCat("/api/", api_version)
                                                                : StrCat("/apis/", api_version);
  if (namespaced && !ns.empty()) path += StrCat("/namespaces/", ns);
  return StrCat(path, "/", plural);
}

std::string ObjectKey(const nlohmann::json& object) {
  auto meta = object.find("metadata");
  if (meta == object.end() || !meta->is_object()) return "";
  std::string name = meta->value("name", "");
  if (name.empty()) return "";
  std::string ns = meta->value("namespace", "");
  return ns.empty() ? name : StrCat(ns, "/", name);
}

CacheDiff DiffCaches(const ObjectCache& before, const ObjectCache& after) {
  CacheDiff diff;
  for (const auto& [key, object] : after) {
    auto old = before.find(key);
    if (old == before.end()) {
      ++diff.added;
    } else if (ResourceVersionOf(old->second) != ResourceVersionOf(object) ||
               ResourceVersionOf(object).empty()) {
      ++diff.updated;
    }
  }
  for (const auto& [key, object] : before) {
    if (!after.count(key)) ++diff.deleted;
  }
  return diff;
}

Informer::Informer(ApiClient& client, Resource resource, std::string ns, InformerOptions options,
                   std::function<void()> on_change)
    : client_(client),
      resource_(std::move(resource)),
      ns_(std::move(ns)),
      options_(options),
      on_change_(std::move(on_change)),
      name_(StrCat(resource_.label.empty() ? resource_.plural : resource_.label,
                   ns_.empty() ? "" : "/", ns_)) {}

Informer::~Informer() { Stop(); }

void Informer::Start() {
  thread_ = std::thread([this] { Run(); });
}

void Informer::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::vector<nlohmann::json> Informer::Objects() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<nlohmann::json> out;
  out.reserve(cache_.size());
  for (const auto& [key, object] : cache_) out.push_back(object);
  return out;
}

bool Informer::SleepFor(std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(mu_);
  return !wake_.wait_for(lock, wait, [this] { return stopping_; });
}

void Informer::Normalize(nlohmann::json& object) const {
  // List items carry no kind; the decoder needs it. managedFields is large and unused.
  object["kind"] = resource_.kind;
  object["apiVersion"] = resource_.api_version;
  if (auto meta = object.find("metadata"); meta != object.end() && meta->is_object()) {
    meta->erase("managedFields");
  }
}

void Informer::Run() {
  Backoff backoff(options_.backoff);
  bool need_list = true;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) return;
    }
    auto started = std::chrono::steady_clock::now();
    uint64_t events_before = events_.load();
    absl::Status status = need_list ? List() : Watch();
    if (status.ok() && need_list) {
      need_list = false;
      continue;
    }
    if (status.ok()) {
      watch_restarts_.fetch_add(1);  // the server ended the watch: resume it
      // A watch that ends at once with nothing in it would otherwise spin.
      bool empty = events_.load() == events_before &&
                   std::chrono::steady_clock::now() - started < std::chrono::seconds(1);
      if (!empty) {
        backoff.Reset();
        continue;
      }
      if (!SleepFor(backoff.Next())) return;
      continue;
    }
    if (status.code() == absl::StatusCode::kCancelled) return;
    if (status.code() == absl::StatusCode::kOutOfRange) {
      // 410 Gone: our resourceVersion is older than the server keeps. Re-list now.
      LogInfo("kube", name_, ": watch expired (410), re-listing");
      need_list = true;
      continue;
    }
    errors_.fetch_add(1);
    if (status.code() == absl::StatusCode::kAborted) need_list = true;
    auto wait = backoff.Next();
    LogWarning("kube", name_, ": ", status.message(), "; retrying in ", wait.count(), " ms");
    if (!SleepFor(wait)) return;
  }
}

absl::Status Informer::List() {
  ObjectCache fresh;
  std::string list_version;
  std::string cont;
  do {
    std::string path = StrCat(resource_.CollectionPath(ns_), "?limit=", options_.page_size);
    if (!resource_.field_selector.empty()) {
      path += StrCat("&fieldSelector=", QueryEscape(resource_.field_selector));
    }
    if (!cont.empty()) path += StrCat("&continue=", QueryEscape(cont));
    auto page = client_.Get(path);
    if (!page.ok()) return page.status();
    auto items = page->find("items");
    if (!page->is_object() || items == page->end() || !(items->is_array() || items->is_null())) {
      return absl::DataLossError(StrCat("LIST ", name_, ": response has no items array"));
    }
    if (items->is_array()) {
      for (auto& item : *items) {
        if (!item.is_object()) continue;
        Normalize(item);
        std::string key = ObjectKey(item);
        if (!key.empty()) fresh[key] = std::move(item);
      }
    }
    const auto& meta = page->value("metadata", nlohmann::json::object());
    list_version = meta.is_object() ? meta.value("resourceVersion", "") : "";
    cont = meta.is_object() ? meta.value("continue", "") : "";
  } while (!cont.empty());

  CacheDiff diff;
  {
    std::lock_guard<std::mutex> lock(mu_);
    diff = DiffCaches(cache_, fresh);
    cache_ = std::move(fresh);
  }
  resource_version_ = list_version;
  if (lists_.fetch_add(1) > 0) {
    relists_.fetch_add(1);
    LogInfo("kube", name_, ": re-listed: ", diff.added, " added, ", diff.updated, " updated, ",
            diff.deleted, " deleted");
  }
  bool first = !synced_.exchange(true);
  if (first || !diff.empty()) on_change_();
  return absl::OkStatus();
}

absl::Status Informer::Watch() {
  static thread_local std::mt19937 rng{std::random_device{}()};
  int64_t base = options_.watch_timeout.count();
  int64_t timeout = base + std::uniform_int_distribution<int64_t>(0, base / 2)(rng);
  std::string path =
      StrCat(resource_.CollectionPath(ns_), "?watch=1&allowWatchBookmarks=true",
             "&timeoutSeconds=", timeout, "&resourceVersion=", QueryEscape(resource_version_));
  if (!resource_.field_selector.empty()) {
    path += StrCat("&fieldSelector=", QueryEscape(resource_.field_selector));
  }
  absl::Status event_status;
  absl::Status status =
      client_.Stream(path, std::chrono::seconds(timeout + 30), [&](std::string_view line) {
        event_status = ApplyEvent(line);
        if (!event_status.ok()) return false;
        std::lock_guard<std::mutex> lock(mu_);
        return !stopping_;
      });
  if (!event_status.ok()) return event_status;
  return status;
}

absl::Status Informer::ApplyEvent(std::string_view line) {
  auto event = nlohmann::json::parse(line, nullptr, false);
  if (!event.is_object() || !event.contains("type") || !event["type"].is_string() ||
      !event.contains("object") || !event["object"].is_object()) {
    return absl::DataLossError(StrCat("WATCH ", name_, ": malformed event"));
  }
  std::string type = event["type"].get<std::string>();
  nlohmann::json& object = event["object"];
  if (type == "ERROR") {
    int code = object.value("code", 0);
    std::string message = object.value("message", "");
    if (code == 410) return absl::OutOfRangeError(StrCat("gone: ", message));
    // Any other error event (an etcd hiccup behind the watch cache gives 500)
    // may repeat for every watch from this version: re-list, as client-go does.
    return absl::AbortedError(StrCat("WATCH ", name_, ": error event ", code, ": ", message));
  }
  events_.fetch_add(1);
  std::string version = ResourceVersionOf(object);
  if (type == "BOOKMARK") {
    if (!version.empty()) resource_version_ = version;
    return absl::OkStatus();
  }
  std::string key = ObjectKey(object);
  if (key.empty()) return absl::DataLossError(StrCat("WATCH ", name_, ": object without name"));
  Normalize(object);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (type == "ADDED" || type == "MODIFIED") {
      cache_[key] = std::move(object);
    } else if (type == "DELETED") {
      cache_.erase(key);
    } else {
      return absl::DataLossError(StrCat("WATCH ", name_, ": unknown event type ", type));
    }
  }
  if (!version.empty()) resource_version_ = version;
  on_change_();
  return absl::OkStatus();
}

}  // namespace portico::controller::kube
