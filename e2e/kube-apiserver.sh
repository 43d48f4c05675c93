#!/usr/bin/env bash
# Prints the path of a kube-apiserver binary, building it first when the cache
# has none. Debian packages no kube-apiserver binary, only the source of the
# whole of Kubernetes (package `kubernetes`, 1.20 in Debian 12): fetch that
# source with apt and build the one command as its debian/rules does.
# The binary is cached under ${XDG_CACHE_HOME:-$HOME/.cache}/portico/, keyed by
# the source version, so only the first run pays (about 5 minutes of 2 cores).
# Progress goes to stderr; stdout is only the path.
set -euo pipefail

cache="${XDG_CACHE_HOME:-$HOME/.cache}/portico/kube-apiserver"
sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

# deb-src entries for the suites the machine already uses, derived from its own
# deb822 sources so that no mirror is named here.
src_list=/etc/apt/sources.list.d/portico-deb-src.sources
ensure_deb_src() {
  if apt-cache showsrc kubernetes 2>/dev/null | grep -q '^Package: kubernetes'; then return; fi
  local found=""
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" && "$f" != "$src_list" ]] || continue
    if grep -q '^Types:.*\bdeb\b' "$f"; then found="$f"; break; fi
  done
  if [[ -n "$found" ]]; then
    sed -E 's/^Types:.*/Types: deb-src/' "$found" | $sudo tee "$src_list" >/dev/null
  elif [[ -f /etc/apt/sources.list ]]; then
    grep -E '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' |
      $sudo tee /etc/apt/sources.list.d/portico-deb-src.list >/dev/null
  fi
  $sudo apt-get update -qq >&2
}

ensure_pkgs() {
  local missing=()
  for p in "$@"; do
    [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" == "install ok installed" ]] ||
      missing+=("$p")
  done
  ((${#missing[@]} == 0)) && return
  echo "kube-apiserver.sh: installing ${missing[*]}" >&2
  $sudo apt-get update -qq >&2
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# The version comes from the binary package's candidate, so no deb-src lookup
# is needed while the cache is warm.
version=$(apt-cache policy kubernetes-client 2>/dev/null | sed -n 's/^ *Candidate: //p')
if [[ -z "$version" || "$version" == "(none)" ]]; then
  for d in "$cache"/*/; do [[ -x "$d/kube-apiserver" ]] && version=$(basename "$d"); done
fi
[[ -n "$version" ]] || { echo "kube-apiserver.sh: no kubernetes version known to apt" >&2; exit 1; }
out="$cache/$version/kube-apiserver"
if [[ -x "$out" ]]; then
  echo "$out"
  exit 0
fi

# One build at a time: parallel test runs wait for the first one's binary.
mkdir -p "$cache/$version"
exec 9>"$cache/$version/.lock"
flock -w 1800 9
if [[ -x "$out" ]]; then
  echo "$out"
  exit 0
fi

ensure_pkgs golang-go rsync dpkg-dev build-essential
ensure_deb_src
work="$cache/$version/src"
rm -rf "$work"
mkdir -p "$work"
echo "kube-apiserver.sh: fetching the kubernetes $version source" >&2
(cd "$work" && apt-get source -qq "kubernetes=$version" >&2)
tree=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'kubernetes-*' | head -n 1)
[[ -d "$tree" ]] || { echo "kube-apiserver.sh: source tree missing under $work" >&2; exit 1; }

# debian/rules builds in a GOPATH layout with the vendored modules.
echo "kube-apiserver.sh: building (a few minutes)" >&2
gopath="$work/gopath"
mkdir -p "$gopath/src/k8s.io"
ln -sfn "$tree" "$gopath/src/k8s.io/kubernetes"
(
  cd "$gopath/src/k8s.io/kubernetes"
  export GOPATH="$gopath" GO111MODULE=off GOFLAGS=-mod=vendor GOCACHE="$work/gocache"
  export KUBE_GIT_TREE_STATE=clean KUBE_GIT_VERSION="v${version%%+*}"
  make WHAT=cmd/kube-apiserver >&2
)
bin=$(find "$tree/_output" -type f -name kube-apiserver -perm -u+x | head -n 1)
[[ -x "$bin" ]] || { echo "kube-apiserver.sh: build produced no binary" >&2; exit 1; }
install -m 0755 "$bin" "$out.tmp"
mv "$out.tmp" "$out"
rm -rf "$work"
echo "$out"
