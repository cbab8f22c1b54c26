/*
 * tests/test_iso8583_subfields.c -- BER-TLV reading and writing (multi-byte
 * tags, long-form lengths, the constructed bit, malformed data), positional
 * subfields, and the MTI helpers.
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

static void tlv_roundtrip(void **state) {
  (void)state;
  static uint8_t big[300];
  memset(big, 0x5A, sizeof big);
  static uint8_t huge[70000];
  uint8_t buf[80000];
  size_t pos = 0;
  assert_int_equal(iso_tlv_append(buf, sizeof buf, &pos, 0x9F26, "\1\2\3\4\5\6\7\x08", 8), 0);
  assert_int_equal(iso_tlv_append(buf, sizeof buf, &pos, 0x82, "\x39\x00", 2), 0);
  assert_int_equal(iso_tlv_append(buf, sizeof buf, &pos, 0xDF8101, big, 200), 0);
  assert_int_equal(iso_tlv_append(buf, sizeof buf, &pos, 0x70, big, 300), 0);
  assert_int_equal(iso_tlv_append(buf, sizeof buf, &pos, 0x5F2A, NULL, 0), 0);
  assert_int_equal(iso_tlv_append(buf, sizeof buf, &pos, 0x71, huge, sizeof huge), 0);
  /* Known encodings: 9F26 08 ..., 82 02 3900, DF8101 81 C8, 70 82 012C. */
  assert_string_equal(codec_hex(buf, 15), "9F260801020304050607088202" "3900");
  assert_string_equal(codec_hex(buf + 15, 5), "DF810181C8");
  assert_string_equal(codec_hex(buf + 220, 4), "7082012C");
  assert_string_equal(codec_hex(buf + 524, 3), "5F2A00");
  assert_string_equal(codec_hex(buf + 527, 5), "7183011170");

  size_t at = 0;
  iso_tlv t;
  struct { uint32_t tag; bool constructed; size_t len; } want[] = {
      {0x9F26, false, 8}, {0x82, false, 2},  {0xDF8101, false, 200},
      {0x70, true, 300},  {0x5F2A, false, 0}, {0x71, true, sizeof huge}};
  for (size_t i = 0; i < 6; i++) {
    assert_int_equal(iso_tlv_next(buf, pos, &at, &t, NULL), 1);
    assert_int_equal(t.tag, want[i].tag);
    assert_int_equal(t.constructed, want[i].constructed);
    assert_int_equal(t.len, want[i].len);
  }
  assert_int_equal(iso_tlv_next(buf, pos, &at, &t, NULL), 0);
  assert_int_equal(at, pos);

  /* No room. */
  size_t p2 = 0;
  assert_int_equal(iso_tlv_append(buf, 3, &p2, 0x9F26, "\1\2", 2), ISO_E_NOSPC);
  assert_int_equal(p2, 0);
  assert_int_equal(iso_tlv_append(buf, 10, &p2, 0, "\1", 1), ISO_E_INVAL);
}

static void tlv_padding_and_errors(void **state) {
  (void)state;
  static const uint8_t padded[] = {0x00, 0x82, 0x01, 0xAA, 0xFF, 0x00};
  size_t at = 0;
  iso_tlv t;
  assert_int_equal(iso_tlv_next(padded, sizeof padded, &at, &t, NULL), 1);
  assert_int_equal(t.tag, 0x82);
  assert_int_equal(iso_tlv_next(padded, sizeof padded, &at, &t, NULL), 0);

  struct { const char *hex; size_t offset; } bad[] = {
      {"9F", 0},           /* tag truncated */
      {"9F8181818101", 0}, /* tag longer than 4 bytes */
      {"82", 1},           /* length missing */
      {"8280", 1},         /* indefinite length */
      {"8285", 1},         /* 5 length bytes */
      {"828201", 1},       /* long length truncated */
      {"820301", 2},       /* value runs past the end */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    uint8_t raw[16];
    size_t n = codec_unhex(bad[i].hex, raw, sizeof raw);
    uint8_t *exact = malloc(n); /* ASan sees any over-read */
    memcpy(exact, raw, n);
    iso_error err = {0};
    at = 0;
    assert_int_equal(iso_tlv_next(exact, n, &at, &t, &err), ISO_E_BAD_TLV);
    assert_int_equal(err.code, ISO_E_BAD_TLV);
    assert_int_equal(err.offset, bad[i].offset);
    free(exact);
  }
}

