/*
 * tests/test_iso8583_spec.c -- the built-in specs and iso__spec_prepare's
 * validation of field definitions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iso8583/spec_internal.h"
#include "isoflow/iso8583.h"

static void builtins_exist_and_are_named(void **state) {
  (void)state;
  const char *const *names = iso_spec_builtin_names();
  int count = 0;
  for (; names[count]; count++) {
    const iso_spec *s = iso_spec_builtin(names[count]);
    assert_non_null(s);
    assert_string_equal(iso_spec_name(s), names[count]);
  }
  assert_int_equal(count, 4);
  assert_null(iso_spec_builtin("iso99"));
  assert_null(iso_spec_builtin(NULL));
  iso_spec_free(iso_spec_builtin("iso87a")); /* ignored for built-ins */
}

static void standard_layouts(void **state) {
  (void)state;
  const iso_spec *a = iso_spec_builtin("iso87a");
  const iso_field_def *pan = iso_spec_field(a, 2);
  assert_non_null(pan);
  assert_int_equal(pan->content, ISO_CONTENT_N);
  assert_int_equal(pan->length_type, ISO_LEN_LL);
  assert_int_equal(pan->max_len, 19);
  assert_int_equal(pan->sensitivity, ISO_SENS_PAN);
  assert_int_equal(iso_spec_field(a, 14)->sensitivity, ISO_SENS_EXPIRY);
  assert_int_equal(iso_spec_field(a, 35)->sensitivity, ISO_SENS_TRACK);
  assert_int_equal(iso_spec_field(a, 36)->sensitivity, ISO_SENS_TRACK);
  assert_int_equal(iso_spec_field(a, 45)->sensitivity, ISO_SENS_TRACK);
  assert_int_equal(iso_spec_field(a, 52)->sensitivity, ISO_SENS_PIN);
  assert_int_equal(iso_spec_field(a, 52)->data_enc, ISO_ENC_BINARY);
  assert_int_equal(iso_spec_field(a, 55)->sensitivity, ISO_SENS_ICC);
  assert_int_equal(iso_spec_field(a, 55)->subfield_kind, ISO_SUB_TLV);
  assert_int_equal(iso_spec_field(a, 41)->max_len, 8);
  assert_null(iso_spec_field(a, 0));
  assert_null(iso_spec_field(a, 1));
  assert_null(iso_spec_field(a, 65));
  assert_null(iso_spec_field(a, 193));
  assert_non_null(iso_spec_field(a, 128));
  assert_non_null(iso_spec_field(a, 129));
  assert_non_null(iso_spec_field(a, 192));

  const iso_spec *b = iso_spec_builtin("iso87b");
  assert_int_equal(iso_spec_field(b, 2)->data_enc, ISO_ENC_BCD);
  assert_int_equal(iso_spec_field(b, 2)->prefix_enc, ISO_ENC_BCD);
  assert_int_equal(iso_spec_field(b, 41)->data_enc, ISO_ENC_ASCII);
  assert_int_equal(iso_spec_field(b, 35)->data_enc, ISO_ENC_BCD);

  const iso_spec *c = iso_spec_builtin("iso93a");
  assert_int_equal(iso_spec_field(c, 12)->max_len, 12);
  assert_int_equal(iso_spec_field(c, 39)->max_len, 3);
  assert_int_equal(iso_spec_field(c, 39)->content, ISO_CONTENT_N);
}

/* A one-field spec on the heap to feed iso__spec_prepare. */
static iso_spec *one_field(iso_field_def def) {
  iso_spec *s = calloc(1, sizeof *s);
  s->name = "t";
  s->mti_enc = ISO_ENC_ASCII;
  s->bitmap_enc = ISO_ENC_BINARY;
  s->fields[2] = def;
  return s;
}

static void expect_bad(iso_field_def def, const char *why) {
  iso_spec *s = one_field(def);
  iso_error err = {0};
  assert_int_equal(iso__spec_prepare(s, &err), ISO_E_BAD_SPEC);
  assert_int_equal(err.field, 2);
  assert_string_equal(err.reason, why);
  free(s);
}

static void prepare_rejects_bad_definitions(void **state) {
  (void)state;
  iso_field_def ok = {.name = "x", .max_len = 10, .content = ISO_CONTENT_N};
  iso_spec *s = one_field(ok);
  assert_int_equal(iso__spec_prepare(s, NULL), 0);
  assert_true(iso__spec_defines(s, 2));
  assert_false(iso__spec_defines(s, 3));
  free(s);

  iso_field_def d = ok;
  d.content = ISO_CONTENT_AN;
  d.data_enc = ISO_ENC_BCD;
  expect_bad(d, "BCD data needs numeric, track or amount content");
  d = ok;
  d.data_enc = ISO_ENC_BINARY;
  expect_bad(d, "binary or hex data needs binary content");
  d = ok;
  d.content = ISO_CONTENT_B;
  expect_bad(d, "binary content needs binary or hex data");
  d = ok;
  d.length_type = ISO_LEN_LL;
  d.max_len = 100;
  expect_bad(d, "maximum length does not fit the length prefix");
  d = ok;
  d.length_type = ISO_LEN_L;
  d.prefix_enc = ISO_ENC_HEX;
  d.max_len = 9;
  expect_bad(d, "prefix encoding must be ASCII, BCD, binary or EBCDIC");
  d = ok;
  d.max_len = 0;
  expect_bad(d, "zero length");
  d = ok;
  d.pad = ISO_PAD_LEFT;
  d.pad_char = 'x';
  expect_bad(d, "pad character not allowed by the content");
  d = ok;
  d.subfield_kind = ISO_SUB_TLV;
  expect_bad(d, "BER-TLV subfields need binary content");
  static const iso_subfield_def subs[] = {{"a", 6}, {"b", 6}};
  d = ok;
  d.subfield_kind = ISO_SUB_POSITIONAL;
  d.subfields = subs;
  d.subfield_count = 2;
  expect_bad(d, "subfields longer than the field");
  d = ok;
  d.content = 42;
  expect_bad(d, "unknown content");

  iso_spec *m = one_field(ok);
  m->mti_enc = ISO_ENC_HEX;
  iso_error err = {0};
  assert_int_equal(iso__spec_prepare(m, &err), ISO_E_BAD_SPEC);
  assert_int_equal(err.field, 0);
  m->mti_enc = ISO_ENC_ASCII;
  m->bitmap_enc = ISO_ENC_ASCII;
  assert_int_equal(iso__spec_prepare(m, &err), ISO_E_BAD_SPEC);
  assert_int_equal(err.field, 1);
  free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(builtins_exist_and_are_named),
      cmocka_unit_test(standard_layouts),
      cmocka_unit_test(prepare_rejects_bad_definitions),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
