#!/usr/bin/env bash
# `make run`: two demo backends and a data plane serving examples/snapshot.json,
# all on loopback. Editing examples/snapshot.json changes routing live.
# Ctrl-C stops everything. (Until the controller lands, the data plane reads
# the snapshot file directly.)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/bin/portico-dataplane
HTTP_PORT=${PORTICO_HTTP_PORT:-8080}
ADMIN_PORT=${PORTICO_ADMIN_PORT:-10254}
PY=/usr/bin/python3

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
"$BIN" --snapshot=examples/snapshot.json --http-listen=127.0.0.1:$HTTP_PORT \
  --admin-listen=127.0.0.1:$ADMIN_PORT --workers=1 --access-log=stdout &
pids+=($!)

for _ in $(seq 1 100); do
  curl -sf -o /dev/null "http://127.0.0.1:$ADMIN_PORT/readyz" && break
  sleep 0.1
done

cat <<TXT

Portico is serving examples/snapshot.json on http://127.0.0.1:$HTTP_PORT
(admin: http://127.0.0.1:$ADMIN_PORT/metrics). Try:

  # host + path routing: /api goes to backend-a, /web to backend-b
  curl -s -H 'Host: demo.localhost' http://127.0.0.1:$HTTP_PORT/api/users
  curl -s -H 'Host: demo.localhost' http://127.0.0.1:$HTTP_PORT/web/index.html
  # load balancing: / alternates between backend-a and backend-b (round robin;
  # with several workers each keeps its own rotation, as nginx workers do)
  for i in 1 2 3 4; do curl -s -H 'Host: demo.localhost' http://127.0.0.1:$HTTP_PORT/ | grep -o '"name": *"[^"]*"'; done
  # one-label wildcard host, redirect, direct response, no route (404)
  curl -s -H 'Host: shop.apps.localhost' http://127.0.0.1:$HTTP_PORT/
  curl -si -H 'Host: old.localhost' http://127.0.0.1:$HTTP_PORT/x | head -3
  curl -s -H 'Host: demo.localhost' http://127.0.0.1:$HTTP_PORT/health
  curl -si -H 'Host: nowhere.localhost' http://127.0.0.1:$HTTP_PORT/ | head -1
  # metrics
  curl -s http://127.0.0.1:$ADMIN_PORT/metrics | grep portico_requests_total

Edit examples/snapshot.json and the change is served at once. Ctrl-C stops everything.
Access log (JSON lines) follows:
TXT
wait -n "${pids[@]}"
