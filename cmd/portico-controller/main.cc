// portico-controller: flags in, objects wired, no logic.
#include <unistd.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/time/time.h"
#include "common/flags.h"
#include "common/log.h"
#include "common/strings.h"
#include "controller/app/controller.h"

ABSL_FLAG(std::string, source, "file:examples",
          "Where cluster state comes from: file:DIR (a directory of Kubernetes manifests, "
          "watched with inotify) or kube (the Kubernetes API).");
ABSL_FLAG(std::string, kubeconfig, "",
          "kube source: kubeconfig file (current context). Default: the first file of "
          "$KUBECONFIG, else the in-cluster service account.");
ABSL_FLAG(std::vector<std::string>, watch_namespace, {},
          "kube source: namespaces to watch (repeatable or comma-separated; default: all). "
          "IngressClasses are cluster-scoped and always watched.");
ABSL_FLAG(absl::Duration, watch_timeout, absl::Minutes(5),
          "kube source: how long the API server keeps a watch open before the controller "
          "resumes it (jittered up to 1.5x).");
ABSL_FLAG(bool, update_status, true,
          "kube source: write status.loadBalancer of served Ingresses and Events for "
          "diagnostics (only the leader does, with --leader-elect).");
ABSL_FLAG(std::string, publish_service, "",
          "kube source: namespace/name of the Service whose address goes into Ingress status "
          "(its load balancer's, else its external IPs, else its cluster IP).");
ABSL_FLAG(std::vector<std::string>, publish_address, {},
          "kube source: literal addresses for Ingress status when no --publish-service "
          "(IPs or host names; repeatable or comma-separated).");
ABSL_FLAG(bool, leader_elect, false,
          "kube source: elect one leader among replicas with a coordination.k8s.io Lease; "
          "only the leader writes status and Events. Every replica serves snapshots.");
ABSL_FLAG(std::string, leader_election_namespace, "",
          "Namespace of the Lease (default: $POD_NAMESPACE, else default).");
ABSL_FLAG(std::string, leader_election_id, "portico-controller-leader", "Name of the Lease.");
ABSL_FLAG(std::string, leader_election_identity, "",
          "This replica's name in the Lease (default: host name and pid).");
ABSL_FLAG(absl::Duration, lease_duration, absl::Seconds(15),
          "How long a standby waits after the leader's last renewal before taking over.");
ABSL_FLAG(absl::Duration, renew_deadline, absl::Seconds(10),
          "How long a leader keeps trying to renew before it steps down.");
ABSL_FLAG(absl::Duration, retry_period, absl::Seconds(2),
          "How often the leader renews and standbys try to acquire.");
ABSL_FLAG(std::string, ingress_class, "portico", "The IngressClass name this controller serves.");
ABSL_FLAG(bool, watch_ingress_without_class, false,
          "Also serve Ingresses that name no class when no IngressClass is marked default.");
ABSL_FLAG(std::string, default_backend_service, "",
          "namespace/name of the Service that gets requests no rule matches (default: 404).");
ABSL_FLAG(std::string, settings_config_map, "",
          "namespace/name of the ConfigMap with global settings.");
ABSL_FLAG(std::string, configmap, "",
          "Alias of --settings-config-map (ingress-nginx's flag name).");
ABSL_FLAG(absl::Duration, debounce, absl::Milliseconds(100),
          "Quiet time after a change before translating.");
ABSL_FLAG(absl::Duration, max_delay, absl::Seconds(1),
          "Longest a stream of changes can postpone a translation.");
ABSL_FLAG(std::string, grpc_listen, "127.0.0.1:18000",
          "Snapshot stream listener for data planes (port 0 picks one).");
ABSL_FLAG(std::string, admin_listen, "127.0.0.1:10255",
          "Admin listener for /healthz, /readyz, /metrics.");
ABSL_FLAG(bool, insecure, false,
          "Plaintext gRPC (local runs only: private keys travel on this stream).");
ABSL_FLAG(std::string, tls_cert, "", "Server certificate (PEM) for the snapshot stream.");
ABSL_FLAG(std::string, tls_key, "", "Server private key (PEM).");
ABSL_FLAG(std::string, tls_ca, "", "CA bundle (PEM) that data plane client certificates chain to.");
ABSL_FLAG(std::string, client_name, "portico-dataplane",
          "Name a data plane's client certificate must carry (SAN or CN); empty: any "
          "certificate from --tls-ca.");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error.");

