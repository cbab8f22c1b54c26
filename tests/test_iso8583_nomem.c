/*
 * tests/test_iso8583_nomem.c -- the codec when memory runs out: rendering a
 * message (iso_msg_describe, iso_msg_to_json) whose unpacked field is held
 * in a wire encoding and is longer than the renderer's stack scratch needs
 * a heap buffer; when that allocation fails the call reports ISO_E_NOMEM,
 * frees what it took and leaves the message usable.
 *
 * Allocations fail through support/failing_alloc.h (the suite is linked
 * with malloc, calloc and realloc wrapped: tests/iso8583.cmake).  Each test
 * runs the call once per possible failure point, so every allocation on the
 * path is made to fail once; LeakSanitizer (on in the test build) catches
 * anything a failed call leaves behind.
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
#include "support/failing_alloc.h"

/* DE 48 held in EBCDIC after unpack: rendering decodes it into scratch. */
static const char spec_json[] =
    "{\"name\": \"nomem\", \"mti_encoding\": \"ascii\", \"bitmap_encoding\": \"binary\","
    " \"fields\": {"
    "  \"11\": {\"name\": \"STAN\", \"content\": \"n\", \"length\": \"fixed\", \"max\": 6},"
    "  \"48\": {\"name\": \"Private data\", \"content\": \"ans\", \"length\": \"LLL\", \"max\": 999,"
    "          \"encoding\": \"ebcdic\", \"prefix_encoding\": \"bcd\"}}}";

typedef struct world {
  iso_spec *spec;
  iso_msg unpacked; /* refers to wire (unpacking does not copy) */
  uint8_t wire[2048];
  char de48[901];
} world;

static int setup(void **state) {
  world *w = calloc(1, sizeof *w);
  if (!w) return -1;
  iso_error err = {0};
  if (iso_spec_parse_json(spec_json, strlen(spec_json), &w->spec, &err)) {
    fprintf(stderr, "spec: field %d: %s\n", err.field, err.reason);
    free(w);
    return -1;
  }
  memset(w->de48, 'Q', sizeof w->de48 - 1);
  memcpy(w->de48, "BEGIN", 5);
  memcpy(w->de48 + sizeof w->de48 - 4, "END", 3);
  iso_msg m;
  iso_msg_init(&m, w->spec);
  size_t len = 0;
  int rc = iso_msg_set_mti(&m, "0100");
  if (!rc) rc = iso_msg_set_str(&m, 11, "000042");
  if (!rc) rc = iso_msg_set_str(&m, 48, w->de48);
  if (!rc) rc = iso_msg_pack(&m, w->wire, sizeof w->wire, &len, NULL);
  iso_msg_cleanup(&m);
  iso_msg_init(&w->unpacked, w->spec);
  if (!rc) rc = iso_msg_unpack(&w->unpacked, w->wire, len, NULL);
  *state = w;
  return rc ? -1 : 0;
}

static int teardown(void **state) {
  world *w = *state;
  iso_msg_cleanup(&w->unpacked);
  iso_spec_free(w->spec);
  free(w);
  return 0;
}

typedef int (*render_fn)(const iso_msg *m, unsigned flags, char *buf, size_t cap,
                         size_t *out_len);

/* Fails each allocation render makes, one at a time, then lets it through:
 * every failed call says ISO_E_NOMEM; the one that succeeds holds DE 48 in
 * full and matches what an undisturbed call gives. */
static void fail_each_allocation(world *w, render_fn render) {
  static char want[4096], got[4096];
  size_t want_len = 0, got_len = 0;
  /* The heap path is taken at all: a field this long does not fit the
   * renderer's scratch, and it is held in EBCDIC (no zero-copy peek). */
  const uint8_t *peeked;
  size_t peeked_len;
  assert_int_equal(iso_msg_peek(&w->unpacked, 48, &peeked, &peeked_len), ISO_E_UNSUPPORTED);
  fa_count_reset();
  assert_int_equal(render(&w->unpacked, ISO_SHOW_UNMASKED, want, sizeof want, &want_len), 0);
  long calls = fa_count();
  assert_true(calls >= 1);
  assert_non_null(strstr(want, w->de48));

  for (long n = 0; n < calls; n++) {
    fa_arm(n);
    int rc = render(&w->unpacked, ISO_SHOW_UNMASKED, got, sizeof got, &got_len);
    assert_false(fa_armed()); /* the armed failure was reached */
    assert_int_equal(rc, ISO_E_NOMEM);
  }
  fa_arm(-1);
  assert_int_equal(render(&w->unpacked, ISO_SHOW_UNMASKED, got, sizeof got, &got_len), 0);
  assert_int_equal(got_len, want_len);
  assert_memory_equal(got, want, want_len);
}

static void test_describe_out_of_memory(void **state) {
  fail_each_allocation(*state, iso_msg_describe);
}

static void test_to_json_out_of_memory(void **state) {
  fail_each_allocation(*state, iso_msg_to_json);
}

/* A value that fits the scratch needs no allocation at all, so running out
 * of memory cannot fail it. */
static void test_short_values_need_no_heap(void **state) {
  world *w = *state;
  iso_msg m;
  iso_msg_init(&m, w->spec);
  uint8_t wire[256];
  size_t len = 0;
  assert_int_equal(iso_msg_set_mti(&m, "0100"), 0);
  assert_int_equal(iso_msg_set_str(&m, 48, "SHORT EBCDIC VALUE"), 0);
  assert_int_equal(iso_msg_pack(&m, wire, sizeof wire, &len, NULL), 0);
  iso_msg_reset(&m);
  assert_int_equal(iso_msg_unpack(&m, wire, len, NULL), 0);
  char out[1024];
  size_t out_len;
  fa_count_reset();
  fa_arm(0);
  assert_int_equal(iso_msg_to_json(&m, 0, out, sizeof out, &out_len), 0);
  assert_int_equal(fa_count(), 0);
  fa_arm(-1);
  assert_non_null(strstr(out, "\"48\":\"SHORT EBCDIC VALUE\""));
  iso_msg_cleanup(&m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_describe_out_of_memory, setup, teardown),
      cmocka_unit_test_setup_teardown(test_to_json_out_of_memory, setup, teardown),
      cmocka_unit_test_setup_teardown(test_short_values_need_no_heap, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
