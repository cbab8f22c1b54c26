/*
 * tests/fuzz/fuzz_spec_json.c -- libFuzzer target: loading a spec from JSON
 * (iso_spec_parse_json), the text a user hands to `isoflow --spec FILE`.
 *
 * Oracles: a refusal fills err with the code returned; an accepted spec
 * exports (iso_spec_to_json) to text that loads again and exports to the
 * same text, and its fields can be looked up; a positional field's
 * subfields can be read from a value of any length.
 */
#include "fuzz_common.h"

static void exercise(const iso_spec *spec) {
  static const uint8_t zeros[256];
  for (int f = 0; f <= ISO_MAX_FIELD + 1; f++) {
    const iso_field_def *d = iso_spec_field(spec, f);
    if (!d || d->subfield_kind != ISO_SUB_POSITIONAL) continue;
    for (int s = 0; s <= d->subfield_count + 1; s++) {
      const uint8_t *out;
      size_t n;
      (void)iso_subfield_get(spec, f, zeros, sizeof zeros, s, &out, &n);
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  iso_spec *spec = NULL;
  iso_error err = {0};
  int rc = iso_spec_parse_json((const char *)data, size, &spec, &err);
  if (rc != 0) {
    FUZZ_CHECK(rc == ISO_E_BAD_JSON || rc == ISO_E_BAD_SPEC || rc == ISO_E_NOMEM);
    FUZZ_CHECK(spec == NULL);
    return 0;
  }
  FUZZ_CHECK(spec != NULL && iso_spec_name(spec) != NULL);
  exercise(spec);

  char *text = iso_spec_to_json(spec);
  FUZZ_CHECK(text != NULL);
  iso_spec *again = NULL;
  rc = iso_spec_parse_json(text, strlen(text), &again, &err);
  if (rc != 0)
    fprintf(stderr, "exported spec refused: %d field %d (%s)\n", rc, err.field,
            err.reason ? err.reason : "");
  FUZZ_CHECK(rc == 0);
  char *text2 = iso_spec_to_json(again);
  FUZZ_CHECK(text2 != NULL && strcmp(text, text2) == 0);
  free(text);
  free(text2);
  iso_spec_free(again);
  iso_spec_free(spec);
  return 0;
}
