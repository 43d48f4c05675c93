#include "controller/app/controller.h"

#include <ev.h>
#include <signal.h>

#include <chrono>

#include "absl/time/clock.h"
#include "common/log.h"
#include "common/strings.h"

namespace portico::controller::app {

struct ControllerCallbacks {
  ev_signal sigterm, sigint;
  ev_io source_io;
  ev_timer debounce;
  ev_timer verify;
  ev_async leadership;

  static Controller* Self(void* data) { return static_cast<Controller*>(data); }
  static void OnTerm(struct ev_loop*, ev_signal* w, int) { Self(w->data)->Stop(); }
  static void OnSource(struct ev_loop*, ev_io* w, int) { Self(w->data)->OnSourceReadable(); }
  static void OnDebounce(struct ev_loop*, ev_timer* w, int) { Self(w->data)->Translate(); }
  static void OnVerify(struct ev_loop*, ev_timer* w, int) { Self(w->data)->OnVerify(); }
  static void OnLeadership(struct ev_loop*, ev_async* w, int) {
    Self(w->data)->OnLeadershipChange();
  }
};

namespace {

ControllerCallbacks g_watchers;

// How often the source looks for changes its wake-ups missed.
constexpr double kVerifyInterval = 5.0;

std::string DiagnosticLine(const translate::Diagnostic& d) {
  std::string object = d.ns.empty() ? d.name : StrCat(d.ns, "/", d.name);
  if (object.empty()) return StrCat(d.kind, " ", d.reason, ": ", d.message);
  return StrCat(d.kind, " ", object, " ", d.reason, ": ", d.message);
}

}  // namespace

Controller::Controller(ControllerOptions options) : options_(std::move(options)) {}

Controller::~Controller() {
  if (admin_) admin_->Stop();
  if (server_) server_->Stop();
  if (api_) api_->Shutdown();
}

absl::Status Controller::OpenSource() {
  constexpr std::string_view kFilePrefix = "file:";
  if (options_.source == "kube") {
    auto config = kube::ResolveClientConfig(options_.kubeconfig);
    if (!config.ok()) return config.status();
    auto client = kube::ApiClient::Create(std::move(*config));
    if (!client.ok()) return client.status();
    api_ = std::move(*client);
    auto source = source::KubeSource::Create(*api_, options_.kube);
    if (!source.ok()) return source.status();
    kube_source_ = source->get();
    source_ = std::move(*source);
    return absl::OkStatus();
  }
  if (options_.source.rfind(kFilePrefix, 0) != 0) {
    return absl::InvalidArgumentError(
        StrCat("--source: want file:DIR or kube, got \"", options_.source, "\""));
  }
  auto source = source::FileSource::Create(options_.source.substr(kFilePrefix.size()));
  if (!source.ok()) return source.status();
  source_ = std::move(*source);
  return absl::OkStatus();
}

bool Controller::WaitForSync(const sigset_t& signals) {
  // Data planes must never get a snapshot made from half-listed caches, so
  // the gRPC server starts only after the first complete state.
  auto start = std::chrono::steady_clock::now();
  auto next_log = start + std::chrono::seconds(10);
  while (!source_->synced()) {
    timespec tick = {0, 50 * 1000 * 1000};
    if (sigtimedwait(&signals, nullptr, &tick) > 0) return false;
    if (std::chrono::steady_clock::now() >= next_log) {
      next_log += std::chrono::seconds(10);
      LogInfo("controller", "waiting for the first complete list of every watched resource");
    }
  }
  if (kube_source_ != nullptr) {
    double ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    LogInfo("controller", "caches synced in ", static_cast<int>(ms), " ms");
  }
  return true;
}

absl::Status Controller::Run() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);  // gRPC and admin threads inherit this
  signal(SIGPIPE, SIG_IGN);

  if (auto status = OpenSource(); !status.ok()) return status;
  if (!WaitForSync(set)) return absl::OkStatus();

  loop_ = ev_default_loop(EVFLAG_AUTO);
  ev_async_init(&g_watchers.leadership, &ControllerCallbacks::OnLeadership);
  g_watchers.leadership.data = this;
  ev_async_start(loop_, &g_watchers.leadership);
  StartStatus();
  // The first translation happens before the gRPC server accepts anyone, so
  // data planes never see an empty snapshot from a fresh controller.
  Translate();

  server_ = std::make_unique<push::SnapshotServer>(&store_, options_.grpc);
  if (auto status = server_->Start(); !status.ok()) return status;
  LogInfo("controller", "grpc listening on port ", server_->port(),
          options_.grpc.insecure ? " (insecure)" : " (mTLS)");

  size_t colon = options_.admin_listen.rfind(':');
  int admin_port = 0;
  if (colon == std::string::npos ||
      !SimpleAtoi(std::string_view(options_.admin_listen).substr(colon + 1), &admin_port)) {
    return absl::InvalidArgumentError(
        StrCat("--admin-listen: bad address ", options_.admin_listen));
  }
  std::string admin_host = options_.admin_listen.substr(0, colon);
  portico::admin::AdminHandlers handlers;
  handlers.ready = [this] { return ready_.load(); };
  handlers.metrics = [this] { return RenderMetrics(); };
  handlers.config_info = [this] {
    return StrCat("{\"version\":", store_.version(), ",\"instance\":\"", store_.instance(),
                  "\"}\n");
  };
  auto admin = portico::admin::AdminServer::Start(admin_host, admin_port, std::move(handlers));
  if (!admin.ok()) return admin.status();
  admin_ = std::move(*admin);
  LogInfo("controller", "admin listening on ", admin_host, ":", admin_->port());

  ev_io_init(&g_watchers.source_io, &ControllerCallbacks::OnSource, source_->fd(), EV_READ);
  g_watchers.source_io.data = this;
  ev_io_start(loop_, &g_watchers.source_io);
  ev_init(&g_watchers.debounce, &ControllerCallbacks::OnDebounce);
  g_watchers.debounce.data = this;
  ev_timer_init(&g_watchers.verify, &ControllerCallbacks::OnVerify, kVerifyInterval,
                kVerifyInterval);
  g_watchers.verify.data = this;
  ev_timer_start(loop_, &g_watchers.verify);
  ev_signal_init(&g_watchers.sigterm, &ControllerCallbacks::OnTerm, SIGTERM);
  ev_signal_init(&g_watchers.sigint, &ControllerCallbacks::OnTerm, SIGINT);
  for (ev_signal* s : {&g_watchers.sigterm, &g_watchers.sigint}) {
    s->data = this;
    ev_signal_start(loop_, s);
  }
  pthread_sigmask(SIG_UNBLOCK, &set, nullptr);
  ev_run(loop_, 0);

  server_->Stop();
  admin_->Stop();
  if (elector_) elector_->Stop();  // releases the Lease while the client still works
  if (api_) api_->Shutdown();
  if (kube_source_ != nullptr) kube_source_->Stop();
  LogInfo("controller", "stopped");
  return absl::OkStatus();
}

