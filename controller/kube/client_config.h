#pragma once
// Where the Kubernetes API is and how to authenticate to it: from a kubeconfig
// file (as kubectl reads it) or from the in-cluster service account.
//
// Threading: a ClientConfig is a value; BearerToken() only reads files and may
// run on any thread.

#include <string>

#include "absl/status/statusor.h"

namespace portico::controller::kube {

struct ClientConfig {
  std::string host;  // "127.0.0.1", "kubernetes.default.svc", "[::1]" without brackets
  int port = 443;
  std::string ca_pem;           // empty: the system's trust store
  std::string client_cert_pem;  // client certificate authentication
  std::string client_key_pem;   // never logged
  std::string token;            // a literal bearer token (never logged)
  std::string token_file;       // re-read on every request: tokens rotate
  bool insecure_skip_verify = false;
  std::string origin;  // "kubeconfig FILE, context NAME" or "in-cluster", for messages

  // The token to send: token_file's current contents when set, else token.
  absl::StatusOr<std::string> BearerToken() const;
};

// Reads a kubeconfig: the current context (or `context` when not empty), its
// cluster's server URL (https only; http refused), CA as certificate-authority
// (a path, relative to the kubeconfig's directory) or -data (base64), and the
// user's token, tokenFile, client-certificate/-key (paths or -data) and
// insecure-skip-tls-verify. Exec and auth-provider plugins are refused with a
// clear error: they run programs named by the file.
absl::StatusOr<ClientConfig> LoadKubeconfig(const std::string& path,
                                            const std::string& context = "");

// The in-cluster configuration: KUBERNETES_SERVICE_HOST/PORT, the service
// account's token file and CA under `account_dir`
// (/var/run/secrets/kubernetes.io/serviceaccount in a Pod).
absl::StatusOr<ClientConfig> InClusterConfig(
    const std::string& account_dir = "/var/run/secrets/kubernetes.io/serviceaccount");

// --kubeconfig when given, else the first file of $KUBECONFIG, else in-cluster.
absl::StatusOr<ClientConfig> ResolveClientConfig(const std::string& kubeconfig_flag);

}  // namespace portico::controller::kube
