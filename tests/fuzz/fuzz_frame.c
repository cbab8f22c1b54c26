/*
 * tests/fuzz/fuzz_frame.c -- libFuzzer target: the framers (iso_frame_split
 * in conn/framer.c), which see every byte a peer sends before anything else.
 *
 * Input: byte 0 picks the kind (including one past the last, which must be
 * refused by iso_framing_check) and whether the length counts itself, byte 1
 * the fixed header length (0..15), bytes 2-3 the maximum frame (big-endian,
 * 0 = default); the rest is the byte stream, split frame after frame.
 *
 * Oracles: a frame lies inside the stream, header and payload one after the
 * other at the end of the prefix, within the maximum; every proper prefix of
 * a complete frame is "need more", never a frame or an error.
 */
#include "fuzz_common.h"

#include "isoflow/conn.h"

static void expect_inside(const iso_framing *f, const uint8_t *buf, size_t len,
                          int used, const iso_frame *fr) {
  size_t prefix = iso_frame_prefix_size(f);
  FUZZ_CHECK((size_t)used <= len && (size_t)used >= prefix);
  if (fr->len == 0) { /* a keep-alive: the prefix alone, no header */
    FUZZ_CHECK((size_t)used == prefix && fr->payload == NULL);
    FUZZ_CHECK(fr->header == NULL && fr->header_len == 0);
    return;
  }
  FUZZ_CHECK(fr->header_len == f->header_len);
  FUZZ_CHECK(fr->header_len + (size_t)fr->len <= iso_frame_max_body(f));
  FUZZ_CHECK(prefix + fr->header_len + fr->len == (size_t)used);
  FUZZ_CHECK(fr->header == (fr->header_len ? buf + prefix : NULL));
  FUZZ_CHECK(fr->payload == buf + prefix + fr->header_len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 4) return 0;
  iso_framing f = {
      .kind = (uint8_t)(data[0] % 5),
      .length_includes_self = (data[0] & 0x10) != 0,
      .header_len = (uint16_t)(data[1] % 16),
      .max_frame = (uint32_t)data[2] << 8 | data[3],
  };
  if (iso_framing_check(&f) != 0) return 0;
  const uint8_t *stream = data + 4;
  size_t left = size - 4;
  for (int frames = 0; left > 0 && frames < 4096; frames++) {
    iso_frame fr;
    int used = iso_frame_split(&f, stream, left, &fr);
    if (used == ISO_E_NEED_MORE) break;
    if (used < 0) {
      FUZZ_CHECK(used == ISO_E_BAD_FRAME || used == ISO_E_FRAME_TOO_LARGE);
      break;
    }
    expect_inside(&f, stream, left, used, &fr);
    /* Proper prefixes of this frame: the first byte, the whole prefix, all
     * but the last byte. */
    size_t cuts[3] = {1, iso_frame_prefix_size(&f), (size_t)used - 1};
    for (int i = 0; i < 3; i++) {
      if (cuts[i] == 0 || cuts[i] >= (size_t)used) continue;
      iso_frame part;
      FUZZ_CHECK(iso_frame_split(&f, stream, cuts[i], &part) == ISO_E_NEED_MORE);
    }
    stream += used;
    left -= (size_t)used;
  }
  return 0;
}