static void de55_carries_tlv(void **state) {
  (void)state;
  const iso_spec *spec = iso_spec_builtin("iso87b");
  uint8_t icc[64];
  size_t n = 0;
  iso_tlv_append(icc, sizeof icc, &n, 0x9F02, "\0\0\0\0\x10\0", 6);
  iso_tlv_append(icc, sizeof icc, &n, 0x9F36, "\0\x2A", 2);
  iso_msg m, u;
  iso_msg_init(&m, spec);
  iso_msg_init(&u, spec);
  iso_msg_set_mti(&m, "0100");
  iso_msg_set(&m, 55, icc, n);
  uint8_t wire[128];
  size_t len;
  assert_int_equal(iso_msg_pack(&m, wire, sizeof wire, &len, NULL), 0);
  /* LLL BCD prefix counts bytes: 00 14 for 14 bytes. */
  assert_int_equal(n, 14);
  assert_string_equal(codec_hex(wire + 10, 2), "0014");
  assert_int_equal(iso_msg_unpack(&u, wire, len, NULL), 0);
  const uint8_t *v;
  size_t vlen;
  assert_int_equal(iso_msg_peek(&u, 55, &v, &vlen), 0);
  size_t at = 0;
  iso_tlv t;
  assert_int_equal(iso_tlv_next(v, vlen, &at, &t, NULL), 1);
  assert_int_equal(t.tag, 0x9F02);
  assert_int_equal(iso_tlv_next(v, vlen, &at, &t, NULL), 1);
  assert_int_equal(t.tag, 0x9F36);
  assert_int_equal(t.value[1], 0x2A);
  assert_int_equal(iso_tlv_next(v, vlen, &at, &t, NULL), 0);
  iso_msg_cleanup(&m);
  iso_msg_cleanup(&u);
}

static void positional(void **state) {
  (void)state;
  const iso_spec *spec = iso_spec_builtin("iso87a");
  const uint8_t *out;
  size_t n;
  const uint8_t pc[] = "003000";
  assert_int_equal(iso_subfield_get(spec, 3, pc, 6, 1, &out, &n), 0);
  assert_int_equal(n, 2);
  assert_memory_equal(out, "00", 2);
  assert_int_equal(iso_subfield_get(spec, 3, pc, 6, 2, &out, &n), 0);
  assert_memory_equal(out, "30", 2);
  assert_int_equal(iso_subfield_get(spec, 3, pc, 6, 3, &out, &n), 0);
  assert_memory_equal(out, "00", 2);
  assert_int_equal(iso_subfield_get(spec, 3, pc, 4, 3, &out, &n), ISO_E_NO_FIELD);
  assert_int_equal(iso_subfield_get(spec, 3, pc, 6, 4, &out, &n), ISO_E_INVAL);
  assert_int_equal(iso_subfield_get(spec, 3, pc, 6, 0, &out, &n), ISO_E_INVAL);
  assert_int_equal(iso_subfield_get(spec, 4, pc, 6, 1, &out, &n), ISO_E_INVAL);
  const uint8_t ode[] = "020012345611231015000000001234500000000000";
  assert_int_equal(iso_subfield_get(spec, 90, ode, 42, 3, &out, &n), 0);
  assert_int_equal(n, 10);
  assert_memory_equal(out, "1123101500", 10);
}

static void mti_helpers(void **state) {
  (void)state;
  assert_true(iso_mti_is_response("0110"));
  assert_true(iso_mti_is_response("0430"));
  assert_true(iso_mti_is_response("0810"));
  assert_false(iso_mti_is_response("0200"));
  assert_false(iso_mti_is_response("02"));
  assert_false(iso_mti_is_response(NULL));
  assert_true(iso_mti_is_repeat("0201"));
  assert_true(iso_mti_is_repeat("0421"));
  assert_false(iso_mti_is_repeat("0420"));
  char out[4];
  assert_int_equal(iso_mti_response("0100", out), 0);
  assert_memory_equal(out, "0110", 4);
  assert_int_equal(iso_mti_response("0201", out), 0);
  assert_memory_equal(out, "0210", 4);
  assert_int_equal(iso_mti_response("0421", out), 0);
  assert_memory_equal(out, "0430", 4);
  assert_int_equal(iso_mti_response("1804", out), 0);
  assert_memory_equal(out, "1814", 4);
  assert_int_equal(iso_mti_response("0110", out), ISO_E_BAD_MTI);
  assert_int_equal(iso_mti_response("01a0", out), ISO_E_BAD_MTI);
  assert_int_equal(iso_mti_response("011", out), ISO_E_BAD_MTI);
  /* Four bare characters, as iso_peek_fields gives them: no over-read. */
  char *bare = malloc(4);
  memcpy(bare, "0420", 4);
  assert_false(iso_mti_is_response(bare));
  assert_false(iso_mti_is_repeat(bare));
  assert_int_equal(iso_mti_response(bare, out), 0);
  assert_memory_equal(out, "0430", 4);
  free(bare);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(tlv_roundtrip),   cmocka_unit_test(tlv_padding_and_errors),
      cmocka_unit_test(de55_carries_tlv), cmocka_unit_test(positional),
      cmocka_unit_test(mti_helpers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
