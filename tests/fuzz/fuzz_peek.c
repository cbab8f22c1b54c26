/*
 * tests/fuzz/fuzz_peek.c -- libFuzzer target: iso_peek_fields, the
 * key-reading path that runs on every inbound frame before any full unpack.
 *
 * Input: byte 0 picks the built-in spec, byte 1 how many fields to ask for
 * (0..7), the next that many bytes the field numbers (any number 0..255, so
 * invalid ones are exercised too), the rest is the message.
 *
 * Oracles: every reference points inside the input; when a full unpack
 * accepts the same bytes, peek succeeds as well and agrees with it on the
 * MTI, on which fields are present and on their canonical lengths.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  const iso_spec *spec = fuzz_pick_spec(data[0]);
  size_t n = data[1] % 8;
  if (size < 2 + n) return 0;
  int fields[8];
  bool valid = true;
  for (size_t i = 0; i < n; i++) {
    fields[i] = data[2 + i];
    if (fields[i] < 2 || fields[i] > ISO_MAX_FIELD || fields[i] == 65)
      valid = false;
  }
  const uint8_t *wire = data + 2 + n;
  size_t len = size - 2 - n;

  char mti[4];
  iso_field_ref refs[8];
  iso_error err = {0};
  int rc = iso_peek_fields(spec, wire, len, mti, fields, n, refs, &err);
  if (!valid) {
    FUZZ_CHECK(rc == ISO_E_INVAL);
    return 0;
  }
  if (rc == 0) {
    for (size_t i = 0; i < n; i++) {
      if (!refs[i].data) continue;
      FUZZ_CHECK(refs[i].data >= wire);
      FUZZ_CHECK(refs[i].wire_len <= len);
      FUZZ_CHECK((size_t)(refs[i].data - wire) <= len - refs[i].wire_len);
    }
  }

  iso_msg m;
  iso_msg_init(&m, spec);
  if (iso_msg_unpack(&m, wire, len, NULL) == 0) {
    FUZZ_CHECK(rc == 0);
    FUZZ_CHECK(memcmp(mti, iso_msg_mti(&m), 4) == 0);
    for (size_t i = 0; i < n; i++) {
      FUZZ_CHECK((refs[i].data != NULL) == iso_msg_has(&m, fields[i]));
      if (!refs[i].data) continue;
      size_t got = 0;
      int g = iso_msg_get(&m, fields[i], NULL, 0, &got);
      FUZZ_CHECK(g == 0 || g == ISO_E_NOSPC);
      FUZZ_CHECK(got == refs[i].len);
    }
  }
  iso_msg_cleanup(&m);
  return 0;
}
