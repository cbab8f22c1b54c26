#!/usr/bin/env bash
# tests/e2e_issuer_authlog_test.sh BIN_DIR SOURCE_DIR -- the real
# isoflow-issuer with an authorization log of one entry (--authlog-size 1),
# so that every reversal's original has been evicted: the original is found
# in the journal and refunded once, a second reversal (found in the log
# again, then after another eviction and after a restart, in the journal)
# refunds nothing, and a reversal after a restart of an original the
# rebuild evicted still refunds.  Balances are observed through approvals
# and declines on card 98 of the built-in book (opening balance 50.00).
set -euo pipefail
bin=$1
source "$2/tests/e2e_support.sh"

pan98=4000000000000986   # 50.00
pan1=4000000000000010

start_prog iss isoflow-issuer --listen 127.0.0.1:0 --admin 127.0.0.1:0 \
  --journal "$e2e_work/issuer.db" --authlog-size 1

answered() { # answered RC JSON WHAT -- DE 39 of the answer is RC
  [ "$(field "$2" 39)" = "$1" ] || fail "$3: $2"
}
ok() { answered 00 "$@"; }
declined51() { answered 51 "$@"; }

ok "$(send "$iss_port" "$(auth 0100 $pan98 3000 000001)")" "approval"
ok "$(send "$iss_port" "$(auth 0100 $pan1 100 000002)")" "approval that evicts the first"
# 20.00 left; the reversal of 000001 (evicted) gives 30.00 back.
ok "$(send "$iss_port" "$(reversal 000003 000001 3000)")" "reversal of an evicted original"
ok "$(send "$iss_port" "$(auth 0100 $pan98 5000 000004)")" "50.00 after the refund"
declined51 "$(send "$iss_port" "$(auth 0100 $pan98 1 000005)")" "balance should be 0"
# Again, once evicted again (000004 evicted it): the journal holds the
# reversal; nothing more comes back.
ok "$(send "$iss_port" "$(reversal 000006 000001 3000)")" "second reversal"
declined51 "$(send "$iss_port" "$(auth 0100 $pan98 1 000007)")" "a second reversal refunded again"
ok "$(send "$iss_port" "$(reversal 000008 000001 3000)")" "third reversal (from the log)"
declined51 "$(send "$iss_port" "$(auth 0100 $pan98 1 000009)")" "a third reversal refunded again"

# Restart: the rebuild keeps only the newest capture (000004, 50.00).
stop_prog "$iss_pid"
start_prog iss isoflow-issuer --listen 127.0.0.1:0 --admin 127.0.0.1:0 \
  --journal "$e2e_work/issuer.db" --authlog-size 1
declined51 "$(send "$iss_port" "$(auth 0100 $pan98 1 000010)")" "balance lost in the restart"
ok "$(send "$iss_port" "$(reversal 000011 000001 3000)")" "reversal after restart"
declined51 "$(send "$iss_port" "$(auth 0100 $pan98 1 000012)")" "refunded again after restart"
ok "$(send "$iss_port" "$(auth 0100 $pan1 100 000013)")" "approval that evicts 000004"
ok "$(send "$iss_port" "$(reversal 000014 000004 5000)")" "reversal of 000004"
ok "$(send "$iss_port" "$(auth 0100 $pan98 5000 000015)")" "50.00 after its refund"
declined51 "$(send "$iss_port" "$(auth 0100 $pan98 1 000016)")" "balance should be 0 again"
stop_prog "$iss_pid"
echo "e2e_issuer_authlog: ok"
