#!/usr/bin/env bash
# Endpoint churn under load: wrk (64 connections) through a controller-driven
# data plane while the EndpointSlice changes 10 times a second; every failed
# or non-2xx request is a failure (bench/tools/propagation.py churn).
source "$(dirname "$0")/../lib.sh"
require "$CONTROLLER_BIN"
start_backend
port_free "$DP_HTTP_PORT" "$DP_HTTPS_PORT"
scripts/dev-certs.sh "$WORK/certs" >/dev/null
"$PYTHON" "$BENCH_DIR/tools/propagation.py" churn --churn-seconds "$((DURATION * 2))" \
  --churn-rate 10 --debounce "${BENCH_DEBOUNCE:-20ms}" --results "$RESULTS/results.jsonl" \
  --workdir "$WORK" --certs "$WORK/certs" --controller-bin "$CONTROLLER_BIN" --dataplane-bin "$BIN" \
  --backend-port "$BACKEND_PORT" --backend-a "$BACKEND_A_PORT" --backend-b "$BACKEND_B_PORT" \
  --dp-port "$DP_HTTP_PORT" --proxy-cpus "$PROXY_CPUS" --load-cpus "$LOAD_CPUS"
