#include "dataplane/proxy/dataplane.h"

#include <ev.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>

#include "common/log.h"
#include "common/strings.h"
#include "dataplane/event/socket.h"
#include "dataplane/proxy/access_log.h"
#include "dataplane/tls/ticket_keys.h"

namespace portico::dataplane::proxy {

// libev watchers of the main loop; `data` points at the Dataplane.
struct DataplaneCallbacks {
  ev_signal sighup, sigterm, sigint;
  ev_stat snapshot_stat;
  ev_timer drain_poll;
  ev_timer ticket_rotation;

  static Dataplane* Self(void* data) { return static_cast<Dataplane*>(data); }
  static void OnHup(struct ev_loop*, ev_signal* w, int) { Self(w->data)->Reload("SIGHUP"); }
  static void OnTerm(struct ev_loop*, ev_signal* w, int) { Self(w->data)->BeginDrain(); }
  static void OnStat(struct ev_loop*, ev_stat* w, int) {
    // A rename over the file or a rewrite both land here; a vanished file is
    // a transient state of the writer, not a request to drop the config.
    if (w->attr.st_nlink == 0) return;
    Self(w->data)->Reload("file change");
  }
  static void OnTicketRotation(struct ev_loop*, ev_timer*, int) {
    tls::TicketKeys::Global().Rotate();
  }
  static void OnDrainPoll(struct ev_loop*, ev_timer* w, int) {
    Self(w->data)->CheckWorkersFinished();
  }
};

namespace {
DataplaneCallbacks g_watchers;
}  // namespace

Dataplane::Dataplane(DataplaneOptions options) : options_(std::move(options)) {}

Dataplane::~Dataplane() {
  if (admin_) admin_->Stop();
}

absl::Status Dataplane::Run() {
  // Workers inherit a mask without these: only the main loop handles them.
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGHUP);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  signal(SIGPIPE, SIG_IGN);

  loop_ = ev_default_loop(EVFLAG_AUTO);
  if (!options_.snapshot_path.empty()) Reload("start");
  if (!options_.subscription.controllers.empty() && !options_.snapshot_path.empty()) {
    return absl::InvalidArgumentError("--snapshot and --controller are exclusive");
  }
  if (!options_.subscription.controllers.empty() && !options_.subscription.state_dir.empty()) {
    // Serve what was last applied until a controller answers.
    auto persisted = config::Subscription::LoadPersisted(options_.subscription.state_dir);
    if (persisted.ok()) {
      (void)Apply(*persisted, "persisted state");
    } else if (!absl::IsNotFound(persisted.status())) {
      LogWarning("dataplane", "persisted snapshot unusable: ", persisted.status().message());
    }
  }

  std::vector<std::vector<WorkerListener>> listeners;
  if (auto status = StartListeners(listeners); !status.ok()) return status;
  std::shared_ptr<const config::Config> initial;
  {
    std::lock_guard<std::mutex> lock(mu_);
    initial = current_;
  }
  WorkerOptions worker_options;
  worker_options.access_log = options_.access_log;
  worker_options.metrics_per_host = options_.metrics_per_host;
  worker_options.h2c = options_.h2c;
  worker_options.proxy_protocol = options_.proxy_protocol;
  worker_options.http2_stall_timeout = options_.http2_stall_timeout;
  worker_options.https_redirect_port = options_.https_redirect_port;
  worker_options.rate_limiter = std::make_shared<policy::RateLimiter>();
  for (size_t i = 0; i < listeners.size(); ++i) {
    workers_.push_back(
        std::make_unique<Worker>(static_cast<int>(i), std::move(listeners[i]), worker_options));
  }
  for (auto& w : workers_) w->Start(initial);
  if (auto status = StartAdmin(); !status.ok()) {
    for (auto& w : workers_) w->PostStop();
    for (auto& w : workers_) w->Join();
    return status;
  }

  ev_signal_init(&g_watchers.sighup, &DataplaneCallbacks::OnHup, SIGHUP);
  ev_signal_init(&g_watchers.sigterm, &DataplaneCallbacks::OnTerm, SIGTERM);
  ev_signal_init(&g_watchers.sigint, &DataplaneCallbacks::OnTerm, SIGINT);
  for (ev_signal* s : {&g_watchers.sighup, &g_watchers.sigterm, &g_watchers.sigint}) {
    s->data = this;
    ev_signal_start(loop_, s);
  }
  // Handlers are installed; only now may this thread receive the signals
  // (libev leaves the mask alone, and every other thread keeps them blocked).
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  if (!options_.snapshot_path.empty()) {
    ev_stat_init(&g_watchers.snapshot_stat, &DataplaneCallbacks::OnStat,
                 options_.snapshot_path.c_str(), 1.0);
    g_watchers.snapshot_stat.data = this;
    ev_stat_start(loop_, &g_watchers.snapshot_stat);
  }
  if (!options_.https_listen.empty() && options_.ticket_key_rotation > 0) {
    ev_timer_init(&g_watchers.ticket_rotation, &DataplaneCallbacks::OnTicketRotation,
                  options_.ticket_key_rotation, options_.ticket_key_rotation);
    ev_timer_start(loop_, &g_watchers.ticket_rotation);
    ev_unref(loop_);  // the rotation alone does not keep the loop alive
  }
  StartSubscription();
  ev_run(loop_, 0);
  if (subscription_) subscription_->Stop();

