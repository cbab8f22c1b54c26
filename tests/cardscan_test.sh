#!/usr/bin/env bash
# tests/cardscan_test.sh -- card data never leaves the CLI in clear.
#
# First checks scripts/cardscan itself (it finds test PANs as text, BCD and
# EBCDIC, and unknown Luhn-valid numbers; it passes masked numbers,
# timestamps and long digit strings; its own report shows no PAN).  Then
# runs `isoflow decode` (masked, the default) over messages full of card
# data (PAN, extended PAN, tracks 1 and 2, PIN block, expiry, chip data with
# the PAN inside) in every built-in spec and a JSON spec, in every framing,
# plus truncated and corrupted copies of them and encode errors on such
# JSON, keeps every stdout and stderr, and scans all of it with
# scripts/cardscan: any test PAN or Luhn-valid number in clear fails.  The
# same scan over --unmasked output must find them (so the scan can fail).
# The wire-form inputs themselves are the card data and are not scanned.
#
#   bash tests/cardscan_test.sh BIN_DIR SOURCE_DIR      (ctest runs it so)
set -uo pipefail
BIN=$1/isoflow
SRC=$2
SCAN=$SRC/scripts/cardscan
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
# scan_expect NAME WANT_STATUS FILE... -- runs the scanner, checks its status.
scan_expect() {
  local name=$1 want=$2; shift 2
  "$SCAN" "$@" > "$TMP/scan.out" 2>&1
  local rc=$?
  [ "$rc" -eq "$want" ] || fail "$name: cardscan exit $rc, want $want: $(head -5 "$TMP/scan.out")"
}

# ---- the scanner ----------------------------------------------------------
mkdir -p "$TMP/self"
S=$TMP/self
printf 'PAN 4242424242424242 here\n' > "$S/text"
printf '\x02\x00\x40\x42\x42\x42\x42\x42\x42\x42\x42\x00' > "$S/bcd"
printf '\xF5\xF5\xF5\xF5\xF5\xF5\xF5\xF5\xF5\xF5\xF5\xF5\xF4\xF4\xF4\xF4' > "$S/ebcdic"
printf 'other card 4532015112830366;\n' > "$S/luhn"
printf 'track ;4000001234567890123=2512?\n' > "$S/track"
printf '{"2":"424242******4242"} at 1700000000000 ms, ' > "$S/clean"
printf 'DE90 020000012311231015000000001234500000000000 ' >> "$S/clean"
printf 'not Luhn 4532015112830367, 12 digits 424242424242\n' >> "$S/clean"
for f in text bcd ebcdic luhn track; do scan_expect "scanner finds $f" 1 "$S/$f"; done
scan_expect "scanner passes clean text" 0 "$S/clean"
scan_expect "scanner --known-only skips unknown Luhn" 0 --known-only "$S/luhn"
scan_expect "scanner on a directory" 1 "$S"
scan_expect "scanner on a missing file" 2 "$S/nope"
"$SCAN" "$S" > "$TMP/report" 2>&1
[ "$(grep -c '^cardscan: ' "$TMP/report")" -eq 5 ] || fail "scanner report: $(cat "$TMP/report")"
scan_expect "scanner report hides the PANs" 0 "$TMP/report"
grep -q '424242\*\*\*\*\*\*4242' "$TMP/report" || fail "scanner report lacks the masked PAN"

# ---- the CLI --------------------------------------------------------------
OUT=$TMP/out
mkdir -p "$OUT"
ICC='9F2608112233445566778882025C005A0842424242424242425F24032512319F360200419F1A020978'
M87=(
  '{"0":"0100","2":"4242424242424242","3":"000000","4":"000000010000","11":"000001","14":"2512","22":"051","35":"4242424242424242=25121010000012345678","41":"TERM0001","49":"978","52":"0123456789ABCDEF","55":"'$ICC'"}'
  '{"0":"0200","2":"4000001234567890123","3":"000000","4":"000000012345","11":"000002","34":"5555555555554444","36":"4111111111111111=2512","45":"B4111111111111111^CARDHOLDER/TEST^2512101","41":"TERM0002"}'
  '{"0":"0420","2":"5555555555554444","3":"000000","4":"000000012345","11":"000003","41":"TERM0003","90":"020000000211231015000000001234500000000000"}'
)
MX='{"0":"0200","2":"4242424242424242","3":"000000","4":"123","35":"4242424242424242=2512101","41":"TERM0001","45":"B4242424242424242^X/Y^2512","52":"0011223344556677","55":"'$ICC'"}'
hexline() { od -An -v -tx1 | tr -d ' \n' | tr a-f A-F; }

