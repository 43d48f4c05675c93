// portico-dataplane: flags in, objects wired, no logic.
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/marshalling.h"
#include "absl/time/time.h"
#include "common/flags.h"
#include "common/log.h"
#include "common/strings.h"
#include "dataplane/proxy/dataplane.h"

ABSL_FLAG(std::string, snapshot, "",
          "Snapshot file to serve (proto3 JSON mapping; binary proto if it ends in .pb). "
          "Re-read on SIGHUP and when the file changes.");
ABSL_FLAG(std::string, http_listen, "127.0.0.1:8080",
          "Plain HTTP listener, ADDR:PORT (IPv6 in brackets; port 0 picks a free port).");
ABSL_FLAG(std::string, https_listen, "127.0.0.1:8443",
          "HTTPS listener (TLS termination, certificates from the snapshot's Secrets by SNI); "
          "empty: none.");
ABSL_FLAG(int, https_redirect_port, 443,
          "Port in the Location of HTTPS redirects (routes with ssl-redirect): where clients "
          "reach HTTPS, i.e. the Service's port rather than --https-listen's; 443 is left out.");
ABSL_FLAG(std::string, default_certificate, "",
          "PEM certificate chain for TLS names no Ingress claims (default: a self-signed "
          "certificate generated at start).");
ABSL_FLAG(std::string, default_certificate_key, "", "PEM private key of --default-certificate.");
ABSL_FLAG(absl::Duration, tls_ticket_key_rotation, absl::Hours(1),
          "How often the session ticket key changes (tickets stay valid for two more periods).");
ABSL_FLAG(std::string, admin_listen, "127.0.0.1:10254",
          "Admin listener for /healthz, /readyz, /metrics and /config.");
ABSL_FLAG(int, workers, 0, "Worker threads, each with its own event loop. 0: one per CPU.");
ABSL_FLAG(std::string, trusted_proxies, "",
          "Comma-separated CIDRs whose X-Forwarded-* headers are believed (added to the "
          "snapshot's list).");
ABSL_FLAG(std::string, access_log, "stdout", "Access log: stdout (JSON lines) or off.");
ABSL_FLAG(absl::Duration, drain_timeout, absl::Seconds(30),
          "On SIGTERM, how long in-flight requests may take before connections are closed.");
ABSL_FLAG(std::vector<std::string>, controller, {},
          "Controller gRPC address (host:port); repeat the flag or separate with commas for "
          "several, tried in order and failed over between. Exclusive with --snapshot.");
ABSL_FLAG(std::string, node_id, "",
          "This data plane's name towards the controller (default: "
          "the host name).");
ABSL_FLAG(std::string, state_dir, "",
          "Directory where the last applied snapshot is kept, and served from at start while "
          "no controller answers.");
ABSL_FLAG(bool, insecure, false,
          "Plaintext to the controller (local runs only; private keys travel on this stream).");
ABSL_FLAG(std::string, tls_cert, "", "Client certificate (PEM) for mTLS to the controller.");
ABSL_FLAG(std::string, tls_key, "", "Client private key (PEM) for mTLS to the controller.");
ABSL_FLAG(std::string, tls_ca, "", "CA bundle (PEM) that signed the controller's certificate.");
ABSL_FLAG(std::string, controller_name, "",
          "Name expected in the controller's certificate when it differs from the address.");
ABSL_FLAG(bool, proxy_protocol, false,
          "Require a PROXY protocol v1 or v2 header on every connection (plain and TLS "
          "listeners); its source address is the client. Also enabled by the settings "
          "ConfigMap's use-proxy-protocol.");
ABSL_FLAG(bool, h2c, false,
          "Also serve cleartext HTTP/2 with prior knowledge on --http-listen (h2c; TLS "
          "listeners offer h2 through ALPN regardless)");
ABSL_FLAG(absl::Duration, http2_stall_timeout, absl::Seconds(30),
          "An HTTP/2 response that cannot move because the client keeps its flow-control "
          "window shut is reset after this long (the connection goes if its whole window is "
          "shut); also how long a client may leave our output unread.");
ABSL_FLAG(bool, metrics_per_host, false,
          "Add a host label to the request metrics. Off by default: the Host header is chosen "
          "by clients, so this can grow the series count (capped per worker).");
ABSL_FLAG(std::string, metrics_compat, "",
          "Also expose metrics under another controller's names: ingress-nginx "
          "(nginx_ingress_controller_requests and _request_duration_seconds).");
ABSL_FLAG(std::string, log_level, "info", "debug, info, warning or error.");

