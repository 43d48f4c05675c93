#!/usr/bin/env bash
# Builds deploy/helm/render (a `helm template` stand-in, README.md beside this
# file) and prints the binary's path. Go and the libraries come from Debian's
# packages, built in GOPATH mode against /usr/share/gocode: no module download.
# Cached under ${XDG_CACHE_HOME:-$HOME/.cache}/portico/helm-render/<hash>/, the
# hash covering the sources, this script, the Go version and the library
# packages' versions, so only a change pays for a build (about 20 s on 2 cores).
# Progress goes to stderr; stdout is only the path.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
pkgs=(
  golang-go
  golang-github-masterminds-sprig-dev   # Helm's template functions; pulls semver, xstrings, ...
  golang-github-ghodss-yaml-dev         # YAML through JSON, as sigs.k8s.io/yaml (Helm's)
  golang-github-xeipuuv-gojsonschema-dev  # Helm 3's values.schema.json validator
  golang-github-burntsushi-toml-dev     # toToml / fromToml
)

sudo=""
if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
missing=()
for p in "${pkgs[@]}"; do
  [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)" == "install ok installed" ]] ||
    missing+=("$p")
done
if ((${#missing[@]} > 0)); then
  echo "build.sh: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq >&2
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Every installed golang-*-dev package's version: sprig's dependencies are
# pulled in by apt and change the binary as much as sprig itself.
hash=$(
  {
    cat "$here"/*.go "$here/kube-1.20-api-versions.txt" "$here/build.sh"
    go version
    dpkg-query -W -f='${Package} ${Version}\n' 'golang-*-dev' 2>/dev/null | sort
  } | sha256sum | cut -c1-16
)
cache="${XDG_CACHE_HOME:-$HOME/.cache}/portico/helm-render/$hash"
out="$cache/helm-render"
if [[ -x "$out" ]]; then
  echo "$out"
  exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock -w 600 9  # a concurrent run may be building the same sources
if [[ ! -x "$out" ]]; then
  work=$(mktemp -d "$cache/build.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  echo "build.sh: building helm-render" >&2
  # GOPATH mode resolves .../v3 imports to the unversioned directories Debian
  # installs (minimal module compatibility); GOFLAGS from the caller could
  # bring module flags back, so it is cleared.
  # That resolution applies to "new" code only: a package inside GOPATH with
  # a go.mod file (golang.org/issue/25069).
  pkg="$work/gopath/src/portico.dev/helm-render"
  mkdir -p "$pkg"
  cp "$here"/*.go "$here/kube-1.20-api-versions.txt" "$pkg/"
  printf 'module portico.dev/helm-render\n\ngo 1.19\n' >"$pkg/go.mod"
  (
    cd "$pkg"
    export GOPATH="$work/gopath:/usr/share/gocode" GO111MODULE=off GOFLAGS= \
      GOCACHE="$cache/gocache" GOTOOLCHAIN=local CGO_ENABLED=0
    go build -trimpath -o "$out.tmp" . >&2
  )
  mv "$out.tmp" "$out"
fi
echo "$out"
