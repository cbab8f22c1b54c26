#!/usr/bin/env bash
# tests/e2e_simulator_test.sh BIN_DIR SOURCE_DIR -- isoflow-simulator on
# loopback: rules from flags (amount range, PAN suffix, delay, drop) in
# order, rules from a JSON file, 0800, its admin endpoint, bad rules refused,
# an acquirer load run against it, and a clean stop.
set -euo pipefail
bin=$1
source "$2/tests/e2e_support.sh"

start_prog sim isoflow-simulator --listen 127.0.0.1:0 --admin 127.0.0.1:0 --threads 2 \
  --rule amount=500000-999999999999,rc=51 --rule pan-suffix=0010,rc=05 \
  --rule pan-suffix=0028,delay=300 --rule pan-suffix=0036,drop
grep -q '(4 rules)' "$e2e_work/sim.out" || fail "rules not counted"

a=$(send "$sim_port" "$(auth 0100 4000000000000002 100 000001)")
[ "$(field "$a" 39)" = 00 ] && [ ${#a} -gt 0 ] || fail "default answer: $a"
[ "$(field "$a" 0)" = 0110 ] && [ "$(field "$a" 11)" = 000001 ] || fail "echo: $a"
[ "$(field "$a" 38 | wc -c)" = 7 ] || fail "no authorization code: $a"
a=$(send "$sim_port" "$(auth 0100 4000000000000002 600000 000002)")
[ "$(field "$a" 39)" = 51 ] || fail "amount rule: $a"
[ -z "$(field "$a" 38)" ] || fail "authorization code on a decline: $a"
# The amount rule comes first: it wins over the PAN rule.
a=$(send "$sim_port" "$(auth 0100 4000000000000010 600000 000003)")
[ "$(field "$a" 39)" = 51 ] || fail "rule order: $a"
a=$(send "$sim_port" "$(auth 0100 4000000000000010 100 000004)")
[ "$(field "$a" 39)" = 05 ] || fail "PAN suffix rule: $a"

start=$(date +%s%N)
a=$(send "$sim_port" "$(auth 0100 4000000000000028 100 000005)")
took=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$(field "$a" 39)" = 00 ] || fail "delayed answer: $a"
[ "$took" -ge 300 ] || fail "the delay rule answered after $took ms"

a=$(send_timeout=400 send "$sim_port" "$(auth 0100 4000000000000036 100 000006)")
grep -q '"error":"timed out"' <<<"$a" || fail "drop rule: $a"

n=$(send "$sim_port" '{"0":"0800","7":"1123101010","11":"000007","70":"301"}')
[ "$(field "$n" 0)" = 0810 ] && [ "$(field "$n" 39)" = 00 ] || fail "0800: $n"

m=$(http_get "$sim_admin" /metrics)
grep -q '^isoflow_simulator_answers_total{rc="51"} 2$' <<<"$m" || fail "/metrics 51: $m"
grep -q '^isoflow_simulator_answers_total{rc="05"} 1$' <<<"$m" || fail "/metrics 05"
grep -q '^isoflow_simulator_requests_total{what="dropped"} 1$' <<<"$m" || fail "/metrics dropped"
grep -q '^isoflow_simulator_requests_total{what="delayed"} 1$' <<<"$m" || fail "/metrics delayed"
h=$(http_get "$sim_admin" /readyz)
grep -q '^HTTP/1.1 200' <<<"$h" || fail "/readyz: $h"

stop_prog "$sim_pid"

# Rules from JSON.
cat >"$e2e_work/rules.json" <<'JSON'
[{"amount_min": 1000, "amount_max": 2000, "rc": "61"},
 {"pan_suffix": "0002", "rc": "62"}]
JSON
start_prog sim isoflow-simulator --listen 127.0.0.1:0 --rules "$e2e_work/rules.json"
a=$(send "$sim_port" "$(auth 0100 4000000000000010 1500 000001)")
[ "$(field "$a" 39)" = 61 ] || fail "JSON amount rule: $a"
a=$(send "$sim_port" "$(auth 0100 4000000000000002 100 000002)")
[ "$(field "$a" 39)" = 62 ] || fail "JSON PAN rule: $a"
a=$(send "$sim_port" "$(auth 0100 4000000000000010 100 000003)")
[ "$(field "$a" 39)" = 00 ] || fail "JSON default: $a"
# A load run: every request answered (amounts of 10.00 to 20.00 decline 61).
out=$(timeout 60 "$bin/isoflow-acquirer" --connect "127.0.0.1:$sim_port" -n 1000 --json \
  --concurrency 16 --seed 3)
grep -q '"sent":1000,"answered":1000,' <<<"$out" && grep -q '"timeouts":0' <<<"$out" \
  || fail "load run: $out"
grep -q '"61":[1-9]' <<<"$out" || fail "no 61 in the load run: $out"
stop_prog "$sim_pid"

# Bad rules are refused with status 2.
for r in amount=5-1,rc=51 rc=5 delay=x pan-suffix=12ab bogus=1; do
  status=0
  "$bin/isoflow-simulator" --listen 127.0.0.1:0 --rule "$r" >/dev/null 2>&1 || status=$?
  [ "$status" = 2 ] || fail "bad rule $r accepted (status $status)"
done
echo '[{"rc": 51}]' >"$e2e_work/bad.json"
status=0
"$bin/isoflow-simulator" --listen 127.0.0.1:0 --rules "$e2e_work/bad.json" >/dev/null 2>&1 || status=$?
[ "$status" = 2 ] || fail "bad JSON rule accepted"
echo "e2e_simulator: ok"
