/*
 * tests/test_iso8583_message.c -- iso_msg storage and access: set, copy,
 * unset, iteration, get/peek, the inline arena and slot table and their
 * malloc'd overflow, reset, copy and cleanup (ASan checks for leaks).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "isoflow/iso8583.h"

static void set_get_and_errors(void **state) {
  (void)state;
  const iso_spec *spec = iso_spec_builtin("iso87a");
  iso_msg m;
  iso_msg_init(&m, spec);
  assert_string_equal(iso_msg_mti(&m), "");
  assert_int_equal(iso_msg_set_mti(&m, "02000"), ISO_E_BAD_MTI);
  assert_int_equal(iso_msg_set_mti(&m, "02x0"), ISO_E_BAD_MTI);
  assert_int_equal(iso_msg_set_mti(&m, NULL), ISO_E_BAD_MTI);
  assert_int_equal(iso_msg_set_mti(&m, "0200"), 0);
  assert_string_equal(iso_msg_mti(&m), "0200");

  assert_int_equal(iso_msg_set_str(&m, 1, "x"), ISO_E_UNKNOWN_FIELD);
  assert_int_equal(iso_msg_set_str(&m, 65, "x"), ISO_E_UNKNOWN_FIELD);
  assert_int_equal(iso_msg_set_str(&m, 193, "x"), ISO_E_UNKNOWN_FIELD);
  assert_int_equal(iso_msg_set_str(&m, 0, "x"), ISO_E_UNKNOWN_FIELD);
  assert_int_equal(iso_msg_set(&m, 3, NULL, 2), ISO_E_INVAL);

  char value[] = "123456";
  assert_int_equal(iso_msg_set(&m, 11, value, 6), 0); /* borrowed */
  value[0] = '9';
  char buf[8];
  size_t len = 0;
  assert_int_equal(iso_msg_get(&m, 11, buf, sizeof buf, &len), 0);
  assert_string_equal(buf, "923456");
  assert_int_equal(iso_msg_set_copy(&m, 11, value, 6), 0); /* copied */
  value[0] = '1';
  assert_int_equal(iso_msg_get(&m, 11, buf, sizeof buf, &len), 0);
  assert_string_equal(buf, "923456");
  /* Exactly the value's size: no NUL, but success. */
  char six[6];
  assert_int_equal(iso_msg_get(&m, 11, six, 6, &len), 0);
  assert_memory_equal(six, "923456", 6);
  assert_int_equal(iso_msg_get(&m, 11, six, 5, &len), ISO_E_NOSPC);
  assert_int_equal(len, 6);
  assert_int_equal(iso_msg_get(&m, 12, buf, sizeof buf, &len), ISO_E_NO_FIELD);
  const uint8_t *p;
  assert_int_equal(iso_msg_peek(&m, 12, &p, &len), ISO_E_NO_FIELD);
  assert_int_equal(iso_msg_peek(&m, 11, &p, &len), 0);
  assert_int_equal(len, 6);
  assert_int_equal(iso_msg_set(&m, 48, NULL, 0), 0); /* empty LLL value */
  uint8_t wire[64];
  size_t wlen;
  assert_int_equal(iso_msg_pack(&m, wire, sizeof wire, &wlen, NULL), 0);
  assert_memory_equal(wire + wlen - 3, "000", 3);
  iso_msg_unset(&m, 48);
  assert_int_equal(iso_msg_set_str(&m, 11, ""), 0);
  assert_int_equal(iso_msg_get(&m, 11, buf, sizeof buf, &len), 0);
  assert_int_equal(len, 0);
  iso_msg_cleanup(&m);
}

