#!/usr/bin/env bash
# Installs the Debian packages Portico needs to build, test and benchmark.
# Installs only what is missing; runs `apt-get update` only when it must install.
# Usage: scripts/install-deps.sh [build|test|bench|all]   (default: all)
set -euo pipefail

build_pkgs=(
  build-essential cmake ninja-build pkg-config git
  libssl-dev libnghttp2-dev libev-dev
  libprotobuf-dev protobuf-compiler libgrpc++-dev protobuf-compiler-grpc
  libabsl-dev libre2-dev libcpp-httplib-dev nlohmann-json3-dev libyaml-cpp-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  node-llhttp zlib1g-dev libbrotli-dev libjemalloc-dev libcrypt-dev liburiparser-dev
  clang-format ccache
)
# e2e/ also needs kube-apiserver and kubectl 1.20, which e2e/kube-apiserver.sh and
# e2e/kubectl.sh take from Debian's kubernetes packages into the cache (not
# installed: another package may own /usr/bin/kubectl).
test_pkgs=(
  curl python3 python3-pytest python3-h2 python3-grpcio python3-websockets python3-yaml python3-jsonschema python3-brotli
  nghttp2-client openssl procps iproute2 prometheus
  etcd-server util-linux
)
bench_pkgs=(
  wrk nginx-light haproxy nghttp2-proxy h2o gnuplot-nox linux-perf util-linux
)

want=()
case "${1:-all}" in
  build) want=("${build_pkgs[@]}") ;;
  test) want=("${build_pkgs[@]}" "${test_pkgs[@]}") ;;
  bench) want=("${build_pkgs[@]}" "${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  all) want=("${build_pkgs[@]}" "${test_pkgs[@]}" "${bench_pkgs[@]}") ;;
  *) echo "usage: $0 [build|test|bench|all]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [[ "$status" == "install ok installed" ]] || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
