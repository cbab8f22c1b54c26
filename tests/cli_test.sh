#!/usr/bin/env bash
# tests/cli_test.sh -- the `isoflow` command end to end, through the real
# binary: known vectors decode to the expected JSON (masked and unmasked),
# encode gives the same bytes back, every framing round-trips, bad input
# exits 2 with one line naming the message, field and offset (and no card
# data), and every subcommand answers --help.
#
#   bash tests/cli_test.sh BIN_DIR SOURCE_DIR      (ctest runs it so)
set -uo pipefail
BIN=$1/isoflow
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
failures=0

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
# expect_eq NAME GOT WANT
expect_eq() { [ "$2" = "$3" ] || fail "$1: got [$2] want [$3]"; }
# expect_rc NAME GOT WANT
expect_rc() { [ "$2" -eq "$3" ] || fail "$1: exit status $2, want $3"; }
hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n' | tr a-f A-F; }

# ---- the known vectors (ASCII text of the message; --hex takes its hex) ----
V1='0800822000000000000004000000000000000420090613900001001'
V2='01007000000000000000164242424242424242123456000000000100'
J1='{"0":"0800","7":"0420090613","11":"900001","70":"001"}'
J2='{"0":"0100","2":"4242424242424242","3":"123456","4":"000000000100"}'
J2M='{"0":"0100","2":"424242******4242","3":"123456","4":"000000000100"}'

out=$(hex "$V1" | "$BIN" decode --spec iso87a --hex); expect_rc "decode v1" $? 0
expect_eq "decode v1" "$out" "$J1"
out=$(hex "$V2" | "$BIN" decode --spec iso87a --hex --unmasked)
expect_eq "decode v2 unmasked" "$out" "$J2"
out=$(hex "$V2" | "$BIN" decode --spec iso87a --hex)
expect_eq "decode v2 masked" "$out" "$J2M"
case "$out" in *4242424242424242*) fail "masked output shows the PAN" ;; esac

# Binary input, --frame none: the whole input is one message.
out=$(printf '%s' "$V1" | "$BIN" decode --spec iso87a)
expect_eq "decode v1 binary" "$out" "$J1"
out=$(printf '%s' "$V2" | "$BIN" decode --spec iso87a --unmasked -)
expect_eq "decode v2 binary" "$out" "$J2"

# Encode gives the same bytes back.
out=$(echo "$J1" | "$BIN" encode --spec iso87a --hex); expect_rc "encode v1" $? 0
expect_eq "encode v1" "$out" "$(hex "$V1")"
out=$(printf '%s\n%s\n' "$J1" "$J2" | "$BIN" encode --spec iso87a --hex)
expect_eq "encode both" "$out" "$(hex "$V1")"$'\n'"$(hex "$V2")"
echo "$J2" | "$BIN" encode --spec iso87a > "$TMP/v2.bin"
expect_eq "encode v2 binary" "$(cat "$TMP/v2.bin")" "$V2"

# With --frame the length header is part of each hex line: 55 = 0x0037.
out=$(echo "$J1" | "$BIN" encode --spec iso87a --hex --frame len2)
expect_eq "encode len2 hex" "$out" "0037$(hex "$V1")"
out=$(echo "$J1" | "$BIN" encode --spec iso87a --hex --frame ascii4)
expect_eq "encode ascii4 hex" "$out" "$(hex 0055)$(hex "$V1")"
out=$(echo "$J1" | "$BIN" encode --spec iso87a --hex --frame bcd2)
expect_eq "encode bcd2 hex" "$out" "0055$(hex "$V1")"
out=$(echo "0037$(hex "$V1")" | "$BIN" decode --spec iso87a --hex --frame len2)
expect_eq "decode len2 hex" "$out" "$J1"

# Every framing round-trips a stream of two messages, on every built-in spec.
for spec in iso87a iso87a-bbitmap iso87b iso93a; do
  for frame in len2 len4 ascii4 bcd2; do
    printf '%s\n%s\n' "$J1" "$J2" | "$BIN" encode --spec $spec --frame $frame > "$TMP/s.bin"
    out=$("$BIN" decode --spec $spec --frame $frame --unmasked "$TMP/s.bin")
    expect_eq "round trip $spec $frame" "$out" "$J1"$'\n'"$J2"
  done
done

# A spec file works like the built-in it was exported from.
"$BIN" spec export iso87a > "$TMP/spec.json"; expect_rc "spec export" $? 0
out=$(hex "$V1" | "$BIN" decode --spec "$TMP/spec.json" --hex)
expect_eq "decode with a spec file" "$out" "$J1"
out=$("$BIN" spec check "$TMP/spec.json"); expect_rc "spec check" $? 0
expect_eq "spec list" "$("$BIN" spec list | tr '\n' ' ')" "iso87a iso87a-bbitmap iso87b iso93a "

# ---- bad input: exit 2, one line: which message, which field, which offset ----
# expect_bad NAME WANT_SUBSTRING... -- reads stderr from $TMP/err
expect_bad() {
  local name=$1 rc=$2; shift 2
  expect_rc "$name" "$rc" 2
  [ "$(wc -l < "$TMP/err")" -eq 1 ] || fail "$name: stderr is not one line: $(cat "$TMP/err")"
  for want in "$@"; do
    grep -qF -- "$want" "$TMP/err" || fail "$name: stderr lacks '$want': $(cat "$TMP/err")"
  done
  ! grep -q 4242424242 "$TMP/err" || fail "$name: stderr shows card data"
}
BAD2='0100700000000000000016424242424242424212345600000000010X'
printf '%s\n%s\n' "$(hex "$V1")" "$(hex "$BAD2")" |
  "$BIN" decode --spec iso87a --hex > "$TMP/out" 2> "$TMP/err"
