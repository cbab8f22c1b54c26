/*
 * flow/siphash.c -- SipHash-2-4 (Aumasson and Bernstein), a keyed 64-bit
 * hash.  The flow uses it for transaction fingerprints, so that a fingerprint
 * over DE 2, 3, 4, 49 cannot be turned back into a PAN without the key, and
 * for the idempotency store's hash table.
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

uint64_t iso__siphash(const uint8_t key[16], const void *data, size_t len) {
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
    SIPROUND;
    SIPROUND;
    v0 ^= m;
  }
  uint8_t last[8] = {0};
  memcpy(last, in, len & 7);
  uint64_t b = ((uint64_t)len << 56) | load64(last);
  v3 ^= b;
  SIPROUND;
  SIPROUND;
  v0 ^= b;
  v2 ^= 0xff;
  SIPROUND;
  SIPROUND;
  SIPROUND;
  SIPROUND;
  return v0 ^ v1 ^ v2 ^ v3;
}
