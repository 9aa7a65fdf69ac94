#!/bin/sh
# Makes a self-signed certificate for a domain when none exists yet.
# usage: tools/make-cert.sh DOMAIN CERT_FILE KEY_FILE
set -eu
domain=$1 cert=$2 key=$3
[ -s "$cert" ] && [ -s "$key" ] && exit 0
mkdir -p "$(dirname "$cert")" "$(dirname "$key")"
openssl req -x509 -newkey rsa:2048 -nodes -days 3650 \
  -subj "/CN=$domain" -addext "subjectAltName=DNS:$domain" \
  -keyout "$key" -out "$cert" 2>/dev/null
chmod 600 "$key"
echo "made a self-signed certificate for $domain: $cert"