expect_bad "bad digit" $? "line 2" "field 4" "offset 55" "non-digit"
expect_eq "first message still printed" "$(cat "$TMP/out")" "$J1"
hex "${V2:0:30}" | "$BIN" decode --spec iso87a --hex > /dev/null 2> "$TMP/err"
expect_bad "truncated" $? "line 1" "field 2" "offset"
echo "30313030ZZ" | "$BIN" decode --spec iso87a --hex > /dev/null 2> "$TMP/err"
expect_bad "bad hex" $? "line 1" "offset 8"
printf '\000\100%s' "$V1" | "$BIN" decode --spec iso87a --frame len2 > /dev/null 2> "$TMP/err"
expect_bad "short frame" $? "frame 1"
printf '\377\377%s' "$V1" | "$BIN" decode --spec iso87a --frame len2 > /dev/null 2> "$TMP/err"
expect_bad "frame longer than the input" $? "frame 1" "ends before the end of the frame"
printf '00X5%s' "$V1" | "$BIN" decode --spec iso87a --frame ascii4 > /dev/null 2> "$TMP/err"
expect_bad "bad ascii4 header" $? "frame 1" "not a number"
# A frame over the maximum (65535) is refused from its prefix alone, before
# anything else is read; the same on a hex line; encode refuses to write one.
printf '\000\001\000\000%s' "$V1" | "$BIN" decode --spec iso87a --frame len4 > /dev/null 2> "$TMP/err"
expect_bad "frame over the maximum" $? "frame 1" "over the frame maximum"
echo "00010000$(hex "$V1")" | "$BIN" decode --spec iso87a --hex --frame len4 > /dev/null 2> "$TMP/err"
expect_bad "hex frame over the maximum" $? "line 1" "over the frame maximum"
out=$(printf '0000\n0037%s\n' "$(hex "$V1")" | "$BIN" decode --spec iso87a --hex --frame len2)
expect_eq "hex keep-alive line skipped" "$out" "$J1"
echo "0038$(hex "$V1")" | "$BIN" decode --spec iso87a --hex --frame len2 > /dev/null 2> "$TMP/err"
expect_bad "hex frame length mismatch" $? "line 1" "does not match"
A999=$(head -c 999 /dev/zero | tr '\0' A)
big='{"0":"0100","2":"4242424242424242"'
for f in 46 47 48 56 57 58 59 60 61 62 63; do big+=",\"$f\":\"$A999\""; done
echo "$big}" | "$BIN" encode --spec iso87a --frame ascii4 > "$TMP/out" 2> "$TMP/err"
expect_bad "encode frame over the maximum" $? "line 1" "frame maximum"
expect_eq "nothing written for a frame over the maximum" "$(wc -c < "$TMP/out")" 0
echo "$big}" | "$BIN" encode --spec iso87a --frame len2 | "$BIN" decode --spec iso87a --frame len2 > /dev/null
expect_rc "the same message fits len2" $? 0
printf '\000\000\000\067%s\000\000\000\000' "$V1" |
  "$BIN" decode --spec iso87a --frame len4 --unmasked > "$TMP/out" 2> "$TMP/err"
expect_rc "keep-alive skipped" $? 0
expect_eq "keep-alive skipped" "$(cat "$TMP/out")" "$J1"
echo '{"0":"0100","4":"00000000010X","2":"4242424242424242"}' |
  "$BIN" encode --spec iso87a --hex > /dev/null 2> "$TMP/err"
expect_bad "encode bad digit" $? "line 1" "field 4" "offset"
printf '%s\n{"0":"0800",' "$J1" | "$BIN" encode --spec iso87a > /dev/null 2> "$TMP/err"
expect_bad "encode bad JSON" $? "line 2" "offset"
echo '{"0":"0800","1":"00"}' | "$BIN" encode --spec iso87a > /dev/null 2> "$TMP/err"
expect_bad "encode bitmap key" $? "line 1"
echo '{"broken":' > "$TMP/bad.json"
"$BIN" spec check "$TMP/bad.json" > /dev/null 2> "$TMP/err"
expect_bad "bad spec file" $? "malformed JSON"

# ---- usage ----
for cmd in decode encode spec; do
  out=$("$BIN" $cmd --help); expect_rc "$cmd --help" $? 0
  case "$out" in "usage: isoflow $cmd"*) ;; *) fail "$cmd --help: $out" ;; esac
done
"$BIN" --help > /dev/null; expect_rc "--help" $? 0
"$BIN" > /dev/null 2>&1; expect_rc "no command" $? 2
"$BIN" frobnicate > /dev/null 2>&1; expect_rc "unknown command" $? 2
"$BIN" decode --hex < /dev/null > /dev/null 2>&1; expect_rc "decode without --spec" $? 2
"$BIN" decode --spec iso87a --bogus < /dev/null > /dev/null 2>&1; expect_rc "unknown option" $? 2
"$BIN" decode --spec iso87a --frame len3 < /dev/null > /dev/null 2>&1; expect_rc "bad frame" $? 2
"$BIN" decode --spec nosuchspec < /dev/null > /dev/null 2>&1; expect_rc "unknown spec" $? 2
"$BIN" encode --spec iso87a --unmasked < /dev/null > /dev/null 2>&1; expect_rc "encode --unmasked" $? 2
"$BIN" spec export > /dev/null 2>&1; expect_rc "spec export without name" $? 2

if [ $failures -ne 0 ]; then
  echo "cli_test: $failures failure(s)" >&2
  exit 1
fi
echo "cli_test: ok"
