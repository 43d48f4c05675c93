#pragma once
// TLS towards upstreams (HTTPS and GRPCS clusters): one immutable context per
// cluster, compiled from the snapshot off the worker threads and shared by
// every worker (SSL_new on a configured SSL_CTX is thread-safe), and a
// per-worker cache of sessions so that reconnecting to an endpoint resumes
// instead of paying for a full handshake.
//
// Verification, when on, checks the chain against the cluster's CA bundle
// and the certificate's name against `verify_name` (or the endpoint's IP
// address when that is empty). Off, any certificate is accepted (as nginx's
// proxy_ssl_verify off): the connection is encrypted, not authenticated.

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "common/net/ip_address.h"
#include "dataplane/event/transport.h"

namespace portico::dataplane::tls {

struct UpstreamTlsOptions {
  bool verify = false;
  // PEM trust anchors. With verify and no usable certificate here nothing
  // verifies: every handshake fails (fail closed, never silently unverified).
  std::string ca_pem;
  // The SNI name sent (when send_sni and it is a DNS name, RFC 6066 3) and,
  // with verify, the name the certificate must carry. Empty: no SNI, and the
  // endpoint's IP address is verified.
  std::string server_name;
  bool send_sni = true;
  int min_version = TLS1_2_VERSION;
  int max_version = 0;  // 0: the newest the library has
  // ALPN offered: "h2" for HTTP/2 clusters, "http/1.1" for HTTPS ones.
  std::vector<std::string> alpn;
};

// Per-worker: resumable sessions by key (endpoint and context identity).
// Bounded; not thread-safe, like everything a worker owns.
class SessionCache {
 public:
  explicit SessionCache(size_t capacity = 4096) : capacity_(capacity) {}
  ~SessionCache();
  SessionCache(const SessionCache&) = delete;
  SessionCache& operator=(const SessionCache&) = delete;

  // Takes the reference `session` carries.
  void Put(const std::string& key, SSL_SESSION* session);
  // Borrowed; null when none.
  SSL_SESSION* Get(const std::string& key) const;
  void Remove(const std::string& key);
  size_t size() const { return sessions_.size(); }

 private:
  size_t capacity_;
  absl::flat_hash_map<std::string, SSL_SESSION*> sessions_;
};

class UpstreamTlsContext : public std::enable_shared_from_this<UpstreamTlsContext> {
 public:
  // Fails only on a library error; an unusable CA bundle is reported by
  // ca_error() and leaves the context failing closed.
  static absl::StatusOr<std::shared_ptr<const UpstreamTlsContext>> Create(
      const UpstreamTlsOptions& options);
  ~UpstreamTlsContext();
  UpstreamTlsContext(const UpstreamTlsContext&) = delete;
  UpstreamTlsContext& operator=(const UpstreamTlsContext&) = delete;

  // The client transport for a connected socket to `endpoint` (takes the
  // descriptor). With `sessions`, a session saved under `session_key` is
  // offered and new ones are saved there. Called on a worker thread.
  std::unique_ptr<event::Transport> Wrap(int fd, const net::IpAddress& endpoint,
                                         std::shared_ptr<SessionCache> sessions,
                                         std::string session_key) const;

  // Distinguishes contexts whose connections must not be shared (pool keys).
  const std::string& id() const { return id_; }
  const UpstreamTlsOptions& options() const { return options_; }
  // Why verification cannot succeed ("" when the CA bundle is usable or not needed).
  const std::string& ca_error() const { return ca_error_; }

 private:
  UpstreamTlsContext() = default;
  static int OnNewSession(SSL* ssl, SSL_SESSION* session);

  UpstreamTlsOptions options_;
  SSL_CTX* ctx_ = nullptr;
  std::string alpn_wire_;
  std::string id_;
  std::string ca_error_;
};

}  // namespace portico::dataplane::tls
