/*
 * examples/common/digits.c -- decimal formatting and strict parsing (see
 * digits.h).
 */
#include "examples/common/digits.h"

void iso__digits_fixed(char *out, uint64_t v, size_t width) {
  out[width] = '\0';
  for (size_t i = width; i > 0; i--) {
    out[i - 1] = (char)('0' + v % 10);
    v /= 10;
  }
}

size_t iso__digits_u64(char *out, uint64_t v) {
  char rev[20];
  size_t n = 0;
  do {
    rev[n++] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  for (size_t i = 0; i < n; i++) out[i] = rev[n - 1 - i];
  out[n] = '\0';
  return n;
}

bool iso__digits_parse(const char *p, size_t len, uint64_t max, uint64_t *out) {
  if (len == 0) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < len; i++) {
    if (p[i] < '0' || p[i] > '9') return false;
    uint64_t d = (uint64_t)(p[i] - '0');
    if (v > (max - d) / 10) return false; /* v * 10 + d > max */
    v = v * 10 + d;
  }
  *out = v;
  return true;
}
