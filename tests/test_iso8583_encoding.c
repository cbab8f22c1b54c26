/*
 * tests/test_iso8583_encoding.c -- every data encoding, length-prefix
 * encoding and padding rule, both ways, byte for byte, through pack and
 * unpack on one-field specs; plus the primitives of encoding.h.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "iso8583/encoding.h"
#include "isoflow/iso8583.h"
#include "support/codec_spec.h"

/* Header of the one-field messages below: ASCII MTI "0200" and a binary
 * primary bitmap with only field 2 set. */
#define HEADER "30323030" "4000000000000000"
#define HEADER_BYTES 12

/* Packs `value` as field 2 under `def` and checks the bytes after the
 * header (hex); unpacks them and checks the canonical value that comes back
 * (`back`; NULL means the value itself). */
static void both_ways(iso_field_def def, const void *value, size_t len,
                      const char *wire_hex, const void *back,
                      size_t back_len) {
  iso_spec *s = codec_spec_new(ISO_ENC_ASCII, ISO_ENC_BINARY);
  codec_spec_set(s, 2, def);
  const iso_spec *spec = codec_spec_ready(s);
  iso_msg m, u;
  iso_msg_init(&m, spec);
  iso_msg_init(&u, spec);
  iso_msg_set_mti(&m, "0200");
  assert_int_equal(iso_msg_set(&m, 2, value, len), 0);
  uint8_t out[4096];
  size_t n = 0;
  iso_error err = {0};
  int rc = iso_msg_pack(&m, out, sizeof out, &n, &err);
  if (rc) fail_msg("pack: %s", err.reason);
  assert_string_equal(codec_hex(out, HEADER_BYTES), HEADER);
  assert_string_equal(codec_hex(out + HEADER_BYTES, n - HEADER_BYTES),
                      wire_hex);
  rc = iso_msg_unpack(&u, out, n, &err);
  if (rc) fail_msg("unpack: %s at %zu", err.reason, err.offset);
  if (!back) {
    back = value;
    back_len = len;
  }
  uint8_t got[2048];
  size_t got_len = 0;
  assert_int_equal(iso_msg_get(&u, 2, got, sizeof got, &got_len), 0);
  assert_int_equal(got_len, back_len);
  assert_memory_equal(got, back, back_len);
  /* And an unpacked message packs to the same bytes. */
  uint8_t again[4096];
  size_t n2 = 0;
  assert_int_equal(iso_msg_pack(&u, again, sizeof again, &n2, NULL), 0);
  assert_int_equal(n2, n);
  assert_memory_equal(again, out, n);
  iso_msg_cleanup(&m);
  iso_msg_cleanup(&u);
  codec_spec_free(s);
}

static iso_field_def fixed(uint8_t content, uint8_t enc, uint32_t len) {
  return (iso_field_def){.max_len = len, .content = content, .data_enc = enc};
}

static iso_field_def var(uint8_t content, uint8_t enc, uint8_t lt,
                         uint8_t prefix, uint32_t max) {
  return (iso_field_def){.max_len = max, .content = content, .length_type = lt,
                         .data_enc = enc, .prefix_enc = prefix};
}

static void data_ascii(void **state) {
  (void)state;
  both_ways(fixed(ISO_CONTENT_N, ISO_ENC_ASCII, 4), "1234", 4, "31323334", NULL, 0);
  both_ways(fixed(ISO_CONTENT_A, ISO_ENC_ASCII, 3), "USD", 3, "555344", NULL, 0);
  both_ways(fixed(ISO_CONTENT_AN, ISO_ENC_ASCII, 3), "A1 ", 3, "413120", NULL, 0);
  both_ways(fixed(ISO_CONTENT_ANS, ISO_ENC_ASCII, 3), "a&~", 3, "61267E", NULL, 0);
  both_ways(fixed(ISO_CONTENT_NS, ISO_ENC_ASCII, 3), "1-2", 3, "312D32", NULL, 0);
  both_ways(fixed(ISO_CONTENT_Z, ISO_ENC_ASCII, 3), "1=2", 3, "313D32", NULL, 0);
  both_ways(fixed(ISO_CONTENT_XN, ISO_ENC_ASCII, 4), "C123", 4, "43313233", NULL, 0);
}

