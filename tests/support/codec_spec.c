/*
 * tests/support/codec_spec.c -- see codec_spec.h.
 */
#include "support/codec_spec.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iso8583/encoding.h"
#include "iso8583/spec_internal.h"

iso_spec *codec_spec_new(uint8_t mti_enc, uint8_t bitmap_enc) {
  iso_spec *s = calloc(1, sizeof *s);
  assert_non_null(s);
  s->name = "test";
  s->mti_enc = mti_enc;
  s->bitmap_enc = bitmap_enc;
  return s;
}

void codec_spec_set(iso_spec *s, int n, iso_field_def def) {
  if (!def.name) def.name = "test field";
  s->fields[n] = def;
}

const iso_spec *codec_spec_ready(iso_spec *s) {
  iso_error err = {0};
  int rc = iso__spec_prepare(s, &err);
  if (rc) fail_msg("spec rejected: field %d: %s", err.field, err.reason);
  return s;
}

void codec_spec_free(iso_spec *s) { free(s); }

size_t codec_unhex(const char *hex, uint8_t *out, size_t cap) {
  size_t n = strlen(hex);
  assert_true(n % 2 == 0 && n / 2 <= cap);
  assert_int_equal(iso__hex_decode(hex, n, out, NULL), 0);
  return n / 2;
}

const char *codec_hex(const uint8_t *in, size_t n) {
  static char buf[8192];
  assert_true(2 * n < sizeof buf);
  iso__hex_encode(in, n, buf);
  buf[2 * n] = '\0';
  return buf;
}
