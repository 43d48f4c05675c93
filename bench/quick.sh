#!/usr/bin/env bash
# Quick side-by-side: Portico vs nginx as an HTTP/1.1 keep-alive reverse proxy
# in front of the same nginx backend. Each proxy runs one worker pinned to CPU 0;
# wrk and the backend share CPU 1. Loopback only; every run is time-bounded.
# Usage: bench/quick.sh [duration_seconds] [connections]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
CONNS=${2:-64}
BIN=${PORTICO_BIN:-build/bin/portico-dataplane}
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

BACKEND_PORT=18190
NGINX_PORT=18191
PORTICO_PORT=18192

mkdir -p "$WORK/logs"
cat >"$WORK/backend.conf" <<CONF
worker_processes 1;
daemon off;
pid $WORK/backend.pid;
error_log $WORK/logs/backend-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:$BACKEND_PORT;
    location / { return 200 "hello from the backend\n"; }
  }
}
CONF
cat >"$WORK/proxy.conf" <<CONF
worker_processes 1;
daemon off;
pid $WORK/proxy.pid;
error_log $WORK/logs/proxy-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  upstream backend { server 127.0.0.1:$BACKEND_PORT; keepalive 64; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Real-IP \$remote_addr;
    }
  }
}
CONF
cat >"$WORK/snapshot.json" <<CONF
{"version":"1",
 "virtualHosts":[{"name":"all","routes":[{"name":"root","match":{"type":"TYPE_PREFIX","path":"/"},"action":{"cluster":"backend"}}]}],
 "clusters":[{"name":"backend"}],
 "endpoints":[{"cluster":"backend","endpoints":[{"address":"127.0.0.1","port":$BACKEND_PORT,"ready":true}]}]}
CONF

taskset -c 1 nginx -c "$WORK/backend.conf" -p "$WORK" &
taskset -c 0 nginx -c "$WORK/proxy.conf" -p "$WORK" &
taskset -c 0 "$BIN" --snapshot="$WORK/snapshot.json" --http-listen=127.0.0.1:$PORTICO_PORT \
  --admin-listen=127.0.0.1:0 --workers=1 --access-log=off 2>"$WORK/logs/portico.log" &
for port in $BACKEND_PORT $NGINX_PORT $PORTICO_PORT; do
  for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.05; done
done

# user+system ticks of a process and its children (nginx's master + worker).
cpu_ticks() {
  local total=0 pid
  for pid in $1 $(pgrep -P "$1"); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$total"
}
run() {  # name port pid
  local before after out rps
  before=$(cpu_ticks "$3")
  out=$(taskset -c 1 wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "http://127.0.0.1:$2/")
  after=$(cpu_ticks "$3")
  rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
  local reqs p50 p99 errors
  reqs=$(echo "$out" | awk '/requests in/ {print $1}')
  p50=$(echo "$out" | awk '$1=="50%" {print $2}')
  p99=$(echo "$out" | awk '$1=="99%" {print $2}')
  errors=$(echo "$out" | awk '/Non-2xx|Socket errors/ {print}' | tr '\n' ' ')
  local hz; hz=$(getconf CLK_TCK)
  local us_per_req
  us_per_req=$(awk -v t=$((after - before)) -v hz="$hz" -v n="$reqs" 'BEGIN {printf "%.1f", t / hz * 1e6 / n}')
  printf "%-8s %10s req/s  p50 %-8s p99 %-8s cpu/req %6s us  %s\n" "$1" "$rps" "$p50" "$p99" "$us_per_req" "$errors"
}
nginx_pid=$(cat "$WORK/proxy.pid")
portico_pid=$(pgrep -f -n "portico-dataplane --snapshot=$WORK")
run nginx $NGINX_PORT "$nginx_pid"
run portico $PORTICO_PORT "$portico_pid"
