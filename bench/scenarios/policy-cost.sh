#!/usr/bin/env bash
# Policy cost: Portico HTTP/1.1 keep-alive (wrk, 64 connections) with its route
# policies off and on. Limits are set so high that nothing is refused: every
# request pays the check (one client IP, so every request hits the same
# rate-limiter entry) and is served, which is what CPU per request compares.
source "$(dirname "$0")/../lib.sh"
start_backend
declare -A POLICY=(
  [off]=""
  [ip-filter]='"ipFilter": {"allow": ["127.0.0.0/8", "::1/128"], "deny": ["10.0.0.0/8"]},'
  [rate-limit]='"rateLimit": {"rps": 1000000, "burstMultiplier": 1000, "zone": "bench"},'
  [rate-limit+connections]='"rateLimit": {"rps": 1000000, "burstMultiplier": 1000, "connections": 1000000, "zone": "bench"},'
)
for ((r = 0; r < REPEATS; r++)); do
  for variant in off ip-filter rate-limit rate-limit+connections; do
    PORTICO_ROUTE_POLICY=${POLICY[$variant]} start_proxy portico
    measure_wrk portico "http://127.0.0.1:${HTTP_PORTS[portico]}/" 64 repeat=$r \
      variant="$variant"
    stop_proxy portico
  done
done
