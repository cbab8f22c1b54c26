/*
 * tests/fuzz/fuzz_tlv.c -- libFuzzer target: BER-TLV reading (iso_tlv_next,
 * as describe and DE 55 users walk chip data) and writing (iso_tlv_append).
 *
 * Oracles: every element lies inside the input and the position only moves
 * forward; the elements read, written again with iso_tlv_append and read
 * back, give the same tags, lengths and values.
 */
#include "fuzz_common.h"

#define MAX_ELEMENTS 512

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static iso_tlv elems[MAX_ELEMENTS];
  size_t count = 0, pos = 0;
  iso_error err = {0};
  int rc;
  while (count < MAX_ELEMENTS &&
         (rc = iso_tlv_next(data, size, &pos, &elems[count], &err)) == 1) {
    const iso_tlv *t = &elems[count];
    FUZZ_CHECK(t->tag != 0);
    FUZZ_CHECK(t->value >= data && t->value <= data + size);
    FUZZ_CHECK(t->len <= (size_t)(data + size - t->value));
    FUZZ_CHECK(pos <= size && t->value + t->len == data + pos);
    count++;
  }
  if (count < MAX_ELEMENTS && rc < 0) {
    FUZZ_CHECK(rc == ISO_E_BAD_TLV && err.code == rc && err.offset <= size);
  }

  /* Re-encode (minimal lengths) and read back. */
  size_t cap = size + 8 * count + 8, out = 0;
  uint8_t *buf = malloc(cap);
  FUZZ_CHECK(buf != NULL);
  for (size_t i = 0; i < count; i++)
    FUZZ_CHECK(iso_tlv_append(buf, cap, &out, elems[i].tag, elems[i].value,
                              elems[i].len) == 0);
  size_t at = 0;
  for (size_t i = 0; i < count; i++) {
    iso_tlv t;
    FUZZ_CHECK(iso_tlv_next(buf, out, &at, &t, NULL) == 1);
    FUZZ_CHECK(t.tag == elems[i].tag && t.constructed == elems[i].constructed);
    FUZZ_CHECK(t.len == elems[i].len && memcmp(t.value, elems[i].value, t.len) == 0);
  }
  iso_tlv t;
  FUZZ_CHECK(iso_tlv_next(buf, out, &at, &t, NULL) == 0);
  /* A short buffer is refused, never overrun. */
  if (count) {
    size_t p = 0;
    FUZZ_CHECK(iso_tlv_append(buf, elems[0].len, &p, elems[0].tag,
                              elems[0].value, elems[0].len) == ISO_E_NOSPC);
  }
  free(buf);
  return 0;
}
