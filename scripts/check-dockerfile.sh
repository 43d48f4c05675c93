#!/usr/bin/env bash
# Checks the Dockerfile without a container engine (none runs in CI):
#   1. every package the runtime stage installs exists in apt (apt-cache policy);
#   2. every shared library the built binaries link (ldd) is owned by a package
#      the runtime stage installs (or by libc6, which is Essential);
#   3. the build stage runs scripts/install-deps.sh build and the same cmake
#      configure command as the Makefile, and builds both binaries;
#   4. the HEALTHCHECK script passes against a running data plane and fails
#      once it is gone.
# Usage: scripts/check-dockerfile.sh [BIN_DIR]   (default: build/bin; checks 2 and 4
# are skipped with a note when the binaries are missing)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
bin_dir=${1:-$root/build/bin}
dockerfile=$root/Dockerfile
failures=0
fail() { echo "check-dockerfile: FAIL: $*" >&2; failures=$((failures + 1)); }
note() { echo "check-dockerfile: $*"; }

# Dockerfile with continuation lines joined, one instruction per line.
joined=$(sed -e ':a' -e '/\\$/N; s/\\\n/ /; ta' "$dockerfile" | grep -v '^[[:space:]]*#')
stages=$(grep -c '^FROM ' <<<"$joined")
[[ $stages -eq 2 ]] || fail "expected 2 stages (build, runtime), found $stages"
grep -q '^FROM debian:12 AS build$' <<<"$joined" || fail "build stage is not 'FROM debian:12 AS build'"
grep -q '^FROM debian:12-slim$' <<<"$joined" || fail "runtime stage is not 'FROM debian:12-slim'"

# --- 1. runtime packages exist -------------------------------------------------
runtime=$(awk '/^FROM /{n++} n==2' <<<"$joined")
install_line=$(grep 'apt-get install' <<<"$runtime" | head -1)
[[ -n $install_line ]] || fail "no apt-get install in the runtime stage"
# Words after "apt-get install" up to the next "&&", options dropped.
mapfile -t pkgs < <(sed -e 's/.*apt-get install//' -e 's/&&.*//' <<<"$install_line" |
  tr -s ' ' '\n' | grep -v '^-' | grep -v '^$')
