/*
 * tests/test_iso8583_json.c -- JSON specs (iso8583/spec_json.c): every key
 * of the format read into the right iso_field_def member, every kind of
 * error reported with its field and a reason, export/load round trips for
 * every built-in spec, and iso_spec_open / iso_spec_load_json on files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "iso8583/spec_internal.h"
#include "isoflow/iso8583.h"

/* A spec text with `fields` spliced into the "fields" object. */
static char *spec_text(const char *top, const char *fields) {
  static char text[8192];
  snprintf(text, sizeof text,
           "{\"name\": \"t\"%s%s, \"fields\": {%s}}", top[0] ? ", " : "", top, fields);
  return text;
}

static iso_spec *parse_ok(const char *text) {
  iso_spec *spec = NULL;
  iso_error err = {0};
  int rc = iso_spec_parse_json(text, strlen(text), &spec, &err);
  if (rc) fprintf(stderr, "unexpected: %s (field %d)\n", err.reason, err.field);
  assert_int_equal(rc, 0);
  assert_non_null(spec);
  return spec;
}

/* Parses text expecting failure with `code` on `field` and a reason that
 * contains `reason_part`. */
static void parse_fails(const char *text, int code, int field, const char *reason_part) {
  iso_spec *spec = (iso_spec *)(uintptr_t)1;
  iso_error err = {0};
  int rc = iso_spec_parse_json(text, strlen(text), &spec, &err);
  if (rc != code || err.field != field || !err.reason || !strstr(err.reason, reason_part))
    fprintf(stderr, "for %s\n  got %d field %d reason %s\n", text, rc, err.field,
            err.reason ? err.reason : "(null)");
  assert_int_equal(rc, code);
  assert_int_equal(err.code, code);
  assert_int_equal(err.field, field);
  assert_non_null(err.reason);
  assert_non_null(strstr(err.reason, reason_part));
  assert_null(spec);
}

