#!/usr/bin/env bash
# tests/e2e_issuer_crash_test.sh BIN_DIR SOURCE_DIR -- the issuer killed with
# SIGKILL in the middle of a load run (authorizations, repeats, reversals),
# then restarted on the same journal: recovery finishes what was in doubt,
# and the balances must agree with the journal exactly -- the sum of every
# card's available balance equals the opening sum, minus the amount of
# every committed authorization, plus that of every committed reversal, as
# `isoflow journal show` lists them.  A second restart rebuilds the same
# balances, and `isoflow journal verify` finds nothing wrong.
set -euo pipefail
bin=$1
source "$2/tests/e2e_support.sh"
db="$e2e_work/issuer.db"

balance() { # ADMIN_PORT KIND
  http_get "$1" /metrics | sed -n "s/^isoflow_issuer_balance_total{kind=\"$2\"} \([0-9.e+]*\).*/\1/p" \
    | awk '{ printf "%.0f", $1 }'
}

start_prog iss isoflow-issuer --listen 127.0.0.1:0 --admin 127.0.0.1:0 --threads 2 --journal "$db"
timeout 60 "$bin/isoflow-acquirer" --connect "127.0.0.1:$iss_port" -n 40000 --rate 8000 \
  --concurrency 256 --repeat-share 0.1 --reverse-share 0.2 --timeout 1000 --json \
  >"$e2e_work/load.json" 2>/dev/null &
load_pid=$!
e2e_pids+=("$load_pid")
sleep 1.5
kill -9 "$iss_pid"
wait "$iss_pid" 2>/dev/null || true
wait "$load_pid" || true
grep -q '"answered":[1-9]' "$e2e_work/load.json" || fail "nothing answered before the kill"

start_prog iss isoflow-issuer --listen 127.0.0.1:0 --admin 127.0.0.1:0 --threads 2 --journal "$db"
grep -q '^restored from the journal' "$e2e_work/iss.out" || fail "nothing restored"
echo "e2e_issuer_crash: $(grep '^restored' "$e2e_work/iss.out")"
available=$(balance "$iss_admin" available)
opening=$(balance "$iss_admin" opening)
[ -n "$available" ] && [ -n "$opening" ] || fail "no balance gauge"
# Traffic after recovery works.
a=$(send "$iss_port" "$(auth 0100 4000000000000010 1 000001)")
[ "$(field "$a" 39)" = 00 ] || fail "approval after recovery: $a"
available=$((available - 1))
stop_prog "$iss_pid"

# What the journal says was committed.
expected=$("$bin/isoflow" journal show "$db" --json | awk -v opening="$opening" '
  /"decision":"commit"/ && /"completed":true/ {
    match($0, /"amount":"[0-9]+"/); amount = substr($0, RSTART + 10, RLENGTH - 11) + 0
    if ($0 ~ /"participants":\[[^]]*"account"/) opening -= amount
    if ($0 ~ /"participants":\[[^]]*"reversal"/) opening += amount
  }
  /"completed":false/ { incomplete++ }
  END { if (incomplete) print "incomplete"; else printf "%.0f", opening }')
[ "$expected" = "$available" ] || fail "balances $available, journal says $expected"
"$bin/isoflow" journal verify "$db" >/dev/null || fail "journal verify found problems"

start_prog iss isoflow-issuer --listen 127.0.0.1:0 --admin 127.0.0.1:0 --threads 2 --journal "$db"
again=$(balance "$iss_admin" available)
[ "$again" = "$available" ] || fail "second restart: $again, first: $available"
stop_prog "$iss_pid"
echo "e2e_issuer_crash: ok (balances $available, as the journal says)"
