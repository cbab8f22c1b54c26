/*
 * tests/test_iso8583_vectors.c -- known messages byte for byte, and every
 * built-in spec round-tripped: pack, unpack, compare, pack again.
 * Secondary and tertiary bitmaps are computed by pack and read by unpack.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "isoflow/iso8583.h"
#include "support/codec_spec.h"

static const char echo_0800[] =
    "0800822000000000000004000000000000000420090613900001001";
static const char auth_0100[] =
    "01007000000000000000164242424242424242123456000000000100";

static void expect_field(const iso_msg *m, int n, const char *want) {
  char buf[1024];
  size_t len = 0;
  assert_int_equal(iso_msg_get(m, n, buf, sizeof buf, &len), 0);
  assert_int_equal(len, strlen(want));
  assert_memory_equal(buf, want, len);
}

static void network_management_0800(void **state) {
  (void)state;
  const iso_spec *spec = iso_spec_builtin("iso87a");
  iso_msg m;
  iso_msg_init(&m, spec);
  iso_error err = {0};
  assert_int_equal(strlen(echo_0800), 55);
  assert_int_equal(iso_msg_unpack(&m, (const uint8_t *)echo_0800,
                                  strlen(echo_0800), &err),
                   0);
  assert_string_equal(iso_msg_mti(&m), "0800");
  expect_field(&m, 7, "0420090613");
  expect_field(&m, 11, "900001");
  expect_field(&m, 70, "001");
  assert_int_equal(iso_msg_next_field(&m, 0), 7);
  assert_int_equal(iso_msg_next_field(&m, 7), 11);
  assert_int_equal(iso_msg_next_field(&m, 11), 70);
  assert_int_equal(iso_msg_next_field(&m, 70), 0);
  assert_false(iso_msg_has(&m, 1));
  assert_false(iso_msg_has(&m, 65));

  iso_msg b;
  iso_msg_init(&b, spec);
  assert_int_equal(iso_msg_set_mti(&b, "0800"), 0);
  assert_int_equal(iso_msg_set_str(&b, 70, "001"), 0);
  assert_int_equal(iso_msg_set_str(&b, 7, "0420090613"), 0);
  assert_int_equal(iso_msg_set_str(&b, 11, "900001"), 0);
  uint8_t out[128];
  size_t len = 0;
  assert_int_equal(iso_msg_pack(&b, out, sizeof out, &len, &err), 0);
  assert_int_equal(len, 55);
  assert_memory_equal(out, echo_0800, 55);
  iso_msg_cleanup(&b);
  iso_msg_cleanup(&m);
}

static void authorization_0100(void **state) {
  (void)state;
  const iso_spec *spec = iso_spec_builtin("iso87a");
  iso_msg m;
  iso_msg_init(&m, spec);
  assert_int_equal(iso_msg_unpack(&m, (const uint8_t *)auth_0100,
                                  strlen(auth_0100), NULL),
                   0);
  assert_string_equal(iso_msg_mti(&m), "0100");
  expect_field(&m, 2, "4242424242424242");
  expect_field(&m, 3, "123456");
  expect_field(&m, 4, "000000000100");

  /* Zero copy: ASCII values point into the input. */
  const uint8_t *p;
  size_t n;
  assert_int_equal(iso_msg_peek(&m, 2, &p, &n), 0);
  assert_ptr_equal(p, (const uint8_t *)auth_0100 + 22);
  assert_int_equal(n, 16);

  iso_msg b;
  iso_msg_init(&b, spec);
  iso_msg_set_mti(&b, "0100");
  iso_msg_set_str(&b, 2, "4242424242424242");
  iso_msg_set_str(&b, 3, "123456");
  iso_msg_set_str(&b, 4, "100"); /* padded to 000000000100 */
  uint8_t out[128];
  size_t len = 0;
  assert_int_equal(iso_msg_pack(&b, out, sizeof out, &len, NULL), 0);
  assert_int_equal(len, strlen(auth_0100));
  assert_memory_equal(out, auth_0100, len);
  iso_msg_cleanup(&b);
  iso_msg_cleanup(&m);
}

