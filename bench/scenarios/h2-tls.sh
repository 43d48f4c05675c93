#!/usr/bin/env bash
# HTTP/2 over TLS (ALPN h2, ECDSA P-256), multiplexed: h2load, 16 connections
# x 32 concurrent streams, small response; backends stay HTTP/1.1 keep-alive.
source "$(dirname "$0")/../lib.sh"
start_backend
start_all 1 ecdsa
for ((r = 0; r < REPEATS; r++)); do
  for p in $(rotated "$r" "${STARTED[@]}"); do
    measure_h2load "$p" "https://127.0.0.1:${HTTPS_PORTS[$p]}/" repeat=$r -- -c 16 -m 32 -t 1
  done
done
