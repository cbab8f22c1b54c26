/*
 * bench/bench_codec.c -- the ISO 8583 codec's hot paths on a realistic
 * 15-field 0200 (purchase request) in iso87a-bbitmap:
 *
 *   codec.pack.0200          ns to pack it from canonical values
 *   codec.unpack.0200        ns to unpack it (zero copy)
 *   codec.key.0200           ns to read DE 11 and DE 41 with iso_peek_fields
 *   codec.unpack.0200.allocs malloc calls per unpack, counted for real
 *   codec.{pack,unpack}.0200.iso87b  the same message in iso87b (BCD)
 *
 * Allocation counting: bench/support/allocs.c interposes malloc and counts
 * every call; the library is linked statically, so every allocation the
 * codec makes goes through the counter.
 *
 * Each timing is the median of 5 runs of N operations; --quick makes N small.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isoflow/iso8583.h"
#include "support/bench.h"

#define RUNS 5

static volatile size_t sink;

/* ---- the message ------------------------------------------------------- */

static void fill_0200(iso_msg *m) {
  iso_msg_set_mti(m, "0200");
  iso_msg_set_str(m, 2, "4761739001010119");
  iso_msg_set_str(m, 3, "000000");
  iso_msg_set_str(m, 4, "000000012550");
  iso_msg_set_str(m, 7, "1123101500");
  iso_msg_set_str(m, 11, "004711");
  iso_msg_set_str(m, 12, "101500");
  iso_msg_set_str(m, 13, "1123");
  iso_msg_set_str(m, 14, "2812");
  iso_msg_set_str(m, 22, "051");
  iso_msg_set_str(m, 25, "00");
  iso_msg_set_str(m, 35, "4761739001010119=28122011758900540");
  iso_msg_set_str(m, 37, "332710004711");
  iso_msg_set_str(m, 41, "TERM0042");
  iso_msg_set_str(m, 42, "MERCHANT0000042");
  iso_msg_set_str(m, 49, "978");
}

int main(int argc, char **argv) {
  long n = 1000000;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0) n = 50000;
  }
  const iso_spec *spec = iso_spec_builtin("iso87a-bbitmap");
  if (!spec) {
    fprintf(stderr, "bench: no iso87a-bbitmap spec\n");
    return 1;
  }
  iso_msg m;
  iso_msg_init(&m, spec);
  fill_0200(&m);
  uint8_t wire[512];
  size_t len = 0;
  iso_error err;
  if (iso_msg_pack(&m, wire, sizeof wire, &len, &err) != 0) {
    fprintf(stderr, "bench: pack failed: field %d: %s\n", err.field, err.reason);
    return 1;
  }

  iso_msg u;
  iso_msg_init(&u, spec);
  int key_fields[2] = {11, 41};
  iso_field_ref key[2];
  char mti[4];
  double pack_ns[RUNS], unpack_ns[RUNS], key_ns[RUNS];

  for (int r = 0; r < RUNS; r++) {
    uint8_t out[512];
    size_t out_len = 0;
    double t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
      iso_msg_pack(&m, out, sizeof out, &out_len, NULL);
      sink += out_len;
    }
    pack_ns[r] = (bench_now_ns() - t0) / (double)n;

    t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
      if (iso_msg_unpack(&u, wire, len, NULL) != 0) return 1;
      sink += u.nslots;
    }
    unpack_ns[r] = (bench_now_ns() - t0) / (double)n;

    t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
      if (iso_peek_fields(spec, wire, len, mti, key_fields, 2, key, NULL)) return 1;
      sink += key[1].len;
    }
    key_ns[r] = (bench_now_ns() - t0) / (double)n;
  }

  /* Prove the counter sees the library's allocations: a 512-byte copy
   * cannot fit the inline arena and takes exactly one malloc'd block. */
  static char big[512];
  iso_msg probe;
  iso_msg_init(&probe, spec);
  unsigned long before = bench_allocs();
  iso_msg_set_copy(&probe, 48, big, sizeof big);
  if (bench_allocs() - before != 1) {
    fprintf(stderr, "bench: allocation counter does not see the codec\n");
    return 1;
  }
  iso_msg_cleanup(&probe);

  before = bench_allocs();
  for (long i = 0; i < n; i++) iso_msg_unpack(&u, wire, len, NULL);
  double allocs = (double)(bench_allocs() - before) / (double)n;

  /* The same message in iso87b (BCD numerics and prefixes), for scale:
   * every numeric value is BCD-encoded on pack and its nibbles checked on
   * unpack. */
  const iso_spec *bcd = iso_spec_builtin("iso87b");
  iso_msg mb, ub;
  iso_msg_init(&mb, bcd);
  iso_msg_init(&ub, bcd);
  fill_0200(&mb);
  uint8_t wire_b[512];
  size_t len_b = 0;
  if (iso_msg_pack(&mb, wire_b, sizeof wire_b, &len_b, NULL) != 0) return 1;
  double pack_b[RUNS], unpack_b[RUNS];
  for (int r = 0; r < RUNS; r++) {
    uint8_t out[512];
    size_t out_len = 0;
    double t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
      iso_msg_pack(&mb, out, sizeof out, &out_len, NULL);
      sink += out_len;
    }
    pack_b[r] = (bench_now_ns() - t0) / (double)n;
    t0 = bench_now_ns();
    for (long i = 0; i < n; i++) {
      if (iso_msg_unpack(&ub, wire_b, len_b, NULL) != 0) return 1;
      sink += ub.nslots;
    }
    unpack_b[r] = (bench_now_ns() - t0) / (double)n;
  }
  iso_msg_cleanup(&mb);
  iso_msg_cleanup(&ub);

  printf("bench: codec.pack.0200 %.1f ns/op\n", bench_median(pack_ns, RUNS));
  printf("bench: codec.unpack.0200 %.1f ns/op\n", bench_median(unpack_ns, RUNS));
  printf("bench: codec.key.0200 %.1f ns/op\n", bench_median(key_ns, RUNS));
  printf("bench: codec.unpack.0200.allocs %.3f allocs/op\n", allocs);
  printf("bench: codec.msg.0200.bytes %zu bytes\n", len);
  printf("bench: codec.pack.0200.iso87b %.1f ns/op\n", bench_median(pack_b, RUNS));
  printf("bench: codec.unpack.0200.iso87b %.1f ns/op\n", bench_median(unpack_b, RUNS));
  iso_msg_cleanup(&u);
  iso_msg_cleanup(&m);
  return 0;
}
