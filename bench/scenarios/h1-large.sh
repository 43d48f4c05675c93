#!/usr/bin/env bash
# HTTP/1.1 keep-alive throughput with large responses: 64 KiB and 1 MiB bodies,
# 16 connections; reported as MB/s and CPU per request (and per MB).
source "$(dirname "$0")/../lib.sh"
start_backend
start_all 1
for size in 64k 1m; do
  for ((r = 0; r < REPEATS; r++)); do
    for p in $(rotated "$r" "${STARTED[@]}"); do
      SCENARIO="h1-$size" measure_wrk "$p" "http://127.0.0.1:${HTTP_PORTS[$p]}/$size" 16 repeat=$r
    done
  done
done
