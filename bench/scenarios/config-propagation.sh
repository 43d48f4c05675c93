#!/usr/bin/env bash
# Config change-to-served latency through the controller's file source with
# 100, 1,000 and 10,000 Ingresses (bench/tools/propagation.py latency).
source "$(dirname "$0")/../lib.sh"
require "$CONTROLLER_BIN"
if [[ "${BENCH_QUICK:-0}" == 1 ]]; then sizes=${BENCH_SIZES:-100,1000}; samples=5; else sizes=${BENCH_SIZES:-100,1000,10000}; samples=20; fi
start_backend
port_free "$DP_HTTP_PORT" "$DP_HTTPS_PORT"
scripts/dev-certs.sh "$WORK/certs" >/dev/null
"$PYTHON" "$BENCH_DIR/tools/propagation.py" latency --sizes "$sizes" --samples "$samples" \
  --debounce "${BENCH_DEBOUNCE:-100ms}" --results "$RESULTS/results.jsonl" --workdir "$WORK" \
  --certs "$WORK/certs" --controller-bin "$CONTROLLER_BIN" --dataplane-bin "$BIN" \
  --backend-port "$BACKEND_PORT" --backend-a "$BACKEND_A_PORT" --backend-b "$BACKEND_B_PORT" \
  --dp-port "$DP_HTTP_PORT" --proxy-cpus "$PROXY_CPUS" --load-cpus "$LOAD_CPUS"
