/*
 * tests/fuzz/fuzz_spec_msg.c -- libFuzzer target: a spec and a message
 * fuzzed together.  The input is JSON spec text, a NUL byte, then a wire
 * message; when the spec loads, the message is unpacked with it and, when
 * that works, rendered (masked and unmasked) and round-tripped through pack
 * (fuzz_expect_round_trip).  This reaches field layouts no built-in spec
 * has: 6-digit prefixes, binary prefixes on odd digit counts, huge fixed
 * fields, left-aligned BCD amounts, subfields on any field.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *nul = memchr(data, 0, size);
  if (!nul) return 0;
  size_t spec_len = (size_t)(nul - data);
  iso_spec *spec = NULL;
  if (iso_spec_parse_json((const char *)data, spec_len, &spec, NULL) != 0)
    return 0;
  iso_msg m;
  iso_msg_init(&m, spec);
  if (iso_msg_unpack(&m, nul + 1, size - spec_len - 1, NULL) == 0) {
    free(fuzz_render(&m, iso_msg_describe, ISO_SHOW_MASKED));
    free(fuzz_render(&m, iso_msg_to_json, ISO_SHOW_MASKED));
    free(fuzz_render(&m, iso_msg_describe, ISO_SHOW_UNMASKED));
    fuzz_expect_round_trip(&m);
  }
  iso_msg_cleanup(&m);
  iso_spec_free(spec);
  return 0;
}