n=0
run_spec() { # run_spec SPEC JSON...
  local spec=$1; shift
  for json in "$@"; do
    n=$((n + 1))
    local w=$TMP/wire.$n
    if ! printf '%s\n' "$json" | "$BIN" encode --spec "$spec" > "$w" 2> "$OUT/encode.$n.err"; then
      fail "encode $spec message $n: $(cat "$OUT/encode.$n.err")"; continue
    fi
    local hex; hex=$(hexline < "$w")
    # Masked decodes: binary, hex, every framing.
    "$BIN" decode --spec "$spec" "$w" > "$OUT/dec.$n.out" 2> "$OUT/dec.$n.err" \
      || fail "decode $spec message $n"
    echo "$hex" | "$BIN" decode --spec "$spec" --hex > "$OUT/dechex.$n.out" 2>&1
    for fr in len2 len4 ascii4 bcd2; do
      printf '%s\n' "$json" | "$BIN" encode --spec "$spec" --frame "$fr" > "$TMP/framed" 2>/dev/null
      "$BIN" decode --spec "$spec" --frame "$fr" "$TMP/framed" > "$OUT/dec.$n.$fr" 2>&1 \
        || fail "decode $spec message $n --frame $fr"
    done
    # Unmasked output must trip the scanner: the check can fail.
    "$BIN" decode --spec "$spec" --unmasked "$w" > "$TMP/unmasked" 2>&1
    scan_expect "unmasked $spec message $n is caught" 1 "$TMP/unmasked"
    # Truncated (every 10th byte) and corrupted copies: errors only.
    local len=${#hex}
    for ((cut = 2; cut < len; cut += 20)); do
      echo "${hex:0:cut}" | "$BIN" decode --spec "$spec" --hex >> "$OUT/trunc.$n" 2>&1
    done
    for ((at = 8; at < len; at += 30)); do
      echo "${hex:0:at}3A${hex:at+2}" | "$BIN" decode --spec "$spec" --hex >> "$OUT/corrupt.$n" 2>&1
    done
    echo "${hex}00" | "$BIN" decode --spec "$spec" --hex >> "$OUT/trailing.$n" 2>&1
    # Encode errors on JSON that carries card data.
    printf '%s\n' "${json/\"3\":\"000000\"/\"3\":\"4242424242424242\"}" \
      | "$BIN" encode --spec "$spec" > /dev/null 2>> "$OUT/encerr.$n"
    printf '%s\n' "${json/\"41\":\"TERM/\"41\":\"4242424242424242TERM}" \
      | "$BIN" encode --spec "$spec" > /dev/null 2>> "$OUT/encerr.$n"
    printf '%s\n' "${json%\}}" | "$BIN" encode --spec "$spec" > /dev/null 2>> "$OUT/encerr.$n"
  done
}
for spec in iso87a iso87a-bbitmap iso87b; do run_spec "$spec" "${M87[@]}"; done
run_spec iso93a "${M87[@]:0:2}" # DE 90 has another layout in 1993
run_spec "$SRC/tests/fuzz/exotic_spec.json" "$MX"

# The error paths really ran (no vacuous pass), and nothing leaked anywhere.
[ "$(cat "$OUT"/trunc.* | grep -c .)" -gt 100 ] || fail "too few truncation errors"
[ -s "$OUT/encerr.1" ] || fail "encode errors missing"
grep -q '424242\*' "$OUT/dec.1.out" || fail "masked decode shows no masked PAN"
"$SCAN" "$OUT" > "$TMP/scan.out" 2>&1
rc=$?
[ "$rc" -eq 0 ] || fail "card data in CLI output:"$'\n'"$(head -20 "$TMP/scan.out")"

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)" >&2
  exit 1
fi
echo "cardscan_test: scanner and $n messages through the CLI: no card data in clear"
