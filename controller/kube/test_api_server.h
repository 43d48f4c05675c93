#pragma once
// Test support: an HTTPS server on loopback with certificates from
// scripts/dev-certs.sh, for the client and informer tests. Handlers are
// cpp-httplib handlers; the server runs on a thread of its own.

#include <httplib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>

#include "common/strings.h"
#include "controller/kube/client_config.h"

namespace portico::controller::kube::testing {

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Certificates made once per test binary in a temporary directory.
inline const std::string& CertDir() {
  static const std::string* dir = [] {
    char tmpl[] = "/tmp/portico-kube-test-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) std::abort();
    auto* d = new std::string(tmpl);
    for (const char* set : {"certs", "other"}) {
      std::string cmd = StrCat(PORTICO_DEV_CERTS_SCRIPT, " ", *d, "/", set, " >/dev/null");
      if (std::system(cmd.c_str()) != 0) std::abort();
    }
    std::atexit([] { std::filesystem::remove_all(*dir); });
    return d;
  }();
  return *dir;
}

class TestApiServer {
 public:
  TestApiServer()
      : server_(StrCat(CertDir(), "/certs/controller.pem").c_str(),
                StrCat(CertDir(), "/certs/controller-key.pem").c_str()) {}
  ~TestApiServer() { Stop(); }

  httplib::Server& server() { return server_; }

  void Start() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // stop() is a no-op until the thread is running: wait for it (bounded).
    for (int i = 0; i < 500 && !server_.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  void Stop() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  int port() const { return port_; }

  // A client configuration trusting the dev CA (`ca_set`: "certs" or "other").
  ClientConfig Config(const std::string& ca_set = "certs") const {
    ClientConfig config;
    config.host = "127.0.0.1";
    config.port = port_;
    config.ca_pem = ReadAll(StrCat(CertDir(), "/", ca_set, "/ca.pem"));
    config.token = "test-token";
    config.origin = "test";
    return config;
  }

 private:
  httplib::SSLServer server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace portico::controller::kube::testing