static void same_message_in_iso87b(void **state) {
  (void)state;
  const iso_spec *spec = iso_spec_builtin("iso87b");
  iso_msg b;
  iso_msg_init(&b, spec);
  iso_msg_set_mti(&b, "0100");
  iso_msg_set_str(&b, 2, "4242424242424242");
  iso_msg_set_str(&b, 3, "123456");
  iso_msg_set_str(&b, 4, "000000000100");
  uint8_t out[128];
  size_t len = 0;
  assert_int_equal(iso_msg_pack(&b, out, sizeof out, &len, NULL), 0);
  assert_string_equal(codec_hex(out, len),
                      "0100" "7000000000000000" "16" "4242424242424242"
                      "123456" "000000000100");

  /* A 19-digit PAN: odd, so a pad nibble leads. */
  iso_msg_set_str(&b, 2, "4000001234567890123");
  assert_int_equal(iso_msg_pack(&b, out, sizeof out, &len, NULL), 0);
  assert_string_equal(codec_hex(out, len),
                      "0100" "7000000000000000" "19" "04000001234567890123"
                      "123456" "000000000100");
  iso_msg m;
  iso_msg_init(&m, spec);
  assert_int_equal(iso_msg_unpack(&m, out, len, NULL), 0);
  expect_field(&m, 2, "4000001234567890123");
  const uint8_t *p;
  size_t n;
  assert_int_equal(iso_msg_peek(&m, 2, &p, &n), ISO_E_UNSUPPORTED);
  iso_msg_cleanup(&m);
  iso_msg_cleanup(&b);
}

/* Sets the same rich set of values on a message of any 1987 spec. */
static void fill_1987(iso_msg *m) {
  static const uint8_t pin[8] = {0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0xF0};
  static const uint8_t icc[] = {0x9F, 0x26, 0x08, 1, 2, 3, 4, 5, 6, 7, 8,
                                0x82, 0x02, 0x39, 0x00};
  static const uint8_t mac[8] = {0, 0xFF, 1, 0xFE, 2, 0xFD, 3, 0xFC};
  assert_int_equal(iso_msg_set_mti(m, "0200"), 0);
  assert_int_equal(iso_msg_set_str(m, 2, "4000001234567890123"), 0);
  assert_int_equal(iso_msg_set_str(m, 3, "000000"), 0);
  assert_int_equal(iso_msg_set_str(m, 4, "000000012345"), 0);
  assert_int_equal(iso_msg_set_str(m, 7, "1123101500"), 0);
  assert_int_equal(iso_msg_set_str(m, 11, "123456"), 0);
  assert_int_equal(iso_msg_set_str(m, 14, "2812"), 0);
  assert_int_equal(iso_msg_set_str(m, 28, "D00000150"), 0);
  assert_int_equal(iso_msg_set_str(m, 32, "12345"), 0);
  assert_int_equal(iso_msg_set_str(m, 35, "4000001234567890123=28121011234"), 0);
  assert_int_equal(iso_msg_set_str(m, 37, "123456789012"), 0);
  assert_int_equal(iso_msg_set_str(m, 41, "TERM0001"), 0);
  assert_int_equal(iso_msg_set_str(m, 42, "MERCHANT0000001"), 0);
  assert_int_equal(iso_msg_set_str(m, 43, "Test shop, Main street 1, Springfield   "), 0);
  assert_int_equal(iso_msg_set_str(m, 48, "private data with {symbols} & more"), 0);
  assert_int_equal(iso_msg_set_str(m, 49, "840"), 0);
  assert_int_equal(iso_msg_set(m, 52, pin, sizeof pin), 0);
  assert_int_equal(iso_msg_set(m, 55, icc, sizeof icc), 0);
  assert_int_equal(iso_msg_set_str(m, 70, "301"), 0);
  assert_int_equal(iso_msg_set_str(m, 90, "020012345611231015000000001234500000000000"), 0);
  assert_int_equal(iso_msg_set_str(m, 97, "C0000000000001000"), 0);
  assert_int_equal(iso_msg_set_str(m, 102, "ACCOUNT-1"), 0);
  assert_int_equal(iso_msg_set(m, 128, mac, sizeof mac), 0);
  assert_int_equal(iso_msg_set_str(m, 150, "tertiary field"), 0);
  assert_int_equal(iso_msg_set_str(m, 192, "last"), 0);
}

