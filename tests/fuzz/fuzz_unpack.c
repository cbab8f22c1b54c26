/*
 * tests/fuzz/fuzz_unpack.c -- libFuzzer target: iso_msg_unpack with every
 * built-in spec (the first input byte picks the spec, the rest is the
 * message), then everything a program does with an accepted message: read
 * each field back, describe it and render it as JSON, masked and unmasked,
 * with exact and short buffers.
 *
 * Oracles beyond "no sanitizer report": an accepted message yields every
 * field through iso_msg_get, rendering sizes agree between the sizing call
 * and the real one, a short buffer is refused, and masked output never shows
 * a PAN of 11 digits or more in clear.
 */
#include "fuzz_common.h"

/* Masked output must not carry the PAN as it is (PANs of 10 digits or
 * fewer are all '*', shorter ones may legitimately recur elsewhere). */
static void expect_pan_hidden(const iso_msg *m, const char *masked) {
  char pan[64];
  size_t len = 0;
  if (iso_msg_get(m, 2, pan, sizeof pan, &len) != 0 || len < 11) return;
  /* The masked PAN is what describe must show: first 6, '*'s, last 4. */
  char want[64];
  iso_mask_pan(pan, len, want);
  want[len] = 0;
  FUZZ_CHECK(strstr(masked, want) != NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const iso_spec *spec = fuzz_pick_spec(data[0]);
  iso_msg m;
  iso_msg_init(&m, spec);
  iso_error err = {0};
  int rc = iso_msg_unpack(&m, data + 1, size - 1, &err);
  if (rc != 0) {
    FUZZ_CHECK(rc < 0 && err.code == rc);
    FUZZ_CHECK(err.offset <= size - 1);
    FUZZ_CHECK(iso_msg_next_field(&m, 0) == 0);
    iso_msg_cleanup(&m);
    return 0;
  }
  for (int f = iso_msg_next_field(&m, 0); f; f = iso_msg_next_field(&m, f)) {
    size_t len = 0;
    int g = iso_msg_get(&m, f, NULL, 0, &len);
    FUZZ_CHECK(g == 0 || g == ISO_E_NOSPC);
    uint8_t *v = malloc(len + 1);
    FUZZ_CHECK(v != NULL);
    FUZZ_CHECK(iso_msg_get(&m, f, v, len + 1, &len) == 0);
    free(v);
  }
  char *json = fuzz_render(&m, iso_msg_to_json, ISO_SHOW_MASKED);
  expect_pan_hidden(&m, json);
  free(json);
  char *text = fuzz_render(&m, iso_msg_describe, ISO_SHOW_MASKED);
  expect_pan_hidden(&m, text);
  free(text);
  free(fuzz_render(&m, iso_msg_to_json, ISO_SHOW_UNMASKED));
  free(fuzz_render(&m, iso_msg_describe, ISO_SHOW_UNMASKED));
  iso_msg_cleanup(&m);
  return 0;
}
