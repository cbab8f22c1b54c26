#!/usr/bin/env bash
# tests/cardscan_e2e_test.sh -- no card data in clear anywhere a running
# system leaves it: starts the example issuer (journal in a temporary
# directory) on 127.0.0.1 with a free port, sends authorizations, repeats
# and reversals with the example acquirer, reads the issuer's /metrics and
# /profile, lists the journal with `isoflow journal show` (table and JSON),
# stops the issuer with SIGTERM, then runs scripts/cardscan over every
# stdout and stderr and the journal's files (database, WAL).  Once in
# iso87a-bbitmap (ASCII) and once in iso87b (BCD PANs on the wire), with
# and without an encryption key.  The PAN list given to the scanner is the
# acquirer's whole built-in card book (400000 + 9 digits + Luhn digit), so
# BCD and EBCDIC copies of those PANs are found as well as text ones.
#
#   bash tests/cardscan_e2e_test.sh BIN_DIR SOURCE_DIR      (ctest runs it so)
set -uo pipefail
BIN=$1
SRC=$2
SCAN=$SRC/scripts/cardscan
TMP=$(mktemp -d)
issuer_pid=
cleanup() {
  if [ -n "$issuer_pid" ] && kill -0 "$issuer_pid" 2>/dev/null; then
    kill -9 "$issuer_pid" 2>/dev/null; wait "$issuer_pid" 2>/dev/null
  fi
  rm -rf "$TMP"
}
trap cleanup EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

for prog in isoflow-issuer isoflow-acquirer isoflow; do
  [ -x "$BIN/$prog" ] || { echo "cardscan_e2e_test: $BIN/$prog missing" >&2; exit 1; }
done

# The built-in card book: 400000, the index on 9 digits, the Luhn digit.
awk 'BEGIN {
  for (i = 0; i < 1000; i++) {
    p = sprintf("400000%09d", i); sum = 0
    for (k = 0; k < 15; k++) {
      d = substr(p, 15 - k, 1) + 0
      if (k % 2 == 0) { d *= 2; if (d > 9) d -= 9 }
      sum += d
    }
    print p ((10 - sum % 10) % 10)
  }
}' > "$TMP/pans"
cat "$SRC/tests/data/test_pans.txt" >> "$TMP/pans"

http_get() { # http_get PORT PATH
  exec 3<>"/dev/tcp/127.0.0.1/$1" || return 1
  printf 'GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' "$2" >&3
  timeout 10 cat <&3
  exec 3<&-
}

run_case() { # run_case NAME SPEC [issuer options...]
  local name=$1 spec=$2; shift 2
  local out=$TMP/$name
  mkdir -p "$out"
  "$BIN/isoflow-issuer" --listen 127.0.0.1:0 --admin 127.0.0.1:0 --threads 2 \
    --spec "$spec" --journal "$out/issuer.db" "$@" \
    > "$out/issuer.out" 2> "$out/issuer.err" &
  issuer_pid=$!
  for _ in $(seq 400); do
    grep -q '^listening on' "$out/issuer.out" 2>/dev/null && break
    kill -0 "$issuer_pid" 2>/dev/null || break
    sleep 0.05
  done
  local port admin
  port=$(sed -n 's/^listening on 127.0.0.1:\([0-9]*\).*/\1/p' "$out/issuer.out")
  admin=$(sed -n 's/.*admin on port \([0-9]*\).*/\1/p' "$out/issuer.out")
  if [ -z "$port" ]; then
    fail "$name: the issuer did not start: $(head -3 "$out/issuer.err")"
    kill -9 "$issuer_pid" 2>/dev/null; wait "$issuer_pid" 2>/dev/null; issuer_pid=
    return
  fi
  timeout 120 "$BIN/isoflow-acquirer" --connect "127.0.0.1:$port" -n 300 --seed 7 \
    --spec "$spec" --connections 2 --repeat-share 0.2 --reverse-share 0.2 \
    > "$out/acquirer.out" 2> "$out/acquirer.err" \
    || fail "$name: the acquirer failed: $(tail -3 "$out/acquirer.err")"
  if [ -n "$admin" ]; then
    http_get "$admin" /metrics > "$out/metrics" 2>&1 || fail "$name: /metrics"
    http_get "$admin" /profile > "$out/profile" 2>&1 || fail "$name: /profile"
  fi
  kill -TERM "$issuer_pid"
  for _ in $(seq 600); do kill -0 "$issuer_pid" 2>/dev/null || break; sleep 0.05; done
  wait "$issuer_pid" || fail "$name: the issuer exited with status $?"
  issuer_pid=
  local keyopt=()
  [ "${1:-}" = --key-file ] && keyopt=(--key-file "$2")
  "$BIN/isoflow" journal show "$out/issuer.db" "${keyopt[@]}" > "$out/show" 2>&1 \
    || fail "$name: journal show"
  "$BIN/isoflow" journal show "$out/issuer.db" --json "${keyopt[@]}" > "$out/show.json" 2>&1 \
    || fail "$name: journal show --json"
  # The run did something: transactions journaled, PANs shown masked.
  [ "$(grep -c '^{' "$out/show.json")" -ge 300 ] \
    || fail "$name: fewer than 300 journaled transactions"
  grep -q '400000\*' "$out/show.json" || fail "$name: no masked PAN in the journal listing"
  "$SCAN" --pans "$TMP/pans" "$out" > "$out.scan" 2>&1
  local rc=$?
  [ "$rc" -eq 0 ] || fail "$name: card data in clear:"$'\n'"$(head -20 "$out.scan")"
}

printf '%064d' 7 > "$TMP/key"
run_case ascii iso87a-bbitmap
run_case bcd iso87b
run_case keyed iso87b --key-file "$TMP/key"

# The scanner sees these PANs when they are there (the check can fail).
printf 'x %s y\n' "$(head -1 "$TMP/pans")" > "$TMP/probe"
"$SCAN" --pans "$TMP/pans" "$TMP/probe" > /dev/null 2>&1
[ $? -eq 1 ] || fail "the scanner missed a built-in card PAN"

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "cardscan_e2e_test: issuer, acquirer and journal leave no card data in clear"
