# Shared by bench/scenarios/*.sh (sourced, not run). One backend, five proxies
# started from bench/conf/ templates, CPU and memory accounting from /proc,
# results as JSON lines. Loopback only; every run is bounded in time.
#
# Pinning: proxies on BENCH_PROXY_CPUS (CPU 0), load generators and the
# backend on BENCH_LOAD_CPUS (CPU 1).
# Environment:
#   BENCH_RESULTS   results directory (results.jsonl is appended to)
#   BENCH_QUICK=1   short runs: 2 s, 1 repeat, fewer samples
#   BENCH_DURATION  seconds per measurement (default 5; quick 2)
#   BENCH_REPEATS   repeats per scenario and proxy (default 3; quick 1)
#   BENCH_PROXIES   proxies to run (default: portico nginx haproxy nghttpx h2o)
#   PORTICO_BIN     the data plane binary (default build/bin/portico-dataplane)

set -euo pipefail
BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$BENCH_DIR/.." && pwd)
cd "$ROOT"

if [[ "${BENCH_QUICK:-0}" == 1 ]]; then
  DURATION=${BENCH_DURATION:-2}
  REPEATS=${BENCH_REPEATS:-1}
else
  DURATION=${BENCH_DURATION:-5}
  REPEATS=${BENCH_REPEATS:-3}
fi
PROXIES=${BENCH_PROXIES:-"portico nginx haproxy nghttpx h2o"}
PROXY_CPUS=${BENCH_PROXY_CPUS:-0}
LOAD_CPUS=${BENCH_LOAD_CPUS:-1}
BIN=${PORTICO_BIN:-$ROOT/build/bin/portico-dataplane}
CONTROLLER_BIN=${PORTICO_CONTROLLER_BIN:-$(dirname "$BIN")/portico-controller}
RESULTS=${BENCH_RESULTS:-${XDG_CACHE_HOME:-$HOME/.cache}/portico/bench/latest}
PYTHON=/usr/bin/python3
HZ=$(getconf CLK_TCK)
SCENARIO=${SCENARIO:-$(basename "$0" .sh)}

# Fixed high loopback ports, checked free before use (BENCH_PORT_BASE moves them).
PORT_BASE=${BENCH_PORT_BASE:-18400}
BACKEND_PORT=$PORT_BASE
BACKEND_A_PORT=$((PORT_BASE + 1))
BACKEND_B_PORT=$((PORT_BASE + 2))
declare -A HTTP_PORTS=([portico]=$((PORT_BASE + 10)) [nginx]=$((PORT_BASE + 20))
  [haproxy]=$((PORT_BASE + 30)) [nghttpx]=$((PORT_BASE + 40)) [h2o]=$((PORT_BASE + 50)))
declare -A HTTPS_PORTS=([portico]=$((PORT_BASE + 11)) [nginx]=$((PORT_BASE + 21))
  [haproxy]=$((PORT_BASE + 31)) [nghttpx]=$((PORT_BASE + 41)) [h2o]=$((PORT_BASE + 51)))
# The controller-driven data plane of the propagation and churn runs.
DP_HTTP_PORT=$((PORT_BASE + 60))
DP_HTTPS_PORT=$((PORT_BASE + 61))

mkdir -p "$RESULTS"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/portico-bench.XXXXXX")
mkdir -p "$WORK/logs" "$WORK/www"
# nginx workers started by root run as nobody: the backend's files must be readable.
chmod 755 "$WORK" "$WORK/www"
BENCH_PIDS=()
declare -A PROXY_PID=()

bench_cleanup() {
  local pid
  for pid in "${BENCH_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${BENCH_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [[ -n "${BENCH_KEEP_WORK:-}" ]]; then echo "work dir kept: $WORK" >&2; else rm -rf "$WORK"; fi
}
trap bench_cleanup EXIT
trap 'exit 130' INT TERM

# 10,000 idle connections need as many descriptors in the proxy and the client.
# Root may raise the hard limit; others get what the hard limit allows.
ulimit -Hn 65536 2>/dev/null || true
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE=$(ulimit -n)
# HAProxy wants two descriptors per connection it may hold.
MAXCONN=$(( (NOFILE - 200) / 2 < 30000 ? (NOFILE - 200) / 2 : 30000 ))
WORKER_CONNECTIONS=$((NOFILE - 100))

