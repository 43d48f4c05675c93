#!/usr/bin/env bash
# HTTP/2 over TLS and TLS handshakes, side by side: Portico, nginx, HAProxy and
# nghttpx in front of the same nginx backend. Each proxy runs one worker/thread
# pinned to CPU 0; the load generator (h2load, openssl s_time) and the backend
# share CPU 1. Loopback only; every run is time-bounded.
#
# Scenarios (proxies alternate inside each round; ROUNDS rounds):
#   h2       h2load -c 16 -m 32 -D DURATION, ECDSA P-256 certificate
#   hs-ecdsa openssl s_time -new (full handshakes), ECDSA P-256 certificate
#   hs-rsa   openssl s_time -new (full handshakes), RSA-2048 certificate
# CPU per request/handshake = proxy user+sys ticks (all its processes) / count.
# Output: one line per measurement, then medians.
# Usage: bench/h2tls.sh [duration_seconds] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
ROUNDS=${2:-3}
PROXIES=${PROXIES:-"portico nginx haproxy nghttpx"}
BIN=${PORTICO_BIN:-build/bin/portico-dataplane}
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}" $(jobs -p); do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

BACKEND_PORT=18290
declare -A PORT=([portico]=18291 [nginx]=18293 [haproxy]=18294 [nghttpx]=18295)
PORTICO_HTTP_PORT=18292
HZ=$(getconf CLK_TCK)
mkdir -p "$WORK/logs"

# Certificates: ECDSA P-256 and RSA-2048, self-signed for localhost.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=localhost -keyout "$WORK/ecdsa.key" -out "$WORK/ecdsa.crt" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
  -subj /CN=localhost -keyout "$WORK/rsa.key" -out "$WORK/rsa.crt" 2>/dev/null
for c in ecdsa rsa; do cat "$WORK/$c.crt" "$WORK/$c.key" >"$WORK/$c.pem"; done

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
taskset -c 1 nginx -c "$WORK/backend.conf" -p "$WORK" &
PIDS+=($!)

cat >"$WORK/snapshot.json" <<CONF
{"version":"1",
 "virtualHosts":[{"name":"all","routes":[{"name":"root","match":{"type":"TYPE_PREFIX","path":"/"},"action":{"cluster":"backend"}}]}],
 "clusters":[{"name":"backend"}],
 "endpoints":[{"cluster":"backend","endpoints":[{"address":"127.0.0.1","port":$BACKEND_PORT,"ready":true}]}]}
CONF

