/*
 * tests/fuzz/fuzz_subfield.c -- libFuzzer target: positional subfields
 * (iso_subfield_get) of any field of any built-in spec, with any subfield
 * number and any value length.
 *
 * Input: byte 0 picks the spec, byte 1 the field (0..255), byte 2 the
 * subfield (signed, so 0 and negatives are tried), the rest is the value.
 * Oracles: a subfield that is returned lies inside the value and has its
 * defined length; the subfields of a field that has them, read one after
 * another, tile the value from its start.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3) return 0;
  const iso_spec *spec = fuzz_pick_spec(data[0]);
  int field = data[1];
  int sub = (int8_t)data[2];
  const uint8_t *value = data + 3;
  size_t len = size - 3;

  const uint8_t *out = NULL;
  size_t out_len = 0;
  int rc = iso_subfield_get(spec, field, value, len, sub, &out, &out_len);
  const iso_field_def *def = iso_spec_field(spec, field);
  bool positional = def && def->subfield_kind == ISO_SUB_POSITIONAL;
  if (!positional || sub < 1 || sub > (positional ? def->subfield_count : 0)) {
    FUZZ_CHECK(rc == ISO_E_INVAL);
    return 0;
  }
  FUZZ_CHECK(rc == 0 || rc == ISO_E_NO_FIELD);
  if (rc == 0) {
    FUZZ_CHECK(out >= value && out_len <= len);
    FUZZ_CHECK((size_t)(out - value) <= len - out_len);
    FUZZ_CHECK(out_len == def->subfields[sub - 1].length);
  }

  size_t at = 0;
  for (int s = 1; s <= def->subfield_count; s++) {
    if (iso_subfield_get(spec, field, value, len, s, &out, &out_len) != 0) {
      FUZZ_CHECK(len - at < def->subfields[s - 1].length);
      break;
    }
    FUZZ_CHECK(out == value + at);
    at += out_len;
  }
  return 0;
}
