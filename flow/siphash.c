/*
 * flow/siphash.c -- SipHash (Aumasson and Bernstein), a keyed 64-bit hash,
 * in two strengths:
 *
 *   SipHash-2-4  the PRF of the paper: transaction fingerprints, so that a
 *                fingerprint over DE 2, 3, 4, 49 cannot be turned back into
 *                a PAN without the key;
 *   SipHash-1-3  half the rounds, for the idempotency store's hash table:
 *                what Rust's HashMap and CPython (3.11 on) use against hash
 *                flooding.  An attacker who controls the keys (DE 11, 32, 41
 *                ...) still cannot aim them at one bucket without the key,
 *                and no secret depends on it.
 */
#include <string.h>

#include "flow/flow_internal.h"

static inline uint64_t rotl(uint64_t x, int b) {
  return (x << b) | (x >> (64 - b));
}

/* A little-endian 64-bit load: one instruction on x86, a byte swap on
 * big-endian machines. */
static inline uint64_t load64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
  v = __builtin_bswap64(v);
#endif
  return v;
}

#define SIPROUND                                                              \
  do {                                                                        \
    v0 += v1; v1 = rotl(v1, 13); v1 ^= v0; v0 = rotl(v0, 32);                 \
    v2 += v3; v3 = rotl(v3, 16); v3 ^= v2;                                    \
    v0 += v3; v3 = rotl(v3, 21); v3 ^= v0;                                    \
    v2 += v1; v1 = rotl(v1, 17); v1 ^= v2; v2 = rotl(v2, 32);                 \
  } while (0)

/* c rounds per message word, d at the end: constants at each call, so the
 * compiler unrolls them. */
static inline uint64_t siphash_cd(const uint8_t key[16], const void *data,
                                  size_t len, int c, int d) {
  const uint8_t *in = data;
  uint64_t k0 = load64(key), k1 = load64(key + 8);
  uint64_t v0 = 0x736f6d6570736575ull ^ k0;
  uint64_t v1 = 0x646f72616e646f6dull ^ k1;
  uint64_t v2 = 0x6c7967656e657261ull ^ k0;
  uint64_t v3 = 0x7465646279746573ull ^ k1;
  const uint8_t *end = in + (len & ~(size_t)7);
  for (; in != end; in += 8) {
    uint64_t m = load64(in);
    v3 ^= m;
    for (int i = 0; i < c; i++) SIPROUND;
    v0 ^= m;
  }
  uint8_t last[8] = {0};
  memcpy(last, in, len & 7);
  uint64_t b = ((uint64_t)len << 56) | load64(last);
  v3 ^= b;
  for (int i = 0; i < c; i++) SIPROUND;
  v0 ^= b;
  v2 ^= 0xff;
  for (int i = 0; i < d; i++) SIPROUND;
  return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t iso__siphash(const uint8_t key[16], const void *data, size_t len) {
  return siphash_cd(key, data, len, 2, 4);
}

uint64_t iso__siphash13(const uint8_t key[16], const void *data, size_t len) {
  return siphash_cd(key, data, len, 1, 3);
}