static void test_every_key(void **state) {
  (void)state;
  const char *text = spec_text(
      "\"description\": \"all keys\", \"mti_encoding\": \"bcd\", "
      "\"bitmap_encoding\": \"hex\"",
      "\"2\": {\"name\": \"PAN\", \"content\": \"n\", \"length\": \"LL\", \"max\": 19,"
      " \"encoding\": \"bcd\", \"prefix_encoding\": \"bcd\", \"sensitivity\": \"pan\"},"
      "\"3\": {\"name\": \"Processing code\", \"content\": \"n\", \"length\": \"fixed\","
      " \"max\": 6, \"subfields\": [{\"name\": \"Type\", \"length\": 2},"
      " {\"name\": \"From\", \"length\": 2}, {\"name\": \"To\", \"length\": 2}]},"
      "\"4\": {\"name\": \"Amount\", \"content\": \"n\", \"length\": \"fixed\", \"max\": 12,"
      " \"encoding\": \"bcd_left\", \"pad\": \"left\", \"pad_char\": \"0\"},"
      "\"14\": {\"name\": \"Expiry\", \"content\": \"n\", \"length\": \"fixed\", \"max\": 4,"
      " \"encoding\": \"ebcdic\", \"sensitivity\": \"expiry\"},"
      "\"28\": {\"name\": \"Fee\", \"content\": \"xn\", \"length\": \"fixed\", \"max\": 9},"
      "\"35\": {\"name\": \"Track 2\", \"content\": \"z\", \"length\": \"LL\", \"max\": 37,"
      " \"prefix_encoding\": \"ebcdic\", \"sensitivity\": \"track\"},"
      "\"37\": {\"name\": \"RRN\", \"content\": \"an\", \"length\": \"fixed\", \"max\": 12,"
      " \"pad\": \"right\", \"pad_char\": \" \"},"
      "\"38\": {\"name\": \"Auth\", \"content\": \"a\", \"length\": \"fixed\", \"max\": 6,"
      " \"pad\": \"none\"},"
      "\"43\": {\"name\": \"Name\", \"content\": \"ans\", \"length\": \"L\", \"max\": 9},"
      "\"44\": {\"name\": \"NS\", \"content\": \"ns\", \"length\": \"LLLL\", \"max\": 9999},"
      "\"48\": {\"name\": \"Private\", \"content\": \"ans\", \"length\": \"LLLLL\","
      " \"max\": 99999, \"prefix_encoding\": \"binary\"},"
      "\"52\": {\"name\": \"PIN\", \"content\": \"b\", \"length\": \"fixed\", \"max\": 8,"
      " \"sensitivity\": \"pin\"},"
      "\"53\": {\"name\": \"Hex\", \"content\": \"b\", \"length\": \"LLL\", \"max\": 48,"
      " \"encoding\": \"hex\", \"sensitivity\": \"cvv\"},"
      "\"55\": {\"name\": \"ICC\", \"content\": \"b\", \"length\": \"LLL\", \"max\": 255,"
      " \"encoding\": \"binary\", \"sensitivity\": \"icc\", \"tlv\": true},"
      "\"62\": {\"name\": \"Big\", \"content\": \"ans\", \"length\": \"LLLLLL\","
      " \"max\": 999999, \"sensitivity\": \"none\", \"tlv\": false},"
      "\"192\": {\"name\": \"Last\", \"content\": \"ans\", \"length\": \"LLL\", \"max\": 999}");
  iso_spec *spec = parse_ok(text);
  assert_string_equal(iso_spec_name(spec), "t");

  const iso_field_def *d = iso_spec_field(spec, 2);
  assert_non_null(d);
  assert_string_equal(d->name, "PAN");
  assert_int_equal(d->content, ISO_CONTENT_N);
  assert_int_equal(d->length_type, ISO_LEN_LL);
  assert_int_equal(d->max_len, 19);
  assert_int_equal(d->data_enc, ISO_ENC_BCD);
  assert_int_equal(d->prefix_enc, ISO_ENC_BCD);
  assert_int_equal(d->pad, ISO_PAD_DEFAULT);
  assert_int_equal(d->sensitivity, ISO_SENS_PAN);
  assert_int_equal(d->subfield_kind, ISO_SUB_NONE);

  d = iso_spec_field(spec, 3);
  assert_int_equal(d->length_type, ISO_LEN_FIXED);
  assert_int_equal(d->data_enc, ISO_ENC_ASCII); /* the default */
  assert_int_equal(d->subfield_kind, ISO_SUB_POSITIONAL);
  assert_int_equal(d->subfield_count, 3);
  assert_string_equal(d->subfields[1].name, "From");
  assert_int_equal(d->subfields[2].length, 2);

  d = iso_spec_field(spec, 4);
  assert_int_equal(d->data_enc, ISO_ENC_BCD_LEFT);
  assert_int_equal(d->pad, ISO_PAD_LEFT);
  assert_int_equal(d->pad_char, '0');
  assert_int_equal(iso_spec_field(spec, 14)->data_enc, ISO_ENC_EBCDIC);
  assert_int_equal(iso_spec_field(spec, 14)->sensitivity, ISO_SENS_EXPIRY);
  assert_int_equal(iso_spec_field(spec, 28)->content, ISO_CONTENT_XN);
  assert_int_equal(iso_spec_field(spec, 35)->content, ISO_CONTENT_Z);
  assert_int_equal(iso_spec_field(spec, 35)->prefix_enc, ISO_ENC_EBCDIC);
  assert_int_equal(iso_spec_field(spec, 35)->sensitivity, ISO_SENS_TRACK);
  assert_int_equal(iso_spec_field(spec, 37)->content, ISO_CONTENT_AN);
  assert_int_equal(iso_spec_field(spec, 37)->pad, ISO_PAD_RIGHT);
  assert_int_equal(iso_spec_field(spec, 37)->pad_char, ' ');
  assert_int_equal(iso_spec_field(spec, 38)->content, ISO_CONTENT_A);
  assert_int_equal(iso_spec_field(spec, 38)->pad, ISO_PAD_NONE);
  assert_int_equal(iso_spec_field(spec, 43)->length_type, ISO_LEN_L);
  assert_int_equal(iso_spec_field(spec, 44)->content, ISO_CONTENT_NS);
  assert_int_equal(iso_spec_field(spec, 44)->length_type, ISO_LEN_LLLL);
  assert_int_equal(iso_spec_field(spec, 48)->length_type, ISO_LEN_LLLLL);
  assert_int_equal(iso_spec_field(spec, 48)->prefix_enc, ISO_ENC_BINARY);
  d = iso_spec_field(spec, 52);
  assert_int_equal(d->content, ISO_CONTENT_B);
  assert_int_equal(d->data_enc, ISO_ENC_BINARY); /* binary content's default */
  assert_int_equal(d->sensitivity, ISO_SENS_PIN);
  assert_int_equal(iso_spec_field(spec, 53)->data_enc, ISO_ENC_HEX);
  assert_int_equal(iso_spec_field(spec, 53)->sensitivity, ISO_SENS_CVV);
  assert_int_equal(iso_spec_field(spec, 55)->subfield_kind, ISO_SUB_TLV);
  assert_int_equal(iso_spec_field(spec, 55)->sensitivity, ISO_SENS_ICC);
  assert_int_equal(iso_spec_field(spec, 62)->length_type, ISO_LEN_LLLLLL);
  assert_int_equal(iso_spec_field(spec, 62)->max_len, 999999);
  assert_int_equal(iso_spec_field(spec, 62)->subfield_kind, ISO_SUB_NONE);
  assert_non_null(iso_spec_field(spec, 192));
  assert_null(iso_spec_field(spec, 5));

  /* The export carries every key back. */
  char *json = iso_spec_to_json(spec);
  assert_non_null(json);
  assert_non_null(strstr(json, "\"description\": \"all keys\""));
  assert_non_null(strstr(json, "\"mti_encoding\": \"bcd\""));
  assert_non_null(strstr(json, "\"bitmap_encoding\": \"hex\""));
  free(json);
  iso_spec_free(spec);
}

