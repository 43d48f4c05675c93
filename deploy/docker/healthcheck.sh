#!/bin/bash
# Container health probe: GET /healthz on the admin port over bash's /dev/tcp
# (curl is not in debian:12-slim). Exit 0 on HTTP 200, 1 otherwise.
# PORTICO_ADMIN_PORT: 10254 for portico-dataplane (default), 10255 for portico-controller.
port=${PORTICO_ADMIN_PORT:-10254}
{ exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || exit 1
printf 'GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
IFS= read -r -t 2 status <&3 || exit 1
exec 3<&-
[[ $status == "HTTP/1."[01]" 200"* ]] || exit 1
