#!/usr/bin/env bash
# Portico HTTP/1.1 keep-alive (wrk, 64 connections) with 1 worker on CPU 0 and
# 2 workers on CPUs 0-1. On a 2-CPU machine the second worker shares CPU 1 with
# wrk and the backend, so this shows the per-request cost holding, not 2x.
source "$(dirname "$0")/../lib.sh"
start_backend
for ((r = 0; r < REPEATS; r++)); do
  for workers in 1 2; do
    cpus=$PROXY_CPUS
    ((workers == 1)) || cpus="$PROXY_CPUS,$LOAD_CPUS"
    start_proxy portico "$workers" ecdsa "$cpus"
    measure_wrk portico "http://127.0.0.1:${HTTP_PORTS[portico]}/" 64 repeat=$r \
      workers="$workers ($cpus)"
    stop_proxy portico
  done
done