static void test_defaults(void **state) {
  (void)state;
  iso_spec *spec = parse_ok(spec_text(
      "", "\"11\": {\"name\": \"STAN\", \"content\": \"n\", \"length\": \"fixed\", \"max\": 6}"));
  const iso_field_def *d = iso_spec_field(spec, 11);
  assert_int_equal(d->data_enc, ISO_ENC_ASCII);
  assert_int_equal(d->prefix_enc, ISO_ENC_ASCII);
  assert_int_equal(d->pad, ISO_PAD_DEFAULT);
  assert_int_equal(d->pad_char, 0);
  assert_int_equal(d->sensitivity, ISO_SENS_NONE);
  /* mti ascii, bitmap binary by default: check through the export. */
  char *json = iso_spec_to_json(spec);
  assert_non_null(strstr(json, "\"mti_encoding\": \"ascii\""));
  assert_non_null(strstr(json, "\"bitmap_encoding\": \"binary\""));
  assert_null(strstr(json, "description"));
  free(json);
  iso_spec_free(spec);
}

#define FIELD11(extra) \
  "\"11\": {\"name\": \"STAN\", \"content\": \"n\", \"length\": \"fixed\", \"max\": 6" extra "}"

/* A spec whose one field is a valid DE 11 with the keys in `extra` added
 * must be refused (ISO_E_BAD_SPEC) for field 11, for a reason containing
 * reason_part. */
static void field11_fails(const char *extra, const char *reason_part) {
  char field[512];
  snprintf(field, sizeof field, FIELD11("%s"), extra);
  parse_fails(spec_text("", field), ISO_E_BAD_SPEC, 11, reason_part);
}

