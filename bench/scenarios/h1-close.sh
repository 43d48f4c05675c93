#!/usr/bin/env bash
# HTTP/1.1 with a new connection per request: wrk sends "Connection: close", so
# every request is a TCP connect + accept + close at the proxy (the backend
# side stays keep-alive). 64 connections.
source "$(dirname "$0")/../lib.sh"
start_backend
start_all 1
for ((r = 0; r < REPEATS; r++)); do
  for p in $(rotated "$r" "${STARTED[@]}"); do
    measure_wrk "$p" "http://127.0.0.1:${HTTP_PORTS[$p]}/" 64 repeat=$r -- -H "Connection: close"
  done
done
