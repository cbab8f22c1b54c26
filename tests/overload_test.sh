#!/usr/bin/env bash
# tests/overload_test.sh BIN_DIR SOURCE_DIR -- the issuer driven at about
# twice what it can do.  First its capacity on this machine: the acquirer at
# full speed within the issuer's in-flight bound (--max-in-flight, per
# worker), approvals per second.  Then a run at twice that rate with a large
# window (2000 in flight), while VmRSS of the issuer is sampled every 50 ms.
# It must hold that:
#   - every request is answered (no timeout, no connection lost);
#   - the excess is declined at once with 91 and counted: the acquirer saw
#     91s, and the issuer's isoflow_overload_declined_total says exactly as
#     many;
#   - the admitted requests keep a bounded latency: p99 of the approved
#     answers under $P99_BOUND_MS (generous: a loaded CI machine, ASan);
#   - resident memory stays bounded: its peak during the run at most
#     $RSS_GROWTH_KB above what it was after the capacity run.  The bound
#     is the sum of what may grow legitimately in this run: the journal's
#     SQLite page cache filling up (64 MiB, cache_size in
#     journal/schema.c), ASan's quarantine (16 MiB, below) and 80 MiB for
#     the idempotency store (completed transactions and their responses,
#     kept 10 minutes, up to store_capacity 100,000), the transactions in
#     flight, buffers and the writer's queue.  A queue without bound would
#     show up first in the latency bound (seconds at 2x), then here.
# OVERLOAD_SECONDS (default 3) sets the length of the 2x run;
# OVERLOAD_TRACE=1 prints the VmRSS samples (every 6th, MiB).
# Under ASan the allocator's quarantine holds freed memory back (256 MB by
# default); it is set to 16 MB here so that VmRSS shows the issuer's own
# memory.
set -euo pipefail
bin=$1
source "$2/tests/e2e_support.sh"
export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}quarantine_size_mb=16"
P99_BOUND_MS=1000
RSS_GROWTH_KB=$(((64 + 16 + 80) * 1024))
IN_FLIGHT=32

rss() { sed -n 's/^VmRSS:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status" 2>/dev/null; }
json_num() { grep -o "\"$2\":[0-9.]*" <<<"$1" | head -1 | cut -d: -f2; } # the first
metric() { # NAME -- a counter of the issuer's /metrics, as an integer
  http_get "$iss_admin" /metrics | sed -n "s/^$1 \([0-9.e+]*\).*/\1/p" | awk '{ printf "%.0f", $1 }'
}

start_prog iss isoflow-issuer --listen 127.0.0.1:0 --admin 127.0.0.1:0 --threads 2 \
  --journal "$e2e_work/issuer.db" --max-in-flight "$IN_FLIGHT"

# Capacity: full speed, with as many in flight as the issuer admits in
# all (the bound is per worker; 2 workers share the 4 connections): the
# approvals per second.  An uneven share may draw a few 91s here already;
# the approvals are what the issuer can do.
cap=$(timeout 60 "$bin/isoflow-acquirer" --connect "127.0.0.1:$iss_port" -n 6000 \
  --concurrency $((2 * IN_FLIGHT)) --timeout 5000 --json)
approved=$(json_num "$cap" approved)
elapsed=$(json_num "$cap" elapsed_s)
capacity=$(awk -v a="$approved" -v e="$elapsed" 'BEGIN { printf "%d", a / e }')
[ "$capacity" -gt 100 ] || fail "capacity run: $cap"
declined_before=$(metric isoflow_overload_declined_total)
rss_before=$(rss "$iss_pid")

# Twice that, for about 3 s.
rate=$((2 * capacity))
n=$((${OVERLOAD_SECONDS:-3} * rate))
: >"$e2e_work/rss"
( while kill -0 "$iss_pid" 2>/dev/null; do rss "$iss_pid" >>"$e2e_work/rss"; sleep 0.05; done ) &
sampler=$!
e2e_pids+=("$sampler")
load=$(timeout 90 "$bin/isoflow-acquirer" --connect "127.0.0.1:$iss_port" --connections 8 \
  -n "$n" --rate "$rate" --concurrency 2000 --timeout 5000 --log "$e2e_work/load.log" \
  --json) || true
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
rss_peak=$(sort -n "$e2e_work/rss" | tail -1)
[ -n "${OVERLOAD_TRACE:-}" ] && awk 'NR % 6 == 1 { printf "%d ", $1 / 1024 } END { print "MiB" }' "$e2e_work/rss"
declined=$(( $(metric isoflow_overload_declined_total) - declined_before ))
acq91=$(sed -n 's/.*"91":\([0-9]*\).*/\1/p' <<<"$load")
p99=$(awk '$6 == "00" { print $7 }' "$e2e_work/load.log" | sort -n \
  | awk '{ v[NR] = $1 } END { i = int(NR * 0.99); if (i < 1) i = 1; printf "%.1f", v[i] / 1000 }')
offered=$(awk -v s="$(json_num "$load" sent)" -v e="$(json_num "$load" elapsed_s)" \
  'BEGIN { printf "%d", s / e }')
echo "overload: capacity $capacity approvals/s; offered $offered/s (rate $rate);" \
  "declined 91: $acq91 (issuer counted $declined); approved p99 ${p99} ms;" \
  "VmRSS ${rss_before} kB before, peak ${rss_peak} kB"

[ "$(json_num "$load" timeouts)" = 0 ] && [ "$(json_num "$load" errors)" = 0 ] \
  && [ "$(json_num "$load" refused)" = 0 ] && [ "$(json_num "$load" disconnects)" = 0 ] \
  || fail "not every request was answered: $load"
[ "$(json_num "$load" sent)" = "$(json_num "$load" answered)" ] || fail "unanswered: $load"
[ -n "$acq91" ] && [ "$acq91" -gt 0 ] || fail "no 91 at twice the capacity: $load"
[ "$declined" = "$acq91" ] || fail "the issuer counted $declined overload declines, the acquirer saw $acq91"
awk -v p="$p99" -v b="$P99_BOUND_MS" 'BEGIN { exit !(p < b) }' \
  || fail "p99 of approved answers ${p99} ms, bound $P99_BOUND_MS ms"
[ "$rss_peak" -le $((rss_before + RSS_GROWTH_KB)) ] \
  || fail "VmRSS peaked at $rss_peak kB, more than $RSS_GROWTH_KB kB above $rss_before kB"
stop_prog "$iss_pid"
echo "overload: ok"
