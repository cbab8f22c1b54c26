/*
 * tests/test_iso8583_malformed.c -- unpack (and peek) on bad input: a
 * message cut at every byte offset is "need more" every time, and never
 * read past its end (each prefix lives in an exact-size heap buffer so
 * AddressSanitizer catches any over-read); each kind of malformation gives
 * its own error code, the right field and the right offset, and no error
 * text carries field contents.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "isoflow/iso8583.h"
#include "support/codec_spec.h"

static const char echo_0800[] =
    "0800822000000000000004000000000000000420090613900001001";
static const char auth_0100[] =
    "01007000000000000000164242424242424242123456000000000100";

/* Every proper prefix of msg fails with NEED_MORE, for unpack and for a
 * peek at the last field present. */
static void truncated_everywhere(const iso_spec *spec, const uint8_t *msg,
                                 size_t len, int last_field) {
  iso_msg m;
  iso_msg_init(&m, spec);
  assert_int_equal(iso_msg_unpack(&m, msg, len, NULL), 0);
  for (size_t k = 0; k < len; k++) {
    uint8_t *cut = malloc(k ? k : 1);
    assert_non_null(cut);
    memcpy(cut, msg, k);
    iso_error err = {0};
    int rc = iso_msg_unpack(&m, cut, k, &err);
    if (rc != ISO_E_NEED_MORE)
      fail_msg("%s cut at %zu: %s (%s)", iso_spec_name(spec), k,
               iso_err_name(rc), err.reason ? err.reason : "");
    assert_int_equal(err.code, ISO_E_NEED_MORE);
    assert_true(err.offset <= k);
    assert_false(iso_msg_has(&m, 2) || iso_msg_has(&m, 11));
    iso_field_ref ref;
    char mti[4];
    rc = iso_peek_fields(spec, cut, k, mti, &last_field, 1, &ref, NULL);
    if (rc != ISO_E_NEED_MORE)
      fail_msg("peek %s cut at %zu: %s", iso_spec_name(spec), k, iso_err_name(rc));
    free(cut);
  }
  iso_msg_cleanup(&m);
}

