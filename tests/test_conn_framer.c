/*
 * tests/test_conn_framer.c -- the frame splitter and prefix writer: every
 * kind of length, split at every byte boundary, keep-alives, fixed headers,
 * self-counting lengths, maxima, and malformed prefixes; the prefix read
 * alone (iso_frame_read_prefix) agrees with the splitter.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "isoflow/conn.h"

static const iso_frame_kind kinds[] = {ISO_FRAME_LEN2, ISO_FRAME_LEN4,
                                       ISO_FRAME_ASCII4, ISO_FRAME_BCD2};

/* Builds a stream of: frame A, a keep-alive, frame B. */
static size_t build_stream(const iso_framing *f, uint8_t *buf, const uint8_t *hdr_a,
                           const char *a, const char *b) {
  size_t n = 0, hl = f->header_len;
  int p = iso_frame_put_prefix(f, hl + strlen(a), buf + n);
  assert_true(p > 0);
  n += (size_t)p;
  memcpy(buf + n, hdr_a, hl);
  n += hl;
  memcpy(buf + n, a, strlen(a));
  n += strlen(a);
  n += (size_t)iso_frame_put_prefix(f, 0, buf + n);
  n += (size_t)iso_frame_put_prefix(f, hl + strlen(b), buf + n);
  memset(buf + n, 0xEE, hl);
  n += hl;
  memcpy(buf + n, b, strlen(b));
  n += strlen(b);
  return n;
}

/* Feeds the stream in two pieces cut at `cut`, as a connection would:
 * split what is there, keep the rest, append the next piece. */
static void feed_split(const iso_framing *f, const uint8_t *stream, size_t total,
                       size_t cut, const char *a, const char *b, const uint8_t *hdr) {
  uint8_t *buf = malloc(total); /* exact size: ASan catches any over-read */
  size_t have = 0, fed = 0;
  int frames = 0, keepalives = 0;
  while (fed < total || have) {
    size_t piece = fed < cut ? cut - fed : total - fed;
    memcpy(buf + have, stream + fed, piece);
    have += piece;
    fed += piece;
    size_t off = 0;
    for (;;) {
      /* a copy of exactly the remaining bytes, so reads past them are caught */
      size_t left = have - off;
      uint8_t *exact = malloc(left ? left : 1);
      memcpy(exact, buf + off, left);
      iso_frame fr;
      int rc = iso_frame_split(f, exact, left, &fr);
      if (rc == ISO_E_NEED_MORE) {
        free(exact);
        break;
      }
      assert_true(rc > 0);
      if (fr.len == 0) {
        keepalives++;
      } else {
        const char *want = frames == 0 ? a : b;
        assert_int_equal(fr.len, strlen(want));
        assert_memory_equal(fr.payload, want, fr.len);
        assert_int_equal(fr.header_len, f->header_len);
        if (f->header_len) {
          assert_ptr_equal(fr.header, exact + iso_frame_prefix_size(f));
          if (frames == 0) assert_memory_equal(fr.header, hdr, f->header_len);
        } else {
          assert_null(fr.header);
        }
        frames++;
      }
      off += (size_t)rc;
      free(exact);
    }
    memmove(buf, buf + off, have - off);
    have -= off;
    if (fed == total && have) fail_msg("bytes left over at the end");
  }
  assert_int_equal(frames, 2);
  assert_int_equal(keepalives, 1);
  free(buf);
}

static void every_kind_every_cut(void **state) {
  (void)state;
  const uint8_t tpdu[5] = {0x60, 0x00, 0x01, 0x00, 0x02};
  const char *a = "0800822000000000000004000000000000000420090613900001";
  const char *b = "x";
  for (size_t k = 0; k < 4; k++)
    for (int self = 0; self < 2; self++)
      for (int hl = 0; hl <= 5; hl += 5) {
        iso_framing f = {.kind = (uint8_t)kinds[k], .length_includes_self = self,
                         .header_len = (uint16_t)hl};
        assert_int_equal(iso_framing_check(&f), 0);
        uint8_t stream[256];
        size_t total = build_stream(&f, stream, tpdu, a, b);
        for (size_t cut = 0; cut <= total; cut++)
          feed_split(&f, stream, total, cut, a, b, tpdu);
      }
}

