/*
 * tests/fuzz/fuzz_common.h -- what the libFuzzer targets share: picking a
 * spec from the first input byte, an assertion that aborts (so libFuzzer
 * saves the input as a crash), the field-by-field comparison of two
 * messages, the rendering check (sizes, short buffers) and the
 * pack -> unpack round trip.
 *
 * Header-only on purpose: each target is one translation unit plus the
 * isoflow library, linked either with libFuzzer (tests/fuzz/CMakeLists.txt)
 * or with replay.c (tests/fuzz.cmake).
 */
#ifndef ISOFLOW_FUZZ_COMMON_H
#define ISOFLOW_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isoflow/iso8583.h"

/* An oracle that fails aborts: libFuzzer records the input as a crash. */
#define FUZZ_CHECK(cond)                                                     \
  do {                                                                       \
    if (!(cond)) {                                                           \
      fprintf(stderr, "%s:%d: fuzz oracle failed: %s\n", __FILE__, __LINE__, \
              #cond);                                                        \
      abort();                                                               \
    }                                                                        \
  } while (0)

/*
 * The spec chosen by `selector`: each built-in spec, and one more loaded
 * from tests/fuzz/exotic_spec.json (FUZZ_EXOTIC_SPEC, set by the build),
 * which uses what the built-in specs do not: EBCDIC MTI and data,
 * left-aligned BCD, binary and EBCDIC prefixes, 4- to 6-digit prefixes, hex
 * data, explicit pad characters, tertiary fields.  Loaded once, kept.
 */
static inline const iso_spec *fuzz_pick_spec(uint8_t selector) {
  static const iso_spec *exotic;
  const char *const *names = iso_spec_builtin_names();
  size_t n = 0;
  while (names[n]) n++;
  size_t pick = selector % (n + 1);
  if (pick < n) {
    const iso_spec *spec = iso_spec_builtin(names[pick]);
    FUZZ_CHECK(spec != NULL);
    return spec;
  }
  if (!exotic) {
    iso_spec *loaded = NULL;
    FUZZ_CHECK(iso_spec_load_json(FUZZ_EXOTIC_SPEC, &loaded, NULL) == 0);
    exotic = loaded;
  }
  return exotic;
}

/*
 * Asserts that a and b hold the same MTI and the same fields with the same
 * canonical values.  Both must have been unpacked or filled successfully.
 */
static inline void fuzz_expect_same_fields(const iso_msg *a, const iso_msg *b) {
  FUZZ_CHECK(strcmp(iso_msg_mti(a), iso_msg_mti(b)) == 0);
  int fa = 0, fb = 0;
  for (;;) {
    fa = iso_msg_next_field(a, fa);
    fb = iso_msg_next_field(b, fb);
    FUZZ_CHECK(fa == fb);
    if (fa == 0) break;
    size_t la = 0, lb = 0;
    int ra = iso_msg_get(a, fa, NULL, 0, &la);
    int rb = iso_msg_get(b, fb, NULL, 0, &lb);
    FUZZ_CHECK(ra == 0 || ra == ISO_E_NOSPC);
    FUZZ_CHECK(rb == 0 || rb == ISO_E_NOSPC);
    FUZZ_CHECK(la == lb);
    uint8_t *va = malloc(la + 1), *vb = malloc(lb + 1);
    FUZZ_CHECK(va && vb);
    FUZZ_CHECK(iso_msg_get(a, fa, va, la + 1, &la) == 0);
    FUZZ_CHECK(iso_msg_get(b, fb, vb, lb + 1, &lb) == 0);
    FUZZ_CHECK(la == lb && memcmp(va, vb, la) == 0);
    free(va);
    free(vb);
  }
}

/*
 * Renders m with `render` (iso_msg_to_json or iso_msg_describe) twice: once
 * into no buffer to learn the size, once into exactly that size plus the
 * NUL, and checks the two calls agree.  Returns the malloc'd text.
 */
typedef int (*fuzz_render_fn)(const iso_msg *, unsigned, char *, size_t,
                              size_t *);
static inline char *fuzz_render(const iso_msg *m, fuzz_render_fn render,
                                unsigned flags) {
  size_t need = 0;
  int rc = render(m, flags, NULL, 0, &need);
  FUZZ_CHECK(rc == ISO_E_NOSPC || (rc == 0 && need == 0));
  char *text = malloc(need + 1);
  FUZZ_CHECK(text != NULL);
  size_t got = 0;
  FUZZ_CHECK(render(m, flags, text, need + 1, &got) == 0);
  FUZZ_CHECK(got == need && strlen(text) == got);
  /* One byte short must be refused, never overrun. */
  if (need > 0) {
    char *tight = malloc(need);
    FUZZ_CHECK(tight != NULL);
    size_t again = 0;
    FUZZ_CHECK(render(m, flags, tight, need, &again) == ISO_E_NOSPC);
    FUZZ_CHECK(again == need);
    free(tight);
  }
  return text;
}

/*
 * Packs m (asking for the size first, with no room, and checking the size
 * reported is the size written), unpacks the result with the same spec and
 * asserts the same fields come back.  For a message that unpacked, pack
 * must succeed.  Returns the packed length.
 */
static inline size_t fuzz_expect_round_trip(const iso_msg *m) {
  size_t need = 0;
  iso_error err = {0};
  int rc = iso_msg_pack(m, NULL, 0, &need, &err);
  if (rc != ISO_E_NOSPC)
    fprintf(stderr, "pack: %d field %d offset %zu (%s)\n", rc, err.field,
            err.offset, err.reason ? err.reason : "");
  FUZZ_CHECK(rc == ISO_E_NOSPC);
  uint8_t *wire = malloc(need ? need : 1);
  FUZZ_CHECK(wire != NULL);
  size_t len = 0;
  FUZZ_CHECK(iso_msg_pack(m, wire, need, &len, &err) == 0);
  FUZZ_CHECK(len == need);
  iso_msg back;
  iso_msg_init(&back, m->spec);
  rc = iso_msg_unpack(&back, wire, len, &err);
  if (rc != 0)
    fprintf(stderr, "unpack of a packed message: %d field %d offset %zu (%s)\n",
            rc, err.field, err.offset, err.reason ? err.reason : "");
  FUZZ_CHECK(rc == 0);
  fuzz_expect_same_fields(m, &back);
  iso_msg_cleanup(&back);
  free(wire);
  return len;
}

#endif
