#!/usr/bin/env bash
# `make run`: the controller on the manifests in examples/, one data plane
# subscribed to it over mTLS, and two demo backends, all on loopback.
# Editing a file in examples/ changes routing live. Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/bin
HTTP_PORT=${PORTICO_HTTP_PORT:-8080}
ADMIN_PORT=${PORTICO_ADMIN_PORT:-10254}
CONTROLLER_ADMIN_PORT=${PORTICO_CONTROLLER_ADMIN_PORT:-10255}
GRPC_PORT=${PORTICO_GRPC_PORT:-18000}
RUN_DIR=.run
PY=/usr/bin/python3

mkdir -p "$RUN_DIR/state"
scripts/dev-certs.sh "$RUN_DIR/certs" >/dev/null
C="$RUN_DIR/certs"

pids=()
cleanup() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup INT TERM EXIT

for spec in "19001 backend-a" "19002 backend-b"; do
  set -- $spec
  $PY tests/backends/echo_backend.py --host 127.0.0.1 --port "$1" --name "$2" >/dev/null &
  pids+=($!)
done
"$BIN/portico-controller" --source=file:examples --grpc-listen=127.0.0.1:$GRPC_PORT \
  --admin-listen=127.0.0.1:$CONTROLLER_ADMIN_PORT \
  --tls-cert="$C/controller.pem" --tls-key="$C/controller-key.pem" --tls-ca="$C/ca.pem" &
pids+=($!)
# One worker keeps the demo's round robin visible: each worker has its own
# rotation, as nginx workers do.
"$BIN/portico-dataplane" --controller=127.0.0.1:$GRPC_PORT --state-dir="$RUN_DIR/state" \
  --tls-cert="$C/dataplane.pem" --tls-key="$C/dataplane-key.pem" --tls-ca="$C/ca.pem" \
  --http-listen=127.0.0.1:$HTTP_PORT --admin-listen=127.0.0.1:$ADMIN_PORT --workers=1 \
  --access-log=stdout &
pids+=($!)

for _ in $(seq 1 100); do
  curl -sf -o /dev/null "http://127.0.0.1:$ADMIN_PORT/readyz" && break
  sleep 0.1
done

cat <<TXT

Portico: controller on examples/ (admin :$CONTROLLER_ADMIN_PORT), data plane on
http://127.0.0.1:$HTTP_PORT (admin :$ADMIN_PORT), mTLS between them. Try:

  # host + path routing: /api goes to backend-a, /web to backend-b
  curl -s -H 'Host: demo.localhost' http://127.0.0.1:$HTTP_PORT/api/users
  curl -s -H 'Host: demo.localhost' http://127.0.0.1:$HTTP_PORT/web/index.html
  # load balancing: / alternates between backend-a and backend-b
  for i in 1 2 3 4; do curl -s -H 'Host: demo.localhost' http://127.0.0.1:$HTTP_PORT/ | grep -o '"name": *"[^"]*"'; done
  # one-label wildcard host; a host nobody serves (404)
  curl -s -H 'Host: shop.apps.localhost' http://127.0.0.1:$HTTP_PORT/
  curl -si -H 'Host: nowhere.localhost' http://127.0.0.1:$HTTP_PORT/ | head -1
  # metrics: requests, and which snapshot version the data plane acknowledged
  curl -s http://127.0.0.1:$ADMIN_PORT/metrics | grep portico_requests_total
  curl -s http://127.0.0.1:$CONTROLLER_ADMIN_PORT/metrics | grep acked_version

Edit examples/ingress.yaml (e.g. point /api at backend-b) and the next request
follows it. Ctrl-C stops everything. Access log (JSON lines) follows:
TXT
wait -n "${pids[@]}"