log() { echo "[$(date -u +%H:%M:%S)] $SCENARIO: $*" >&2; }
die() { log "error: $*"; exit 1; }

require() {
  local tool
  for tool in "$@"; do
    command -v "$tool" >/dev/null || die "$tool is missing: run scripts/install-deps.sh bench"
  done
}
require taskset curl openssl wrk h2load ss

port_free() {  # port...
  local port
  for port in "$@"; do
    if [[ -n "$(ss -Hltn "sport = :$port")" ]]; then
      die "port $port is in use (a benchmark left running? set BENCH_PORT_BASE)"
    fi
  done
}

# render TEMPLATE OUT VAR...: copies bench/conf/TEMPLATE to OUT with each
# @VAR@ replaced by the value of the shell variable VAR.
render() {
  local in="$BENCH_DIR/conf/$1" out=$2 var args=()
  shift 2
  for var in "$@"; do args+=(-e "s|@$var@|${!var}|g"); done
  sed "${args[@]}" "$in" >"$out"
  if grep -q '@[A-Z_]*@' "$out"; then die "$out: unfilled placeholder $(grep -o '@[A-Z_]*@' "$out" | head -1)"; fi
}

# wait_http URL [seconds]: polls until a 2xx answer or the deadline.
wait_http() {
  local url=$1 deadline=$((SECONDS + ${2:-10}))
  while ((SECONDS < deadline)); do
    curl -skf -o /dev/null --max-time 1 "$url" && return 0
    sleep 0.05
  done
  return 1
}

# Self-signed ECDSA P-256 and RSA-2048 certificates for localhost, in $WORK.
make_certs() {
  [[ -f "$WORK/ecdsa.crt" ]] && return 0
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj /CN=localhost -keyout "$WORK/ecdsa.key" -out "$WORK/ecdsa.crt" 2>/dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
    -subj /CN=localhost -keyout "$WORK/rsa.key" -out "$WORK/rsa.crt" 2>/dev/null
  local c
  for c in ecdsa rsa; do cat "$WORK/$c.crt" "$WORK/$c.key" >"$WORK/$c.pem"; done
}

# The shared backend: 23 bytes at /, /64k and /1m files, an 8 KiB text/html
# page (/page.html, compressible like a real page) and two named backends.
start_backend() {
  port_free "$BACKEND_PORT" "$BACKEND_A_PORT" "$BACKEND_B_PORT"
  head -c 65536 /dev/zero | tr '\0' x >"$WORK/www/64k"
  head -c 1048576 /dev/zero | tr '\0' x >"$WORK/www/1m"
  local i
  for ((i = 0; i < 128; i++)); do
    printf '<li><a href="/item/%04d">Item %04d: a line of an ordinary page</a></li>\n' "$i" "$i"
  done >"$WORK/www/page.html"
  # Not "| head -c": with pipefail, the loop's SIGPIPE when head exits first failed the run.
  truncate -s 8192 "$WORK/www/page.html"
  render backend.conf "$WORK/backend.conf" NOFILE WORKER_CONNECTIONS WORK BACKEND_PORT BACKEND_A_PORT BACKEND_B_PORT
  taskset -c "$LOAD_CPUS" nginx -c "$WORK/backend.conf" -p "$WORK" 2>>"$WORK/logs/backend.log" &
  BENCH_PIDS+=($!)
  BACKEND_PID=$!
  wait_http "http://127.0.0.1:$BACKEND_PORT/" || die "the backend did not start: $(cat "$WORK"/logs/backend*)"
}

