#include "controller/kube/client_config.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/escaping.h"

namespace portico::controller::kube {
namespace {

class KubeconfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/portico-kubeconfig-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string Write(const std::string& name, const std::string& text) {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  std::string dir_;
};

constexpr char kTwoContexts[] = R"(apiVersion: v1
kind: Config
current-context: token
clusters:
- name: c1
  cluster:
    server: https://127.0.0.1:6443
    certificate-authority-data: )"
                                "Q0EtUEVN"  // "CA-PEM"
                                R"(
- name: c2
  cluster:
    server: https://[::1]:7443/
    certificate-authority: pki/ca.pem
    insecure-skip-tls-verify: true
users:
- name: u-token
  user:
    token: secret-token
- name: u-cert
  user:
    client-certificate: pki/client.pem
    client-key-data: S0VZ
contexts:
- name: token
  context: {cluster: c1, user: u-token}
- name: cert
  context: {cluster: c2, user: u-cert}
)";

TEST_F(KubeconfigTest, CurrentContextWithTokenAndInlineCa) {
  auto config = LoadKubeconfig(Write("kc", kTwoContexts));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->host, "127.0.0.1");
  EXPECT_EQ(config->port, 6443);
  EXPECT_EQ(config->ca_pem, "CA-PEM");
  EXPECT_EQ(config->token, "secret-token");
  EXPECT_FALSE(config->insecure_skip_verify);
  EXPECT_EQ(*config->BearerToken(), "secret-token");
}

TEST_F(KubeconfigTest, NamedContextWithFilesRelativeToTheKubeconfig) {
  std::filesystem::create_directory(dir_ + "/pki");
  Write("pki/ca.pem", "CA-FILE");
  Write("pki/client.pem", "CERT-FILE");
  auto config = LoadKubeconfig(Write("kc", kTwoContexts), "cert");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->host, "::1");
  EXPECT_EQ(config->port, 7443);
  EXPECT_EQ(config->ca_pem, "CA-FILE");
  EXPECT_EQ(config->client_cert_pem, "CERT-FILE");
  EXPECT_EQ(config->client_key_pem, "KEY");
  EXPECT_TRUE(config->insecure_skip_verify);
}

TEST_F(KubeconfigTest, TokenFileIsReadAgainOnEveryCall) {
  std::string token = Write("token", "first\n");
  std::string text = R"(current-context: x
clusters: [{name: c, cluster: {server: "https://api.example:443"}}]
users: [{name: u, user: {tokenFile: token}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
)";
  auto config = LoadKubeconfig(Write("kc", text));
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(*config->BearerToken(), "first");
  Write("token", "rotated");
  EXPECT_EQ(*config->BearerToken(), "rotated");
  EXPECT_EQ(config->host, "api.example");
}

TEST_F(KubeconfigTest, ClearErrors) {
  struct Case {
    std::string text, want;
  } cases[] = {
      {"current-context: nope\ncontexts: []\n", "context not found"},
      {"kind: Config\n", "no current-context"},
      {"current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
       "clusters: [{name: c, cluster: {server: 'http://127.0.0.1:8080'}}]\n",
       "only https://"},
      {"current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
       "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
       "users: [{name: u, user: {exec: {command: /bin/sh}}}]\n",
       "exec and auth-provider"},
      {"current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
       "clusters: [{name: c, cluster: {server: 'https://h'}}]\n"
       "users: [{name: u, user: {client-certificate-data: QQ==}}]\n",
       "given together"},
      {"current-context: x\ncontexts: [{name: x, context: {cluster: c, user: u}}]\n"
       "clusters: [{name: c, cluster: {server: 'https://h', certificate-authority: "
       "/nonexistent}}]\n",
       "cannot read"},
      {": : :\n", "kubeconfig"},
  };
  for (const auto& c : cases) {
    auto config = LoadKubeconfig(Write("kc", c.text));
    ASSERT_FALSE(config.ok()) << c.text;
    EXPECT_NE(std::string(config.status().message()).find(c.want), std::string::npos)
        << config.status() << " want " << c.want;
  }
  EXPECT_FALSE(LoadKubeconfig(dir_ + "/missing").ok());
}

TEST_F(KubeconfigTest, InClusterReadsTheServiceAccount) {
  Write("ca.crt", "SA-CA");
  Write("token", "sa-token\n");
  setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1", 1);
  setenv("KUBERNETES_SERVICE_PORT", "443", 1);
  auto config = InClusterConfig(dir_);
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_EQ(config->host, "10.0.0.1");
  EXPECT_EQ(config->ca_pem, "SA-CA");
  EXPECT_EQ(*config->BearerToken(), "sa-token");
  unsetenv("KUBERNETES_SERVICE_HOST");
  auto outside = InClusterConfig(dir_);
  ASSERT_FALSE(outside.ok());
  EXPECT_NE(std::string(outside.status().message()).find("--kubeconfig"), std::string::npos);
}

}  // namespace
}  // namespace portico::controller::kube
