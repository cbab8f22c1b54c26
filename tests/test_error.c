/*
 * tests/test_error.c -- the error table: names, messages, formatting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "isoflow/error.h"

static void names_and_messages(void **state) {
  (void)state;
  assert_string_equal(iso_err_name(ISO_E_TIMEDOUT), "ISO_E_TIMEDOUT");
  assert_string_equal(iso_strerror(ISO_E_TIMEDOUT), "timed out");
  assert_string_equal(iso_err_name(0), "ISO_OK");
  assert_string_equal(iso_err_name(-99999), "ISO_E_UNKNOWN");
  assert_string_equal(iso_strerror(-99999), "unknown error");
}

static void every_code_is_negative_and_named(void **state) {
  (void)state;
#define CHECK(name, num, msg)                                   \
  assert_true((num) < 0);                                       \
  assert_string_equal(iso_err_name(num), "ISO_E_" #name);       \
  assert_string_equal(iso_strerror(num), msg);
  ISO_ERRNO_MAP(CHECK)
#undef CHECK
}

static void format_names_field_and_offset(void **state) {
  (void)state;
  char buf[128];
  iso_error e = {ISO_E_NOT_NUMERIC, 4, 23, "non-digit in a numeric field"};
  assert_string_equal(iso_error_format(&e, buf, sizeof buf),
                      "field 4 at offset 23: non-digit in a numeric field");
  iso_error m = {ISO_E_BAD_MTI, 0, 0, NULL};
  assert_string_equal(iso_error_format(&m, buf, sizeof buf),
                      "MTI at offset 0: invalid message type indicator");
  iso_error b = {ISO_E_BAD_BITMAP, 1, 4, "x"};
  assert_string_equal(iso_error_format(&b, buf, 8), "bitmap ");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(names_and_messages),
      cmocka_unit_test(every_code_is_negative_and_named),
      cmocka_unit_test(format_names_field_and_offset),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
