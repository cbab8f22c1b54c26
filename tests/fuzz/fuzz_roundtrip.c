/*
 * tests/fuzz/fuzz_roundtrip.c -- libFuzzer target: whatever iso_msg_unpack
 * accepts (any spec fuzz_pick_spec offers, picked by the first byte) must
 * pack again, and unpacking that must give the same MTI and the same fields
 * with the same values (fuzz_expect_round_trip).
 */
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  iso_msg m;
  iso_msg_init(&m, fuzz_pick_spec(data[0]));
  if (iso_msg_unpack(&m, data + 1, size - 1, NULL) == 0) {
    size_t len = fuzz_expect_round_trip(&m);
    /* Unpacked values are written back as read: same size as the input
     * unless bitmaps were dropped (a secondary bitmap with no field). */
    FUZZ_CHECK(len <= size - 1);
  }
  iso_msg_cleanup(&m);
  return 0;
}