  for (auto& w : workers_) w->Join();
  if (admin_) admin_->Stop();
  LogInfo("dataplane", "stopped");
  return absl::OkStatus();
}

absl::Status Dataplane::StartListeners(std::vector<std::vector<WorkerListener>>& per_worker) {
  per_worker.assign(static_cast<size_t>(options_.workers), {});
  auto close_all = [&] {
    for (auto& listeners : per_worker) {
      for (const WorkerListener& l : listeners) close(l.fd);
    }
    per_worker.clear();
  };
  if (auto s = ListenAll(options_.http_listen, "http", false, per_worker); !s.ok()) {
    close_all();
    return s;
  }
  if (!options_.https_listen.empty()) {
    if (auto s = ListenAll(options_.https_listen, "https", true, per_worker); !s.ok()) {
      close_all();
      return s;
    }
  }
  return absl::OkStatus();
}

absl::Status Dataplane::ListenAll(const std::string& address, const char* what, bool tls,
                                  std::vector<std::vector<WorkerListener>>& per_worker) {
  auto addr = event::ParseSocketAddress(address);
  if (!addr.ok()) return addr.status();
  // SO_REUSEPORT would also let a second data plane (same user) share the
  // port and silently take half the connections. A probe bind without it
  // fails when anyone holds the port, and fixes the port when it is 0.
  {
    auto probe = event::Listen(*addr, /*reuse_port=*/false);
    if (!probe.ok()) return probe.status();
    auto bound = event::LocalAddress(*probe);
    close(*probe);
    if (!bound.ok()) return bound.status();
    *addr = *bound;
  }
  // Every worker's socket joins that port through SO_REUSEPORT so the kernel
  // spreads connections across workers.
  for (int i = 0; i < options_.workers; ++i) {
    auto fd = event::Listen(*addr, /*reuse_port=*/true);
    if (!fd.ok()) return fd.status();
    per_worker[static_cast<size_t>(i)].push_back({*fd, tls, addr->port()});
    if (i == 0) {
      auto bound = event::LocalAddress(*fd);
      if (!bound.ok()) return bound.status();
      *addr = *bound;
      LogInfo("dataplane", what, " listening on ", addr->ToString(), " with ", options_.workers,
              " workers");
    }
  }
  return absl::OkStatus();
}

absl::Status Dataplane::StartAdmin() {
  auto addr = event::ParseSocketAddress(options_.admin_listen);
  if (!addr.ok()) return addr.status();
  std::string text = addr->ToString();
  std::string host = text.substr(0, text.rfind(':'));
  if (!host.empty() && host.front() == '[') host = host.substr(1, host.size() - 2);
  portico::admin::AdminHandlers handlers;
  handlers.ready = [this] {
    std::lock_guard<std::mutex> lock(mu_);
    return current_ != nullptr && !draining_.load();
  };
  handlers.metrics = [this] { return RenderMetrics(); };
  handlers.config_info = [this] { return ConfigInfo(); };
  auto admin = portico::admin::AdminServer::Start(host, addr->port(), std::move(handlers));
  if (!admin.ok()) return admin.status();
  admin_ = std::move(*admin);
  bool v6 = addr->storage.ss_family == AF_INET6;
  LogInfo("dataplane", "admin listening on ", v6 ? "[" : "", host, v6 ? "]" : "", ":",
          admin_->port());
  return absl::OkStatus();
}

void Dataplane::Reload(const char* why) {
  if (draining_.load()) return;
  auto snapshot = config::LoadSnapshotFile(options_.snapshot_path);
  if (!snapshot.ok()) {
    config_errors_.fetch_add(1);
    std::lock_guard<std::mutex> lock(mu_);
    last_error_ = std::string(snapshot.status().message());
    LogError("dataplane", "snapshot rejected (", why, "): ", snapshot.status().message());
    return;
  }
  (void)Apply(*snapshot, why);
}

