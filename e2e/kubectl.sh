#!/usr/bin/env bash
# Prints the path of a kubectl of the same version as e2e/kube-apiserver.sh's
# API server: Debian's kubernetes-client (1.20 in Debian 12). When that package
# is installed, its /usr/bin/kubectl. Otherwise the package is downloaded with
# apt and unpacked into the cache, not installed: on machines where another
# package owns /usr/bin/kubectl (the Google Cloud SDK's dispatcher, a much
# newer kubectl), installing it would fail on the file conflict.
# Cached under ${XDG_CACHE_HOME:-$HOME/.cache}/portico/kubectl/<version>/.
# Progress goes to stderr; stdout is only the path.
set -euo pipefail

status=$(dpkg-query -W -f='${Status}' kubernetes-client 2>/dev/null || true)
if [[ "$status" == "install ok installed" ]]; then
  echo /usr/bin/kubectl
  exit 0
fi

candidate() { apt-cache policy kubernetes-client 2>/dev/null | sed -n 's/^ *Candidate: //p'; }
version=$(candidate)
if [[ -z "$version" || "$version" == "(none)" ]]; then
  sudo=""
  if [[ $(id -u) -ne 0 ]]; then sudo="sudo"; fi
  $sudo apt-get update -qq >&2
  version=$(candidate)
fi
[[ -n "$version" && "$version" != "(none)" ]] ||
  { echo "kubectl.sh: apt knows no kubernetes-client package" >&2; exit 1; }

cache="${XDG_CACHE_HOME:-$HOME/.cache}/portico/kubectl/$version"
out="$cache/kubectl"
if [[ -x "$out" ]]; then
  echo "$out"
  exit 0
fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock -w 600 9  # a concurrent run may be unpacking the same version
if [[ ! -x "$out" ]]; then
  work=$(mktemp -d "$cache/unpack.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  echo "kubectl.sh: downloading kubernetes-client $version" >&2
  (cd "$work" && apt-get download -qq "kubernetes-client=$version" >&2)
  dpkg-deb -x "$work"/kubernetes-client_*.deb "$work/unpacked"
  install -m 0755 "$work/unpacked/usr/bin/kubectl" "$out.tmp"
  mv "$out.tmp" "$out"
fi
echo "$out"
