/*
 * tests/test_iso8583_peek.c -- iso_peek_fields: the MTI and chosen fields
 * straight off the wire, in any order, in every built-in spec; absent
 * fields; fields after the last one asked for are not looked at.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "isoflow/iso8583.h"

static void peek_in_every_spec(void **state) {
  (void)state;
  const char *names[] = {"iso87a", "iso87a-bbitmap", "iso87b", "iso93a"};
  for (size_t s = 0; s < 4; s++) {
    const iso_spec *spec = iso_spec_builtin(names[s]);
    iso_msg m;
    iso_msg_init(&m, spec);
    iso_msg_set_mti(&m, "0200");
    iso_msg_set_str(&m, 2, "4242424242424242");
    iso_msg_set_str(&m, 4, "000000001000");
    iso_msg_set_str(&m, 11, "654321");
    iso_msg_set_str(&m, 32, "123");
    iso_msg_set_str(&m, 41, "TERM0001");
    iso_msg_set_str(&m, 102, "ACC");
    uint8_t wire[512];
    size_t len;
    assert_int_equal(iso_msg_pack(&m, wire, sizeof wire, &len, NULL), 0);

    int want[] = {41, 11, 7, 32};
    iso_field_ref ref[4];
    char mti[4];
    iso_error err = {0};
    assert_int_equal(iso_peek_fields(spec, wire, len, mti, want, 4, ref, &err), 0);
    assert_memory_equal(mti, "0200", 4);
    assert_int_equal(ref[0].len, 8);
    assert_memory_equal(ref[0].data, "TERM0001", 8); /* ASCII in every spec */
    assert_int_equal(ref[1].len, 6);
    assert_null(ref[2].data);
    assert_int_equal(ref[3].len, 3);
    if (strcmp(names[s], "iso87b") == 0) {
      static const uint8_t stan_bcd[3] = {0x65, 0x43, 0x21};
      assert_int_equal(ref[1].wire_len, 3);
      assert_memory_equal(ref[1].data, stan_bcd, 3);
      assert_int_equal(ref[3].wire_len, 2); /* "123" -> 01 23 */
    } else {
      assert_int_equal(ref[1].wire_len, 6);
      assert_memory_equal(ref[1].data, "654321", 6);
    }
    /* The MTI alone; a NULL mti; no fields. */
    assert_int_equal(iso_peek_fields(spec, wire, len, mti, NULL, 0, NULL, NULL), 0);
    assert_int_equal(iso_peek_fields(spec, wire, len, NULL, want, 1, ref, NULL), 0);
    /* A secondary field. */
    int acc = 102;
    assert_int_equal(iso_peek_fields(spec, wire, len, NULL, &acc, 1, ref, NULL), 0);
    assert_int_equal(ref[0].len, 3);
    assert_memory_equal(ref[0].data, "ACC", 3);
    iso_msg_cleanup(&m);
  }
}

static void peek_stops_after_last_field_wanted(void **state) {
  (void)state;
  const iso_spec *spec = iso_spec_builtin("iso87a");
  /* DE 3 and DE 4, then DE 4 is cut short: asking for DE 3 still works. */
  static const char msg[] = "0200300000000000000012345600000000";
  int f = 3;
  iso_field_ref ref;
  assert_int_equal(iso_peek_fields(spec, (const uint8_t *)msg, strlen(msg),
                                   NULL, &f, 1, &ref, NULL),
                   0);
  assert_memory_equal(ref.data, "123456", 6);
  f = 4;
  assert_int_equal(iso_peek_fields(spec, (const uint8_t *)msg, strlen(msg),
                                   NULL, &f, 1, &ref, NULL),
                   ISO_E_NEED_MORE);
  /* The fields asked for are checked like unpack checks them. */
  static const char bad[] = "0200200000000000000012x456";
  f = 3;
  iso_error err = {0};
  assert_int_equal(iso_peek_fields(spec, (const uint8_t *)bad, strlen(bad),
                                   NULL, &f, 1, &ref, &err),
                   ISO_E_NOT_NUMERIC);
  assert_int_equal(err.field, 3);
  assert_int_equal(err.offset, 22);
  /* Bad requests. */
  int bad_fields[] = {65, 1, 0, 193};
  for (int i = 0; i < 4; i++)
    assert_int_equal(iso_peek_fields(spec, (const uint8_t *)msg, strlen(msg),
                                     NULL, &bad_fields[i], 1, &ref, NULL),
                     ISO_E_INVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(peek_in_every_spec),
      cmocka_unit_test(peek_stops_after_last_field_wanted),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