static void data_ebcdic(void **state) {
  (void)state;
  both_ways(fixed(ISO_CONTENT_N, ISO_ENC_EBCDIC, 4), "1234", 4, "F1F2F3F4", NULL, 0);
  both_ways(fixed(ISO_CONTENT_ANS, ISO_ENC_EBCDIC, 5), "Ab z!", 5, "C18240A95A", NULL, 0);
  both_ways(fixed(ISO_CONTENT_Z, ISO_ENC_EBCDIC, 4), "12=3", 4, "F1F27EF3", NULL, 0);
  both_ways(fixed(ISO_CONTENT_XN, ISO_ENC_EBCDIC, 3), "D12", 3, "C4F1F2", NULL, 0);
  both_ways(var(ISO_CONTENT_ANS, ISO_ENC_EBCDIC, ISO_LEN_LL, ISO_ENC_EBCDIC, 99),
            "ab", 2, "F0F28182", NULL, 0);
}

static void data_bcd(void **state) {
  (void)state;
  both_ways(fixed(ISO_CONTENT_N, ISO_ENC_BCD, 4), "1234", 4, "1234", NULL, 0);
  both_ways(fixed(ISO_CONTENT_N, ISO_ENC_BCD, 3), "123", 3, "0123", NULL, 0);
  both_ways(fixed(ISO_CONTENT_N, ISO_ENC_BCD_LEFT, 3), "123", 3, "1230", NULL, 0);
  both_ways(fixed(ISO_CONTENT_Z, ISO_ENC_BCD, 5), "1=234", 5, "01D234", NULL, 0);
  both_ways(fixed(ISO_CONTENT_Z, ISO_ENC_BCD_LEFT, 5), "1=234", 5, "1D2340", NULL, 0);
  /* 'D' is accepted for the separator and reads back as '='. */
  both_ways(fixed(ISO_CONTENT_Z, ISO_ENC_BCD, 4), "12D4", 4, "12D4", "12=4", 4);
  both_ways(fixed(ISO_CONTENT_XN, ISO_ENC_BCD, 5), "C1234", 5, "431234", NULL, 0);
  both_ways(fixed(ISO_CONTENT_XN, ISO_ENC_BCD, 4), "D123", 4, "440123", NULL, 0);
  /* Variable BCD: the prefix counts digits, not bytes. */
  both_ways(var(ISO_CONTENT_N, ISO_ENC_BCD, ISO_LEN_LL, ISO_ENC_BCD, 19),
            "12345", 5, "05012345", NULL, 0);
  both_ways(var(ISO_CONTENT_N, ISO_ENC_BCD_LEFT, ISO_LEN_LL, ISO_ENC_BCD, 19),
            "12345", 5, "05123450", NULL, 0);
  both_ways(var(ISO_CONTENT_Z, ISO_ENC_BCD, ISO_LEN_LL, ISO_ENC_BCD, 37),
            "4242424242424242=2512", 21, "21" "04242424242424242D2512", NULL, 0);
}

static void data_binary_and_hex(void **state) {
  (void)state;
  static const uint8_t b3[3] = {0x00, 0xFF, 0x10};
  both_ways(fixed(ISO_CONTENT_B, ISO_ENC_BINARY, 3), b3, 3, "00FF10", NULL, 0);
  both_ways(fixed(ISO_CONTENT_B, ISO_ENC_HEX, 3), b3, 3, "303046463130", NULL, 0);
  /* Binary prefixes count bytes, also when shown as hex. */
  both_ways(var(ISO_CONTENT_B, ISO_ENC_HEX, ISO_LEN_LL, ISO_ENC_ASCII, 99), b3,
            3, "3033" "303046463130", NULL, 0);
  both_ways(var(ISO_CONTENT_B, ISO_ENC_BINARY, ISO_LEN_LLL, ISO_ENC_BINARY, 999),
            b3, 3, "0003" "00FF10", NULL, 0);
}

