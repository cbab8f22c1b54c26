/*
 * tests/fuzz/fuzz_msg_json.c -- libFuzzer target: the JSON message reader
 * (iso_msg_from_json), what `isoflow encode` and `send` feed on.
 *
 * Input: byte 0 picks the built-in spec, the rest is the JSON text.
 * Oracles: a refusal leaves a code in err; an accepted message renders
 * (masked and unmasked) without trouble; when it also packs, the packed
 * bytes unpack to the same fields, and the unmasked JSON of the message
 * reads back to the same fields.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const iso_spec *spec = fuzz_pick_spec(data[0]);
  iso_msg m, back, reread;
  iso_msg_init(&m, spec);
  iso_msg_init(&back, spec);
  iso_msg_init(&reread, spec);
  iso_error err = {0};
  int rc = iso_msg_from_json(&m, (const char *)data + 1, size - 1, &err);
  if (rc != 0) {
    FUZZ_CHECK(rc < 0);
    goto done;
  }
  free(fuzz_render(&m, iso_msg_describe, ISO_SHOW_MASKED));
  free(fuzz_render(&m, iso_msg_to_json, ISO_SHOW_MASKED));
  char *json = fuzz_render(&m, iso_msg_to_json, ISO_SHOW_UNMASKED);
  rc = iso_msg_from_json(&reread, json, strlen(json), &err);
  if (rc != 0)
    fprintf(stderr, "own JSON refused: %d field %d (%s)\n", rc, err.field,
            err.reason ? err.reason : "");
  FUZZ_CHECK(rc == 0);
  fuzz_expect_same_fields(&m, &reread);
  free(json);

  size_t need = 0;
  if (iso_msg_pack(&m, NULL, 0, &need, &err) != ISO_E_NOSPC) goto done;
  uint8_t *wire = malloc(need);
  FUZZ_CHECK(wire != NULL);
  size_t len = 0;
  FUZZ_CHECK(iso_msg_pack(&m, wire, need, &len, &err) == 0 && len == need);
  rc = iso_msg_unpack(&back, wire, len, &err);
  if (rc != 0)
    fprintf(stderr, "unpack of a packed message: %d field %d offset %zu (%s)\n",
            rc, err.field, err.offset, err.reason ? err.reason : "");
  FUZZ_CHECK(rc == 0);
  /* Pack pads short values, so compare the padded form: pack `back` again. */
  uint8_t *wire2 = malloc(need);
  size_t len2 = 0;
  FUZZ_CHECK(wire2 != NULL);
  FUZZ_CHECK(iso_msg_pack(&back, wire2, need, &len2, NULL) == 0);
  FUZZ_CHECK(len2 == len && memcmp(wire, wire2, len) == 0);
  free(wire);
  free(wire2);
done:
  iso_msg_cleanup(&m);
  iso_msg_cleanup(&back);
  iso_msg_cleanup(&reread);
  return 0;
}