((${#pkgs[@]} > 0)) || fail "runtime stage installs no packages"
before=$failures
# One apt-cache call (each costs seconds): "NAME:" starts a package's block.
declare -A candidate=()
while read -r name version; do
  candidate[$name]=$version
done < <(apt-cache policy "${pkgs[@]}" 2>/dev/null |
  awk '/^[^ ].*:$/ {name = substr($0, 1, length($0) - 1)} /Candidate:/ {print name, $2}')
for p in "${pkgs[@]}"; do
  version=${candidate[$p]:-}
  if [[ -z $version || $version == "(none)" ]]; then
    fail "runtime package '$p' is not in apt (apt-cache policy)"
  fi
done
((failures > before)) || note "${#pkgs[@]} runtime packages found in apt"

# --- 2. ldd coverage -------------------------------------------------------------
binaries=("$bin_dir/portico-controller" "$bin_dir/portico-dataplane")
have_bins=1
for b in "${binaries[@]}"; do [[ -x $b ]] || have_bins=0; done
if ((have_bins)); then
  before=$failures
  declare -A wanted=([libc6]=1)
  for p in "${pkgs[@]}"; do wanted[$p]=1; done
  mapfile -t libs < <(ldd "${binaries[@]}" | awk '$2 == "=>" && $3 ~ /^\// {print $3}' | sort -u)
  # dpkg records /usr/lib paths or /lib ones (merged /usr): ask with both spellings
  # and the resolved file, in one call (each dpkg -S costs a fraction of a second).
  declare -A owner_of=()
  queries=()
  for lib in "${libs[@]}"; do
    queries+=("$lib" "$(readlink -f "$lib")")
    case $lib in /usr/lib/*) queries+=("${lib#/usr}") ;; /lib/*) queries+=("/usr$lib") ;; esac
  done
  while IFS= read -r line; do
    pkg=${line%%: *} path=${line#*: }
    owner_of[$(basename "$path")]=${pkg%%:*}
  done < <(dpkg -S "${queries[@]}" 2>/dev/null || true)
  for lib in "${libs[@]}"; do
    owner=${owner_of[$(basename "$lib")]:-${owner_of[$(basename "$(readlink -f "$lib")")]:-}}
    if [[ -z $owner ]]; then
      fail "$lib (linked by a binary) belongs to no Debian package: the image cannot provide it"
    elif [[ -z ${wanted[$owner]:-} ]]; then
      fail "$lib is from package '$owner', which the runtime stage does not install"
    fi
  done
  if ldd "${binaries[@]}" | grep -q 'not found'; then fail "ldd: a library is not found"; fi
  ((failures > before)) || note "every library the binaries link is installed by the runtime stage"
else
  note "skipping ldd coverage and the health probe: no binaries in $bin_dir"
fi

# --- 3. build commands match install-deps.sh and the Makefile --------------------
build_stage=$(awk '/^FROM /{n++} n==1' <<<"$joined")
grep -q '^RUN scripts/install-deps.sh build\b' <<<"$build_stage" ||
  fail "build stage does not run 'scripts/install-deps.sh build'"
grep -q '^ *build) ' "$root/scripts/install-deps.sh" ||
  fail "scripts/install-deps.sh has no 'build' mode any more"
configure='cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release'
grep -qF "$configure" <<<"$build_stage" || fail "build stage does not run '$configure'"
grep -qF 'cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release' "$root/Makefile" ||
  fail "the Makefile's configure command changed; update the Dockerfile and this check"
grep -qE 'cmake --build build --target portico-controller portico-dataplane' <<<"$build_stage" ||
  fail "build stage does not build both binaries"
for f in $(grep -oE '^COPY [^-][^ ]* ' <<<"$runtime" | awk '{print $2}'); do
  [[ -e $root/$f ]] || fail "runtime stage copies $f, which does not exist"
done
grep -q '^USER 65532' <<<"$runtime" || fail "runtime stage does not run as uid 65532"
for port in 8080 8443 10254 10255 18000; do
  grep -qE "^EXPOSE .*\b$port\b" <<<"$runtime" || fail "port $port is not exposed"
done

# --- 4. the HEALTHCHECK probe against the real data plane -------------------------
probe=$root/deploy/docker/healthcheck.sh
grep -q 'HEALTHCHECK .*portico-healthcheck' <<<"$runtime" || fail "no HEALTHCHECK using portico-healthcheck"
if ((have_bins)); then
  tmp=$(mktemp -d)
  pid=""
  cleanup() {
    if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
    rm -rf "$tmp"
  }
  trap cleanup EXIT
  "$bin_dir/portico-dataplane" --snapshot="$root/docs/snapshot-example.json" \
    --http-listen=127.0.0.1:0 --https-listen=127.0.0.1:0 --admin-listen=127.0.0.1:0 --workers=1 --access-log=off \
    >"$tmp/log" 2>&1 &
  pid=$!
  port=""
  for _ in $(seq 100); do  # poll the log for the bound admin port, 10 s at most
    port=$(sed -n 's/.*admin listening on 127\.0\.0\.1:\([0-9]*\).*/\1/p' "$tmp/log")
    [[ -n $port ]] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [[ -z $port ]]; then
    fail "data plane did not report its admin port: $(cat "$tmp/log")"
  else
    PORTICO_ADMIN_PORT=$port "$probe" || fail "health probe failed against a healthy data plane"
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
    if PORTICO_ADMIN_PORT=$port "$probe"; then fail "health probe passed with no data plane"; fi
    note "health probe passes on a live data plane and fails without one"
  fi
fi

if ((failures)); then
  echo "check-dockerfile: $failures failure(s)" >&2
  exit 1
fi
note "ok"