static void prefixes_on_the_wire(void **state) {
  (void)state;
  uint8_t p[4];
  iso_framing f = {.kind = ISO_FRAME_LEN2};
  assert_int_equal(iso_frame_put_prefix(&f, 0x0123, p), 2);
  assert_memory_equal(p, "\x01\x23", 2);
  f.kind = ISO_FRAME_LEN4;
  f.max_frame = 100000;
  assert_int_equal(iso_frame_put_prefix(&f, 0x012345, p), 4);
  assert_memory_equal(p, "\x00\x01\x23\x45", 4);
  f.kind = ISO_FRAME_ASCII4;
  f.max_frame = 0;
  assert_int_equal(iso_frame_put_prefix(&f, 123, p), 4);
  assert_memory_equal(p, "0123", 4);
  f.kind = ISO_FRAME_BCD2;
  assert_int_equal(iso_frame_put_prefix(&f, 1234, p), 2);
  assert_memory_equal(p, "\x12\x34", 2);
  f.length_includes_self = true;
  assert_int_equal(iso_frame_put_prefix(&f, 10, p), 2);
  assert_memory_equal(p, "\x00\x12", 2);
  f.kind = ISO_FRAME_ASCII4;
  assert_int_equal(iso_frame_put_prefix(&f, 10, p), 4);
  assert_memory_equal(p, "0014", 4);
}

static void too_large_and_malformed(void **state) {
  (void)state;
  iso_frame fr;
  iso_framing f = {.kind = ISO_FRAME_LEN2, .max_frame = 100};
  uint8_t p[4];
  assert_int_equal(iso_frame_put_prefix(&f, 101, p), ISO_E_FRAME_TOO_LARGE);
  /* the prefix alone is enough to refuse: no need to wait for the body */
  assert_int_equal(iso_frame_split(&f, (const uint8_t *)"\x00\x65", 2, &fr),
                   ISO_E_FRAME_TOO_LARGE);
  assert_int_equal(iso_frame_split(&f, (const uint8_t *)"\x00\x64", 2, &fr),
                   ISO_E_NEED_MORE);
  assert_int_equal(iso_frame_split(&f, (const uint8_t *)"\x00", 1, &fr),
                   ISO_E_NEED_MORE);
  assert_int_equal(iso_frame_split(&f, NULL, 0, &fr), ISO_E_NEED_MORE);

  iso_framing a = {.kind = ISO_FRAME_ASCII4};
  assert_int_equal(iso_frame_split(&a, (const uint8_t *)"00a1", 4, &fr), ISO_E_BAD_FRAME);
  assert_int_equal(iso_frame_split(&a, (const uint8_t *)" 012", 4, &fr), ISO_E_BAD_FRAME);
  assert_int_equal(iso_frame_split(&a, (const uint8_t *)"9999", 4, &fr),
                   ISO_E_FRAME_TOO_LARGE);

  iso_framing b = {.kind = ISO_FRAME_BCD2};
  assert_int_equal(iso_frame_split(&b, (const uint8_t *)"\x0A\x00", 2, &fr), ISO_E_BAD_FRAME);
  assert_int_equal(iso_frame_split(&b, (const uint8_t *)"\x00\xF1", 2, &fr), ISO_E_BAD_FRAME);

  /* a length that counts itself cannot be shorter than itself */
  iso_framing s = {.kind = ISO_FRAME_LEN2, .length_includes_self = true};
  assert_int_equal(iso_frame_split(&s, (const uint8_t *)"\x00\x01", 2, &fr), ISO_E_BAD_FRAME);
  assert_int_equal(iso_frame_split(&s, (const uint8_t *)"\x00\x02", 2, &fr), 2);
  assert_int_equal(fr.len, 0); /* keep-alive */

  /* a frame no longer than its header is malformed */
  iso_framing h = {.kind = ISO_FRAME_LEN2, .header_len = 5};
  assert_int_equal(iso_frame_split(&h, (const uint8_t *)"\x00\x05", 2, &fr), ISO_E_BAD_FRAME);

  /* a 4-byte length near 4 GiB is refused, not overflowed */
  iso_framing l4 = {.kind = ISO_FRAME_LEN4, .length_includes_self = true};
  assert_int_equal(iso_frame_split(&l4, (const uint8_t *)"\xFF\xFF\xFF\xFF", 4, &fr),
                   ISO_E_FRAME_TOO_LARGE);
}

/* The prefix alone announces what put_prefix wrote, for every kind, with and
 * without a self-counting length; errors leave *body_len alone. */
