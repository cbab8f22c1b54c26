/*
 * tests/test_iso8583_describe.c -- what people see of a message: PAN
 * masking, redaction of tracks, PIN blocks, CVV, ICC data and expiry dates,
 * the explicit unmasked view, describe's field-by-field dump, and messages
 * to JSON and back (binary as hex, escapes, buffer-size reporting, errors).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "isoflow/iso8583.h"

static const uint8_t pin_block[8] = {0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC, 0xDE, 0xF0};
/* 9F02 (amount, 6 bytes), 9F27 (1 byte), 70 constructed holding 5A (PAN). */
static const uint8_t icc[] = {0x9F, 0x02, 0x06, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00,
                              0x9F, 0x27, 0x01, 0x80, 0x70, 0x04, 0x5A, 0x02, 0x42, 0x42};

/* A card-present authorization on `spec`, with every kind of card data. */
static void build_auth(iso_msg *m, const iso_spec *spec) {
  iso_msg_init(m, spec);
  assert_int_equal(iso_msg_set_mti(m, "0100"), 0);
  assert_int_equal(iso_msg_set_str(m, 2, "4242424242424242"), 0);
  assert_int_equal(iso_msg_set_str(m, 3, "003000"), 0);
  assert_int_equal(iso_msg_set_str(m, 4, "000000000100"), 0);
  assert_int_equal(iso_msg_set_str(m, 11, "123456"), 0);
  assert_int_equal(iso_msg_set_str(m, 14, "2512"), 0);
  assert_int_equal(iso_msg_set_str(m, 35, "4242424242424242=25121010000012300000"), 0);
  assert_int_equal(iso_msg_set_str(m, 41, "TERM0001"), 0);
  assert_int_equal(iso_msg_set(m, 52, pin_block, sizeof pin_block), 0);
  assert_int_equal(iso_msg_set(m, 55, icc, sizeof icc), 0);
}

static char *to_json(const iso_msg *m, unsigned flags) {
  static char buf[4096];
  size_t len = 0;
  assert_int_equal(iso_msg_to_json(m, flags, buf, sizeof buf, &len), 0);
  assert_int_equal(len, strlen(buf));
  return buf;
}

static void test_mask_pan(void **state) {
  (void)state;
  char out[32];
  assert_int_equal(iso_mask_pan("4242424242424242", 16, out), 16);
  assert_memory_equal(out, "424242******4242", 16);
  assert_int_equal(iso_mask_pan("4000123412341234567", 19, out), 19);
  assert_memory_equal(out, "400012*********4567", 19);
  iso_mask_pan("12345678901", 11, out);
  assert_memory_equal(out, "123456*8901", 11);
  /* 10 digits or fewer: first 6 and last 4 would be all of it. */
  iso_mask_pan("1234567890", 10, out);
  assert_memory_equal(out, "**********", 10);
  iso_mask_pan("4242", 4, out);
  assert_memory_equal(out, "****", 4);
  assert_int_equal(iso_mask_pan("", 0, out), 0);
}

static void test_json_masked_by_default(void **state) {
  (void)state;
  iso_msg m;
  build_auth(&m, iso_spec_builtin("iso87a"));
  assert_string_equal(to_json(&m, ISO_SHOW_MASKED),
                      "{\"0\":\"0100\",\"2\":\"424242******4242\",\"3\":\"003000\","
                      "\"4\":\"000000000100\",\"11\":\"123456\",\"14\":\"***\","
                      "\"35\":\"***\",\"41\":\"TERM0001\",\"52\":\"***\",\"55\":\"***\"}");
  assert_string_equal(to_json(&m, ISO_SHOW_UNMASKED),
                      "{\"0\":\"0100\",\"2\":\"4242424242424242\",\"3\":\"003000\","
                      "\"4\":\"000000000100\",\"11\":\"123456\",\"14\":\"2512\","
                      "\"35\":\"4242424242424242=25121010000012300000\","
                      "\"41\":\"TERM0001\",\"52\":\"123456789ABCDEF0\","
                      "\"55\":\"9F02060000000001009F27018070045A024242\"}");
  iso_msg_cleanup(&m);
}