# start_proxy NAME [WORKERS] [CERT (ecdsa|rsa)] [CPUS]: starts one proxy and
# waits until it serves HTTP and HTTPS; PROXY_PID[NAME] is its top process.
start_proxy() {
  local name=$1 WORKERS=${2:-1} cert=${3:-ecdsa} cpus=${4:-$PROXY_CPUS}
  local HTTP_PORT=${HTTP_PORTS[$name]} HTTPS_PORT=${HTTPS_PORTS[$name]}
  local CERT="$WORK/$cert.crt" KEY="$WORK/$cert.key" PEM="$WORK/$cert.pem"
  make_certs
  port_free "$HTTP_PORT" "$HTTPS_PORT"
  local logf="$WORK/logs/$name.log"
  case $name in
    portico)
      # PORTICO_ROUTE_POLICY: route policy fields ('"rateLimit": {...},') for policy-cost.
      ROUTE_POLICY=${PORTICO_ROUTE_POLICY:-} render portico.json "$WORK/portico.json" BACKEND_PORT \
        ROUTE_POLICY
      taskset -c "$cpus" "$BIN" --snapshot="$WORK/portico.json" \
        --http_listen="127.0.0.1:$HTTP_PORT" --https_listen="127.0.0.1:$HTTPS_PORT" \
        --admin_listen=127.0.0.1:0 --workers="$WORKERS" --access_log=off --log_level=warning \
        --default_certificate="$CERT" --default_certificate_key="$KEY" \
        ${PORTICO_EXTRA_ARGS:-} 2>>"$logf" &
      ;;
    nginx)
      render nginx.conf "$WORK/nginx.conf" NOFILE WORKER_CONNECTIONS WORK WORKERS BACKEND_PORT HTTP_PORT HTTPS_PORT CERT KEY
      taskset -c "$cpus" nginx -c "$WORK/nginx.conf" -p "$WORK" 2>>"$logf" &
      ;;
    haproxy)
      render haproxy.cfg "$WORK/haproxy.cfg" MAXCONN WORKERS BACKEND_PORT HTTP_PORT HTTPS_PORT PEM
      taskset -c "$cpus" haproxy -db -f "$WORK/haproxy.cfg" 2>>"$logf" &
      ;;
    nghttpx)
      render nghttpx.conf "$WORK/nghttpx.conf" WORK WORKERS BACKEND_PORT HTTP_PORT HTTPS_PORT CERT KEY
      taskset -c "$cpus" nghttpx --conf="$WORK/nghttpx.conf" 2>>"$logf" &
      ;;
    h2o)
      USER=$(id -un) render h2o.conf "$WORK/h2o.conf" WORKER_CONNECTIONS USER WORK WORKERS BACKEND_PORT HTTP_PORT HTTPS_PORT CERT KEY
      taskset -c "$cpus" h2o -c "$WORK/h2o.conf" >>"$logf" 2>&1 &
      ;;
    *) die "unknown proxy $name" ;;
  esac
  PROXY_PID[$name]=$!
  BENCH_PIDS+=($!)
  if ! wait_http "http://127.0.0.1:$HTTP_PORT/" 15 || ! wait_http "https://127.0.0.1:$HTTPS_PORT/" 5; then
    die "$name did not come up on $HTTP_PORT/$HTTPS_PORT: $(tail -5 "$logf")"
  fi
}

stop_proxy() {  # NAME: the whole process tree, and its ports free again
  local pid=${PROXY_PID[$1]:-} tree p alive
  [[ -n "$pid" ]] || return 0
  tree=$(process_tree "$pid")
  kill $tree 2>/dev/null || true
  local deadline=$((SECONDS + 10))
  while ((SECONDS < deadline)); do
    alive=0
    for p in $tree; do kill -0 "$p" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.05
  done
  kill -9 $tree 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset "PROXY_PID[$1]"
  while [[ -n "$(ss -Hltn "( sport = :${HTTP_PORTS[$1]} or sport = :${HTTPS_PORTS[$1]} )")" ]] &&
    ((SECONDS < deadline + 5)); do sleep 0.05; done
}

# A process and all its descendants (nginx/nghttpx master + workers).
process_tree() {
  local pid=$1 child
  echo "$pid"
  for child in $(pgrep -P "$pid" 2>/dev/null); do process_tree "$child"; done
}

# user+system clock ticks of the whole tree.
cpu_ticks() {
  local total=0 pid t
  for pid in $(process_tree "$1"); do
    t=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null) || continue
    total=$((total + t))
  done
  echo "$total"
}

# Resident set of the whole tree, KiB.
rss_kib() {
  local total=0 pid r
  for pid in $(process_tree "$1"); do
    r=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null) || continue
    total=$((total + ${r:-0}))
  done
  echo "$total"
}

# us_per TICKS COUNT: CPU microseconds per unit.
us_per() { awk -v t="$1" -v hz="$HZ" -v n="$2" 'BEGIN {printf "%.2f", (n > 0 ? t / hz * 1e6 / n : -1)}'; }