int main(int argc, char** argv) {
  using namespace portico;
  ParseFlags(argc, argv,
             "Portico data plane: an HTTP reverse proxy serving route snapshots.\n"
             "Usage: portico-dataplane --snapshot=FILE | --controller=HOST:PORT [flags]\n"
             "Flags may be spelled --http-listen or --http_listen.",
             /*repeatable=*/{"controller"});
  if (auto status = SetLogLevelByName(absl::GetFlag(FLAGS_log_level)); !status.ok()) {
    LogError("main", status.message());
    return 2;
  }

  dataplane::proxy::DataplaneOptions options;
  options.snapshot_path = absl::GetFlag(FLAGS_snapshot);
  options.http_listen = absl::GetFlag(FLAGS_http_listen);
  options.https_listen = absl::GetFlag(FLAGS_https_listen);
  {
    int port = absl::GetFlag(FLAGS_https_redirect_port);
    if (port < 1 || port > 65535) {
      LogError("main", "--https-redirect-port: want 1..65535, got ", port);
      return 2;
    }
    options.https_redirect_port = static_cast<uint16_t>(port);
  }
  options.ticket_key_rotation = absl::ToDoubleSeconds(absl::GetFlag(FLAGS_tls_ticket_key_rotation));
  {
    std::string cert_file = absl::GetFlag(FLAGS_default_certificate);
    std::string key_file = absl::GetFlag(FLAGS_default_certificate_key);
    if (cert_file.empty() != key_file.empty()) {
      LogError("main", "--default-certificate and --default-certificate-key go together");
      return 2;
    }
    if (!cert_file.empty()) {
      auto read = [](const std::string& path) {
        std::ifstream in(path, std::ios::binary);
        std::ostringstream out;
        out << in.rdbuf();
        return out.str();
      };
      auto cert =
          dataplane::tls::ServerCertificate::FromPem(read(cert_file), read(key_file), cert_file);
      if (!cert.ok()) {
        LogError("main", "--default-certificate: ", cert.status().message());
        return 2;
      }
      options.default_certificate = *cert;
    }
  }
  options.admin_listen = absl::GetFlag(FLAGS_admin_listen);
  options.workers = absl::GetFlag(FLAGS_workers);
  if (options.workers <= 0) {
    options.workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }
  auto trusted = net::CidrSet::Parse(absl::GetFlag(FLAGS_trusted_proxies));
  if (!trusted.ok()) {
    LogError("main", "--trusted_proxies: ", trusted.status().message());
    return 2;
  }
  options.trusted_proxies = *trusted;
  std::string access_log = absl::GetFlag(FLAGS_access_log);
  if (access_log != "stdout" && access_log != "off") {
    LogError("main", "--access_log: want stdout or off, got \"", access_log, "\"");
    return 2;
  }
  options.access_log = access_log == "stdout";
  options.drain_timeout = absl::ToDoubleSeconds(absl::GetFlag(FLAGS_drain_timeout));
  options.metrics_per_host = absl::GetFlag(FLAGS_metrics_per_host);
  options.h2c = absl::GetFlag(FLAGS_h2c);
  options.proxy_protocol = absl::GetFlag(FLAGS_proxy_protocol);
  options.http2_stall_timeout = absl::ToDoubleSeconds(absl::GetFlag(FLAGS_http2_stall_timeout));
  std::string compat = absl::GetFlag(FLAGS_metrics_compat);
  if (!compat.empty() && compat != "ingress-nginx") {
    LogError("main", "--metrics_compat: want ingress-nginx or nothing, got \"", compat, "\"");
    return 2;
  }
  options.metrics_compat_nginx = compat == "ingress-nginx";
  auto& sub = options.subscription;
  sub.controllers = absl::GetFlag(FLAGS_controller);
  sub.node_id = absl::GetFlag(FLAGS_node_id);
  sub.state_dir = absl::GetFlag(FLAGS_state_dir);
  sub.insecure = absl::GetFlag(FLAGS_insecure);
  sub.tls_cert = absl::GetFlag(FLAGS_tls_cert);
  sub.tls_key = absl::GetFlag(FLAGS_tls_key);
  sub.tls_ca = absl::GetFlag(FLAGS_tls_ca);
  sub.server_name_override = absl::GetFlag(FLAGS_controller_name);
  if (!sub.controllers.empty() && !sub.insecure &&
      (sub.tls_cert.empty() || sub.tls_key.empty() || sub.tls_ca.empty())) {
    LogError("main", "--controller needs --tls-cert, --tls-key and --tls-ca (or --insecure)");
    return 2;
  }

  dataplane::proxy::Dataplane dataplane(std::move(options));
  absl::Status status = dataplane.Run();
  if (!status.ok()) {
    LogError("main", status.ToString());
    return 1;
  }
  return 0;
}