static void padding(void **state) {
  (void)state;
  /* Defaults: numeric left '0', amounts after the sign, text right ' '. */
  both_ways(fixed(ISO_CONTENT_N, ISO_ENC_ASCII, 6), "42", 2, "303030303432", "000042", 6);
  both_ways(fixed(ISO_CONTENT_ANS, ISO_ENC_ASCII, 5), "ab", 2, "6162202020", "ab   ", 5);
  both_ways(fixed(ISO_CONTENT_XN, ISO_ENC_ASCII, 9), "C100", 4,
            "433030303030313030", "C00000100", 9);
  both_ways(fixed(ISO_CONTENT_N, ISO_ENC_BCD, 6), "42", 2, "000042", "000042", 6);
  both_ways(fixed(ISO_CONTENT_XN, ISO_ENC_BCD, 5), "D1", 2, "440001", "D0001", 5);
  /* Explicit pads. */
  iso_field_def d = fixed(ISO_CONTENT_N, ISO_ENC_ASCII, 6);
  d.pad = ISO_PAD_RIGHT;
  d.pad_char = '0';
  both_ways(d, "42", 2, "343230303030", "420000", 6);
  d = fixed(ISO_CONTENT_ANS, ISO_ENC_EBCDIC, 4);
  d.pad = ISO_PAD_LEFT;
  d.pad_char = '*';
  both_ways(d, "ab", 2, "5C5C8182", "**ab", 4);
  d = fixed(ISO_CONTENT_N, ISO_ENC_BCD, 5);
  d.pad = ISO_PAD_RIGHT;
  d.pad_char = '0';
  both_ways(d, "42", 2, "042000", "42000", 5);
  d = fixed(ISO_CONTENT_N, ISO_ENC_BCD_LEFT, 5);
  d.pad = ISO_PAD_LEFT;
  d.pad_char = '0';
  both_ways(d, "42", 2, "000420", "00042", 5);
  static const uint8_t one = 0xAB;
  d = fixed(ISO_CONTENT_B, ISO_ENC_BINARY, 3);
  d.pad = ISO_PAD_RIGHT;
  d.pad_char = 0;
  both_ways(d, &one, 1, "AB0000", "\xAB\0\0", 3);
}

/* pack fails for field 2 with `code`. */
static void pack_fails(iso_field_def def, const char *value, size_t len,
                       int code) {
  iso_spec *s = codec_spec_new(ISO_ENC_ASCII, ISO_ENC_BINARY);
  codec_spec_set(s, 2, def);
  const iso_spec *spec = codec_spec_ready(s);
  iso_msg m;
  iso_msg_init(&m, spec);
  iso_msg_set_mti(&m, "0200");
  assert_int_equal(iso_msg_set(&m, 2, value, len), 0);
  uint8_t out[64];
  size_t n;
  iso_error err = {0};
  assert_int_equal(iso_msg_pack(&m, out, sizeof out, &n, &err), code);
  assert_int_equal(err.code, code);
  assert_int_equal(err.field, 2);
  assert_non_null(err.reason);
  iso_msg_cleanup(&m);
  codec_spec_free(s);
}

static void pack_validates(void **state) {
  (void)state;
  iso_field_def d = fixed(ISO_CONTENT_N, ISO_ENC_ASCII, 6);
  d.pad = ISO_PAD_NONE;
  pack_fails(d, "42", 2, ISO_E_BAD_LENGTH);
  pack_fails(fixed(ISO_CONTENT_N, ISO_ENC_ASCII, 2), "123", 3, ISO_E_BAD_LENGTH);
  pack_fails(fixed(ISO_CONTENT_N, ISO_ENC_ASCII, 3), "1a3", 3, ISO_E_NOT_NUMERIC);
  pack_fails(fixed(ISO_CONTENT_N, ISO_ENC_BCD, 3), "1 3", 3, ISO_E_NOT_NUMERIC);
  pack_fails(fixed(ISO_CONTENT_A, ISO_ENC_ASCII, 3), "A1B", 3, ISO_E_BAD_CHAR);
  pack_fails(fixed(ISO_CONTENT_AN, ISO_ENC_ASCII, 3), "A-B", 3, ISO_E_BAD_CHAR);
  pack_fails(fixed(ISO_CONTENT_ANS, ISO_ENC_ASCII, 3), "A\nB", 3, ISO_E_BAD_CHAR);
  pack_fails(fixed(ISO_CONTENT_XN, ISO_ENC_ASCII, 3), "X12", 3, ISO_E_BAD_CHAR);
  pack_fails(fixed(ISO_CONTENT_XN, ISO_ENC_ASCII, 3), "C1x", 3, ISO_E_NOT_NUMERIC);
  pack_fails(fixed(ISO_CONTENT_XN, ISO_ENC_ASCII, 3), "", 0, ISO_E_BAD_LENGTH);
  pack_fails(fixed(ISO_CONTENT_Z, ISO_ENC_ASCII, 3), "1?3", 3, ISO_E_NOT_NUMERIC);
  pack_fails(fixed(ISO_CONTENT_Z, ISO_ENC_ASCII, 3), "12", 2, ISO_E_BAD_LENGTH);
  pack_fails(fixed(ISO_CONTENT_B, ISO_ENC_BINARY, 3), "12", 2, ISO_E_BAD_LENGTH);
  pack_fails(var(ISO_CONTENT_ANS, ISO_ENC_ASCII, ISO_LEN_LL, ISO_ENC_ASCII, 4),
             "12345", 5, ISO_E_BAD_LENGTH);
}