static void test_short_pan_and_cvv(void **state) {
  (void)state;
  const char *text =
      "{\"name\": \"t\", \"fields\": {"
      "\"2\": {\"name\": \"PAN\", \"content\": \"n\", \"length\": \"LL\", \"max\": 19,"
      " \"sensitivity\": \"pan\"},"
      "\"48\": {\"name\": \"CVV2\", \"content\": \"n\", \"length\": \"fixed\", \"max\": 3,"
      " \"sensitivity\": \"cvv\"},"
      "\"49\": {\"name\": \"Track 1\", \"content\": \"ans\", \"length\": \"LL\", \"max\": 76,"
      " \"sensitivity\": \"track\"}}}";
  iso_spec *spec = NULL;
  assert_int_equal(iso_spec_parse_json(text, strlen(text), &spec, NULL), 0);
  iso_msg m;
  iso_msg_init(&m, spec);
  iso_msg_set_mti(&m, "0100");
  iso_msg_set_str(&m, 2, "12345678");
  iso_msg_set_str(&m, 48, "123");
  iso_msg_set_str(&m, 49, "B4242424242424242^DOE/JOHN^2512101");
  assert_string_equal(to_json(&m, 0),
                      "{\"0\":\"0100\",\"2\":\"********\",\"48\":\"***\",\"49\":\"***\"}");
  char out[1024];
  size_t len;
  assert_int_equal(iso_msg_describe(&m, 0, out, sizeof out, &len), 0);
  assert_null(strstr(out, "12345678"));
  assert_null(strstr(out, "123\n"));
  assert_null(strstr(out, "DOE"));
  assert_int_equal(iso_msg_describe(&m, ISO_SHOW_UNMASKED, out, sizeof out, &len), 0);
  assert_non_null(strstr(out, "DOE/JOHN"));
  assert_non_null(strstr(out, "   48 CVV2: 123\n"));
  iso_msg_cleanup(&m);
  iso_spec_free(spec);
}

static void test_describe_lines(void **state) {
  (void)state;
  iso_msg m;
  build_auth(&m, iso_spec_builtin("iso87a"));
  char out[2048];
  size_t len = 0;
  assert_int_equal(iso_msg_describe(&m, ISO_SHOW_MASKED, out, sizeof out, &len), 0);
  assert_int_equal(len, strlen(out));
  const iso_spec *spec = iso_spec_builtin("iso87a");
  char expect[2048];
  snprintf(expect, sizeof expect,
           "    0 MTI: 0100\n"
           "    2 %s: 424242******4242\n"
           "    3 %s: 003000\n"
           "         3.1 %s: 00\n"
           "         3.2 %s: 30\n"
           "         3.3 %s: 00\n"
           "    4 %s: 000000000100\n"
           "   11 %s: 123456\n"
           "   14 %s: ***\n"
           "   35 %s: ***\n"
           "   41 %s: TERM0001\n"
           "   52 %s: ***\n"
           "   55 %s: ***\n"
           "         9F02 (6): ***\n"
           "         9F27 (1): ***\n"
           "         70 (4):\n"
           "           5A (2): ***\n",
           iso_spec_field(spec, 2)->name, iso_spec_field(spec, 3)->name,
           iso_spec_field(spec, 3)->subfields[0].name, iso_spec_field(spec, 3)->subfields[1].name,
           iso_spec_field(spec, 3)->subfields[2].name, iso_spec_field(spec, 4)->name,
           iso_spec_field(spec, 11)->name, iso_spec_field(spec, 14)->name,
           iso_spec_field(spec, 35)->name, iso_spec_field(spec, 41)->name,
           iso_spec_field(spec, 52)->name, iso_spec_field(spec, 55)->name);
  assert_string_equal(out, expect);

  assert_int_equal(iso_msg_describe(&m, ISO_SHOW_UNMASKED, out, sizeof out, &len), 0);
  assert_non_null(strstr(out, "    2 Primary account number: 4242424242424242\n"));
  assert_non_null(strstr(out, ": 4242424242424242=25121010000012300000\n"));
  assert_non_null(strstr(out, ": 123456789ABCDEF0\n"));
  assert_non_null(strstr(out, "         9F02 (6): 000000000100\n"));
  assert_non_null(strstr(out, "           5A (2): 4242\n"));
  iso_msg_cleanup(&m);
}

static void test_describe_escapes_and_bad_tlv(void **state) {
  (void)state;
  iso_msg m;
  iso_msg_init(&m, iso_spec_builtin("iso87a"));
  iso_msg_set_mti(&m, "0100");
  iso_msg_set(&m, 48, "a\nb\\c\x01", 6);
  const uint8_t bad_tlv[] = {0x9F, 0x02, 0x06, 0x00};
  iso_msg_set(&m, 55, bad_tlv, sizeof bad_tlv);
  char out[1024];
  size_t len;
  assert_int_equal(iso_msg_describe(&m, ISO_SHOW_UNMASKED, out, sizeof out, &len), 0);
  assert_non_null(strstr(out, ": a\\x0Ab\\x5Cc\\x01\n"));
  assert_non_null(strstr(out, "(malformed BER-TLV at offset"));
  iso_msg_cleanup(&m);
}