static void fill_1993(iso_msg *m) {
  static const uint8_t sec[5] = {1, 2, 3, 4, 5};
  assert_int_equal(iso_msg_set_mti(m, "1200"), 0);
  assert_int_equal(iso_msg_set_str(m, 2, "4242424242424242"), 0);
  assert_int_equal(iso_msg_set_str(m, 3, "000000"), 0);
  assert_int_equal(iso_msg_set_str(m, 4, "000000012345"), 0);
  assert_int_equal(iso_msg_set_str(m, 12, "261123101500"), 0);
  assert_int_equal(iso_msg_set_str(m, 22, "A1B2C3D4E5F6"), 0);
  assert_int_equal(iso_msg_set_str(m, 24, "100"), 0);
  assert_int_equal(iso_msg_set_str(m, 39, "000"), 0);
  assert_int_equal(iso_msg_set_str(m, 43, "Shop"), 0);
  assert_int_equal(iso_msg_set(m, 53, sec, sizeof sec), 0);
  assert_int_equal(iso_msg_set_str(m, 71, "00000001"), 0);
  assert_int_equal(iso_msg_set_str(m, 97, "D0000000000000001"), 0);
  assert_int_equal(iso_msg_set_str(m, 129, "x"), 0);
}

static void roundtrip(const char *name, void (*fill)(iso_msg *)) {
  const iso_spec *spec = iso_spec_builtin(name);
  assert_non_null(spec);
  iso_msg a, b, c;
  iso_msg_init(&a, spec);
  iso_msg_init(&b, spec);
  iso_msg_init(&c, spec);
  fill(&a);
  uint8_t wire[2048], again[2048];
  size_t len = 0, len2 = 0;
  iso_error err = {0};
  int rc = iso_msg_pack(&a, wire, sizeof wire, &len, &err);
  if (rc) fail_msg("%s: pack field %d: %s", name, err.field, err.reason);
  rc = iso_msg_unpack(&b, wire, len, &err);
  if (rc) fail_msg("%s: unpack field %d at %zu: %s", name, err.field,
                   err.offset, err.reason);
  assert_string_equal(iso_msg_mti(&b), iso_msg_mti(&a));
  int n = 0, count = 0;
  while ((n = iso_msg_next_field(&a, n)) != 0) {
    char x[1024], y[1024];
    size_t lx, ly;
    assert_int_equal(iso_msg_get(&a, n, x, sizeof x, &lx), 0);
    assert_int_equal(iso_msg_get(&b, n, y, sizeof y, &ly), 0);
    if (lx != ly || memcmp(x, y, lx) != 0) fail_msg("%s: field %d differs", name, n);
    count++;
  }
  n = 0;
  while ((n = iso_msg_next_field(&b, n)) != 0) count--;
  assert_int_equal(count, 0);
  /* Unpacked (wire-form) values pack back to the same bytes, also after a
   * deep copy that outlives the input buffer. */
  assert_int_equal(iso_msg_pack(&b, again, sizeof again, &len2, NULL), 0);
  assert_int_equal(len2, len);
  assert_memory_equal(again, wire, len);
  assert_int_equal(iso_msg_copy(&c, &b), 0);
  memset(wire, 0, sizeof wire);
  assert_int_equal(iso_msg_pack(&c, wire, sizeof wire, &len2, NULL), 0);
  assert_memory_equal(again, wire, len);
  iso_msg_cleanup(&a);
  iso_msg_cleanup(&b);
  iso_msg_cleanup(&c);
}

