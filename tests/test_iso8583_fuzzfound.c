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
#include <stdio.h>
#include <stdlib.h>
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

/* A pad_char byte over 0x7F was taken as one raw byte but exported as
 * "\u00b9", which loads as two bytes and was refused (found by
 * fuzz_spec_json); so 0xFF, the usual pad of binary fields, could not be
 * written at all.  pad_char is one character of U+0001..U+00FF, and an
 * exported spec always loads again. */
static void pad_char_above_ascii_round_trips(void **state) {
  (void)state;
  static const char tmpl[] =
      "{\"name\":\"p\",\"fields\":{\"2\":{\"name\":\"x\",\"content\":\"b\","
      "\"length\":\"fixed\",\"max\":3,\"pad\":\"left\",\"pad_char\":\"%s\"}}}";
  char text[256];
  iso_spec *spec = NULL, *again = NULL;
  iso_error err = {0};

  snprintf(text, sizeof text, tmpl, "\\u00ff");
  assert_int_equal(iso_spec_parse_json(text, strlen(text), &spec, &err), 0);
  assert_int_equal((uint8_t)iso_spec_field(spec, 2)->pad_char, 0xFF);
  char *exported = iso_spec_to_json(spec);
  assert_non_null(exported);
  assert_int_equal(iso_spec_parse_json(exported, strlen(exported), &again, &err), 0);
  assert_int_equal((uint8_t)iso_spec_field(again, 2)->pad_char, 0xFF);
  free(exported);
  iso_spec_free(again);
  iso_spec_free(spec);

  /* A raw byte that is not UTF-8, two characters, or one above U+00FF. */
  static const char *const bad[] = {"\xb9", "ab", "\\u0100", ""};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    snprintf(text, sizeof text, tmpl, bad[i]);
    spec = NULL;
    assert_int_equal(iso_spec_parse_json(text, strlen(text), &spec, &err),
                     ISO_E_BAD_SPEC);
    assert_null(spec);
    assert_int_equal(err.field, 2);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(unpacked_ans_with_control_bytes_packs_back),
      cmocka_unit_test(pad_char_above_ascii_round_trips),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