static const char *expected_prefix(int digits, int enc, unsigned len) {
  static char buf[32];
  char dec[8];
  snprintf(dec, sizeof dec, "%0*u", digits, len);
  switch (enc) {
    case ISO_ENC_ASCII:
      for (int i = 0; i < digits; i++) sprintf(buf + 2 * i, "%02X", dec[i]);
      break;
    case ISO_ENC_EBCDIC:
      for (int i = 0; i < digits; i++) sprintf(buf + 2 * i, "F%c", dec[i]);
      break;
    case ISO_ENC_BCD:
      snprintf(buf, sizeof buf, "%0*u", 2 * ((digits + 1) / 2), len);
      break;
    default:
      snprintf(buf, sizeof buf, "%0*X", 2 * ((digits + 1) / 2), len);
      break;
  }
  return buf;
}

static void every_length_prefix(void **state) {
  (void)state;
  static const uint8_t prefixes[] = {ISO_ENC_ASCII, ISO_ENC_BCD, ISO_ENC_BINARY,
                                     ISO_ENC_EBCDIC};
  static char value[300];
  memset(value, 'x', sizeof value);
  for (int digits = 1; digits <= 6; digits++) {
    for (size_t p = 0; p < sizeof prefixes; p++) {
      unsigned len = digits == 1 ? 7 : digits == 2 ? 42 : 300;
      uint32_t max = digits == 1 ? 9 : digits == 2 ? 99 : 999;
      char wire[1024];
      snprintf(wire, sizeof wire, "%s", expected_prefix(digits, prefixes[p], len));
      for (unsigned i = 0; i < len; i++) strcat(wire, "78");
      both_ways(var(ISO_CONTENT_ANS, ISO_ENC_ASCII, (uint8_t)digits,
                    prefixes[p], max),
                value, len, wire, NULL, 0);
    }
  }
}

static void primitives(void **state) {
  (void)state;
  uint8_t raw[4];
  size_t bad = 99;
  assert_int_equal(iso__hex_decode("0aFf", 4, raw, NULL), 0);
  assert_int_equal(raw[0], 0x0A);
  assert_int_equal(raw[1], 0xFF);
  assert_int_equal(iso__hex_decode("0G", 2, raw, &bad), -1);
  assert_int_equal(bad, 1);
  assert_int_equal(iso__hex_decode("012", 3, raw, &bad), -1);
  char hex[9] = {0};
  static const uint8_t four[4] = {0xDE, 0xAD, 0x0B, 0x1F};
  iso__hex_encode(four, 4, hex);
  assert_string_equal(hex, "DEAD0B1F");
  /* cp037 is a permutation: every byte round-trips. */
  for (int i = 0; i < 256; i++) {
    uint8_t c = (uint8_t)i, e, a;
    iso__ebcdic_encode(&c, 1, &e);
    iso__ebcdic_decode(&e, 1, &a);
    assert_int_equal(a, c);
  }
  uint8_t bcd[2];
  assert_int_equal(iso__bcd_encode("1x3", 3, bcd, false, false, &bad), -1);
  assert_int_equal(bad, 1);
  char digits[4];
  static const uint8_t pad5[2] = {0x51, 0x23};
  assert_int_equal(iso__bcd_decode(pad5, 3, digits, false, false, &bad),
                   ISO_E_BAD_PAD);
  static const uint8_t padf[2] = {0xF1, 0x23};
  assert_int_equal(iso__bcd_decode(padf, 3, digits, false, false, &bad), 0);
  assert_memory_equal(digits, "123", 3);
  assert_int_equal(iso__check_content(ISO_CONTENT_B, (const uint8_t *)"\0\1", 2, NULL), 0);
  assert_int_equal(iso__prefix_read((const uint8_t *)"1a", 2, ISO_ENC_ASCII), -1);
  static const uint8_t badbcd[1] = {0x1A};
  assert_int_equal(iso__prefix_read(badbcd, 2, ISO_ENC_BCD), -1);
}

/* The hot-path yes-only answer agrees with the full check for every
 * content class, every byte value, every position and several lengths
 * (amounts, whose sign needs the full check, may only answer "ask"). */
static void quick_content_check_agrees(void **state) {
  (void)state;
  static const size_t lens[] = {1, 5, 7, 8, 9, 15, 16, 19};
  for (uint8_t content = ISO_CONTENT_N; content <= ISO_CONTENT_XN; content++) {
    for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++) {
      size_t n = lens[l];
      for (size_t at = 0; at < n; at++) {
        for (int c = 0; c < 256; c++) {
          uint8_t v[19];
          memset(v, content == ISO_CONTENT_A ? 'Q' : '4', n);
          v[at] = (uint8_t)c;
          bool full = iso__check_content(content, v, n, NULL) == 0;
          bool quick = iso__quick_content_ok(content, v, n);
          if (quick && !full) fail_msg("content %d byte %d: quick said yes", content, c);
          if (full && !quick && content != ISO_CONTENT_XN)
            fail_msg("content %d byte %d len %zu: quick said no", content, c, n);
        }
      }
    }
  }
}

