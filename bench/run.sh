#!/usr/bin/env bash
# `make bench`: every scenario in bench/scenarios/ for Portico, nginx, HAProxy,
# nghttpx and h2o in one run, then bench/report.py writes the generated part
# of docs/benchmarks.md and docs/benchmarks-cpu.svg.
# Usage: bench/run.sh [SCENARIO...]      (default: all, in the order below)
#   BENCH_QUICK=1   a short development run (2 s, 1 repeat, fewer samples)
#   BENCH_NO_DOC=1  results only, docs untouched
# Results: $BENCH_RESULTS (default ~/.cache/portico/bench/<UTC time>), JSON lines.
set -euo pipefail
cd "$(dirname "$0")/.."
ALL=(h1-keepalive h1-close h1-large h2-tls tls-handshake idle-memory config-propagation
  endpoint-churn scaling policy-cost)
scenarios=("$@")
((${#scenarios[@]})) || scenarios=("${ALL[@]}")
stamp=$(date -u +%Y%m%dT%H%M%SZ)
export BENCH_RESULTS=${BENCH_RESULTS:-${XDG_CACHE_HOME:-$HOME/.cache}/portico/bench/$stamp}
mkdir -p "$BENCH_RESULTS"
start=$SECONDS
loadavg=$(cut -d' ' -f1 /proc/loadavg)
quick=${BENCH_QUICK:-0}
duration=${BENCH_DURATION:-$([[ $quick == 1 ]] && echo 2 || echo 5)}
repeats=${BENCH_REPEATS:-$([[ $quick == 1 ]] && echo 1 || echo 3)}
echo "bench: results in $BENCH_RESULTS" >&2

for s in "${scenarios[@]}"; do
  script=bench/scenarios/$s.sh
  if [[ ! -x "$script" ]]; then echo "bench: no scenario $s, skipped" >&2; continue; fi
  echo "bench: $s ($((SECONDS - start)) s so far)" >&2
  # A scenario that fails is reported and the suite goes on; its rows are missing.
  SCENARIO=$s timeout 900 "$script" || echo "bench: $s failed (exit $?)" >&2
done

elapsed=$((SECONDS - start))
cmd="make bench"
[[ $quick == 1 ]] && cmd="BENCH_QUICK=1 $cmd"
((${#@})) && cmd="bench/run.sh $*"
versions=("$(nginx -v 2>&1 | sed 's/^nginx version: //')" "$(haproxy -v | head -1 | awk '{print "HAProxy " $3}')"
  "$(nghttpx --version | head -1)" "$(h2o --version | head -1)" "$(openssl version | awk '{print $1 " " $2}')"
  "$(wrk -v 2>&1 | head -1 | awk '{print $1 " " $2}')" "$(h2load --version | head -1)")
/usr/bin/python3 - "$BENCH_RESULTS/meta.json" "$cmd" "$loadavg" "$elapsed" "$duration" "$repeats" "${versions[@]}" <<'PY'
import json, os, platform, subprocess, sys, time
path, cmd, loadavg, elapsed, duration, repeats, *versions = sys.argv[1:]
model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True, text=True).stdout.strip()
meta = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "command": cmd,
        "elapsed": f"{int(elapsed) // 60} min {int(elapsed) % 60} s", "nproc": os.cpu_count(),
        "cpu_model": model, "kernel": f"Linux {platform.release()}",
        "loadavg": loadavg, "duration": duration,
        "repeats": repeats, "commit": commit + ("+changes" if dirty else ""), "versions": versions}
json.dump(meta, open(path, "w"), indent=1)
PY
if [[ "${BENCH_NO_DOC:-0}" != 1 ]]; then
  /usr/bin/python3 bench/report.py "$BENCH_RESULTS"
fi
echo "bench: done in $((elapsed / 60)) min $((elapsed % 60)) s" >&2