static void prefix_read_alone(void **state) {
  (void)state;
  for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
    for (int self = 0; self < 2; self++) {
      iso_framing f = {.kind = kinds[k], .length_includes_self = self, .max_frame = 9000};
      const uint32_t lens[] = {0, 1, 18, 255, 256, 8999 - (self ? 4u : 0u)};
      for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        uint8_t p[4];
        assert_int_equal(iso_frame_put_prefix(&f, lens[i], p), (int)iso_frame_prefix_size(&f));
        uint32_t got = 12345;
        assert_int_equal(iso_frame_read_prefix(&f, p, &got), 0);
        assert_int_equal(got, lens[i]);
      }
    }
  }
  uint32_t got = 77;
  iso_framing f = {.kind = ISO_FRAME_LEN2, .max_frame = 100};
  assert_int_equal(iso_frame_read_prefix(&f, (const uint8_t *)"\x00\x65", &got),
                   ISO_E_FRAME_TOO_LARGE);
  assert_int_equal(got, 77);
  assert_int_equal(iso_frame_read_prefix(&f, (const uint8_t *)"\x00\x64", &got), 0);
  assert_int_equal(got, 100);
  iso_framing a = {.kind = ISO_FRAME_ASCII4};
  got = 77;
  assert_int_equal(iso_frame_read_prefix(&a, (const uint8_t *)"00a1", &got), ISO_E_BAD_FRAME);
  assert_int_equal(got, 77);
  iso_framing b = {.kind = ISO_FRAME_BCD2, .max_frame = 9999};
  assert_int_equal(iso_frame_read_prefix(&b, (const uint8_t *)"\x00\xF1", &got),
                   ISO_E_BAD_FRAME);
  assert_int_equal(iso_frame_read_prefix(&b, (const uint8_t *)"\x99\x99", &got), 0);
  assert_int_equal(got, 9999);
  iso_framing s = {.kind = ISO_FRAME_LEN4, .length_includes_self = true};
  assert_int_equal(iso_frame_read_prefix(&s, (const uint8_t *)"\x00\x00\x00\x03", &got),
                   ISO_E_BAD_FRAME);
  assert_int_equal(iso_frame_read_prefix(&s, (const uint8_t *)"\x00\x00\x00\x04", &got), 0);
  assert_int_equal(got, 0); /* keep-alive */
  iso_framing h = {.kind = ISO_FRAME_LEN2, .header_len = 5};
  assert_int_equal(iso_frame_read_prefix(&h, (const uint8_t *)"\x00\x05", &got),
                   ISO_E_BAD_FRAME);
  assert_int_equal(iso_frame_read_prefix(&h, (const uint8_t *)"\x00\x06", &got), 0);
  assert_int_equal(got, 6);
}

static void rules_checked(void **state) {
  (void)state;
  iso_framing f = {.kind = 9};
  assert_int_equal(iso_framing_check(&f), ISO_E_INVAL);
  iso_framing h = {.kind = ISO_FRAME_LEN2, .header_len = 200, .max_frame = 100};
  assert_int_equal(iso_framing_check(&h), ISO_E_INVAL);
  iso_framing big = {.kind = ISO_FRAME_BCD2, .max_frame = 100000};
  assert_int_equal(iso_frame_max_body(&big), 9999);
  iso_frame_kind k;
  assert_int_equal(iso_frame_kind_parse("ascii4", &k), 0);
  assert_int_equal(k, ISO_FRAME_ASCII4);
  assert_int_equal(iso_frame_kind_parse("bcd2", &k), 0);
  assert_int_equal(k, ISO_FRAME_BCD2);
  assert_int_equal(iso_frame_kind_parse("len3", &k), ISO_E_INVAL);
}

/* Random bytes in exact-size buffers: every result is one of the four, a
 * frame never claims more than the buffer, and ASan sees no read past it. */
static void random_input_never_overreads(void **state) {
  (void)state;
  uint32_t x = 0x9E3779B9u;
  for (int round = 0; round < 20000; round++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    size_t len = x % 40;
    uint8_t *buf = malloc(len ? len : 1);
    for (size_t i = 0; i < len; i++) {
      x = x * 1664525u + 1013904223u;
      buf[i] = (uint8_t)(round % 3 == 0 ? '0' + (x >> 24) % 10 : x >> 24);
    }
    iso_framing f = {.kind = (uint8_t)(x % 4), .length_includes_self = (x >> 8) & 1,
                     .header_len = (uint16_t)((x >> 9) % 3), .max_frame = 32};
    iso_frame fr;
    int rc = iso_frame_split(&f, len ? buf : NULL, len, &fr);
    assert_true(rc == ISO_E_NEED_MORE || rc == ISO_E_BAD_FRAME ||
                rc == ISO_E_FRAME_TOO_LARGE || (rc > 0 && (size_t)rc <= len));
    if (rc > 0 && fr.len) {
      assert_true(fr.payload + fr.len <= buf + len);
      assert_true(fr.len + fr.header_len <= 32);
    }
    /* the prefix read alone agrees with the splitter */
    size_t psize = iso_frame_prefix_size(&f);
    if (len >= psize) {
      uint32_t body = 0;
      int prc = iso_frame_read_prefix(&f, buf, &body);
      if (prc < 0) {
        assert_int_equal(rc, prc);
      } else if (rc > 0) {
        assert_int_equal((size_t)rc, psize + body);
      } else {
        assert_int_equal(rc, ISO_E_NEED_MORE);
        assert_true(len < psize + body);
      }
    }
    free(buf);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_kind_every_cut),
      cmocka_unit_test(prefixes_on_the_wire),
      cmocka_unit_test(too_large_and_malformed),
      cmocka_unit_test(prefix_read_alone),
      cmocka_unit_test(rules_checked),
      cmocka_unit_test(random_input_never_overreads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