static void test_malformed_json(void **state) {
  (void)state;
  iso_spec *spec = NULL;
  iso_error err = {0};
  const char *text = "{\"name\": \"t\", \"fields\": {\"11\": }}";
  assert_int_equal(iso_spec_parse_json(text, strlen(text), &spec, &err), ISO_E_BAD_JSON);
  assert_int_equal(err.field, -1);
  assert_string_equal(err.reason, "malformed JSON");
  assert_int_equal(err.offset, 31); /* at the '}' where a value was due */
  assert_null(spec);

  text = "{\"name\": \"t\", \"fields\": {}} x";
  assert_int_equal(iso_spec_parse_json(text, strlen(text), &spec, &err), ISO_E_BAD_JSON);
  assert_int_equal(err.offset, 28);
  assert_non_null(strstr(err.reason, "after the JSON value"));

  /* Never reads past len: the same text cut short is malformed. */
  text = "{\"name\": \"t\", \"fields\": {}}";
  assert_int_equal(iso_spec_parse_json(text, strlen(text) - 1, &spec, &err), ISO_E_BAD_JSON);
  assert_int_equal(iso_spec_parse_json(text, 0, &spec, &err), ISO_E_BAD_JSON);
  parse_fails("[1, 2]", ISO_E_BAD_SPEC, -1, "must be a JSON object");
}

static void test_missing_keys(void **state) {
  (void)state;
  parse_fails("{\"fields\": {}}", ISO_E_BAD_SPEC, -1, "\"name\"");
  parse_fails("{\"name\": \"\", \"fields\": {}}", ISO_E_BAD_SPEC, -1, "\"name\"");
  parse_fails("{\"name\": \"t\"}", ISO_E_BAD_SPEC, -1, "missing \"fields\"");
  parse_fails("{\"name\": \"t\", \"fields\": []}", ISO_E_BAD_SPEC, -1, "must be an object");
  parse_fails(spec_text("", "\"11\": {\"content\": \"n\", \"length\": \"fixed\", \"max\": 6}"),
              ISO_E_BAD_SPEC, 11, "\"name\"");
  parse_fails(spec_text("", "\"11\": {\"name\": \"S\", \"length\": \"fixed\", \"max\": 6}"),
              ISO_E_BAD_SPEC, 11, "missing \"content\"");
  parse_fails(spec_text("", "\"11\": {\"name\": \"S\", \"content\": \"n\", \"max\": 6}"),
              ISO_E_BAD_SPEC, 11, "missing \"length\"");
  parse_fails(spec_text("", "\"11\": {\"name\": \"S\", \"content\": \"n\", \"length\": \"LL\"}"),
              ISO_E_BAD_SPEC, 11, "missing \"max\"");
  parse_fails(spec_text("", "\"11\": 7"), ISO_E_BAD_SPEC, 11, "must be an object");
  field11_fails(", \"pad\": \"left\"", "needs a \"pad_char\"");
}

static void test_unknown_names(void **state) {
  (void)state;
  parse_fails(spec_text("", "\"11\": {\"name\": \"S\", \"content\": \"num\", \"length\": "
                            "\"fixed\", \"max\": 6}"),
              ISO_E_BAD_SPEC, 11, "unknown \"content\"");
  parse_fails(spec_text("", "\"11\": {\"name\": \"S\", \"content\": 1, \"length\": "
                            "\"fixed\", \"max\": 6}"),
              ISO_E_BAD_SPEC, 11, "unknown \"content\"");
  parse_fails(spec_text("", "\"11\": {\"name\": \"S\", \"content\": \"n\", \"length\": "
                            "\"LLLLLLL\", \"max\": 6}"),
              ISO_E_BAD_SPEC, 11, "unknown \"length\"");
  field11_fails(", \"encoding\": \"utf8\"", "unknown \"encoding\"");
  field11_fails(", \"prefix_encoding\": \"hex\"", "unknown \"prefix_encoding\"");
  field11_fails(", \"pad\": \"centre\"", "unknown \"pad\"");
  field11_fails(", \"sensitivity\": \"secret\"", "unknown \"sensitivity\"");
  parse_fails(spec_text("\"mti_encoding\": \"hex\"", FIELD11("")), ISO_E_BAD_SPEC, 0,
              "unknown \"mti_encoding\"");
  parse_fails(spec_text("\"bitmap_encoding\": \"ascii\"", FIELD11("")), ISO_E_BAD_SPEC, 1,
              "unknown \"bitmap_encoding\"");
  field11_fails(", \"maximum\": 6", "unknown key");
  parse_fails(spec_text("\"version\": 2", FIELD11("")), ISO_E_BAD_SPEC, -1, "unknown key");
  field11_fails(", \"pad\": \"left\", \"pad_char\": \"00\"", "one-character");
  field11_fails(", \"tlv\": 1", "\"tlv\"");
}

