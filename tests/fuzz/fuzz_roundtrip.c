/*
 * tests/fuzz/fuzz_roundtrip.c -- libFuzzer target: whatever iso_msg_unpack
 * accepts (any built-in spec, picked by the first byte) must pack again, and
 * unpacking that must give the same MTI and the same fields with the same
 * values.  Pack is also asked first with no room, to check the size it
 * reports is the size it then writes.
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const iso_spec *spec = fuzz_pick_spec(data[0]);
  iso_msg first, second;
  iso_msg_init(&first, spec);
  iso_msg_init(&second, spec);
  if (iso_msg_unpack(&first, data + 1, size - 1, NULL) != 0) goto done;

  size_t need = 0;
  iso_error err = {0};
  int rc = iso_msg_pack(&first, NULL, 0, &need, &err);
  if (rc != ISO_E_NOSPC) {
    fprintf(stderr, "pack of an accepted message: %d field %d offset %zu (%s)\n",
            rc, err.field, err.offset, err.reason ? err.reason : "");
  }
  FUZZ_CHECK(rc == ISO_E_NOSPC);
  uint8_t *wire = malloc(need);
  FUZZ_CHECK(wire != NULL);
  size_t len = 0;
  FUZZ_CHECK(iso_msg_pack(&first, wire, need, &len, &err) == 0);
  FUZZ_CHECK(len == need);
  rc = iso_msg_unpack(&second, wire, len, &err);
  if (rc != 0) {
    fprintf(stderr, "unpack of a packed message: %d field %d offset %zu (%s)\n",
            rc, err.field, err.offset, err.reason ? err.reason : "");
  }
  FUZZ_CHECK(rc == 0);
  fuzz_expect_same_fields(&first, &second);
  free(wire);
done:
  iso_msg_cleanup(&first);
  iso_msg_cleanup(&second);
  return 0;
}
