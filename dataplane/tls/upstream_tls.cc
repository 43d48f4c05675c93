#include "dataplane/tls/upstream_tls.h"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "common/strings.h"
#include "dataplane/tls/tls_transport.h"

namespace portico::dataplane::tls {
namespace {

// What a client SSL needs for saving its sessions: the worker's cache and the key.
struct SessionSlot {
  std::shared_ptr<SessionCache> cache;
  std::string key;
};

void FreeSlot(void*, void* ptr, CRYPTO_EX_DATA*, int, long, void*) {
  delete static_cast<SessionSlot*>(ptr);
}

int SlotIndex() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, FreeSlot);
  return index;
}

// FNV-1a, for context identities (not security: pool keys).
void Mix(uint64_t& h, std::string_view bytes) {
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  h ^= 0xff;  // field separator
  h *= 1099511628211ull;
}

std::string Hex(uint64_t h) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 0; i < 16; ++i) out[i] = kHex[(h >> (60 - 4 * i)) & 0xf];
  return out;
}

// Adds every certificate of `pem` to `store`; the count added.
int AddCertificates(X509_STORE* store, const std::string& pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  if (bio == nullptr) return 0;
  int added = 0;
  while (X509* cert = PEM_read_bio_X509(bio, nullptr, nullptr, nullptr)) {
    if (X509_STORE_add_cert(store, cert) == 1) ++added;
    X509_free(cert);
  }
  BIO_free(bio);
  ERR_clear_error();  // the loop ends on a "no start line" error
  return added;
}

}  // namespace

SessionCache::~SessionCache() {
  for (auto& [key, session] : sessions_) SSL_SESSION_free(session);
}

void SessionCache::Put(const std::string& key, SSL_SESSION* session) {
  auto it = sessions_.find(key);
  if (it != sessions_.end()) {
    SSL_SESSION_free(it->second);
    it->second = session;
    return;
  }
  if (sessions_.size() >= capacity_) {
    // Any one goes: a lost session costs one full handshake.
    SSL_SESSION_free(sessions_.begin()->second);
    sessions_.erase(sessions_.begin());
  }
  sessions_.emplace(key, session);
}

SSL_SESSION* SessionCache::Get(const std::string& key) const {
  auto it = sessions_.find(key);
  return it == sessions_.end() ? nullptr : it->second;
}

void SessionCache::Remove(const std::string& key) {
  auto it = sessions_.find(key);
  if (it == sessions_.end()) return;
  SSL_SESSION_free(it->second);
  sessions_.erase(it);
}

absl::StatusOr<std::shared_ptr<const UpstreamTlsContext>> UpstreamTlsContext::Create(
    const UpstreamTlsOptions& options) {
  std::shared_ptr<UpstreamTlsContext> c(new UpstreamTlsContext());
  c->options_ = options;
  c->ctx_ = SSL_CTX_new(TLS_client_method());
  if (c->ctx_ == nullptr) {
    ERR_clear_error();
    return absl::InternalError("SSL_CTX_new failed");
  }
  SSL_CTX* ctx = c->ctx_;
  if (SSL_CTX_set_min_proto_version(ctx, options.min_version) != 1 ||
      SSL_CTX_set_max_proto_version(ctx, options.max_version) != 1) {
    ERR_clear_error();
    return absl::InvalidArgumentError("unsupported TLS protocol version range");
  }
  // As the server side (certificate_table.cc): WriteBuffered retries a
  // blocked write from wherever the Buffer holds its bytes now, possibly with
  // more of them, and idle pooled connections should not keep 34 KiB of
  // OpenSSL buffers each.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  SSL_CTX_set_verify(ctx, options.verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  if (options.verify) {
    // Only the cluster's CA: never the system's trust store, which would let
    // any public CA vouch for an in-cluster backend.
    if (options.ca_pem.empty()) {
      c->ca_error_ = "no CA bundle";
    } else if (AddCertificates(SSL_CTX_get_cert_store(ctx), options.ca_pem) == 0) {
      c->ca_error_ = "the CA bundle holds no usable PEM certificate";
    }
  }
  for (const std::string& p : options.alpn) {
    if (p.empty() || p.size() > 255) return absl::InvalidArgumentError("bad ALPN protocol");
    c->alpn_wire_.push_back(static_cast<char>(p.size()));
    c->alpn_wire_.append(p);
  }
  if (!c->alpn_wire_.empty() &&
      SSL_CTX_set_alpn_protos(ctx, reinterpret_cast<const unsigned char*>(c->alpn_wire_.data()),
                              static_cast<unsigned int>(c->alpn_wire_.size())) != 0) {
    ERR_clear_error();
    return absl::InternalError("SSL_CTX_set_alpn_protos failed");
  }
  // Sessions live in the workers' SessionCaches, not in the shared context.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, OnNewSession);
  SlotIndex();  // allocated here, on the config thread, not racing in workers

  uint64_t h = 14695981039346656037ull;
  Mix(h, options.verify ? "verify" : "noverify");
  Mix(h, options.ca_pem);
  Mix(h, options.server_name);
  Mix(h, options.send_sni ? "sni" : "nosni");
  Mix(h, StrCat(options.min_version, "-", options.max_version));
  Mix(h, c->alpn_wire_);
  c->id_ = Hex(h);
  return std::shared_ptr<const UpstreamTlsContext>(std::move(c));
}

UpstreamTlsContext::~UpstreamTlsContext() {
  if (ctx_ != nullptr) SSL_CTX_free(ctx_);
}

int UpstreamTlsContext::OnNewSession(SSL* ssl, SSL_SESSION* session) {
  auto* slot = static_cast<SessionSlot*>(SSL_get_ex_data(ssl, SlotIndex()));
  if (slot == nullptr || !slot->cache) return 0;
  slot->cache->Put(slot->key, session);
  return 1;  // the cache holds the reference now
}

std::unique_ptr<event::Transport> UpstreamTlsContext::Wrap(int fd, const net::IpAddress& endpoint,
                                                           std::shared_ptr<SessionCache> sessions,
                                                           std::string session_key) const {
  SSL* ssl = SSL_new(ctx_);
  if (ssl != nullptr) {
    const std::string& name = options_.server_name;
    const bool name_is_ip = !name.empty() && net::IpAddress::Parse(name).ok();
    if (options_.send_sni && !name.empty() && !name_is_ip) {
      SSL_set_tlsext_host_name(ssl, name.c_str());
    }
    if (options_.verify) {
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
      if (!name.empty() && !name_is_ip) {
        X509_VERIFY_PARAM_set1_host(param, name.c_str(), name.size());
      } else {
        std::string ip = name_is_ip ? name : endpoint.ToString();
        X509_VERIFY_PARAM_set1_ip_asc(param, ip.c_str());
      }
    }
    if (sessions) {
      if (SSL_SESSION* session = sessions->Get(session_key)) {
        SSL_set_session(ssl, session);
        // TLS 1.3 tickets are meant for one connection (RFC 8446 C.4); each
        // connection brings new ones.
        if (SSL_SESSION_get_protocol_version(session) == TLS1_3_VERSION) {
          sessions->Remove(session_key);
        }
      }
      SSL_set_ex_data(ssl, SlotIndex(),
                      new SessionSlot{std::move(sessions), std::move(session_key)});
    }
    ERR_clear_error();
  }
  return std::make_unique<TlsTransport>(fd, ssl, shared_from_this());
}

}  // namespace portico::dataplane::tls