static void test_bad_max(void **state) {
  (void)state;
  static const char *const bad[] = {"0", "-1", "6.5", "\"6\"", "1000000"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char field[256];
    snprintf(field, sizeof field,
             "\"4\": {\"name\": \"A\", \"content\": \"n\", \"length\": \"fixed\", \"max\": %s}",
             bad[i]);
    parse_fails(spec_text("", field), ISO_E_BAD_SPEC, 4, "\"max\"");
  }
  /* A prefix of two digits counts to 99 at most. */
  parse_fails(spec_text("", "\"2\": {\"name\": \"P\", \"content\": \"n\", \"length\": \"LL\", "
                            "\"max\": 100}"),
              ISO_E_BAD_SPEC, 2, "length prefix");
  parse_fails(spec_text("", "\"2\": {\"name\": \"P\", \"content\": \"n\", \"length\": \"L\", "
                            "\"max\": 10}"),
              ISO_E_BAD_SPEC, 2, "length prefix");
  /* Consistency checks beyond the format are iso__spec_prepare's. */
  parse_fails(spec_text("", "\"2\": {\"name\": \"P\", \"content\": \"ans\", \"length\": \"LL\", "
                            "\"max\": 19, \"encoding\": \"bcd\"}"),
              ISO_E_BAD_SPEC, 2, "BCD");
  parse_fails(spec_text("", "\"3\": {\"name\": \"P\", \"content\": \"n\", \"length\": \"fixed\", "
                            "\"max\": 6, \"subfields\": [{\"name\": \"a\", \"length\": 4},"
                            " {\"name\": \"b\", \"length\": 3}]}"),
              ISO_E_BAD_SPEC, 3, "subfield");
}

static void test_bad_field_numbers(void **state) {
  (void)state;
  static const struct {
    const char *key;
    int field;
  } bad[] = {{"0", -1}, {"1", 1}, {"65", 65}, {"193", 193}, {"1000", -1},
             {"-2", -1}, {"02", -1}, {"x", -1}, {"", -1}, {"2.0", -1}};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char field[256];
    snprintf(field, sizeof field,
             "\"%s\": {\"name\": \"A\", \"content\": \"n\", \"length\": \"fixed\", \"max\": 6}",
             bad[i].key);
    parse_fails(spec_text("", field), ISO_E_BAD_SPEC, bad[i].field, "field numbers");
  }
  parse_fails(spec_text("", FIELD11("") "," FIELD11("")), ISO_E_BAD_SPEC, 11, "twice");
}

static void test_bad_subfields(void **state) {
  (void)state;
  field11_fails(", \"subfields\": []", "\"subfields\"");
  field11_fails(", \"subfields\": {\"name\": \"a\"}", "\"subfields\"");
  field11_fails(", \"subfields\": [3]", "must be an object");
  field11_fails(", \"subfields\": [{\"length\": 3}]", "\"name\"");
  field11_fails(", \"subfields\": [{\"name\": \"a\", \"length\": 0}]", "\"length\"");
  field11_fails(", \"subfields\": [{\"name\": \"a\", \"len\": 2}]", "unknown key");
  field11_fails(", \"subfields\": [{\"name\": \"a\", \"length\": 7}]", "more than the field's");
  parse_fails(spec_text("", "\"55\": {\"name\": \"I\", \"content\": \"b\", \"length\": \"LLL\","
                            " \"max\": 255, \"tlv\": true, \"subfields\": [{\"name\": \"a\","
                            " \"length\": 1}]}"),
              ISO_E_BAD_SPEC, 55, "not both");
  parse_fails(spec_text("", "\"55\": {\"name\": \"I\", \"content\": \"ans\", \"length\": \"LLL\","
                            " \"max\": 255, \"tlv\": true}"),
              ISO_E_BAD_SPEC, 55, "binary");
}