absl::Status Dataplane::Apply(const v1::Snapshot& snapshot, const char* why,
                              const config::ChangedNames* changed) {
  // The served Config lends its unchanged virtual hosts and clusters; sharing
  // is decided by content, or by `changed` when it is relative to the served
  // version (Compile checks), so a concurrent Apply (a reload while the
  // subscription applies) still compiles what a fresh compilation would.
  std::shared_ptr<const config::Config> previous;
  {
    std::lock_guard<std::mutex> lock(mu_);
    previous = current_;
  }
  auto compiled = config::Compile(snapshot, options_.trusted_proxies, options_.default_certificate,
                                  previous.get(), changed);
  if (!compiled.ok()) {
    // The previous configuration keeps serving.
    config_errors_.fetch_add(1);
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_error_ = std::string(compiled.status().message());
    }
    LogError("dataplane", "snapshot version ", snapshot.version(), " rejected (", why,
             "): ", compiled.status().message());
    return compiled.status();
  }
  uint64_t version = (*compiled)->version;
  Publish(std::move(*compiled));
  LogInfo("dataplane", "applied snapshot version ", version, " (", why, ")");
  return absl::OkStatus();
}

void Dataplane::StartSubscription() {
  if (options_.subscription.controllers.empty()) return;
  // Called on the subscription's thread; Publish only takes a mutex and posts
  // to the workers.
  subscription_ = std::make_unique<config::Subscription>(
      options_.subscription,
      [this](const v1::Snapshot& snapshot, const config::ChangedNames* changed) {
        if (draining_.load()) return absl::UnavailableError("draining");
        return Apply(snapshot, "controller", changed);
      });
  subscription_->Start();
}

void Dataplane::Publish(std::shared_ptr<const config::Config> config) {
  // Wait until every worker serves the new config, so that /readyz, /config
  // and the ACK to the controller all mean "applied", not "on its way".
  struct Barrier {
    std::mutex mu;
    std::condition_variable cv;
    size_t pending;
  };
  auto barrier = std::make_shared<Barrier>();
  barrier->pending = workers_.size();
  for (auto& w : workers_) {
    w->PostConfig(config, [barrier] {
      std::lock_guard<std::mutex> lock(barrier->mu);
      if (--barrier->pending == 0) barrier->cv.notify_all();
    });
  }
  {
    std::unique_lock<std::mutex> lock(barrier->mu);
    // Workers apply within microseconds; the bound only guards against a
    // worker that has already exited during shutdown.
    barrier->cv.wait_for(lock, std::chrono::seconds(5), [&] { return barrier->pending == 0; });
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    current_ = config;
    last_error_.clear();
  }
  config_applies_.fetch_add(1);
}

void Dataplane::BeginDrain() {
  if (draining_.exchange(true)) {
    // A second signal: stop waiting.
    for (auto& w : workers_) w->PostStop();
    return;
  }
  if (subscription_) subscription_->Stop();
  LogInfo("dataplane", "draining: finishing in-flight requests (deadline ", options_.drain_timeout,
          "s)");
  if (!options_.snapshot_path.empty()) ev_stat_stop(loop_, &g_watchers.snapshot_stat);
  for (auto& w : workers_) w->PostDrain();
  drain_started_ = ev_now(loop_);
  ev_timer_init(&g_watchers.drain_poll, &DataplaneCallbacks::OnDrainPoll, 0.02, 0.02);
  g_watchers.drain_poll.data = this;
  ev_timer_start(loop_, &g_watchers.drain_poll);
}

void Dataplane::CheckWorkersFinished() {
  bool all = true;
  for (auto& w : workers_) all = all && w->finished();
  if (!all && ev_now(loop_) - drain_started_ < options_.drain_timeout) return;
  if (!all) {
    LogWarning("dataplane", "drain deadline reached; closing remaining connections");
    for (auto& w : workers_) w->PostStop();
  }
  ev_timer_stop(loop_, &g_watchers.drain_poll);
  for (ev_signal* s : {&g_watchers.sighup, &g_watchers.sigterm, &g_watchers.sigint}) {
    ev_signal_stop(loop_, s);
  }
  ev_break(loop_, EVBREAK_ALL);
}

std::string Dataplane::ConfigInfo() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::string out =
      StrCat("{\"version\":", current_ ? current_->version : 0,
             ",\"loaded\":", current_ ? "true" : "false", ",\"applies\":", config_applies_.load(),
             ",\"errors\":", config_errors_.load(), ",\"last_error\":");
  AppendJsonString(last_error_, out);
  out += "}\n";
  return out;
}

}  // namespace portico::dataplane::proxy