void Controller::StartStatus() {
  if (kube_source_ == nullptr || !options_.update_status) return;
  status_writer_ = std::make_unique<status::StatusWriter>(*api_, options_.status);
  status::EventOptions events;
  events.instance = options_.election.identity;
  event_recorder_ = std::make_unique<status::EventRecorder>(*api_, events);
  if (!options_.leader_elect) return;
  // The elector's thread only wakes the loop; the loop reads leading().
  elector_ = std::make_unique<status::LeaderElector>(
      *api_, options_.election, [this](bool) { ev_async_send(loop_, &g_watchers.leadership); });
  elector_->Start();
}

bool Controller::Leading() const { return elector_ == nullptr || elector_->leading(); }

void Controller::OnLeadershipChange() {
  bool leading = Leading();
  if (leading == was_leading_) return;
  was_leading_ = leading;
  // What a new leader writes depends on the current state: translate again.
  if (!leading && status_writer_) status_writer_->Reset();
  if (leading) ScheduleTranslate();
}

void Controller::PublishStatus(const translate::Result& result,
                               const std::vector<translate::Diagnostic>& diagnostics) {
  if (status_writer_ == nullptr || !Leading()) return;
  status_writer_->Submit({result.served_ingresses, kube_source_->IngressLoadBalancers()});
  event_recorder_->Submit(diagnostics);
}

