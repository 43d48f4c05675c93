#include "common/admin_server.h"

#include <httplib.h>

#include "common/strings.h"

namespace portico::admin {

absl::StatusOr<std::unique_ptr<AdminServer>> AdminServer::Start(const std::string& host, int port,
                                                                AdminHandlers handlers) {
  std::unique_ptr<AdminServer> admin(new AdminServer());
  admin->handlers_ = std::move(handlers);
  admin->server_ = std::make_unique<httplib::Server>();
  httplib::Server& s = *admin->server_;
  // cpp-httplib's default socket options include SO_REUSEPORT, which would let
  // a second process share the admin port and answer half the probes.
  s.set_socket_options([](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
  });
  // Two threads are plenty for probes and scrapes.
  s.new_task_queue = [] { return new httplib::ThreadPool(2); };
  AdminServer* self = admin.get();
  s.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  s.Get("/readyz", [self](const httplib::Request&, httplib::Response& res) {
    bool ready = self->handlers_.ready && self->handlers_.ready();
    res.status = ready ? 200 : 503;
    res.set_content(ready ? "ready\n" : "not ready\n", "text/plain");
  });
  s.Get("/metrics", [self](const httplib::Request&, httplib::Response& res) {
    res.set_content(self->handlers_.metrics ? self->handlers_.metrics() : "",
                    "text/plain; version=0.0.4; charset=utf-8");
  });
  s.Get("/config", [self](const httplib::Request&, httplib::Response& res) {
    res.set_content(self->handlers_.config_info ? self->handlers_.config_info() : "{}",
                    "application/json");
  });
  if (port == 0) {
    admin->port_ = s.bind_to_any_port(host);
    if (admin->port_ < 0) {
      return absl::UnavailableError(StrCat("admin: cannot bind ", host, ":0"));
    }
  } else {
    if (!s.bind_to_port(host, port)) {
      return absl::UnavailableError(StrCat("admin: cannot bind ", host, ":", port));
    }
    admin->port_ = port;
  }
  admin->thread_ = std::thread([self] { self->server_->listen_after_bind(); });
  return admin;
}

AdminServer::~AdminServer() { Stop(); }

void AdminServer::Stop() {
  if (server_) server_->stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace portico::admin