static void every_builtin_roundtrips(void **state) {
  (void)state;
  roundtrip("iso87a", fill_1987);
  roundtrip("iso87a-bbitmap", fill_1987);
  roundtrip("iso87b", fill_1987);
  roundtrip("iso93a", fill_1993);
}

static void bitmaps_secondary_and_tertiary(void **state) {
  (void)state;
  const iso_spec *spec = iso_spec_builtin("iso87a-bbitmap");
  iso_msg m;
  iso_msg_init(&m, spec);
  iso_msg_set_mti(&m, "0800");
  iso_msg_set_str(&m, 11, "000001");
  uint8_t out[256];
  size_t len;
  /* Primary only. */
  assert_int_equal(iso_msg_pack(&m, out, sizeof out, &len, NULL), 0);
  assert_string_equal(codec_hex(out + 4, 8), "0020000000000000");
  assert_int_equal(len, 4 + 8 + 6);
  /* A tertiary field brings bit 1 and bit 65 with it. */
  iso_msg_set_str(&m, 129, "T");
  assert_int_equal(iso_msg_pack(&m, out, sizeof out, &len, NULL), 0);
  assert_string_equal(codec_hex(out + 4, 24),
                      "8020000000000000" "8000000000000000" "8000000000000000");
  iso_msg u;
  iso_msg_init(&u, spec);
  assert_int_equal(iso_msg_unpack(&u, out, len, NULL), 0);
  expect_field(&u, 129, "T");
  assert_false(iso_msg_has(&u, 65));
  /* Field 128 alone: secondary bitmap only, last bit. */
  iso_msg_unset(&m, 129);
  iso_msg_set_str(&m, 192, "Z");
  iso_msg_unset(&m, 192);
  static const uint8_t mac[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  iso_msg_set(&m, 128, mac, 8);
  assert_int_equal(iso_msg_pack(&m, out, sizeof out, &len, NULL), 0);
  assert_string_equal(codec_hex(out + 4, 16), "8020000000000000" "0000000000000001");
  assert_int_equal(len, 4 + 16 + 6 + 8);
  assert_int_equal(iso_msg_unpack(&u, out, len, NULL), 0);
  assert_true(iso_msg_has(&u, 128));
  iso_msg_cleanup(&u);
  iso_msg_cleanup(&m);
}

static void pack_reports_size_needed(void **state) {
  (void)state;
  const iso_spec *spec = iso_spec_builtin("iso87a");
  iso_msg m;
  iso_msg_init(&m, spec);
  iso_msg_set_mti(&m, "0100");
  iso_msg_set_str(&m, 2, "4242424242424242");
  iso_msg_set_str(&m, 3, "123456");
  iso_msg_set_str(&m, 4, "000000000100");
  size_t total = strlen(auth_0100);
  for (size_t cap = 0; cap < total; cap++) {
    uint8_t buf[64];
    size_t need = 0;
    iso_error err = {0};
    assert_int_equal(iso_msg_pack(&m, cap ? buf : NULL, cap, &need, &err),
                     ISO_E_NOSPC);
    assert_int_equal(need, total);
    assert_int_equal(err.code, ISO_E_NOSPC);
  }
  /* A content error wins over a short buffer and names the field. */
  iso_msg_set_str(&m, 3, "12x456");
  size_t need;
  iso_error err = {0};
  assert_int_equal(iso_msg_pack(&m, NULL, 0, &need, &err), ISO_E_NOT_NUMERIC);
  assert_int_equal(err.field, 3);
  iso_msg_cleanup(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(network_management_0800),
      cmocka_unit_test(authorization_0100),
      cmocka_unit_test(same_message_in_iso87b),
      cmocka_unit_test(every_builtin_roundtrips),
      cmocka_unit_test(bitmaps_secondary_and_tertiary),
      cmocka_unit_test(pack_reports_size_needed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