# emit key=value...: one JSON object on results.jsonl. Numbers stay numbers.
emit() {
  local kv key value out="{\"scenario\":\"$SCENARIO\",\"time\":\"$(date -u +%FT%TZ)\""
  for kv in "$@"; do
    key=${kv%%=*}
    value=${kv#*=}
    if [[ "$value" =~ ^-?[0-9]+(\.[0-9]+)?$ ]]; then
      out+=",\"$key\":$value"
    else
      value=${value//\\/\\\\}
      out+=",\"$key\":\"${value//\"/\\\"}\""
    fi
  done
  echo "$out}" >>"$RESULTS/results.jsonl"
  echo "  $*" >&2
}

# rotated N WORD...: the words starting at position N mod count, wrapping, so
# no proxy always goes first.
rotated() {
  local n=$1
  shift
  local words=("$@") i
  for ((i = 0; i < ${#words[@]}; i++)); do echo "${words[(i + n) % ${#words[@]}]}"; done
}

# wrk latency "1.23ms" / "850.00us" / "1.02s" -> milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) {sub(/us$/, "", v); printf "%.3f", v / 1000}
    else if (v ~ /ms$/) {sub(/ms$/, "", v); printf "%.3f", v}
    else if (v ~ /s$/) {sub(/s$/, "", v); printf "%.3f", v * 1000}
    else printf "-1"}'
}

# measure_wrk PROXY URL CONNECTIONS [EXTRA_KEY=VALUE...] -- [wrk args]: runs
# wrk on the load CPU for DURATION seconds and emits one result line.
measure_wrk() {
  local proxy=$1 url=$2 conns=$3
  shift 3
  local extra=()
  while (($#)) && [[ "$1" != -- ]]; do extra+=("$1"); shift; done
  (($#)) && shift
  local pid=${PROXY_PID[$proxy]} before after out
  before=$(cpu_ticks "$pid")
  out=$(taskset -c "$LOAD_CPUS" timeout $((DURATION + 30)) wrk -t1 -c"$conns" -d"${DURATION}s" \
    --timeout 10s --latency "$@" "$url" 2>&1) || true
  after=$(cpu_ticks "$pid")
  local reqs rps p50 p99 bytes non2xx sockerr
  reqs=$(awk '/requests in/ {gsub(",", "", $1); print $1}' <<<"$out")
  rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
  p50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
  p99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
  # "N requests in Ts, X.YZMB read": bytes read, for MB/s.
  bytes=$(awk '/requests in/ {v = $5; m = 1; if (v ~ /KB$/) m = 1024; else if (v ~ /MB$/) m = 1048576;
    else if (v ~ /GB$/) m = 1073741824; gsub(/[A-Za-z]+$/, "", v); printf "%.0f", v * m}' <<<"$out")
  local secs; secs=$(awk '/requests in/ {v = $4; sub(/s,$/, "", v); print v}' <<<"$out")
  non2xx=$(awk '/Non-2xx or 3xx responses/ {print $NF}' <<<"$out")
  sockerr=$(awk '/Socket errors/ {n = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) n += $i; print n}' <<<"$out")
  if [[ -z "$reqs" || -z "$rps" ]]; then
    log "wrk against $proxy produced no result: $(head -5 <<<"$out")"
    emit proxy="$proxy" "${extra[@]}" failed=1
    return 0
  fi
  local mbps; mbps=$(awk -v b="${bytes:-0}" -v s="${secs:-1}" 'BEGIN {printf "%.1f", (s > 0 ? b / s / 1e6 : 0)}')
  emit proxy="$proxy" "${extra[@]}" rps="$rps" p50_ms="$p50" p99_ms="$p99" \
    cpu_us="$(us_per $((after - before)) "$reqs")" cpu_pct="$(awk -v t=$((after - before)) -v hz="$HZ" -v d="$DURATION" 'BEGIN {printf "%.0f", t / hz / d * 100}')" \
    mbps="$mbps" requests="$reqs" errors=$((${non2xx:-0} + ${sockerr:-0})) \
    rss_kib="$(rss_kib "$pid")"
}

# start_all [WORKERS] [CERT]: every proxy in PROXIES; STARTED lists those that came up.
start_all() {
  local p
  STARTED=()
  for p in $PROXIES; do
    start_proxy "$p" "${1:-1}" "${2:-ecdsa}"
    STARTED+=("$p")
  done
}
stop_all() {
  local p
  for p in "${!PROXY_PID[@]}"; do stop_proxy "$p"; done
}

# measure_h2load PROXY URL [KEY=VALUE...] -- h2load args: DURATION seconds of
# h2load on the load CPU; p50/p99 from its per-request log.
measure_h2load() {
  local proxy=$1 url=$2
  shift 2
  local extra=()
  while (($#)) && [[ "$1" != -- ]]; do extra+=("$1"); shift; done
  (($#)) && shift
  local pid=${PROXY_PID[$proxy]} before after out reqlog="$WORK/h2load.log"
  rm -f "$reqlog"
  before=$(cpu_ticks "$pid")
  out=$(taskset -c "$LOAD_CPUS" timeout $((DURATION + 30)) h2load -D "$DURATION" \
    --log-file="$reqlog" "$@" "$url" 2>&1) || true
  after=$(cpu_ticks "$pid")
  local ok failed errored rps non2xx
  read -r ok failed errored < <(awk '/^requests:/ {print $8, $10, $12}' <<<"$out")
  rps=$(awk '/^finished in/ {gsub(",", "", $4); print $4}' <<<"$out")
  non2xx=$(awk '/^status codes:/ {print $5 + $7 + $9}' <<<"$out")
  if [[ -z "$ok" || -z "$rps" ]]; then
    log "h2load against $proxy produced no result: $(tail -3 <<<"$out")"
    emit proxy="$proxy" "${extra[@]}" failed=1
    return 0
  fi
  local p50 p99
  read -r p50 p99 < <(taskset -c "$LOAD_CPUS" cut -f3 "$reqlog" 2>/dev/null | sort -n | awk '
    {v[NR] = $1} END {if (NR) printf "%.3f %.3f\n", v[int(NR * 0.5) + 1] / 1000, v[int(NR * 0.99) + 1] / 1000; else print "-1 -1"}')
  rm -f "$reqlog"
  emit proxy="$proxy" "${extra[@]}" rps="$rps" p50_ms="$p50" p99_ms="$p99" \
    cpu_us="$(us_per $((after - before)) "$ok")" cpu_pct="$(awk -v t=$((after - before)) -v hz="$HZ" -v d="$DURATION" 'BEGIN {printf "%.0f", t / hz / d * 100}')" \
    requests="$ok" errors=$((failed + errored + ${non2xx:-0})) rss_kib="$(rss_kib "$pid")"
}

# measure_s_time PROXY MODE(new|reuse) [KEY=VALUE...]: openssl s_time for
# DURATION seconds (one sequential client); CPU per handshake.
measure_s_time() {
  local proxy=$1 mode=$2
  shift 2
  local pid=${PROXY_PID[$proxy]} before after out n start end
  before=$(cpu_ticks "$pid")
  start=$(date +%s.%N)
  # -www /: a request per connection, so that TLS 1.3 session tickets are read
  # (-reuse needs one) and both modes do the same work besides the handshake.
  out=$(taskset -c "$LOAD_CPUS" timeout $((DURATION + 30)) openssl s_time \
    -connect "127.0.0.1:${HTTPS_PORTS[$proxy]}" -"$mode" -www / -time "$DURATION" 2>&1 </dev/null) || true
  end=$(date +%s.%N)
  after=$(cpu_ticks "$pid")
  n=$(awk '/connections in [0-9]+ real seconds/ {n = $1} END {print n + 0}' <<<"$out")
  # s_time prints '*' per full and 'r' per resumed handshake.
  local resumed; resumed=$(grep -E '^[*r]+$' <<<"$out" | tr -cd 'r' | wc -c)
  if [[ "$n" == 0 ]]; then
    log "s_time -$mode against $proxy produced no result: $(tail -3 <<<"$out")"
    emit proxy="$proxy" "$@" failed=1
    return 0
  fi
  emit proxy="$proxy" "$@" rps="$(awk -v n="$n" -v a="$start" -v b="$end" 'BEGIN {printf "%.0f", n / (b - a)}')" \
    cpu_us="$(us_per $((after - before)) "$n")" requests="$n" errors=0 \
    resumed_pct="$(awk -v r="$resumed" -v n="$n" 'BEGIN {printf "%.0f", r * 100 / n}')" \
    cpu_pct="$(awk -v t=$((after - before)) -v hz="$HZ" -v d="$DURATION" 'BEGIN {printf "%.0f", t / hz / d * 100}')"
}
