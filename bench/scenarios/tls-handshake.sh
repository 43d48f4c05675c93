#!/usr/bin/env bash
# TLS handshakes per second and proxy CPU per handshake: full handshakes
# (openssl s_time -new) with an ECDSA P-256 and an RSA-2048 certificate, and
# resumed ones (-reuse, session tickets; ECDSA). One request per connection.
source "$(dirname "$0")/../lib.sh"
start_backend
for cert in ecdsa rsa; do
  start_all 1 "$cert"
  for ((r = 0; r < REPEATS; r++)); do
    for p in $(rotated "$r" "${STARTED[@]}"); do
      SCENARIO="tls-full-$cert" measure_s_time "$p" new repeat=$r
      if [[ $cert == ecdsa ]]; then SCENARIO=tls-resumed measure_s_time "$p" reuse repeat=$r; fi
    done
  done
  stop_all
done
