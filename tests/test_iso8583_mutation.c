/*
 * tests/test_iso8583_mutation.c -- unpack and peek on many randomly damaged
 * messages (a fixed-seed generator, so every run is the same), under the
 * sanitizers: no crash, no over-read (exact-size heap copies), and every
 * input either fails with a codec error or unpacks into a message that
 * packs, unpacks again to the same values, and agrees with peek.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "isoflow/iso8583.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return (uint32_t)rng_state;
}

static size_t base_message(const iso_spec *spec, uint8_t *out, size_t cap) {
  static const uint8_t icc[] = {0x9F, 0x26, 0x02, 0xAB, 0xCD};
  iso_msg m;
  iso_msg_init(&m, spec);
  iso_msg_set_mti(&m, "0200");
  iso_msg_set_str(&m, 2, "4242424242424242");
  iso_msg_set_str(&m, 3, "000000");
  iso_msg_set_str(&m, 4, "000000001000");
  iso_msg_set_str(&m, 11, "000123");
  iso_msg_set_str(&m, 35, "4242424242424242=2512");
  iso_msg_set_str(&m, 41, "TERM0001");
  iso_msg_set(&m, 55, icc, sizeof icc);
  iso_msg_set_str(&m, 102, "ACCOUNT");
  iso_msg_set_str(&m, 140, "T");
  size_t len;
  assert_int_equal(iso_msg_pack(&m, out, cap, &len, NULL), 0);
  iso_msg_cleanup(&m);
  return len;
}

static void check_consistent(const iso_spec *spec, const uint8_t *in,
                             size_t len) {
  iso_msg m, again;
  iso_msg_init(&m, spec);
  iso_msg_init(&again, spec);
  iso_error err = {0};
  int rc = iso_msg_unpack(&m, in, len, &err);
  if (rc) {
    assert_true(rc < 0);
    assert_int_equal(err.code, rc);
    assert_non_null(err.reason);
    assert_true(err.offset <= len);
    iso_msg_cleanup(&m);
    return;
  }
  uint8_t out[2048];
  size_t out_len;
  assert_int_equal(iso_msg_pack(&m, out, sizeof out, &out_len, NULL), 0);
  assert_int_equal(iso_msg_unpack(&again, out, out_len, NULL), 0);
  int f = 0;
  while ((f = iso_msg_next_field(&m, f)) != 0) {
    char a[1024], b[1024];
    size_t la, lb;
    assert_int_equal(iso_msg_get(&m, f, a, sizeof a, &la), 0);
    assert_int_equal(iso_msg_get(&again, f, b, sizeof b, &lb), 0);
    assert_int_equal(la, lb);
    assert_memory_equal(a, b, la);
    iso_field_ref ref;
    char mti[4];
    assert_int_equal(iso_peek_fields(spec, in, len, mti, &f, 1, &ref, NULL), 0);
    assert_memory_equal(mti, iso_msg_mti(&m), 4);
    assert_int_equal(ref.len, la);
  }
  iso_msg_cleanup(&m);
  iso_msg_cleanup(&again);
}

static void damaged_messages(void **state) {
  (void)state;
  const char *names[] = {"iso87a", "iso87a-bbitmap", "iso87b", "iso93a"};
  int unpacked = 0, failed = 0;
  for (size_t s = 0; s < 4; s++) {
    const iso_spec *spec = iso_spec_builtin(names[s]);
    uint8_t base[512];
    size_t base_len = base_message(spec, base, sizeof base);
    for (int round = 0; round < 4000; round++) {
      uint8_t work[600];
      size_t len = base_len;
      memcpy(work, base, len);
      int edits = 1 + (int)(rnd() % 3);
      for (int e = 0; e < edits; e++) {
        size_t at = rnd() % len;
        switch (rnd() % 4) {
          case 0: work[at] = (uint8_t)rnd(); break;          /* any byte */
          case 1: work[at] = (uint8_t)('0' + rnd() % 10); break; /* a digit */
          case 2: work[at] ^= (uint8_t)(1u << (rnd() % 8)); break;
          default: len = at + 1; break;                       /* cut */
        }
      }
      uint8_t *exact = malloc(len);
      memcpy(exact, work, len);
      iso_msg probe;
      iso_msg_init(&probe, spec);
      if (iso_msg_unpack(&probe, exact, len, NULL) == 0)
        unpacked++;
      else
        failed++;
      iso_msg_cleanup(&probe);
      check_consistent(spec, exact, len);
      free(exact);
    }
  }
  /* Both outcomes were exercised. */
  assert_true(unpacked > 100);
  assert_true(failed > 100);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(damaged_messages),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