static void iterate_and_unset(void **state) {
  (void)state;
  const iso_spec *spec = iso_spec_builtin("iso87a");
  iso_msg m;
  iso_msg_init(&m, spec);
  int fields[] = {192, 2, 64, 66, 128, 129, 3, 63};
  for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
    assert_int_equal(iso_msg_set_str(&m, fields[i], "1"), 0);
  int order[] = {2, 3, 63, 64, 66, 128, 129, 192};
  int n = 0;
  for (size_t i = 0; i < 8; i++) {
    n = iso_msg_next_field(&m, n);
    assert_int_equal(n, order[i]);
  }
  assert_int_equal(iso_msg_next_field(&m, n), 0);
  assert_int_equal(iso_msg_next_field(&m, 192), 0);
  assert_int_equal(iso_msg_next_field(&m, 63), 64);
  assert_int_equal(iso_msg_next_field(&m, 64), 66);

  iso_msg_unset(&m, 2); /* moves the last slot into its place */
  iso_msg_unset(&m, 2); /* absent: fine */
  iso_msg_unset(&m, 500);
  assert_false(iso_msg_has(&m, 2));
  assert_true(iso_msg_has(&m, 63));
  char buf[4];
  size_t len;
  for (int f = iso_msg_next_field(&m, 0); f; f = iso_msg_next_field(&m, f)) {
    assert_int_equal(iso_msg_get(&m, f, buf, sizeof buf, &len), 0);
    assert_string_equal(buf, "1");
  }
  assert_int_equal(iso_msg_next_field(&m, 0), 3);
  iso_msg_reset(&m);
  assert_int_equal(iso_msg_next_field(&m, 0), 0);
  assert_false(iso_msg_has(&m, 192));
  iso_msg_cleanup(&m);
}

static void storage_overflows_into_heap(void **state) {
  (void)state;
  const iso_spec *spec = iso_spec_builtin("iso87a");
  iso_msg m;
  iso_msg_init(&m, spec);
  /* Every field of the spec: past the 24 inline slots, and values past the
   * 96-byte inline arena. */
  char value[32];
  int count = 0;
  for (int f = 2; f <= ISO_MAX_FIELD; f++) {
    if (!iso_spec_field(spec, f)) continue;
    snprintf(value, sizeof value, "value of field %d", f);
    assert_int_equal(iso_msg_set_str(&m, f, value), 0);
    count++;
  }
  assert_int_equal(count, 190);
  /* A value larger than an overflow block. */
  static char big[5000];
  memset(big, 'b', sizeof big);
  assert_int_equal(iso_msg_set_copy(&m, 48, big, sizeof big), 0);
  char got[5001];
  size_t len;
  for (int f = 2; f <= ISO_MAX_FIELD; f++) {
    if (!iso_spec_field(spec, f) || f == 48) continue;
    snprintf(value, sizeof value, "value of field %d", f);
    assert_int_equal(iso_msg_get(&m, f, got, sizeof got, &len), 0);
    assert_string_equal(got, value);
  }
  assert_int_equal(iso_msg_get(&m, 48, got, sizeof got, &len), 0);
  assert_int_equal(len, sizeof big);

  iso_msg c;
  iso_msg_init(&c, iso_spec_builtin("iso87b"));
  iso_msg_set_str(&c, 2, "4242"); /* dropped by the copy */
  assert_int_equal(iso_msg_copy(&c, &m), 0);
  assert_ptr_equal(c.spec, spec);
  iso_msg_reset(&m); /* frees m's blocks; c has its own copies */
  assert_int_equal(iso_msg_get(&c, 150, got, sizeof got, &len), 0);
  assert_string_equal(got, "value of field 150");
  assert_int_equal(iso_msg_copy(&c, &c), 0);
  /* The message is reusable after reset and after cleanup. */
  assert_int_equal(iso_msg_set_str(&m, 11, "000001"), 0);
  iso_msg_cleanup(&m);
  iso_msg_init(&m, spec);
  assert_int_equal(iso_msg_set_str(&m, 11, "000002"), 0);
  iso_msg_cleanup(&m);
  iso_msg_cleanup(&c);
}

static void full_message_unpacks_beyond_inline_slots(void **state) {
  (void)state;
  const iso_spec *spec = iso_spec_builtin("iso87a-bbitmap");
  iso_msg m, u;
  iso_msg_init(&m, spec);
  iso_msg_init(&u, spec);
  iso_msg_set_mti(&m, "0100");
  for (int f = 129; f <= 192; f++) assert_int_equal(iso_msg_set_str(&m, f, "t"), 0);
  static uint8_t wire[4096];
  size_t len;
  assert_int_equal(iso_msg_pack(&m, wire, sizeof wire, &len, NULL), 0);
  assert_int_equal(iso_msg_unpack(&u, wire, len, NULL), 0);
  int n = 0, count = 0;
  while ((n = iso_msg_next_field(&u, n)) != 0) count++;
  assert_int_equal(count, 64);
  /* Again into the same message: the grown slot table is reused. */
  assert_int_equal(iso_msg_unpack(&u, wire, len, NULL), 0);
  iso_msg_cleanup(&m);
  iso_msg_cleanup(&u);
}