static void assert_same_str(const char *a, const char *b) {
  if (!a || !b)
    assert_ptr_equal(a, b);
  else
    assert_string_equal(a, b);
}

/* Equality of two specs: every member of every field definition, names and
 * subfield tables compared by content (their storage differs). */
static void assert_same_spec(const iso_spec *a, const iso_spec *b) {
  assert_same_str(a->name, b->name);
  assert_same_str(a->description, b->description);
  assert_int_equal(a->mti_enc, b->mti_enc);
  assert_int_equal(a->bitmap_enc, b->bitmap_enc);
  for (int n = 0; n <= ISO_MAX_FIELD; n++) {
    const iso_field_def *x = &a->fields[n], *y = &b->fields[n];
    assert_same_str(x->name, y->name);
    assert_int_equal(x->max_len, y->max_len);
    assert_int_equal(x->content, y->content);
    assert_int_equal(x->length_type, y->length_type);
    assert_int_equal(x->data_enc, y->data_enc);
    assert_int_equal(x->prefix_enc, y->prefix_enc);
    assert_int_equal(x->pad, y->pad);
    assert_int_equal(x->pad_char, y->pad_char);
    assert_int_equal(x->sensitivity, y->sensitivity);
    assert_int_equal(x->subfield_kind, y->subfield_kind);
    assert_int_equal(x->subfield_count, y->subfield_count);
    assert_true((x->subfields == NULL) == (y->subfields == NULL));
    for (unsigned i = 0; i < x->subfield_count; i++) {
      assert_string_equal(x->subfields[i].name, y->subfields[i].name);
      assert_int_equal(x->subfields[i].length, y->subfields[i].length);
    }
  }
}

static void test_builtin_round_trip(void **state) {
  (void)state;
  int count = 0;
  for (const char *const *name = iso_spec_builtin_names(); *name; name++, count++) {
    const iso_spec *builtin = iso_spec_builtin(*name);
    assert_non_null(builtin);
    char *json = iso_spec_to_json(builtin);
    assert_non_null(json);
    iso_spec *loaded = parse_ok(json);
    assert_same_spec(builtin, loaded);
    /* And exporting the loaded spec gives the very same text. */
    char *again = iso_spec_to_json(loaded);
    assert_string_equal(json, again);
    free(again);
    free(json);
    iso_spec_free(loaded);
  }
  assert_int_equal(count, 4);
}

static void test_names_with_specials(void **state) {
  (void)state;
  iso_spec *spec = parse_ok(
      "{\"name\": \"caf\\u00e9 \\\"quoted\\\"\", \"description\": \"tab\\there\", \"fields\": {"
      "\"3\": {\"name\": \"Proc\\\\code\", \"content\": \"n\", \"length\": \"fixed\","
      " \"max\": 6, \"subfields\": [{\"name\": \"Typ\\u00e9\", \"length\": 6}]}}}");
  assert_string_equal(iso_spec_name(spec), "caf\xc3\xa9 \"quoted\"");
  assert_string_equal(iso_spec_field(spec, 3)->name, "Proc\\code");
  char *json = iso_spec_to_json(spec);
  iso_spec *again = parse_ok(json);
  assert_string_equal(iso_spec_name(again), iso_spec_name(spec));
  assert_string_equal(iso_spec_field(again, 3)->name, "Proc\\code");
  assert_string_equal(iso_spec_field(again, 3)->subfields[0].name, "Typ\xc3\xa9");
  free(json);
  iso_spec_free(again);
  iso_spec_free(spec);
}