static void rich_message(const iso_spec *spec, uint8_t *out, size_t cap,
                         size_t *len) {
  static const uint8_t pin[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  iso_msg m;
  iso_msg_init(&m, spec);
  iso_msg_set_mti(&m, "0200");
  iso_msg_set_str(&m, 2, "4000001234567890123");
  iso_msg_set_str(&m, 3, "000000");
  iso_msg_set_str(&m, 4, "000000012345");
  iso_msg_set_str(&m, 11, "123456");
  if (iso_spec_field(spec, 28)->content == ISO_CONTENT_XN)
    iso_msg_set_str(&m, 28, "D00000150");
  iso_msg_set_str(&m, 35, "4000001234567890123=28121011234");
  iso_msg_set_str(&m, 41, "TERM0001");
  iso_msg_set(&m, 52, pin, sizeof pin);
  iso_msg_set_str(&m, 70, "301");
  iso_msg_set_str(&m, 150, "tertiary");
  assert_int_equal(iso_msg_pack(&m, out, cap, len, NULL), 0);
  iso_msg_cleanup(&m);
}

static void truncation_is_need_more(void **state) {
  (void)state;
  const iso_spec *a = iso_spec_builtin("iso87a");
  truncated_everywhere(a, (const uint8_t *)echo_0800, strlen(echo_0800), 70);
  truncated_everywhere(a, (const uint8_t *)auth_0100, strlen(auth_0100), 4);
  const char *names[] = {"iso87a", "iso87a-bbitmap", "iso87b", "iso93a"};
  for (size_t i = 0; i < 4; i++) {
    const iso_spec *s = iso_spec_builtin(names[i]);
    uint8_t buf[512];
    size_t len;
    rich_message(s, buf, sizeof buf, &len);
    truncated_everywhere(s, buf, len, 150);
  }
}

/* Unpacks text (ASCII spec) and expects code/field/offset. */
static void expect_error(const iso_spec *spec, const void *msg, size_t len,
                         int code, int field, size_t offset) {
  uint8_t *copy = malloc(len ? len : 1);
  memcpy(copy, msg, len);
  iso_msg m;
  iso_msg_init(&m, spec);
  iso_error err = {0};
  int rc = iso_msg_unpack(&m, copy, len, &err);
  if (rc != code)
    fail_msg("expected %s, got %s (%s)", iso_err_name(code), iso_err_name(rc),
             err.reason ? err.reason : "");
  assert_int_equal(err.code, code);
  assert_int_equal(err.field, field);
  assert_int_equal(err.offset, offset);
  assert_non_null(err.reason);
  /* The detail never echoes contents. */
  char text[160];
  iso_error_format(&err, text, sizeof text);
  assert_null(strstr(text, "4242"));
  assert_null(strstr(text, "1234"));
  /* A failed unpack leaves the message empty. */
  assert_int_equal(iso_msg_next_field(&m, 0), 0);
  assert_string_equal(iso_msg_mti(&m), "");
  iso_msg_cleanup(&m);
  free(copy);
}

#define TEXT(s) (s), strlen(s)

static void malformed_ascii(void **state) {
  (void)state;
  const iso_spec *a = iso_spec_builtin("iso87a");
  /* Empty buffer: nothing yet, not even the MTI. */
  expect_error(a, "", 0, ISO_E_NEED_MORE, 0, 0);
  expect_error(a, TEXT("08a0"), ISO_E_BAD_MTI, 0, 0);
  expect_error(a, TEXT("0100G000000000000000"), ISO_E_BAD_BITMAP, 1, 4);
  /* PAN prefix 20 > 19. */
  expect_error(a, TEXT("0100400000000000000020424242424242424242421234"),
               ISO_E_BAD_LENGTH, 2, 20);
  expect_error(a, TEXT("010040000000000000001x4242"), ISO_E_BAD_LENGTH, 2, 20);
  /* Prefix runs past the end: the rest may still come. */
  expect_error(a, TEXT("0100400000000000000019424242"), ISO_E_NEED_MORE, 2, 22);
  /* Non-digit in DE 3 at its third character. */
  expect_error(a, TEXT("0100200000000000000012a456"), ISO_E_NOT_NUMERIC, 3, 22);
  /* Amount with a bad sign (DE 28). */
  expect_error(a, TEXT("01000000001000000000X00000100"), ISO_E_BAD_CHAR, 28, 20);
  expect_error(a, TEXT("01000000001000000000C0000x100"), ISO_E_NOT_NUMERIC, 28, 25);
  /* Track 2 with a character that is not digit or '='. */
  expect_error(a, TEXT("01000000000020000000054242?"), ISO_E_NOT_NUMERIC, 35, 26);
  /* Bytes after the last field. */
  char longer[80];
  strcpy(longer, echo_0800);
  strcat(longer, "X");
  expect_error(a, TEXT(longer), ISO_E_TRAILING, -1, 55);
}

static void malformed_bcd(void **state) {
  (void)state;
  const iso_spec *b = iso_spec_builtin("iso87b");
  /* MTI with a non-decimal nibble. */
  static const uint8_t bad_mti[] = {0x01, 0xA0, 0x20, 0, 0, 0, 0, 0, 0, 0};
  expect_error(b, bad_mti, sizeof bad_mti, ISO_E_BAD_MTI, 0, 0);
  /* DE 3 = 12 3A 56: non-digit nibble in the second byte (offset 10+1). */
  static const uint8_t nondigit[] = {0x01, 0x00, 0x20, 0, 0, 0, 0, 0, 0, 0,
                                     0x12, 0x3A, 0x56};
  expect_error(b, nondigit, sizeof nondigit, ISO_E_NOT_NUMERIC, 3, 11);
  /* Odd-length PAN (5 digits) whose pad nibble is 5, not 0 or F. */
  static const uint8_t badpad[] = {0x01, 0x00, 0x40, 0, 0, 0, 0, 0, 0, 0,
                                   0x05, 0x51, 0x23, 0x45};
  expect_error(b, badpad, sizeof badpad, ISO_E_BAD_PAD, 2, 11);
  /* The same with pad nibble 0 and F is fine. */
  uint8_t ok[sizeof badpad];
  memcpy(ok, badpad, sizeof ok);
  for (int pad = 0; pad < 2; pad++) {
    ok[11] = pad ? 0xF1 : 0x01;
    iso_msg m;
    iso_msg_init(&m, b);
    assert_int_equal(iso_msg_unpack(&m, ok, sizeof ok, NULL), 0);
    char pan[8];
    size_t n;
    assert_int_equal(iso_msg_get(&m, 2, pan, sizeof pan, &n), 0);
    assert_string_equal(pan, "12345");
    iso_msg_cleanup(&m);
  }
  /* Prefix 0x1A is not BCD; prefix 0x20 is over the PAN maximum. */
  static const uint8_t badprefix[] = {0x01, 0x00, 0x40, 0, 0, 0, 0, 0, 0, 0,
                                      0x1A, 0x12};
  expect_error(b, badprefix, sizeof badprefix, ISO_E_BAD_LENGTH, 2, 10);
  static const uint8_t overmax[] = {0x01, 0x00, 0x40, 0, 0, 0, 0, 0, 0, 0,
                                    0x20, 0x12};
  expect_error(b, overmax, sizeof overmax, ISO_E_BAD_LENGTH, 2, 10);
}

static void bitmap_names_undefined_field(void **state) {
  (void)state;
  iso_spec *s = codec_spec_new(ISO_ENC_ASCII, ISO_ENC_HEX);
  codec_spec_set(s, 2, (iso_field_def){.max_len = 4, .content = ISO_CONTENT_N});
  const iso_spec *spec = codec_spec_ready(s);
  /* Bits 2 and 4: field 4 is not in the spec.  Reported at the bitmap. */
  expect_error(spec, TEXT("02005000000000000000" "1234"), ISO_E_UNKNOWN_FIELD,
               4, 4);
  /* A secondary field the spec lacks, reported at the secondary bitmap. */
  expect_error(spec, TEXT("0200C000000000000000" "0000000000000001" "1234"),
               ISO_E_UNKNOWN_FIELD, 128, 20);
  codec_spec_free(s);

  s = codec_spec_new(ISO_ENC_ASCII, ISO_ENC_BINARY);
  codec_spec_set(s, 2, (iso_field_def){.max_len = 2, .content = ISO_CONTENT_B,
                                       .data_enc = ISO_ENC_HEX});
  spec = codec_spec_ready(s);
  static const uint8_t badhex[] = {'0', '2', '0', '0', 0x40, 0, 0, 0, 0, 0, 0, 0,
                                   'A', 'B', 'X', 'D'};
  expect_error(spec, badhex, sizeof badhex, ISO_E_BAD_CHAR, 2, 14);
  codec_spec_free(s);
}

/* Alphanumeric contents are relayed as received, but a caller setting the
 * same bytes is told they are not allowed. */
static void alphanumerics_pass_through(void **state) {
  (void)state;
  const iso_spec *a = iso_spec_builtin("iso87a");
  static const char msg[] = "0200" "0000000000800000" "TERM\x01\x7F" "01";
  size_t len = strlen(msg);
  iso_msg m;
  iso_msg_init(&m, a);
  assert_int_equal(iso_msg_unpack(&m, (const uint8_t *)msg, len, NULL), 0);
  uint8_t out[64];
  size_t n;
  assert_int_equal(iso_msg_pack(&m, out, sizeof out, &n, NULL), 0);
  assert_int_equal(n, len);
  assert_memory_equal(out, msg, len);
  assert_int_equal(iso_msg_set_str(&m, 41, "TERM\x01\x7F" "01"), 0);
  iso_error err = {0};
  assert_int_equal(iso_msg_pack(&m, out, sizeof out, &n, &err), ISO_E_BAD_CHAR);
  assert_int_equal(err.field, 41);
  iso_msg_cleanup(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(truncation_is_need_more),
      cmocka_unit_test(malformed_ascii),
      cmocka_unit_test(malformed_bcd),
      cmocka_unit_test(bitmap_names_undefined_field),
      cmocka_unit_test(alphanumerics_pass_through),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
