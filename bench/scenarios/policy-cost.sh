#!/usr/bin/env bash
# Policy cost: Portico HTTP/1.1 keep-alive (wrk, 64 connections) with its route
# policies off and on. Limits are set so high that nothing is refused: every
# request pays the check (one client IP, so every request hits the same
# rate-limiter entry) and is served, which is what CPU per request compares.
# Compression is measured on an 8 KiB text/html page (the small default
# response is below the minimum length): "page" is that page uncompressed,
# "gzip" and "brotli" the same page compressed on every request.
source "$(dirname "$0")/../lib.sh"
start_backend
declare -A POLICY=(
  [off]=""
  [ip-filter]='"ipFilter": {"allow": ["127.0.0.0/8", "::1/128"], "deny": ["10.0.0.0/8"]},'
  [rate-limit]='"rateLimit": {"rps": 1000000, "burstMultiplier": 1000, "zone": "bench"},'
  [rate-limit+connections]='"rateLimit": {"rps": 1000000, "burstMultiplier": 1000, "connections": 1000000, "zone": "bench"},'
  [page]=""
  [gzip]='"compression": {"gzip": true},'
  [brotli]='"compression": {"brotli": true},'
)
declare -A PATH_OF=([page]=/page.html [gzip]=/page.html [brotli]=/page.html)
declare -A ENCODING=([gzip]=gzip [brotli]=br)
for ((r = 0; r < REPEATS; r++)); do
  for variant in off ip-filter rate-limit rate-limit+connections page gzip brotli; do
    PORTICO_ROUTE_POLICY=${POLICY[$variant]} start_proxy portico
    headers=()
    [[ -n "${ENCODING[$variant]:-}" ]] && headers=(-H "Accept-Encoding: ${ENCODING[$variant]}")
    measure_wrk portico "http://127.0.0.1:${HTTP_PORTS[portico]}${PATH_OF[$variant]:-/}" 64 \
      repeat=$r variant="$variant" -- "${headers[@]}"
    stop_proxy portico
  done
done
