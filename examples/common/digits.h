/*
 * examples/common/digits.h -- decimal digits without printf and scanf, for
 * what the example programs do once per message: the acquirer's amounts,
 * STANs and RRNs, the issuer's authorization codes and "card:amount" hold
 * values.  A profile of the issuer put snprintf and sscanf at 8% of its
 * worker's instructions; these do the same work in a few dozen.
 */
#ifndef ISOFLOW_EXAMPLES_DIGITS_H
#define ISOFLOW_EXAMPLES_DIGITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/** iso__digits_fixed -- v modulo 10^width as exactly `width` digits, zero
 *  padded, then a NUL (out holds width + 1 bytes).  width 1..19. */
void iso__digits_fixed(char *out, uint64_t v, size_t width);

/** iso__digits_u64 -- v in decimal without padding, then a NUL (out holds
 *  21 bytes).  Returns the number of digits. */
size_t iso__digits_u64(char *out, uint64_t v);

/** iso__digits_parse -- the len bytes at p as a decimal number: only digits,
 *  at least one, and at most `max`.  false otherwise (*out untouched). */
bool iso__digits_parse(const char *p, size_t len, uint64_t max, uint64_t *out);

#endif
