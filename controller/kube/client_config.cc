#include "controller/kube/client_config.h"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "common/strings.h"

namespace portico::controller::kube {
namespace {

absl::StatusOr<std::string> ReadFile(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(StrCat("cannot read ", what, " ", path));
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string Resolve(const std::string& base_dir, const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  return base_dir + "/" + path;
}

std::string Scalar(const YAML::Node& node, const char* key) {
  const YAML::Node value = node[key];
  if (!value || !value.IsScalar()) return "";
  return value.Scalar();
}

// A value given either inline (`KEY-data`, base64) or as a file (`KEY`).
absl::StatusOr<std::string> DataOrFile(const YAML::Node& node, const std::string& key,
                                       const std::string& base_dir) {
  std::string data = Scalar(node, (key + "-data").c_str());
  if (!data.empty()) {
    std::string decoded;
    if (!absl::Base64Unescape(data, &decoded)) {
      return absl::InvalidArgumentError(StrCat(key, "-data is not valid base64"));
    }
    return decoded;
  }
  std::string file = Scalar(node, key.c_str());
  if (file.empty()) return std::string();
  return ReadFile(Resolve(base_dir, file), key);
}

const YAML::Node FindNamed(const YAML::Node& list, const std::string& name, const char* field) {
  if (list && list.IsSequence()) {
    for (const YAML::Node& item : list) {
      if (item.IsMap() && Scalar(item, "name") == name) return item[field];
    }
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

bool ConsumePrefix(std::string_view* text, std::string_view prefix) {
  if (text->substr(0, prefix.size()) != prefix) return false;
  text->remove_prefix(prefix.size());
  return true;
}

// "https://host:port/path" -> host and port. The API path prefix is not supported.
absl::Status ParseServer(std::string_view url, ClientConfig& config) {
  if (!ConsumePrefix(&url, "https://")) {
    return absl::InvalidArgumentError(
        StrCat("server \"", url, "\": only https:// API servers are supported"));
  }
  while (!url.empty() && url.back() == '/') url.remove_suffix(1);
  if (url.find('/') != std::string_view::npos) {
    return absl::InvalidArgumentError(StrCat("server URL with a path is not supported: ", url));
  }
  std::string_view host = url;
  std::string_view port;
  if (!url.empty() && url[0] == '[') {
    size_t close = url.find(']');
    if (close == std::string_view::npos) return absl::InvalidArgumentError("bad IPv6 server");
    host = url.substr(1, close - 1);
    std::string_view rest = url.substr(close + 1);
    if (ConsumePrefix(&rest, ":")) port = rest;
  } else if (size_t colon = url.rfind(':'); colon != std::string_view::npos) {
    host = url.substr(0, colon);
    port = url.substr(colon + 1);
  }
  if (host.empty()) return absl::InvalidArgumentError("server URL has no host");
  config.host = std::string(host);
  config.port = 443;
  if (!port.empty() &&
      (!SimpleAtoi(port, &config.port) || config.port <= 0 || config.port > 65535)) {
    return absl::InvalidArgumentError(StrCat("server URL has a bad port: ", port));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> ClientConfig::BearerToken() const {
  if (token_file.empty()) return token;
  auto text = ReadFile(token_file, "token file");
  if (!text.ok()) return text.status();
  return std::string(absl::StripAsciiWhitespace(*text));
}

absl::StatusOr<ClientConfig> LoadKubeconfig(const std::string& path, const std::string& context) {
  auto text = ReadFile(path, "kubeconfig");
  if (!text.ok()) return text.status();
  YAML::Node root;
  try {
    root = YAML::Load(*text);
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(StrCat("kubeconfig ", path, ": ", e.what()));
  }
  if (!root.IsMap()) return absl::InvalidArgumentError(StrCat("kubeconfig ", path, ": not a map"));
  std::string base_dir = ".";
  if (size_t slash = path.rfind('/'); slash != std::string::npos) {
    base_dir = slash == 0 ? "/" : path.substr(0, slash);
  }
  std::string context_name = context.empty() ? Scalar(root, "current-context") : context;
  auto fail = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        StrCat("kubeconfig ", path, " context \"", context_name, "\": ", why));
  };
  if (context_name.empty()) return fail("no current-context");
  const YAML::Node ctx = FindNamed(root["contexts"], context_name, "context");
  if (!ctx || !ctx.IsMap()) return fail("context not found");
  std::string cluster_name = Scalar(ctx, "cluster");
  std::string user_name = Scalar(ctx, "user");
  const YAML::Node cluster = FindNamed(root["clusters"], cluster_name, "cluster");
  if (!cluster || !cluster.IsMap()) return fail(StrCat("cluster \"", cluster_name, "\" not found"));

  ClientConfig config;
  config.origin = StrCat("kubeconfig ", path, ", context ", context_name);
  if (auto s = ParseServer(Scalar(cluster, "server"), config); !s.ok())
    return fail(ToStd(s.message()));
  auto ca = DataOrFile(cluster, "certificate-authority", base_dir);
  if (!ca.ok()) return fail(ToStd(ca.status().message()));
  config.ca_pem = std::move(*ca);
  config.insecure_skip_verify = Scalar(cluster, "insecure-skip-tls-verify") == "true";

  if (!user_name.empty()) {
    const YAML::Node user = FindNamed(root["users"], user_name, "user");
    if (!user || !user.IsMap()) return fail(StrCat("user \"", user_name, "\" not found"));
    if (user["exec"] || user["auth-provider"]) {
      return fail(
          "exec and auth-provider credentials are not supported; use a token or a "
          "client certificate");
    }
    config.token = Scalar(user, "token");
    std::string token_file = Scalar(user, "tokenFile");
    if (!token_file.empty()) config.token_file = Resolve(base_dir, token_file);
    auto cert = DataOrFile(user, "client-certificate", base_dir);
    if (!cert.ok()) return fail(ToStd(cert.status().message()));
    auto key = DataOrFile(user, "client-key", base_dir);
    if (!key.ok()) return fail(ToStd(key.status().message()));
    if (cert->empty() != key->empty()) {
      return fail("client-certificate and client-key must be given together");
    }
    config.client_cert_pem = std::move(*cert);
    config.client_key_pem = std::move(*key);
  }
  return config;
}

absl::StatusOr<ClientConfig> InClusterConfig(const std::string& account_dir) {
  const char* host = std::getenv("KUBERNETES_SERVICE_HOST");
  const char* port = std::getenv("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || *host == '\0' || port == nullptr || *port == '\0') {
    return absl::FailedPreconditionError(
        "not running in a cluster (KUBERNETES_SERVICE_HOST/PORT unset) and no kubeconfig given "
        "(--kubeconfig or KUBECONFIG)");
  }
  ClientConfig config;
  config.origin = "in-cluster service account";
  config.host = host;
  if (!SimpleAtoi(port, &config.port) || config.port <= 0 || config.port > 65535) {
    return absl::InvalidArgumentError(StrCat("KUBERNETES_SERVICE_PORT is not a port: ", port));
  }
  auto ca = ReadFile(account_dir + "/ca.crt", "service account CA");
  if (!ca.ok()) return ca.status();
  config.ca_pem = std::move(*ca);
  config.token_file = account_dir + "/token";
  if (auto token = config.BearerToken(); !token.ok()) return token.status();
  return config;
}

absl::StatusOr<ClientConfig> ResolveClientConfig(const std::string& kubeconfig_flag) {
  if (!kubeconfig_flag.empty()) return LoadKubeconfig(kubeconfig_flag);
  if (const char* env = std::getenv("KUBECONFIG"); env != nullptr && *env != '\0') {
    std::string first(env);
    first = first.substr(0, first.find(':'));
    if (!first.empty()) return LoadKubeconfig(first);
  }
  return InClusterConfig();
}

}  // namespace portico::controller::kube
