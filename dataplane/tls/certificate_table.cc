#include "dataplane/tls/certificate_table.h"

#include <openssl/err.h>

#include "absl/strings/ascii.h"
#include "common/strings.h"
#include "dataplane/tls/ticket_keys.h"

namespace portico::dataplane::tls {
namespace {

// Mozilla's "intermediate" suites, in its order, for TLS 1.2 and 1.3. With
// server preference, AES-128 comes first: X25519 and P-256 give 128-bit
// security anyway, and SHA-256 (the TLS 1.3 key schedule's hash with
// AES-128-GCM) runs on SHA-NI where SHA-384 does not (OpenSSL's default
// order starts with TLS_AES_256_GCM_SHA384).
constexpr char kCiphers[] =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";
constexpr char kTls13Suites[] =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

absl::StatusOr<SSL_CTX*> NewContext(const ServerCertificate& cert) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return absl::InternalError("SSL_CTX_new failed");
  auto fail = [&](std::string_view what) {
    SSL_CTX_free(ctx);
    ERR_clear_error();
    return absl::InvalidArgumentError(StrCat("certificate ", cert.name(), ": ", what));
  };
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  SSL_CTX_set_options(
      ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  // Partial and moving writes: the connection's output buffer may grow
  // between retries. Released buffers: an idle connection holds no record buffers.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
                            SSL_MODE_RELEASE_BUFFERS);
  if (SSL_CTX_set_cipher_list(ctx, kCiphers) != 1) return fail("cipher list rejected");
#ifndef OPENSSL_IS_BORINGSSL  // BoringSSL's TLS 1.3 suites are fixed
  if (SSL_CTX_set_ciphersuites(ctx, kTls13Suites) != 1) return fail("TLS 1.3 suites rejected");
  // One TLS 1.3 ticket per handshake, full or resumed (TicketKeys renews on
  // resumption), as Go does; OpenSSL's default is two per full handshake and
  // none per resumption, which leaves single-use clients a full handshake
  // every third connection and costs every full handshake a second ticket.
  SSL_CTX_set_num_tickets(ctx, 1);
#endif
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);  // tickets only: no shared cache
  if (SSL_CTX_use_certificate(ctx, cert.leaf()) != 1) return fail("certificate rejected");
  for (const X509Ptr& extra : cert.chain()) {
    if (SSL_CTX_add1_chain_cert(ctx, extra.get()) != 1) return fail("chain rejected");
  }
  if (SSL_CTX_use_PrivateKey(ctx, cert.key()) != 1) return fail("private key rejected");
  TicketKeys::Install(ctx);
  return ctx;
}

std::string NormalizeName(std::string_view name) {
  while (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return absl::AsciiStrToLower(ToAbsl(name));
}

}  // namespace

absl::StatusOr<std::shared_ptr<const CertificateTable>> CertificateTable::Build(
    const std::vector<HostCertificate>& hosts, std::shared_ptr<const ServerCertificate> fallback,
    std::vector<std::string> alpn) {
  std::shared_ptr<CertificateTable> table(new CertificateTable());
  for (const std::string& protocol : alpn) {
    if (protocol.empty() || protocol.size() > 255) {
      return absl::InvalidArgumentError("bad ALPN protocol");
    }
    table->alpn_wire_ += static_cast<char>(protocol.size());
    table->alpn_wire_ += protocol;
  }
  // One context per distinct certificate; a Secret on many hosts is one entry.
  absl::flat_hash_map<const ServerCertificate*, const Entry*> by_cert;
  auto entry_for =
      [&](const std::shared_ptr<const ServerCertificate>& cert) -> absl::StatusOr<const Entry*> {
    if (auto it = by_cert.find(cert.get()); it != by_cert.end()) return it->second;
    auto ctx = NewContext(*cert);
    if (!ctx.ok()) return ctx.status();
    auto entry = std::make_unique<Entry>();
    entry->certificate = cert;
    entry->ctx = *ctx;
    SSL_CTX_set_tlsext_servername_callback(entry->ctx, &CertificateTable::OnServerName);
    SSL_CTX_set_tlsext_servername_arg(entry->ctx, table.get());
    SSL_CTX_set_alpn_select_cb(entry->ctx, &CertificateTable::OnAlpn, table.get());
    const Entry* raw = entry.get();
    table->entries_.push_back(std::move(entry));
    by_cert.emplace(cert.get(), raw);
    return raw;
  };
  if (fallback == nullptr) fallback = ServerCertificate::SelfSigned();
  if (auto e = entry_for(fallback); !e.ok()) return e.status();
  for (const HostCertificate& host : hosts) {
    if (host.certificate == nullptr) continue;
    auto entry = entry_for(host.certificate);
    if (!entry.ok()) return entry.status();
    std::string name = NormalizeName(host.hostname);
    if (name.empty()) {
      if (table->catch_all_ == nullptr) table->catch_all_ = *entry;
    } else if (name.rfind("*.", 0) == 0) {
      table->wildcard_.try_emplace(name.substr(2), *entry);
    } else {
      table->exact_.try_emplace(name, *entry);
    }
  }
  return std::shared_ptr<const CertificateTable>(std::move(table));
}

CertificateTable::~CertificateTable() {
  for (auto& entry : entries_) SSL_CTX_free(entry->ctx);
}

const CertificateTable::Entry& CertificateTable::EntryFor(std::string_view server_name) const {
  std::string name = NormalizeName(server_name);
  if (!name.empty()) {
    if (auto it = exact_.find(name); it != exact_.end()) return *it->second;
    size_t dot = name.find('.');
    if (dot != std::string::npos && dot > 0) {
      if (auto it = wildcard_.find(name.substr(dot + 1)); it != wildcard_.end()) {
        return *it->second;
      }
    }
  }
  return catch_all_ != nullptr ? *catch_all_ : *entries_.front();
}

const ServerCertificate& CertificateTable::Select(std::string_view server_name) const {
  return *EntryFor(server_name).certificate;
}

std::vector<std::shared_ptr<const ServerCertificate>> CertificateTable::certificates() const {
  std::vector<std::shared_ptr<const ServerCertificate>> out;
  for (const auto& entry : entries_) out.push_back(entry->certificate);
  return out;
}

SSL* CertificateTable::NewSsl() const {
  // Handshakes start on the fallback's context; the SNI callback switches.
  return SSL_new(entries_.front()->ctx);
}

int CertificateTable::OnServerName(SSL* ssl, int*, void* arg) {
  const auto* table = static_cast<const CertificateTable*>(arg);
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  const Entry& entry = table->EntryFor(name != nullptr ? name : "");
  if (SSL_get_SSL_CTX(ssl) != entry.ctx) SSL_set_SSL_CTX(ssl, entry.ctx);
  return SSL_TLSEXT_ERR_OK;
}

int CertificateTable::OnAlpn(SSL*, const unsigned char** out, unsigned char* out_len,
                             const unsigned char* in, unsigned int in_len, void* arg) {
  const auto* table = static_cast<const CertificateTable*>(arg);
  unsigned char* selected = nullptr;
  // Server preference: the first of our protocols that the client offers.
  if (SSL_select_next_proto(&selected, out_len,
                            reinterpret_cast<const unsigned char*>(table->alpn_wire_.data()),
                            static_cast<unsigned int>(table->alpn_wire_.size()), in,
                            in_len) != OPENSSL_NPN_NEGOTIATED) {
    return SSL_TLSEXT_ERR_NOACK;  // no common protocol: go on without ALPN (HTTP/1.1)
  }
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

}  // namespace portico::dataplane::tls
