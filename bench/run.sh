#!/usr/bin/env bash
# `make bench`: the side-by-side benchmark. For now the HTTP/1.1 keep-alive
# scenario against nginx (bench/quick.sh), three runs; the full suite
# (HAProxy, nghttpx, h2o, TLS, HTTP/2, memory, config propagation) is the
# benchmarks issue. Results go to docs/benchmarks.md by hand with the command.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "# $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
for run in 1 2 3; do
  echo "## run $run"
  bench/quick.sh "${BENCH_DURATION:-10}" "${BENCH_CONNECTIONS:-64}"
done