static void quick_track_check_with_many_separators(void **state) {
  (void)state;
  const uint8_t *ok = (const uint8_t *)"1=2==3=4=5=====6789=";
  assert_true(iso__quick_content_ok(ISO_CONTENT_Z, ok, strlen((const char *)ok)));
  const uint8_t *bad = (const uint8_t *)"1=2==3=4=5==>==6789=";
  assert_false(iso__quick_content_ok(ISO_CONTENT_Z, bad, strlen((const char *)bad)));
  const uint8_t *sep = (const uint8_t *)"4242424242424242D2512";
  assert_true(iso__quick_content_ok(ISO_CONTENT_Z, sep, strlen((const char *)sep)));
}

/* MTI in EBCDIC and BCD; hex bitmaps read in either case. */
static void mti_and_bitmap_encodings(void **state) {
  (void)state;
  iso_spec *s = codec_spec_new(ISO_ENC_EBCDIC, ISO_ENC_HEX);
  codec_spec_set(s, 3, fixed(ISO_CONTENT_N, ISO_ENC_ASCII, 2));
  const iso_spec *spec = codec_spec_ready(s);
  iso_msg m;
  iso_msg_init(&m, spec);
  iso_msg_set_mti(&m, "0200");
  iso_msg_set_str(&m, 3, "42");
  uint8_t out[64];
  size_t n;
  assert_int_equal(iso_msg_pack(&m, out, sizeof out, &n, NULL), 0);
  assert_string_equal(codec_hex(out, n), "F0F2F0F0" "32303030303030303030303030303030" "3432");
  out[4] = 'g'; /* not a hex digit */
  iso_error err = {0};
  assert_int_equal(iso_msg_unpack(&m, out, n, &err), ISO_E_BAD_BITMAP);
  out[4] = '2';
  static const char lower[] = "2a00000000000000"; /* bits 3, 5, 7: undefined */
  memcpy(out + 4, lower, 16);
  assert_int_equal(iso_msg_unpack(&m, out, n, &err), ISO_E_UNKNOWN_FIELD);
  assert_int_equal(err.field, 5);
  memcpy(out + 4, "2000000000000000", 16);
  char mti[4];
  int f = 3;
  iso_field_ref ref;
  assert_int_equal(iso_peek_fields(spec, out, n, mti, &f, 1, &ref, NULL), 0);
  assert_memory_equal(mti, "0200", 4);
  out[0] = 0xC1; /* EBCDIC 'A' */
  assert_int_equal(iso_msg_unpack(&m, out, n, &err), ISO_E_BAD_MTI);
  iso_msg_cleanup(&m);
  codec_spec_free(s);
}

/* The word-at-a-time checks agree with the byte-by-byte definition for
 * every byte value at every position of a 19-byte value. */
static void digit_and_printable_checks_are_exact(void **state) {
  (void)state;
  for (int c = 0; c < 256; c++) {
    for (size_t at = 0; at < 19; at++) {
      uint8_t d[19], p[19];
      memset(d, '7', sizeof d);
      memset(p, 'q', sizeof p);
      d[at] = (uint8_t)c;
      p[at] = (uint8_t)c;
      size_t bad = 99;
      bool digit = c >= '0' && c <= '9';
      assert_int_equal(iso__is_digits(d, sizeof d, &bad), digit);
      if (!digit) assert_int_equal(bad, at);
      bool printable = c >= 0x20 && c <= 0x7E;
      int rc = iso__check_content(ISO_CONTENT_ANS, p, sizeof p, &bad);
      assert_int_equal(rc, printable ? 0 : ISO_E_BAD_CHAR);
      if (!printable) assert_int_equal(bad, at);
    }
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(data_ascii),      cmocka_unit_test(data_ebcdic),
      cmocka_unit_test(data_bcd),        cmocka_unit_test(data_binary_and_hex),
      cmocka_unit_test(padding),         cmocka_unit_test(pack_validates),
      cmocka_unit_test(every_length_prefix), cmocka_unit_test(primitives),
      cmocka_unit_test(digit_and_printable_checks_are_exact),
      cmocka_unit_test(mti_and_bitmap_encodings),
      cmocka_unit_test(quick_content_check_agrees),
      cmocka_unit_test(quick_track_check_with_many_separators),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