static void test_nospc_reports_size(void **state) {
  (void)state;
  iso_msg m;
  build_auth(&m, iso_spec_builtin("iso87a"));
  char full[4096];
  size_t need = 0, len = 0;
  assert_int_equal(iso_msg_to_json(&m, 0, full, sizeof full, &need), 0);
  char small[16];
  assert_int_equal(iso_msg_to_json(&m, 0, small, sizeof small, &len), ISO_E_NOSPC);
  assert_int_equal(len, need);
  assert_int_equal(small[sizeof small - 1], '\0'); /* still a string */
  assert_int_equal(iso_msg_to_json(&m, 0, NULL, 0, &len), ISO_E_NOSPC);
  assert_int_equal(len, need);
  /* Exactly the text but no room for the NUL is short too. */
  char *exact = malloc(need + 1);
  assert_int_equal(iso_msg_to_json(&m, 0, exact, need, &len), ISO_E_NOSPC);
  assert_int_equal(iso_msg_to_json(&m, 0, exact, need + 1, &len), 0);
  assert_string_equal(exact, full);
  free(exact);

  assert_int_equal(iso_msg_describe(&m, 0, full, sizeof full, &need), 0);
  assert_int_equal(iso_msg_describe(&m, 0, small, sizeof small, &len), ISO_E_NOSPC);
  assert_int_equal(len, need);
  iso_msg_cleanup(&m);
}

static void test_json_round_trip(void **state) {
  (void)state;
  const iso_spec *spec = iso_spec_builtin("iso87a");
  iso_msg m, back;
  build_auth(&m, spec);
  static const char odd[] = "say \"hi\" \\ \xe9\x7f\x01 end";
  iso_msg_set(&m, 48, odd, sizeof odd - 1);
  char *json = strdup(to_json(&m, ISO_SHOW_UNMASKED));
  assert_non_null(strstr(json, "\"48\":\"say \\\"hi\\\" \\\\ \\u00e9\\u007f\\u0001 end\""));
  iso_msg_init(&back, spec);
  iso_error err = {0};
  assert_int_equal(iso_msg_from_json(&back, json, strlen(json), &err), 0);
  assert_string_equal(to_json(&back, ISO_SHOW_UNMASKED), json);
  uint8_t value[64];
  size_t len;
  assert_int_equal(iso_msg_get(&back, 52, value, sizeof value, &len), 0);
  assert_int_equal(len, 8);
  assert_memory_equal(value, pin_block, 8);
  assert_int_equal(iso_msg_get(&back, 48, value, sizeof value, &len), 0);
  assert_int_equal(len, sizeof odd - 1);
  assert_memory_equal(value, odd, sizeof odd - 1);

  /* Lower-case hex is read too; filling replaces what was there. */
  const char *lower = "{\"0\":\"0110\",\"52\":\"123456789abcdef0\"}";
  assert_int_equal(iso_msg_from_json(&back, lower, strlen(lower), &err), 0);
  assert_string_equal(to_json(&back, ISO_SHOW_UNMASKED),
                      "{\"0\":\"0110\",\"52\":\"123456789ABCDEF0\"}");
  free(json);
  iso_msg_cleanup(&back);
  iso_msg_cleanup(&m);
}

/* Wire-form values (BCD, after unpack) are decoded for JSON and describe. */
static void test_unpacked_bcd(void **state) {
  (void)state;
  const iso_spec *spec = iso_spec_builtin("iso87b");
  iso_msg m, u;
  build_auth(&m, spec);
  uint8_t wire[512];
  size_t len = 0;
  assert_int_equal(iso_msg_pack(&m, wire, sizeof wire, &len, NULL), 0);
  iso_msg_init(&u, spec);
  assert_int_equal(iso_msg_unpack(&u, wire, len, NULL), 0);
  char a[4096];
  strcpy(a, to_json(&m, ISO_SHOW_UNMASKED));
  assert_string_equal(to_json(&u, ISO_SHOW_UNMASKED), a);
  assert_non_null(strstr(to_json(&u, 0), "\"2\":\"424242******4242\""));
  char out[2048];
  assert_int_equal(iso_msg_describe(&u, 0, out, sizeof out, &len), 0);
  assert_non_null(strstr(out, ": 424242******4242\n"));
  assert_non_null(strstr(out, "    4 Amount, transaction: 000000000100\n"));
  iso_msg_cleanup(&u);
  iso_msg_cleanup(&m);
}

