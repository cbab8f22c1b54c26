/*
 * tests/test_iso8583_fuzzfound.c -- codec bugs the fuzzers found, one test
 * each, written out so the behaviour is readable here; the raw inputs are
 * replayed too, from tests/fuzz/crashes/, by the fuzz_replay_* tests.
 */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "isoflow/iso8583.h"
#include "support/codec_spec.h"

/* Unpack passes alphanumeric (ans) contents through unchecked; pack used to
 * check them and refuse a message that had just unpacked (a NUL in DE 45,
 * found by fuzz_roundtrip).  Whatever unpacks must pack to the same bytes. */
static void unpacked_ans_with_control_bytes_packs_back(void **state) {
  (void)state;
  static const char *const specs[] = {"iso87a", "iso87b"};
  for (size_t i = 0; i < 2; i++) {
    const iso_spec *spec = iso_spec_builtin(specs[i]);
    /* 0100 with DE 11 and DE 48 = "A", NUL, 0x01, 0x7F, 0xFF, "Z". */
    iso_msg m, back;
    iso_msg_init(&m, spec);
    iso_msg_init(&back, spec);
    assert_int_equal(iso_msg_set_mti(&m, "0100"), 0);
    assert_int_equal(iso_msg_set_str(&m, 11, "000001"), 0);
    assert_int_equal(iso_msg_set_str(&m, 48, "AxxxxZ"), 0);
    uint8_t wire[128];
    size_t len = 0;
    assert_int_equal(iso_msg_pack(&m, wire, sizeof wire, &len, NULL), 0);
    /* Put the control bytes in on the wire, where a peer would. */
    uint8_t *v = memmem(wire, len, "AxxxxZ", 6);
    assert_non_null(v);
    memcpy(v + 1, "\x00\x01\x7F\xFF", 4);

    assert_int_equal(iso_msg_unpack(&back, wire, len, NULL), 0);
    uint8_t again[128];
    size_t len2 = 0;
    iso_error err = {0};
    assert_int_equal(iso_msg_pack(&back, again, sizeof again, &len2, &err), 0);
    assert_int_equal(len2, len);
    assert_memory_equal(again, wire, len);

    /* A copy keeps that: it is still the value as read. */
    iso_msg copy;
    iso_msg_init(&copy, spec);
    assert_int_equal(iso_msg_copy(&copy, &back), 0);
    assert_int_equal(iso_msg_pack(&copy, again, sizeof again, &len2, NULL), 0);
    assert_memory_equal(again, wire, len);

    /* The same bytes set by a caller are still refused, naming the field. */
    assert_int_equal(iso_msg_set_copy(&m, 48, "A\x01Z", 3), 0);
    assert_int_equal(iso_msg_pack(&m, again, sizeof again, &len2, &err),
                     ISO_E_BAD_CHAR);
    assert_int_equal(err.field, 48);
    iso_msg_cleanup(&copy);
    iso_msg_cleanup(&back);
    iso_msg_cleanup(&m);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(unpacked_ans_with_control_bytes_packs_back),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