write_configs() {  # cert: ecdsa | rsa
  local c=$1
  cat >"$WORK/nginx-$c.conf" <<CONF
worker_processes 1;
daemon off;
pid $WORK/nginx-$c.pid;
error_log $WORK/logs/nginx-error.log;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  upstream backend { server 127.0.0.1:$BACKEND_PORT; keepalive 64; }
  server {
    listen 127.0.0.1:${PORT[nginx]} ssl http2;
    ssl_certificate $WORK/$c.crt;
    ssl_certificate_key $WORK/$c.key;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
CONF
  cat >"$WORK/haproxy-$c.cfg" <<CONF
global
  nbthread 1
  maxconn 4096
defaults
  mode http
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend fe
  bind 127.0.0.1:${PORT[haproxy]} ssl crt $WORK/$c.pem alpn h2,http/1.1
  default_backend be
backend be
  http-reuse always
  server s1 127.0.0.1:$BACKEND_PORT
CONF
}

declare -A PID
start_proxies() {  # cert
  local c=$1 p port
  write_configs "$c"
  taskset -c 0 "$BIN" --snapshot="$WORK/snapshot.json" --https-listen=127.0.0.1:${PORT[portico]} \
    --http-listen=127.0.0.1:$PORTICO_HTTP_PORT --admin-listen=127.0.0.1:0 --workers=1 \
    --access-log=off --log-level=warning \
    --default-certificate="$WORK/$c.crt" --default-certificate-key="$WORK/$c.key" \
    2>>"$WORK/logs/portico.log" &
  PID[portico]=$!
  taskset -c 0 nginx -c "$WORK/nginx-$c.conf" -p "$WORK" 2>>"$WORK/logs/nginx-error.log" &
  PID[nginx]=$!
  taskset -c 0 haproxy -db -f "$WORK/haproxy-$c.cfg" 2>>"$WORK/logs/haproxy.log" &
  PID[haproxy]=$!
  taskset -c 0 nghttpx --conf=/dev/null -n1 --frontend=127.0.0.1,${PORT[nghttpx]} \
    --backend=127.0.0.1,$BACKEND_PORT --no-ocsp --log-level=WARN \
    --errorlog-file="$WORK/logs/nghttpx.log" "$WORK/$c.key" "$WORK/$c.crt" &
  PID[nghttpx]=$!
  PIDS+=("${PID[@]}")
  for p in $PROXIES; do
    port=${PORT[$p]}
    for _ in $(seq 1 100); do curl -skf -o /dev/null "https://127.0.0.1:$port/" && break; sleep 0.05; done
    curl -skf -o /dev/null "https://127.0.0.1:$port/" || { echo "$p did not come up on $port" >&2; exit 1; }
  done
}
stop_proxies() {
  local p
  for p in portico nginx haproxy nghttpx; do kill "${PID[$p]}" 2>/dev/null || true; done
  for p in portico nginx haproxy nghttpx; do wait "${PID[$p]}" 2>/dev/null || true; done
  sleep 0.5
}

# user+system ticks of a process and its children (nginx/nghttpx master + worker).
cpu_ticks() {
  local total=0 pid
  for pid in $1 $(pgrep -P "$1"); do
    total=$((total + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo "$total"
}

RESULTS=$WORK/results.txt
: >"$RESULTS"
measure_h2() {  # proxy
  local p=$1 before after out rps ok codes
  before=$(cpu_ticks "${PID[$p]}")
  out=$(taskset -c 1 timeout $((DURATION + 20)) h2load -c 16 -m 32 -D "$DURATION" "https://127.0.0.1:${PORT[$p]}/" 2>&1 || true)
  after=$(cpu_ticks "${PID[$p]}")
  rps=$(echo "$out" | awk '/^finished in/ {gsub(",", "", $4); print $4}')
  ok=$(echo "$out" | awk '/^requests:/ {print $8}')
  codes=$(echo "$out" | awk '/^status codes:/ {$1=$2=""; print}' | xargs)
  local us; us=$(awk -v t=$((after - before)) -v hz="$HZ" -v n="${ok:-0}" 'BEGIN {printf "%.2f", n ? t / hz * 1e6 / n : 0}')
  echo "h2 $p ${rps:-0} $us" >>"$RESULTS"
  printf "%-9s %-8s %10s req/s  %8s us/req  ok %s  [%s]\n" h2 "$p" "${rps:-0}" "$us" "${ok:-0}" "$codes"
}
measure_hs() {  # scenario proxy
  local s=$1 p=$2 before after out n real
  before=$(cpu_ticks "${PID[$p]}")
  out=$(taskset -c 1 timeout $((DURATION + 20)) openssl s_time -connect "127.0.0.1:${PORT[$p]}" -new -time "$DURATION" 2>&1 </dev/null || true)
  after=$(cpu_ticks "${PID[$p]}")
  read -r n real < <(echo "$out" | awk '/real seconds/ {print $1, $4}')
  local rate us
  rate=$(awk -v n="${n:-0}" -v r="${real:-1}" 'BEGIN {printf "%.0f", n / r}')
  us=$(awk -v t=$((after - before)) -v hz="$HZ" -v n="${n:-0}" 'BEGIN {printf "%.1f", n ? t / hz * 1e6 / n : 0}')
  echo "$s $p $rate $us" >>"$RESULTS"
  printf "%-9s %-8s %10s hs/s   %8s us/hs  (%s connections)\n" "$s" "$p" "$rate" "$us" "${n:-0}"
}

echo "# $(date -u +%Y-%m-%dT%H:%MZ) on $(nproc) cores: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "# $(nginx -v 2>&1); $(haproxy -v | head -1); $(nghttpx --version | head -1); $(h2load --version | head -1); $(openssl version)"
for c in ecdsa rsa; do
  start_proxies "$c"
  for r in $(seq 1 "$ROUNDS"); do
    # Rotate the starting proxy each round so no one always goes first.
    order=($PROXIES); order=("${order[@]:$(( (r - 1) % ${#order[@]} ))}" "${order[@]:0:$(( (r - 1) % ${#order[@]} ))}")
    for p in "${order[@]}"; do
      [ "$c" = ecdsa ] && measure_h2 "$p"
      measure_hs "hs-$c" "$p"
    done
  done
  stop_proxies
done

echo "# medians over $ROUNDS rounds (each column separately): scenario proxy rate us_per_unit"
for s in h2 hs-ecdsa hs-rsa; do
  for p in $PROXIES; do
    awk -v s="$s" -v p="$p" '$1 == s && $2 == p {print $3, $4}' "$RESULTS" | awk -v s="$s" -v p="$p" '
      function median(a, n,   i, j, t) {  # insertion sort, then the middle
        for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
        return a[int((n + 1) / 2)]
      }
      {r[NR] = $1; u[NR] = $2}
      END {if (NR) printf "median %-9s %-8s %10s %8s\n", s, p, median(r, NR), median(u, NR)}'
  done
done