void Controller::OnSourceReadable() {
  if (source_->DrainEvents()) ScheduleTranslate();
}

void Controller::OnVerify() {
  // What is signalled or already due to be read is no news.
  OnSourceReadable();
  if (pending_since_ >= 0) return;
  if (source_->Verify()) {
    LogWarning("controller", "source: found changes that were not signalled; reading them");
    ScheduleTranslate();
  }
}

void Controller::ScheduleTranslate() {
  // Hold-off: a change after a quiet period is translated at once (on the next
  // loop iteration, so that what is already queued comes along). Otherwise
  // every change restarts the quiet period, and a source that never goes
  // quiet is still translated after max_delay.
  double now = ev_now(loop_);
  if (pending_since_ < 0) pending_since_ = now;
  double wait = options_.debounce;
  if (source_->settled() && now - last_translated_ >= options_.debounce) wait = 0;
  double deadline = pending_since_ + options_.max_delay;
  if (now + wait > deadline) wait = deadline - now;
  g_watchers.debounce.repeat = wait > 0 ? wait : 0.000001;
  ev_timer_again(loop_, &g_watchers.debounce);
}

void Controller::Translate() {
  ev_timer_stop(loop_, &g_watchers.debounce);
  pending_since_ = -1;
  using Clock = std::chrono::steady_clock;
  auto micros = [](Clock::time_point from) {
    return static_cast<int>(std::chrono::duration<double, std::micro>(Clock::now() - from).count());
  };
  auto load_start = Clock::now();
  auto loaded = source_->Load();
  int load_us = micros(load_start);
  if (!loaded.ok()) {
    // An unreadable directory keeps the last snapshot serving.
    source_errors_.fetch_add(1);
    LogError("controller", "source: ", loaded.status().message());
    return;
  }
  auto start = std::chrono::steady_clock::now();
  translate::Options translate_options = options_.translate;
  translate_options.now = absl::Now();           // the translator reads no clock of its own
  translate_options.share_virtual_hosts = true;  // the store knows unchanged ones by address
  translate::Result result =
      translate::Translate(loaded->state, translate_options, &translate_memo_);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  translate_duration_.Observe(seconds);
  translations_.fetch_add(1);

  std::vector<translate::Diagnostic> diagnostics = std::move(loaded->diagnostics);
  diagnostics.insert(diagnostics.end(), result.diagnostics.begin(), result.diagnostics.end());
  std::set<std::string> lines;
  for (const auto& d : diagnostics) lines.insert(DiagnosticLine(d));
  std::map<std::string, size_t> objects = {{"Ingress", loaded->state.ingresses.size()},
                                           {"IngressClass", loaded->state.ingress_classes.size()},
                                           {"Service", loaded->state.services.size()},
                                           {"EndpointSlice", loaded->state.endpoint_slices.size()},
                                           {"Secret", loaded->state.secrets.size()},
                                           {"ConfigMap", loaded->state.config_maps.size()}};
  source_->Return(std::move(*loaded));
  {
    std::lock_guard<std::mutex> lock(mu_);
    // Repeating an unchanged diagnostic on every change would drown the news.
    for (const std::string& line : lines) {
      if (!last_diagnostics_.count(line)) LogWarning("controller", line);
    }
    last_diagnostics_ = std::move(lines);
    objects_ = std::move(objects);
    diagnostics_count_ = diagnostics.size();
  }
  PublishStatus(result, diagnostics);
  uint64_t before = store_.version();
  auto store_start = Clock::now();
  uint64_t version = store_.Update(std::move(result.snapshot), std::move(result.virtual_hosts));
  if (version != before) {
    LogInfo("controller", "snapshot version ", version, " (", diagnostics.size(),
            " diagnostics; read in ", load_us, " us, translated in ",
            static_cast<int>(seconds * 1e6), " us, stored in ", micros(store_start), " us)");
  }
  ready_.store(true);
  last_translated_ = ev_time();
}

void Controller::Stop() {
  LogInfo("controller", "stopping");
  ev_break(loop_, EVBREAK_ALL);
}

}  // namespace portico::controller::app