/* Reset clears the index a bitmap word at a time: every field of every
 * word must be gone, and the first and last field of each word (2, 64, 66,
 * 128, 129, 192) set again must land in fresh slots. */
static void reset_clears_every_bitmap_word(void **state) {
  (void)state;
  const iso_spec *spec = iso_spec_builtin("iso87a");
  static const int fields[] = {2, 11, 64, 66, 100, 128, 129, 160, 192};
  const int nfields = (int)(sizeof fields / sizeof fields[0]);
  iso_msg m;
  iso_msg_init(&m, spec);
  char value[16], got[16];
  size_t len;
  for (int round = 0; round < 2; round++) {
    for (int i = 0; i < nfields; i++) {
      snprintf(value, sizeof value, "r%d f%d", round, fields[i]);
      assert_int_equal(iso_msg_set_str(&m, fields[i], value), 0);
    }
    for (int i = 0; i < nfields; i++) {
      snprintf(value, sizeof value, "r%d f%d", round, fields[i]);
      assert_int_equal(iso_msg_get(&m, fields[i], got, sizeof got, &len), 0);
      assert_string_equal(got, value);
    }
    iso_msg_reset(&m);
    assert_int_equal(iso_msg_next_field(&m, 0), 0);
    for (int f = 2; f <= ISO_MAX_FIELD; f++) assert_false(iso_msg_has(&m, f));
  }
  /* Set again after the reset: one field, and it is the only one. */
  assert_int_equal(iso_msg_set_str(&m, 192, "x"), 0);
  assert_int_equal(iso_msg_next_field(&m, 0), 192);
  assert_int_equal(iso_msg_next_field(&m, 192), 0);
  assert_int_equal(iso_msg_get(&m, 192, got, sizeof got, &len), 0);
  assert_string_equal(got, "x");
  iso_msg_cleanup(&m);
}

/* set_copy copies short values (up to 16 bytes into the inline arena)
 * without memcpy: every length from 0 to 20, at every arena offset up to
 * and past the arena's end, must read back as it was set and must not
 * depend on the caller's buffer afterwards, nor disturb the values set
 * before it. */
static void set_copy_every_short_length(void **state) {
  (void)state;
  const iso_spec *spec = iso_spec_builtin("iso87a");
  iso_msg m;
  iso_msg_init(&m, spec);
  for (size_t len = 0; len <= 20; len++) {
    for (size_t used = 0; used <= ISO_MSG_INLINE_ARENA + 4; used++) {
      iso_msg_reset(&m);
      /* Take `used` bytes of storage first (DE 48 is ans..999). */
      char filler[ISO_MSG_INLINE_ARENA + 8];
      memset(filler, 'f', sizeof filler);
      if (used) assert_int_equal(iso_msg_set_copy(&m, 48, filler, used), 0);
      char src[24];
      for (size_t i = 0; i < sizeof src; i++) src[i] = (char)('A' + i);
      assert_int_equal(iso_msg_set_copy(&m, 44, src, len), 0);
      memset(src, '?', sizeof src); /* copied, not borrowed */
      char got[32];
      size_t got_len = 99;
      assert_int_equal(iso_msg_get(&m, 44, got, sizeof got, &got_len), 0);
      assert_int_equal(got_len, len);
      for (size_t i = 0; i < len; i++) assert_int_equal(got[i], 'A' + i);
      assert_int_equal(got[len], '\0');
      if (used) {
        static char back[ISO_MSG_INLINE_ARENA + 8];
        assert_int_equal(iso_msg_get(&m, 48, back, sizeof back, &got_len), 0);
        assert_int_equal(got_len, used);
        assert_memory_equal(back, filler, used);
      }
    }
  }
  iso_msg_cleanup(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(set_get_and_errors),
      cmocka_unit_test(iterate_and_unset),
      cmocka_unit_test(storage_overflows_into_heap),
      cmocka_unit_test(full_message_unpacks_beyond_inline_slots),
      cmocka_unit_test(reset_clears_every_bitmap_word),
      cmocka_unit_test(set_copy_every_short_length),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
