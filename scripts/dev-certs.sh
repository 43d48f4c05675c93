#!/usr/bin/env bash
# Generates development certificates for the controller <-> data plane stream (mTLS):
#   ca.pem, ca-key.pem                  a dev CA
#   controller.pem, controller-key.pem  server cert: DNS:portico-controller, DNS:localhost, IP:127.0.0.1
#   dataplane.pem, dataplane-key.pem    client cert: CN/SAN portico-dataplane
# ECDSA P-256. Idempotent: files that exist and still chain to the CA are kept;
# a new CA re-issues both leaves. For local runs and tests only.
# Usage: scripts/dev-certs.sh DIR
set -euo pipefail

if [[ $# -ne 1 ]]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
dir=$1
mkdir -p "$dir"
cd "$dir"
umask 077  # private keys

days=825  # leaf validity; the CA lasts ten years

newkey() {
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
}

if [[ ! -s ca.pem || ! -s ca-key.pem ]]; then
  newkey ca-key.pem
  openssl req -x509 -new -key ca-key.pem -sha256 -days 3650 -subj "/CN=portico dev CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out ca.pem 2>/dev/null
  rm -f controller.pem dataplane.pem
fi

# issue NAME CN SAN EKU
issue() {
  local name=$1 cn=$2 san=$3 eku=$4
  if [[ -s $name.pem && -s $name-key.pem ]] &&
    openssl verify -CAfile ca.pem "$name.pem" >/dev/null 2>&1; then
    return
  fi
  newkey "$name-key.pem"
  local ext
  ext=$(mktemp)
  trap 'rm -f "$ext" "$name.csr"' RETURN
  printf '%s\n' \
    "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=$eku" \
    "subjectAltName=$san" >"$ext"
  openssl req -new -key "$name-key.pem" -subj "/CN=$cn" -out "$name.csr" 2>/dev/null
  openssl x509 -req -in "$name.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial \
    -days "$days" -sha256 -extfile "$ext" -out "$name.pem" 2>/dev/null
}

issue controller portico-controller \
  "DNS:portico-controller,DNS:localhost,IP:127.0.0.1" serverAuth
issue dataplane portico-dataplane "DNS:portico-dataplane" clientAuth
rm -f ca.srl

# Certificates are public; keys stay owner-only.
chmod 644 ca.pem controller.pem dataplane.pem
echo "$dir: ca.pem controller.pem controller-key.pem dataplane.pem dataplane-key.pem"
