#!/usr/bin/env bash
# tests/fuzz/make_corpus.sh -- regenerates the seed corpora in corpus/<target>/
# from the test vectors (the known messages of tests/cli_test.sh and the
# codec suites), encoded with every built-in spec by the real `isoflow`
# binary.  The corpora are committed; run this only to refresh them.
#
#   bash tests/fuzz/make_corpus.sh BIN_DIR
set -euo pipefail
BIN=$1/isoflow
HERE=$(cd "$(dirname "$0")" && pwd)
C=$HERE/corpus
rm -rf "$C"
mkdir -p "$C"/{unpack,roundtrip,peek,tlv,subfield,spec_json,msg_json,frame,spec_msg}

# Messages as JSON, one a line (test vectors, plus one that uses chip data,
# tracks, PIN block, positional DE 90 and secondary fields).
MESSAGES=(
  '{"0":"0800","7":"0420090613","11":"900001","70":"001"}'
  '{"0":"0100","2":"4242424242424242","3":"123456","4":"000000000100"}'
  '{"0":"0200","2":"4000001234567890123","3":"000000","4":"000000012345","7":"1123101500","11":"000123","14":"2512","22":"051","35":"4242424242424242=25121010000012345678","41":"TERM0001","42":"MERCHANT0000001","49":"978","52":"0123456789ABCDEF","55":"9F2608112233445566778882025C009F360200419F1A020978"}'
  '{"0":"0210","3":"000000","4":"000000012345","11":"000123","37":"123456789012","38":"A1B2C3","39":"00","41":"TERM0001"}'
  '{"0":"0420","2":"5555555555554444","3":"000000","4":"000000012345","11":"000124","28":"C00000150","41":"TERM0001","90":"020000012311231015000000001234500000000000"}'
  '{"0":"0800","11":"000001","70":"301","128":"0102030405060708"}'
  '{"0":"0200","2":"4242424242424242","3":"000000","4":"123","28":"D00000100","35":"4242424242424242=2512101","37":"ABC","41":"TERM0001","43":"Shop","45":"B4242^X/Y^2512","48":"12-34","52":"0011223344556677","55":"9F02060000000001005F2A020978","62":"12345","70":"301","100":"DEADBEEF","130":"hello","192":"0102030405060708"}'
)
# The built-in specs in their selector order, then the exotic spec the
# targets pick after them (fuzz_common.h).
specs="$("$BIN" spec list) $HERE/exotic_spec.json"
i=0
for spec in $specs; do
  sel=$(printf '\\%03o' "$i")
  j=0
  for msg in "${MESSAGES[@]}"; do
    if ! out=$(printf '%s\n' "$msg" | "$BIN" encode --spec "$spec" --hex 2>/dev/null); then
      continue # a message the spec cannot carry
    fi
    name=$(basename "$spec" .json)-$j
    { printf "$sel"; printf '%s' "$out" | xxd -r -p; } > "$C/unpack/$name"
    cp "$C/unpack/$name" "$C/roundtrip/$name"
    # spec_msg: the spec as JSON, a NUL, the message (the small specs only).
    case "$spec" in
      *.json) { cat "$spec"; printf '\000'; printf '%s' "$out" | xxd -r -p; } \
                > "$C/spec_msg/$name" ;;
    esac
    # peek: spec, 3 fields (11, 41, 2), then the message.
    { printf "$sel"'\003\013\051\002'; printf '%s' "$out" | xxd -r -p; } > "$C/peek/$name"
    { printf "$sel"; printf '%s' "$msg"; } > "$C/msg_json/$name"
    # frame: len2 and ascii4 around the message, twice, with a keep-alive.
    n=$(( ${#out} / 2 ))
    { printf '\000\000\000\000'; printf '%04x' "$n" | xxd -r -p
      printf '%s' "$out" | xxd -r -p; printf '\000\000'
      printf '%04x' "$n" | xxd -r -p; printf '%s' "$out" | xxd -r -p
    } > "$C/frame/len2-$name"
    { printf '\002\005\040\000'; printf '%04d' $((n + 5)); printf 'TPDU!'
      printf '%s' "$out" | xxd -r -p; } > "$C/frame/ascii4-$name"
    j=$((j + 1))
  done
  # subfield: DE 3, DE 22 and DE 90 with their test values.
  s=$(basename "$spec" .json)
  { printf "$sel"'\003\001'; printf '123456'; } > "$C/subfield/$s-3"
  { printf "$sel"'\026\002'; printf '051'; } > "$C/subfield/$s-22"
  { printf "$sel"'\132\005'; printf '020000012311231015000000001234500000000000'; } \
    > "$C/subfield/$s-90"
  i=$((i + 1))
done
# JSON specs: the exotic one and the example of docs/specs.md (full exports
# of the built-in specs are 36 KB each and slow the fuzzer tenfold).
cp "$HERE/exotic_spec.json" "$C/spec_json/exotic.json"
awk '/```json/{f=1;next} /```/{if(f)exit} f' "$HERE/../../docs/specs.md" > "$C/spec_json/docs-example.json"
printf '{"name":"tiny","fields":{"2":{"name":"PAN","content":"n","length":"LL","max":19}}}' \
  > "$C/spec_json/tiny.json"
# spec_msg with the example spec of docs/specs.md (a 0200 it can carry).
msg='{"0":"0200","2":"4242424242424242","3":"000000","4":"000000000100","11":"000001","28":"C00000100","35":"4242424242424242=2512","37":"RRN1","41":"TERM0001","48":"hello","52":"0011223344556677","55":"9F02060000000001005F2A020978","70":"301"}'
if out=$(printf '%s\n' "$msg" | "$BIN" encode --spec "$C/spec_json/docs-example.json" --hex); then
  { cat "$C/spec_json/docs-example.json"; printf '\000'; printf '%s' "$out" | xxd -r -p; } \
    > "$C/spec_msg/docs-example-0"
fi
# BCD framing (bcd2, counting itself) and a 4-byte length.
printf '\023\000\000\000\000\007\001\002\003\004\005' > "$C/frame/bcd2-self"
printf '\001\000\020\000\000\000\000\003abc' > "$C/frame/len4"
# BER-TLV: the DE 55 of the vectors, long forms, padding, constructed tags.
printf '9F2608112233445566778882025C009F360200419F1A020978' | xxd -r -p > "$C/tlv/de55"
printf '00FF7081039F02060000000001005F2A020978' | xxd -r -p > "$C/tlv/constructed-long"
printf '9F1F82000100' | xxd -r -p > "$C/tlv/long-form"
printf '1F818101020A0B' | xxd -r -p > "$C/tlv/four-byte-tag"
echo "corpora written to $C: $(find "$C" -type f | wc -l) files"