static void from_json_fails(const char *json, int code, int field) {
  iso_msg m;
  iso_msg_init(&m, iso_spec_builtin("iso87a"));
  iso_error err = {0};
  int rc = iso_msg_from_json(&m, json, strlen(json), &err);
  if (rc != code || err.field != field)
    fprintf(stderr, "for %s: got %d field %d (%s)\n", json, rc, err.field,
            err.reason ? err.reason : "");
  assert_int_equal(rc, code);
  assert_int_equal(err.code, code);
  assert_int_equal(err.field, field);
  assert_non_null(err.reason);
  /* A failed fill leaves an empty message. */
  assert_int_equal(iso_msg_next_field(&m, 0), 0);
  assert_string_equal(iso_msg_mti(&m), "");
  iso_msg_cleanup(&m);
}

static void test_from_json_errors(void **state) {
  (void)state;
  from_json_fails("{\"0\":\"0100\",", ISO_E_BAD_JSON, -1);
  from_json_fails("[\"0100\"]", ISO_E_BAD_JSON, -1);
  from_json_fails("{\"0\":\"0100\"} {}", ISO_E_BAD_JSON, -1);
  from_json_fails("{\"1\":\"00\"}", ISO_E_BAD_JSON, -1);
  from_json_fails("{\"65\":\"00\"}", ISO_E_BAD_JSON, -1);
  from_json_fails("{\"193\":\"00\"}", ISO_E_BAD_JSON, -1);
  from_json_fails("{\"011\":\"000001\"}", ISO_E_BAD_JSON, -1);
  from_json_fails("{\"mti\":\"0100\"}", ISO_E_BAD_JSON, -1);
  from_json_fails("{\"0\":\"0100\",\"11\":123456}", ISO_E_BAD_JSON, 11);
  from_json_fails("{\"0\":\"01X0\"}", ISO_E_BAD_JSON, 0);
  from_json_fails("{\"0\":\"0100\",\"0\":\"0110\"}", ISO_E_BAD_JSON, 0);
  from_json_fails("{\"11\":\"1\",\"11\":\"2\"}", ISO_E_BAD_JSON, 11);
  from_json_fails("{\"52\":\"123\"}", ISO_E_BAD_JSON, 52);
  from_json_fails("{\"48\":\"\\u0100\"}", ISO_E_BAD_JSON, 48);

  iso_msg m;
  iso_msg_init(&m, iso_spec_builtin("iso87a"));
  iso_error err = {0};
  const char *bad_hex = "{\"52\":\"12345678ZZ\"}";
  assert_int_equal(iso_msg_from_json(&m, bad_hex, strlen(bad_hex), &err), ISO_E_BAD_JSON);
  assert_int_equal(err.field, 52);
  assert_int_equal(err.offset, 8); /* the first bad character of the value */
  const char *malformed = "{\"0\":\"0100\" \"2\":\"1\"}";
  assert_int_equal(iso_msg_from_json(&m, malformed, strlen(malformed), &err), ISO_E_BAD_JSON);
  assert_int_equal(err.offset, 12);
  iso_msg_cleanup(&m);

  /* A field the spec does not define. */
  const char *text = "{\"name\": \"t\", \"fields\": {\"11\": {\"name\": \"STAN\","
                     " \"content\": \"n\", \"length\": \"fixed\", \"max\": 6}}}";
  iso_spec *spec = NULL;
  assert_int_equal(iso_spec_parse_json(text, strlen(text), &spec, NULL), 0);
  iso_msg_init(&m, spec);
  const char *json = "{\"0\":\"0800\",\"11\":\"000001\",\"12\":\"120000\"}";
  assert_int_equal(iso_msg_from_json(&m, json, strlen(json), &err), ISO_E_UNKNOWN_FIELD);
  assert_int_equal(err.field, 12);
  iso_msg_cleanup(&m);
  iso_spec_free(spec);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mask_pan),
      cmocka_unit_test(test_json_masked_by_default),
      cmocka_unit_test(test_short_pan_and_cvv),
      cmocka_unit_test(test_describe_lines),
      cmocka_unit_test(test_describe_escapes_and_bad_tlv),
      cmocka_unit_test(test_nospc_reports_size),
      cmocka_unit_test(test_json_round_trip),
      cmocka_unit_test(test_unpacked_bcd),
      cmocka_unit_test(test_from_json_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
