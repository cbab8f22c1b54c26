#!/usr/bin/env bash
# tests/e2e_flowdemo_test.sh BIN_DIR SOURCE_DIR -- runs flowdemo and checks
# what it shows: prepare then abort for the decline, prepare then commit for
# the approval, the retransmission and the repeat answered from the original
# (no participant runs: no audit line), the reversal restoring the balance,
# the profile table, and no PAN in clear.
set -euo pipefail
bin=$1
out=$(timeout 30 "$bin/flowdemo")
fail() { echo "e2e_flowdemo: $*" >&2; echo "$out" >&2; exit 1; }
grep -q 'response code 51' <<<"$out" || fail "no 51 decline"
grep -A3 'a decline' <<<"$out" | grep -q 'audit    abort' || fail "the decline did not abort"
grep -A3 'an approval' <<<"$out" | grep -q 'audit    commit' || fail "the approval did not commit"
[ "$(grep -c 'answered from the original, response code 00' <<<"$out")" = 2 ] \
  || fail "duplicates not answered from the original"
grep -A2 'the same request again' <<<"$out" | grep -q audit && fail "a duplicate ran participants"
grep -q 'card 1 available: 4958.00' <<<"$out" || fail "the approval did not hold 42.00"
[ "$(grep -c 'card 1 available: 5000.00' <<<"$out")" = 2 ] || fail "the reversal did not refund"
grep -qE '^account +prepare +2 ' <<<"$out" || fail "no profile row for account prepare"
grep -qE '^decline +prepare_for_abort +1 ' <<<"$out" || fail "no prepare_for_abort row"
grep -qE '4000000000000010|4000000000000986' <<<"$out" && fail "a PAN in clear"
quiet=$(timeout 30 "$bin/flowdemo" --quiet)
grep -q 'audit    prepare  tx' <<<"$quiet" && fail "--quiet printed the calls"
echo "e2e_flowdemo: ok"
