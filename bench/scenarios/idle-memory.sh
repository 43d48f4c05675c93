#!/usr/bin/env bash
# Memory per idle keep-alive connection: a fresh proxy, warmed up, then 10,000
# connections (bench/tools/idle_conns.py: one request each, then idle) over
# HTTP/1.1 in clear and HTTP/2 over TLS; RSS growth of the proxy's processes
# divided by the connections held. HAProxy holds at most MAXCONN connections
# under the descriptor limit, so it may get fewer (the result says how many).
source "$(dirname "$0")/../lib.sh"
IDLE_CONNS=${BENCH_IDLE_CONNS:-$([[ "${BENCH_QUICK:-0}" == 1 ]] && echo 2000 || echo 10000)}
start_backend
make_certs
for ((r = 0; r < ${BENCH_IDLE_REPEATS:-1}; r++)); do
  for p in $(rotated "$r" $PROXIES); do
    for proto in h1 h2; do
      start_proxy "$p" 1 ecdsa
      pid=${PROXY_PID[$p]}
      if [[ $proto == h1 ]]; then port=${HTTP_PORTS[$p]}; else port=${HTTPS_PORTS[$p]}; fi
      count=$IDLE_CONNS
      if [[ $p == haproxy ]] && ((count > MAXCONN - 100)); then count=$((MAXCONN - 100)); fi
      # Warm-up: code paths, pools and TLS state touched once before the baseline.
      taskset -c "$LOAD_CPUS" h2load -n 2000 -c 20 $([[ $proto == h1 ]] && echo --h1) \
        "$([[ $proto == h1 ]] && echo http || echo https)://127.0.0.1:$port/" >/dev/null 2>&1 || true
      sleep 1
      base=$(rss_kib "$pid")
      coproc IDLE { exec taskset -c "$LOAD_CPUS" "$PYTHON" "$BENCH_DIR/tools/idle_conns.py" \
        --port "$port" --count "$count" --proto "$proto" --timeout 120 --hold 60 2>>"$WORK/logs/idle.log"; }
      idle_pid=$IDLE_PID
      idle_out=${IDLE[0]}
      idle_in=${IDLE[1]}
      ready=""
      read -r -t 150 ready open failed <&"$idle_out" || true
      if [[ "$ready" != READY ]]; then
        log "$p $proto: the idle client did not report ($(tail -3 "$WORK/logs/idle.log"))"
        kill "$idle_pid" 2>/dev/null || true
        emit proxy="$p" proto="$proto" repeat=$r failed=1
      else
        sleep 2  # let timers that release idle buffers run
        held=$(rss_kib "$pid")
        emit proxy="$p" proto="$proto" repeat=$r connections="$open" errors="$failed" \
          rss_base_kib="$base" rss_kib="$held" \
          kib_per_conn="$(awk -v a="$base" -v b="$held" -v n="$open" 'BEGIN {printf "%.2f", (n > 0 ? (b - a) / n : -1)}')"
      fi
      exec {idle_in}>&-
      wait "$idle_pid" 2>/dev/null || true
      stop_proxy "$p"
    done
  done
done
