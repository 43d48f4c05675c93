#include "controller/kube/api_client.h"

#include <httplib.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <vector>

#include "absl/strings/str_split.h"
#include "common/strings.h"
#include "controller/kube/line_buffer.h"

namespace portico::controller::kube {
namespace {

constexpr size_t kMaxLine = 64u << 20;
constexpr std::chrono::seconds kConnectTimeout{10};
constexpr std::chrono::seconds kRequestTimeout{30};

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

BioPtr MemBio(const std::string& pem) {
  return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
}

std::string PathOnly(std::string_view path) { return std::string(path.substr(0, path.find('?'))); }

bool IsWatch(std::string_view path) {
  size_t q = path.find('?');
  if (q == std::string_view::npos) return false;
  for (absl::string_view param : absl::StrSplit(ToAbsl(path.substr(q + 1)), '&')) {
    if (param == "watch=1" || param == "watch=true") return true;
  }
  return false;
}

std::string ServerMessage(std::string_view body) {
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (json.is_object() && json.contains("message") && json["message"].is_string()) {
    return json["message"].get<std::string>();
  }
  std::string text(body.substr(0, 200));
  return text;
}

}  // namespace

RequestInfo DescribeRequest(std::string_view method, std::string_view path) {
  RequestInfo info;
  std::vector<std::string> parts = absl::StrSplit(PathOnly(path), '/', absl::SkipEmpty());
  size_t i = 0;
  if (i < parts.size() && parts[i] == "api") {
    i += 2;  // "api", version
  } else if (i < parts.size() && parts[i] == "apis") {
    if (i + 1 < parts.size()) info.group = parts[i + 1];
    i += 3;  // "apis", group, version
  }
  if (i + 2 < parts.size() && parts[i] == "namespaces") {
    info.ns = parts[i + 1];
    i += 2;
  }
  if (i < parts.size()) info.resource = parts[i++];
  if (i < parts.size()) info.name = parts[i++];
  if (i < parts.size()) info.resource += "/" + parts[i];
  if (method == "GET") {
    info.verb = !info.name.empty() ? "get" : IsWatch(path) ? "watch" : "list";
    if (info.resource.empty()) info.verb = "get";
  } else if (method == "POST") {
    info.verb = "create";
  } else if (method == "PUT") {
    info.verb = "update";
  } else if (method == "PATCH") {
    info.verb = "patch";
  } else if (method == "DELETE") {
    info.verb = "delete";
  } else {
    info.verb = std::string(method);
  }
  return info;
}

absl::Status StatusFromResponse(int http_status, std::string_view body, std::string_view method,
                                std::string_view path) {
  std::string where = StrCat(method, " ", PathOnly(path));
  std::string said = ServerMessage(body);
  switch (http_status) {
    case 401:
      return absl::UnauthenticatedError(StrCat("API server rejected the credentials (401) for ",
                                               where, ": check the token or client certificate"));
    case 403: {
      RequestInfo info = DescribeRequest(method, path);
      std::string resource =
          info.group.empty() ? info.resource : StrCat(info.resource, ".", info.group);
      std::string scope = info.ns.empty() ? "at cluster scope" : StrCat("in namespace ", info.ns);
      return absl::PermissionDeniedError(
          StrCat("forbidden (403): RBAC does not allow verb \"", info.verb, "\" on ", resource, " ",
                 scope, " (", where, "); grant it as docs/rbac.md lists. Server said: ", said));
    }
    case 404:
      return absl::NotFoundError(StrCat("not found (404): ", where, ": ", said));
    case 409:
      return absl::AbortedError(StrCat("conflict (409): ", where, ": ", said));
    case 410:
      return absl::OutOfRangeError(StrCat("gone (410): ", where, ": ", said));
    case 429:
      return absl::UnavailableError(StrCat("throttled (429): ", where, ": ", said));
    default:
      break;
  }
  if (http_status >= 500) {
    return absl::UnavailableError(StrCat("server error ", http_status, ": ", where, ": ", said));
  }
  return absl::InvalidArgumentError(StrCat("HTTP ", http_status, ": ", where, ": ", said));
}

struct ApiClient::TlsMaterial {
  std::vector<std::unique_ptr<X509, X509Deleter>> ca;  // empty: system trust store
  std::unique_ptr<X509, X509Deleter> cert;
  std::unique_ptr<EVP_PKEY, KeyDeleter> key;
};

absl::StatusOr<std::unique_ptr<ApiClient>> ApiClient::Create(ClientConfig config) {
  auto tls = std::make_unique<TlsMaterial>();
  if (!config.ca_pem.empty()) {
    BioPtr bio = MemBio(config.ca_pem);
    while (X509* cert = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) {
      tls->ca.emplace_back(cert);
    }
    if (tls->ca.empty()) {
      return absl::InvalidArgumentError(
          StrCat(config.origin, ": the certificate authority holds no PEM certificate"));
    }
  }
  if (!config.client_cert_pem.empty()) {
    BioPtr cert_bio = MemBio(config.client_cert_pem);
    tls->cert.reset(PEM_read_bio_X509(cert_bio.get(), nullptr, nullptr, nullptr));
    BioPtr key_bio = MemBio(config.client_key_pem);
    tls->key.reset(PEM_read_bio_PrivateKey(key_bio.get(), nullptr, nullptr, nullptr));
    if (!tls->cert || !tls->key) {
      return absl::InvalidArgumentError(
          StrCat(config.origin, ": the client certificate or key does not parse as PEM"));
    }
    if (X509_check_private_key(tls->cert.get(), tls->key.get()) != 1) {
      return absl::InvalidArgumentError(
          StrCat(config.origin, ": the client key does not match the client certificate"));
    }
  }
  return std::unique_ptr<ApiClient>(new ApiClient(std::move(config), std::move(tls)));
}

ApiClient::ApiClient(ClientConfig config, std::unique_ptr<TlsMaterial> tls)
    : config_(std::move(config)), tls_(std::move(tls)) {}

ApiClient::~ApiClient() { Shutdown(); }

absl::StatusOr<std::shared_ptr<httplib::ClientImpl>> ApiClient::NewClient(
    std::chrono::seconds read_timeout) {
  auto token = config_.BearerToken();
  if (!token.ok()) return token.status();
  std::shared_ptr<httplib::SSLClient> client;
  if (tls_->cert) {
    client = std::make_shared<httplib::SSLClient>(config_.host, config_.port, tls_->cert.get(),
                                                  tls_->key.get());
  } else {
    client = std::make_shared<httplib::SSLClient>(config_.host, config_.port);
  }
  if (!client->is_valid()) return absl::InternalError("cannot set up the TLS client context");
  if (!tls_->ca.empty()) {
    // A store of its own per client: the client's SSL_CTX takes ownership, and
    // cpp-httplib also adds the default verify paths to it. The system store
    // holds only public CAs, which do not issue certificates for cluster names.
    X509_STORE* store = X509_STORE_new();
    for (const auto& cert : tls_->ca) X509_STORE_add_cert(store, cert.get());
    client->set_ca_cert_store(store);
  }
  client->enable_server_certificate_verification(!config_.insecure_skip_verify);
  client->set_connection_timeout(kConnectTimeout);
  client->set_read_timeout(read_timeout);
  client->set_write_timeout(kRequestTimeout);
  client->set_keep_alive(false);
  if (!token->empty()) client->set_bearer_token_auth(*token);
  client->set_default_headers(
      {{"Accept", "application/json"}, {"User-Agent", "portico-controller"}});
  std::lock_guard<std::mutex> lock(mu_);
  if (shut_down_) return absl::CancelledError("API client shut down");
  in_flight_.insert(client);
  return std::shared_ptr<httplib::ClientImpl>(client);
}

void ApiClient::Release(const std::shared_ptr<httplib::ClientImpl>& client) {
  std::lock_guard<std::mutex> lock(mu_);
  in_flight_.erase(client);
}

void ApiClient::Shutdown() {
  std::lock_guard<std::mutex> lock(mu_);
  shut_down_ = true;
  for (const auto& client : in_flight_) client->stop();
}

absl::StatusOr<nlohmann::json> ApiClient::Send(std::string_view method, const std::string& path,
                                               const nlohmann::json* body,
                                               const char* content_type) {
  auto client = NewClient(kRequestTimeout);
  if (!client.ok()) return client.status();
  std::string payload = body != nullptr ? body->dump() : std::string();
  httplib::Result result = [&] {
    if (method == "GET") return (*client)->Get(path);
    if (method == "POST") return (*client)->Post(path, payload, content_type);
    if (method == "PUT") return (*client)->Put(path, payload, content_type);
    return (*client)->Patch(path, payload, content_type);
  }();
  Release(*client);
  if (!result) {
    return absl::UnavailableError(StrCat("API server https://", config_.host, ":", config_.port,
                                         " unreachable (", httplib::to_string(result.error()),
                                         ") for ", method, " ", PathOnly(path)));
  }
  if (result->status < 200 || result->status > 299) {
    return StatusFromResponse(result->status, result->body, method, path);
  }
  auto json = nlohmann::json::parse(result->body, nullptr, false);
  if (json.is_discarded()) {
    return absl::DataLossError(
        StrCat("malformed JSON from the API server for ", method, " ", PathOnly(path)));
  }
  return json;
}

absl::StatusOr<nlohmann::json> ApiClient::Get(const std::string& path) {
  return Send("GET", path, nullptr, nullptr);
}
absl::StatusOr<nlohmann::json> ApiClient::Post(const std::string& path,
                                               const nlohmann::json& body) {
  return Send("POST", path, &body, "application/json");
}
absl::StatusOr<nlohmann::json> ApiClient::Put(const std::string& path, const nlohmann::json& body) {
  return Send("PUT", path, &body, "application/json");
}
absl::StatusOr<nlohmann::json> ApiClient::MergePatch(const std::string& path,
                                                     const nlohmann::json& body) {
  return Send("PATCH", path, &body, "application/merge-patch+json");
}

absl::Status ApiClient::Stream(const std::string& path, std::chrono::seconds idle_timeout,
                               const std::function<bool(std::string_view line)>& on_line) {
  auto client = NewClient(idle_timeout);
  if (!client.ok()) return client.status();
  int status = 0;
  std::string error_body;
  LineBuffer lines(kMaxLine);
  bool stopped_by_caller = false;
  httplib::Result result = (*client)->Get(
      path, httplib::Headers{},
      [&](const httplib::Response& response) {
        status = response.status;
        return true;
      },
      [&](const char* data, size_t size) {
        std::string_view chunk(data, size);
        if (status < 200 || status > 299) {
          if (error_body.size() < 64 * 1024) error_body.append(chunk);
          return true;
        }
        bool go_on = lines.Append(chunk, [&](std::string_view line) {
          if (on_line(line)) return true;
          stopped_by_caller = true;
          return false;
        });
        return go_on;
      });
  Release(*client);
  if (stopped_by_caller) return absl::OkStatus();
  if (lines.overflowed()) {
    return absl::DataLossError(StrCat("watch line longer than 64 MiB from ", PathOnly(path)));
  }
  if (!result) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (shut_down_) return absl::CancelledError("API client shut down");
    }
    return absl::UnavailableError(
        StrCat("stream ", PathOnly(path), " failed (", httplib::to_string(result.error()), ")"));
  }
  if (status < 200 || status > 299) {
    return StatusFromResponse(status, error_body, "GET", path);
  }
  return absl::OkStatus();
}

}  // namespace portico::controller::kube
