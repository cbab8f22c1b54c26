#!/usr/bin/env bash
# tests/e2e_issuer_test.sh BIN_DIR SOURCE_DIR -- the real isoflow-issuer on
# loopback, driven by isoflow-acquirer: approvals, every decline reason (14,
# 51, 54, 30, 94), a repeat answered from the original without touching the
# balance, a reversal releasing its amount, a restart with balances and
# repeats answered from the journal, network messages, the admin
# endpoint's answers, a load run with repeats and reversals, a clean stop
# on SIGTERM, overload declines (91) and the default number of worker
# loops (one per core less one).  Balances are observed through
# approvals and declines on card 98 of the built-in book (opening balance
# 50.00).
set -euo pipefail
bin=$1
source "$2/tests/e2e_support.sh"

pan98=4000000000000986   # 50.00
pan99=4000000000000994   # expired
pan1=4000000000000010

start_prog iss isoflow-issuer --listen 127.0.0.1:0 --admin 127.0.0.1:0 --threads 2 \
  --journal "$e2e_work/issuer.db"
grep -q '^worker loops: 2$' "$e2e_work/iss.out" || fail "--threads 2: $(cat "$e2e_work/iss.out")"

# Approval, its repeat (answered from the original), then the balance.
a=$(send "$iss_port" "$(auth 0100 $pan98 3000 000001)")
[ "$(field "$a" 39)" = 00 ] || fail "approval: $a"
code=$(field "$a" 38)
[ ${#code} = 6 ] || fail "no six-character authorization code: $a"
[ "$(field "$a" 0)" = 0110 ] || fail "response MTI: $a"
[ "$(field "$a" 2)" = "400000******0986" ] || fail "PAN not masked in the answer: $a"

r=$(send "$iss_port" "$(auth 0101 $pan98 3000 000001)")
[ "$(field "$r" 39)" = 00 ] && [ "$(field "$r" 38)" = "$code" ] || fail "repeat: $r"
[ "$(field "$r" 0)" = 0110 ] || fail "repeat's response MTI: $r"

# 20.00 are left: 25.00 declines 51, then exactly 20.00 is approved (the
# repeat did not hold a second time).
d=$(send "$iss_port" "$(auth 0100 $pan98 2500 000002)")
[ "$(field "$d" 39)" = 51 ] || fail "insufficient funds: $d"
[ -z "$(field "$d" 38)" ] || fail "a decline with an authorization code: $d"
c=$(send "$iss_port" "$(auth 0100 $pan98 2000 000003)")
[ "$(field "$c" 39)" = 00 ] || fail "the remaining 20.00: $c"

# The reversal of the first gives its 30.00 back.
v=$(send "$iss_port" "$(reversal 000004 000001 3000)")
[ "$(field "$v" 0)" = 0410 ] && [ "$(field "$v" 39)" = 00 ] || fail "reversal: $v"
e=$(send "$iss_port" "$(auth 0100 $pan98 3000 000005)")
[ "$(field "$e" 39)" = 00 ] || fail "after the reversal: $e"
z=$(send "$iss_port" "$(auth 0100 $pan98 1 000006)")
[ "$(field "$z" 39)" = 51 ] || fail "balance should be 0: $z"
# A second reversal of the same original: acknowledged, no refund.
v2=$(send "$iss_port" "$(reversal 000007 000001 3000)")
[ "$(field "$v2" 39)" = 00 ] || fail "second reversal: $v2"
z=$(send "$iss_port" "$(auth 0100 $pan98 1 000008)")
[ "$(field "$z" 39)" = 51 ] || fail "a second reversal refunded again: $z"
# A reversal of something unknown: acknowledged.
u=$(send "$iss_port" "$(reversal 000009 999999 3000)")
[ "$(field "$u" 39)" = 00 ] || fail "unknown reversal: $u"

# Restart: balances come back from the journal.
stop_prog "$iss_pid"
grep -q '^stopped' "$e2e_work/iss.out" || fail "no clean stop"
start_prog iss isoflow-issuer --listen 127.0.0.1:0 --admin 127.0.0.1:0 --threads 2 \
  --journal "$e2e_work/issuer.db"
grep -q '^restored from the journal' "$e2e_work/iss.out" || fail "nothing restored: $(cat "$e2e_work/iss.out")"
z=$(send "$iss_port" "$(auth 0100 $pan98 1 000020)")
[ "$(field "$z" 39)" = 51 ] || fail "balance lost in the restart: $z"
# A repeat of a transaction of the previous run: answered from the journal.
r=$(send "$iss_port" "$(auth 0101 $pan98 2000 000003)")
[ "$(field "$r" 39)" = 00 ] && [ "$(field "$r" 38)" = "$(field "$c" 38)" ] \
  || fail "repeat after restart: $r (original $c)"
z=$(send "$iss_port" "$(auth 0100 $pan98 1 000021)")
[ "$(field "$z" 39)" = 51 ] || fail "the repeat after restart ran again: $z"
# An original of the previous run can still be reversed.
v=$(send "$iss_port" "$(reversal 000022 000005 3000)")
[ "$(field "$v" 39)" = 00 ] || fail "reversal after restart: $v"
e=$(send "$iss_port" "$(auth 0100 $pan98 3000 000023)")
[ "$(field "$e" 39)" = 00 ] || fail "reversal after restart released nothing: $e"

# Each decline reason.
u=$(send "$iss_port" "$(reversal 000024 999998 3000)")
[ "$(field "$u" 39)" = 00 ] || fail "unknown reversal: $u"
x=$(send "$iss_port" "$(auth 0100 4000000000000011 100 000010)")
[ "$(field "$x" 39)" = 14 ] || fail "bad Luhn: $x"
x=$(send "$iss_port" "$(auth 0100 4242424242424242 100 000011)")
[ "$(field "$x" 39)" = 14 ] || fail "unknown card: $x"
x=$(send "$iss_port" "$(auth 0100 $pan99 100 000012)")
[ "$(field "$x" 39)" = 54 ] || fail "expired card: $x"
x=$(send "$iss_port" "$(auth 0100 $pan1 100 000013 1901)")
[ "$(field "$x" 39)" = 54 ] || fail "expired DE 14: $x"
x=$(send "$iss_port" '{"0":"0100","2":"4000000000000010","4":"000000000100","7":"1123101010","11":"000014","41":"TERM0001"}')
[ "$(field "$x" 39)" = 30 ] || fail "missing DE 3: $x"
x=$(send "$iss_port" "$(auth 0200 $pan1 100 000015)")
[ "$(field "$x" 0)" = 0210 ] && [ "$(field "$x" 39)" = 00 ] || fail "0200: $x"

# The same key with a different transaction (another amount): 94.
x=$(send "$iss_port" "$(auth 0100 $pan1 999 000013)")
[ "$(field "$x" 39)" = 94 ] || fail "fingerprint mismatch: $x"

# Network management.
n=$(send "$iss_port" '{"0":"0800","7":"1123101010","11":"000016","70":"301"}')
[ "$(field "$n" 0)" = 0810 ] && [ "$(field "$n" 39)" = 00 ] && [ "$(field "$n" 70)" = 301 ] \
  || fail "echo: $n"
n=$(send "$iss_port" '{"0":"0800","7":"1123101010","11":"000017","70":"001"}')
[ "$(field "$n" 39)" = 00 ] || fail "sign-on: $n"

# A load run with repeats and reversals: every request answered, every
# repeat answered as its original, every reversal approved.
out=$(timeout 60 "$bin/isoflow-acquirer" --connect "127.0.0.1:$iss_port" -n 2000 \
  --connections 2 --concurrency 32 --repeat-share 0.2 --reverse-share 0.2 --json --seed 7)
grep -q '"timeouts":0,"errors":0,"refused":0' <<<"$out" || fail "load run: $out"
grep -q '"repeats":{"sent":[1-9][0-9]*,"identical":[1-9][0-9]*,"different":0}' <<<"$out" \
  || fail "repeats in the load run: $out"
sent=$(sed -n 's/.*"reversals":{"sent":\([0-9]*\),"answered":\([0-9]*\),"approved":\([0-9]*\)}.*/\1 \2 \3/p' <<<"$out")
read -r rs ra rp <<<"$sent"
[ "$rs" -gt 0 ] && [ "$rs" = "$ra" ] && [ "$ra" = "$rp" ] || fail "reversals in the load run: $out"

# The admin endpoint.
h=$(http_get "$iss_admin" /healthz)
grep -q '^HTTP/1.1 200' <<<"$h" && grep -q '^ok' <<<"$h" || fail "/healthz: $h"
h=$(http_get "$iss_admin" /readyz)
grep -q '^HTTP/1.1 200' <<<"$h" && grep -q '^ready' <<<"$h" || fail "/readyz: $h"
m=$(http_get "$iss_admin" /metrics)
grep -q '^isoflow_transactions_total{mti="0110",rc="51"} [1-9]' <<<"$m" || fail "/metrics 51: $m"
grep -q '^isoflow_transactions_total{mti="0110",rc="14"} 2$' <<<"$m" || fail "/metrics 14"
grep -q '^isoflow_transactions_total{mti="0810",rc="00"} [1-9]' <<<"$m" || fail "/metrics 0810"
grep -q '^isoflow_duplicates_total{kind="completed"} [1-9]' <<<"$m" || fail "/metrics duplicates"
grep -q '^isoflow_duplicates_total{kind="journal"} 1$' <<<"$m" || fail "/metrics journal duplicates"
grep -q '^isoflow_journal_groups_total [1-9]' <<<"$m" || fail "/metrics journal groups"
grep -q '^isoflow_in_flight 0$' <<<"$m" || fail "/metrics in flight"
grep -q '^isoflow_connections_total{event="accepted"} [1-9]' <<<"$m" || fail "/metrics connections"
grep -q '^isoflow_issuer_reversals_without_effect_total{why="unknown"} [1-9]' <<<"$m" \
  || fail "/metrics unknown reversals"
grep -q '^isoflow_responses_unsendable_total 0$' <<<"$m" || fail "/metrics unsendable"
grep -q 'account' <<<"$m" || fail "/metrics has no stage latencies"
grep -q '4000000000000' <<<"$m" && fail "a PAN in /metrics"
p=$(http_get "$iss_admin" /profile)
grep -qE '^account +prepare +[0-9]+' <<<"$p" || fail "/profile: $p"
h=$(http_get "$iss_admin" /nothing)
grep -q '^HTTP/1.1 404' <<<"$h" || fail "404: $h"

stop_prog "$iss_pid"
grep -q '^stopped' "$e2e_work/iss.out" || fail "no clean stop"

# Overload: past --max-in-flight, requests are declined 91 at once, never
# queued; everything is still answered.  Without --threads the issuer runs
# one worker loop per core less one (at least one) and says how many.
start_prog iss isoflow-issuer --listen 127.0.0.1:0 --admin 127.0.0.1:0 \
  --journal "$e2e_work/overload.db" --max-in-flight 2
cores=$(getconf _NPROCESSORS_ONLN)
loops=$(( cores <= 2 ? 1 : (cores - 1 > 64 ? 64 : cores - 1) ))
grep -q "^worker loops: $loops\$" "$e2e_work/iss.out" || fail "default loops: $(cat "$e2e_work/iss.out")"
out=$(timeout 60 "$bin/isoflow-acquirer" --connect "127.0.0.1:$iss_port" -n 2000 \
  --connections 4 --concurrency 256 --json --seed 11)
grep -q '"91":[1-9]' <<<"$out" || fail "no overload decline: $out"
grep -q '"timeouts":0,"errors":0,"refused":0' <<<"$out" || fail "overload run: $out"
m=$(http_get "$iss_admin" /metrics)
grep -q '^isoflow_overload_declined_total [1-9]' <<<"$m" || fail "/metrics overload"
stop_prog "$iss_pid"
# Start-up failures: a clear line and a non-zero status, nothing leaked
# (these builds run under LeakSanitizer).
check_start() { # STATUS ARGS...
  local want=$1 status=0; shift
  timeout 30 "$bin/isoflow-issuer" "$@" >/dev/null 2>"$e2e_work/start.err" || status=$?
  [ "$status" = "$want" ] || fail "isoflow-issuer $*: status $status, not $want: $(cat "$e2e_work/start.err")"
  grep -q '^isoflow-issuer: ' "$e2e_work/start.err" || fail "isoflow-issuer $*: no message"
}
check_start 2 --listen 127.0.0.1:0 --cards "$e2e_work/no-such-file"
check_start 2 --listen 127.0.0.1:0 --journal none --tls-cert "$e2e_work/no-such-file"
check_start 2 --listen nowhere:1
check_start 2 --listen 127.0.0.1:0 --threads 0
check_start 1 --listen 127.0.0.1:0 --journal "$e2e_work/no/such/dir/j.db"
echo "e2e_issuer: ok"
