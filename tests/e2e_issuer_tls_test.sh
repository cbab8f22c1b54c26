#!/usr/bin/env bash
# tests/e2e_issuer_tls_test.sh BIN_DIR SOURCE_DIR -- the issuer serving TLS
# with its journal encrypted (--key-file): the acquirer gets every answer
# over TLS, refuses a server it cannot verify, a repeat after a restart is
# answered from the encrypted journal, and no PAN appears in clear in the
# journal's files.
set -euo pipefail
bin=$1
source "$2/tests/e2e_support.sh"
w=$e2e_work
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$w/key.pem" -out "$w/cert.pem" -days 1 \
  -subj /CN=localhost >/dev/null 2>&1 || fail "openssl could not make a certificate"
head -c 32 /dev/urandom >"$w/journal.key"
issuer_args=(--listen 127.0.0.1:0 --admin 127.0.0.1:0 --journal "$w/issuer.db"
             --key-file "$w/journal.key" --tls-cert "$w/cert.pem" --tls-key "$w/key.pem")
tls=(--tls-ca "$w/cert.pem" --tls-name localhost)

start_prog iss isoflow-issuer "${issuer_args[@]}"
out=$(timeout 60 "$bin/isoflow-acquirer" --connect "127.0.0.1:$iss_port" -n 300 --json \
  --repeat-share 0.2 "${tls[@]}")
grep -q '"sent":[0-9]*,"answered":[0-9]*,' <<<"$out" && grep -q '"timeouts":0,"errors":0,"refused":0' <<<"$out" \
  || fail "load over TLS: $out"
a=$(printf '%s\n' "$(auth 0100 4000000000000010 2000 000001)" | timeout 30 \
  "$bin/isoflow-acquirer" --connect "127.0.0.1:$iss_port" --connections 1 --no-signon \
  --send-json "${tls[@]}" || true)
[ "$(field "$a" 39)" = 00 ] || fail "approval over TLS: $a"
# Trusting another CA, the server cannot be verified: no connection within
# the acquirer's 10 s (status 2).  A CA file that is no certificate: status 2.
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$w/other.key" -out "$w/other.pem" -days 1 \
  -subj /CN=localhost >/dev/null 2>&1 || fail "openssl could not make a certificate"
for ca in "$w/other.pem" "$2/tests/e2e_support.sh"; do
  status=0
  timeout 30 "$bin/isoflow-acquirer" --connect "127.0.0.1:$iss_port" -n 1 --connections 1 \
    --tls-ca "$ca" >/dev/null 2>&1 || status=$?
  [ "$status" = 2 ] || fail "TLS with CA $ca: status $status, not 2"
done
stop_prog "$iss_pid"

start_prog iss isoflow-issuer "${issuer_args[@]}"
r=$(printf '%s\n' "$(auth 0101 4000000000000010 2000 000001)" | timeout 30 \
  "$bin/isoflow-acquirer" --connect "127.0.0.1:$iss_port" --connections 1 --no-signon \
  --send-json --unmasked "${tls[@]}" || true)
[ "$(field "$r" 39)" = 00 ] && [ "$(field "$r" 38)" = "$(field "$a" 38)" ] \
  || fail "repeat from the encrypted journal: $r (original $a)"
[ "$(field "$r" 2)" = 4000000000000010 ] || fail "the PAN did not come back: $r"
stop_prog "$iss_pid"
if grep -c -a '400000000000[0-9]\{4\}' "$w"/issuer.db* | grep -qv ':0$\|^0$'; then
  fail "a PAN in clear in the journal"
fi
echo "e2e_issuer_tls: ok"