static void test_files_and_open(void **state) {
  (void)state;
  char path[] = "/tmp/isoflow-spec-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  const char *text = spec_text("", FIELD11(""));
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);

  iso_spec *spec = NULL;
  iso_error err = {0};
  assert_int_equal(iso_spec_load_json(path, &spec, &err), 0);
  assert_non_null(iso_spec_field(spec, 11));
  iso_spec_free(spec);

  const iso_spec *opened = NULL;
  assert_int_equal(iso_spec_open(path, &opened, &err), 0);
  assert_string_equal(iso_spec_name(opened), "t");
  iso_spec_free(opened);

  assert_int_equal(iso_spec_open("iso87a", &opened, &err), 0);
  assert_ptr_equal(opened, iso_spec_builtin("iso87a"));
  iso_spec_free(opened); /* a no-op for built-ins */

  assert_int_equal(iso_spec_open("iso99z", &opened, &err), ISO_E_IO);
  assert_int_equal(err.field, -1);
  assert_non_null(strstr(err.reason, "built-in"));
  assert_null(opened);
  assert_int_equal(iso_spec_load_json("/nonexistent/spec.json", &spec, &err), ISO_E_IO);
  assert_null(spec);

  /* A file with a bad spec reports like the text would. */
  FILE *f = fopen(path, "w");
  fputs(spec_text("", "\"11\": {\"name\": \"S\"}"), f);
  fclose(f);
  assert_int_equal(iso_spec_open(path, &opened, &err), ISO_E_BAD_SPEC);
  assert_int_equal(err.field, 11);
  unlink(path);

  assert_int_equal(iso_spec_parse_json(NULL, 0, &spec, &err), ISO_E_INVAL);
  assert_null(iso_spec_to_json(NULL));
}

/* The complete example of docs/specs.md loads, and says what it shows. */
static void test_documented_example(void **state) {
  (void)state;
  FILE *f = fopen(ISOFLOW_SOURCE_DIR "/docs/specs.md", "r");
  assert_non_null(f);
  static char doc[65536];
  size_t n = fread(doc, 1, sizeof doc - 1, f);
  fclose(f);
  doc[n] = '\0';
  char *start = strstr(doc, "```json\n");
  assert_non_null(start);
  start += strlen("```json\n");
  char *end = strstr(start, "```");
  assert_non_null(end);
  iso_spec *spec = NULL;
  iso_error err = {0};
  int rc = iso_spec_parse_json(start, (size_t)(end - start), &spec, &err);
  if (rc) fprintf(stderr, "docs example: field %d: %s\n", err.field, err.reason);
  assert_int_equal(rc, 0);
  assert_string_equal(iso_spec_name(spec), "acme-host");
  assert_int_equal(iso_spec_field(spec, 48)->data_enc, ISO_ENC_EBCDIC);
  assert_int_equal(iso_spec_field(spec, 48)->prefix_enc, ISO_ENC_BCD);
  assert_int_equal(iso_spec_field(spec, 55)->data_enc, ISO_ENC_HEX);
  assert_int_equal(iso_spec_field(spec, 55)->subfield_kind, ISO_SUB_TLV);
  assert_int_equal(iso_spec_field(spec, 3)->subfield_count, 3);
  assert_int_equal(spec->bitmap_enc, ISO_ENC_BINARY);
  iso_spec_free(spec);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_every_key),         cmocka_unit_test(test_defaults),
      cmocka_unit_test(test_malformed_json),    cmocka_unit_test(test_missing_keys),
      cmocka_unit_test(test_unknown_names),     cmocka_unit_test(test_bad_max),
      cmocka_unit_test(test_bad_field_numbers), cmocka_unit_test(test_bad_subfields),
      cmocka_unit_test(test_builtin_round_trip), cmocka_unit_test(test_names_with_specials),
      cmocka_unit_test(test_files_and_open),    cmocka_unit_test(test_documented_example),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