int main(int argc, char** argv) {
  using namespace portico;
  ParseFlags(argc, argv,
             "Portico controller: translates Ingress resources into route snapshots and streams "
             "them to portico-dataplane over gRPC.\n"
             "Usage: portico-controller --source=file:DIR|kube [flags]",
             {"watch_namespace", "publish_address"});
  if (auto status = SetLogLevelByName(absl::GetFlag(FLAGS_log_level)); !status.ok()) {
    LogError("main", status.message());
    return 2;
  }
  controller::app::ControllerOptions options;
  options.source = absl::GetFlag(FLAGS_source);
  options.kubeconfig = absl::GetFlag(FLAGS_kubeconfig);
  for (const std::string& ns : absl::GetFlag(FLAGS_watch_namespace)) {
    if (!ns.empty()) options.kube.namespaces.push_back(ns);
  }
  options.kube.informer.watch_timeout =
      std::chrono::seconds(absl::ToInt64Seconds(absl::GetFlag(FLAGS_watch_timeout)));
  if (options.kube.informer.watch_timeout.count() < 1) {
    LogError("main", "--watch-timeout must be at least 1s");
    return 2;
  }
  options.translate.ingress_class = absl::GetFlag(FLAGS_ingress_class);
  options.translate.watch_ingress_without_class = absl::GetFlag(FLAGS_watch_ingress_without_class);
  options.translate.default_backend_service = absl::GetFlag(FLAGS_default_backend_service);
  options.translate.settings_config_map = absl::GetFlag(FLAGS_settings_config_map);
  if (const std::string alias = absl::GetFlag(FLAGS_configmap); !alias.empty()) {
    if (!options.translate.settings_config_map.empty() &&
        options.translate.settings_config_map != alias) {
      LogError("main", "--configmap and --settings-config-map name different ConfigMaps");
      return 2;
    }
    options.translate.settings_config_map = alias;
  }
  options.kube.settings_config_map = options.translate.settings_config_map;
  options.update_status = absl::GetFlag(FLAGS_update_status);
  options.status.publish_service = absl::GetFlag(FLAGS_publish_service);
  options.status.publish_addresses = absl::GetFlag(FLAGS_publish_address);
  if (!options.status.publish_service.empty() &&
      options.status.publish_service.find('/') == std::string::npos) {
    LogError("main", "--publish-service: want namespace/name");
    return 2;
  }
  options.leader_elect = absl::GetFlag(FLAGS_leader_elect);
  auto& election = options.election;
  election.ns = absl::GetFlag(FLAGS_leader_election_namespace);
  if (election.ns.empty()) {
    const char* pod_ns = std::getenv("POD_NAMESPACE");
    election.ns = pod_ns != nullptr && *pod_ns != '\0' ? pod_ns : "default";
  }
  election.name = absl::GetFlag(FLAGS_leader_election_id);
  election.identity = absl::GetFlag(FLAGS_leader_election_identity);
  if (election.identity.empty()) {
    char host[256] = {};
    gethostname(host, sizeof(host) - 1);
    election.identity = StrCat(host, "_", getpid());
  }
  election.lease_duration = absl::ToChronoMilliseconds(absl::GetFlag(FLAGS_lease_duration));
  election.renew_deadline = absl::ToChronoMilliseconds(absl::GetFlag(FLAGS_renew_deadline));
  election.retry_period = absl::ToChronoMilliseconds(absl::GetFlag(FLAGS_retry_period));
  if (election.retry_period.count() <= 0 || election.renew_deadline <= election.retry_period ||
      election.lease_duration <= election.renew_deadline) {
    LogError("main", "leader election wants lease-duration > renew-deadline > retry-period > 0");
    return 2;
  }
  options.debounce = absl::ToDoubleSeconds(absl::GetFlag(FLAGS_debounce));
  options.max_delay = absl::ToDoubleSeconds(absl::GetFlag(FLAGS_max_delay));
  options.grpc.listen_address = absl::GetFlag(FLAGS_grpc_listen);
  options.grpc.insecure = absl::GetFlag(FLAGS_insecure);
  options.grpc.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  options.grpc.tls_key = absl::GetFlag(FLAGS_tls_key);
  options.grpc.tls_ca = absl::GetFlag(FLAGS_tls_ca);
  options.grpc.required_client_name = absl::GetFlag(FLAGS_client_name);
  if (!options.grpc.insecure && (options.grpc.tls_cert.empty() || options.grpc.tls_key.empty() ||
                                 options.grpc.tls_ca.empty())) {
    LogError("main", "mTLS needs --tls-cert, --tls-key and --tls-ca (or --insecure)");
    return 2;
  }
  options.admin_listen = absl::GetFlag(FLAGS_admin_listen);

  controller::app::Controller controller(std::move(options));
  absl::Status status = controller.Run();
  if (!status.ok()) {
    LogError("main", status.ToString());
    return 1;
  }
  return 0;
}
