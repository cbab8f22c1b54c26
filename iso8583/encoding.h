/*
 * iso8583/encoding.h -- wire-encoding primitives shared inside iso8583/.
 *
 * Pack, unpack, peek, message access and the JSON/describe code all convert
 * between a field's canonical value (ASCII text, or raw bytes for binary
 * content) and its wire form.  The conversions live here, once.
 *
 * Lengths.  A field's length -- the value of its length prefix, its fixed
 * length and its maximum -- always counts canonical units: characters for
 * text content (digits for numeric and track fields, the sign included for
 * amounts), bytes for binary content.  It never counts wire bytes: an LL BCD
 * PAN of 19 digits has the prefix 19 and 10 bytes of data, an LLL binary
 * field shown as hex (ISO_ENC_HEX) with 8 bytes has the prefix 8 and 16
 * characters of data.  iso__wire_len turns one into the other.
 *
 * BCD.  ISO_ENC_BCD is right-aligned (an odd count gets a pad nibble first),
 * ISO_ENC_BCD_LEFT left-aligned (pad nibble last).  Pack writes 0 as the pad
 * nibble; unpack accepts 0 or F.  Track data (ISO_CONTENT_Z) maps the
 * separator '=' (or 'D') to the nibble D.  An amount (ISO_CONTENT_XN) in BCD
 * is its sign as one ASCII byte followed by the digits in BCD.
 *
 * Length prefixes take (k + 1) / 2 bytes for k digits in BCD and BINARY
 * (BINARY: a big-endian count), k bytes in ASCII and EBCDIC.
 */
#ifndef ISOFLOW_ISO8583_ENCODING_H
#define ISOFLOW_ISO8583_ENCODING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "isoflow/iso8583.h"

/** cp037 tables: EBCDIC byte -> ASCII byte and back.  Characters with no
 *  counterpart map to 0x3F ('?' in ASCII) / 0x6F ('?' in EBCDIC). */
extern const uint8_t iso__ebcdic_to_ascii[256];
extern const uint8_t iso__ascii_to_ebcdic[256];

/** Upper-case hex digits, "0123456789ABCDEF". */
extern const char iso__hex_digits[16];

/** iso__hex_encode -- writes 2 * n upper-case hex characters for in[0..n). */
void iso__hex_encode(const uint8_t *in, size_t n, char *out);

/** iso__hex_decode -- decodes nchars hex characters (either case) into
 *  nchars / 2 bytes.  Returns 0, or -1 when nchars is odd or a character is
 *  not hex (*bad, when not NULL, gets the index of the first bad one). */
int iso__hex_decode(const char *in, size_t nchars, uint8_t *out, size_t *bad);

/** iso__ebcdic_decode / iso__ebcdic_encode -- byte-for-byte conversion. */
void iso__ebcdic_decode(const uint8_t *in, size_t n, uint8_t *out);
void iso__ebcdic_encode(const uint8_t *in, size_t n, uint8_t *out);

/**
 * iso__bcd_encode -- packs ndigits characters into (ndigits + 1) / 2 bytes.
 * Digits map to 0..9; with `track`, '=' and 'D' map to the nibble D.  `left`
 * selects left alignment (pad nibble last).  Returns 0, or -1 with *bad set
 * to the index of the first character that cannot be packed.
 */
int iso__bcd_encode(const char *in, size_t ndigits, uint8_t *out, bool left,
                    bool track, size_t *bad);

/**
 * iso__bcd_decode -- unpacks ndigits characters from (ndigits + 1) / 2
 * bytes.  Returns 0, ISO_E_NOT_NUMERIC for a nibble above 9 (D is '=' with
 * `track`), or ISO_E_BAD_PAD when the pad nibble is neither 0 nor F; *bad
 * receives the index of the offending byte.
 */
int iso__bcd_decode(const uint8_t *in, size_t ndigits, char *out, bool left,
                    bool track, size_t *bad);

/** iso__bcd_check -- iso__bcd_decode's checks without writing anything. */
int iso__bcd_check(const uint8_t *in, size_t ndigits, bool left, bool track,
                   size_t *bad);

/** iso__is_digits -- whether in[0..n) are all ASCII digits; when not, *bad
 *  gets the index of the first non-digit. */
bool iso__is_digits(const uint8_t *in, size_t n, size_t *bad);

/* Eight bytes at a time: a byte b is a digit when its high nibble is 3 and
 * b + 6 keeps it 3 (0x30..0x39 + 6 stays below 0x40).  When every high
 * nibble is 3 no addition carries into the next byte, so the test is exact
 * for the whole word. */
static inline bool iso__word_is_digits(uint64_t x) {
  const uint64_t hi = 0xF0F0F0F0F0F0F0F0ull, three = 0x3030303030303030ull;
  return (x & hi) == three && ((x + 0x0606060606060606ull) & hi) == three;
}

/* Printable ASCII (0x20..0x7E) in eight bytes: none below 0x20, none with
 * the top bit, none equal to 0x7F (the classic "has less than" and "has
 * zero byte" word tricks). */
static inline bool iso__word_is_printable(uint64_t x) {
  const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
  uint64_t below = (x - ones * 0x20) & ~x & highs;
  uint64_t y = x ^ (ones * 0x7F);
  uint64_t del = (y - ones) & ~y & highs;
  return !((x & highs) | below | del);
}

/* Track data (digits and '=') in eight bytes: each '=' (0x3D) is turned
 * into '0' (0x30) and the word must then be all digits.  The zero-byte mask
 * used here is the exact form (no false positives).  'D' as a separator is
 * left to the byte-by-byte check. */
static inline bool iso__word_is_track(uint64_t x) {
  const uint64_t low7 = 0x7F7F7F7F7F7F7F7Full;
  uint64_t y = x ^ 0x3D3D3D3D3D3D3D3Dull;
  uint64_t zero = ~(((y & low7) + low7) | y | low7); /* 0x80 where '=' */
  return iso__word_is_digits(x - (zero >> 7) * 0x0D);
}

/* Up to 7 digits, without a byte loop: the value is read in two
 * overlapping halves and the rest of the word filled with '0'. */
static inline bool iso__short_is_digits(const uint8_t *in, size_t n) {
  uint64_t x = 0x3030303030303030ull;
  if (n >= 4) {
    uint32_t a, b;
    __builtin_memcpy(&a, in, 4);
    __builtin_memcpy(&b, in + n - 4, 4);
    x = (uint64_t)a << 32 | b;
  } else if (n >= 2) {
    uint16_t a, b;
    __builtin_memcpy(&a, in, 2);
    __builtin_memcpy(&b, in + n - 2, 2);
    x = 0x3030303000000000ull | (uint64_t)a << 16 | b;
  } else if (n == 1) {
    x = 0x3030303030303000ull | in[0];
  }
  return iso__word_is_digits(x);
}

/* Character classes (iso__char_class[c] is a mask of these). */
enum {
  ISO__C_DIGIT = 1,
  ISO__C_ALPHA = 2,
  ISO__C_SPACE = 4,
  ISO__C_PRINT = 8,
  ISO__C_TRACK = 16 /* digits, '=' and 'D' */
};
extern const uint8_t iso__char_class[256];

/* Whether all of in[0..n) pass the word test: whole words, then the last 8
 * bytes again (overlapping) so that no byte loop is needed. */
#define ISO__ALL_WORDS(in, n, word_ok)                  \
  do {                                                  \
    uint64_t x_;                                        \
    size_t i_ = 0;                                      \
    for (; i_ + 8 <= (n); i_ += 8) {                    \
      __builtin_memcpy(&x_, (in) + i_, 8);              \
      if (!word_ok(x_)) return false;                   \
    }                                                   \
    if (i_ < (n)) {                                     \
      __builtin_memcpy(&x_, (in) + (n) - 8, 8);         \
      if (!word_ok(x_)) return false;                   \
    }                                                   \
    return true;                                        \
  } while (0)

/** iso__quick_content_ok -- a yes-only fast answer for the hot paths:
 *  true when in[0..n) is surely valid content; false means "ask
 *  iso__check_content" (which also finds the bad byte and its code). */
static inline bool iso__quick_content_ok(uint8_t content, const uint8_t *in,
                                         size_t n) {
  uint8_t want;
  switch (content) {
    case ISO_CONTENT_N:
      if (n >= 8) ISO__ALL_WORDS(in, n, iso__word_is_digits);
      return iso__short_is_digits(in, n);
    case ISO_CONTENT_ANS:
    case ISO_CONTENT_NS:
      if (n >= 8) ISO__ALL_WORDS(in, n, iso__word_is_printable);
      want = ISO__C_PRINT;
      break;
    case ISO_CONTENT_AN:
      want = ISO__C_ALPHA | ISO__C_DIGIT | ISO__C_SPACE;
      break;
    case ISO_CONTENT_A:
      want = ISO__C_ALPHA | ISO__C_SPACE;
      break;
    case ISO_CONTENT_Z:
      if (n >= 8) {
        bool words_ok = true;
        size_t i = 0;
        for (; i + 8 <= n && words_ok; i += 8) {
          uint64_t x;
          __builtin_memcpy(&x, in + i, 8);
          words_ok = iso__word_is_track(x);
        }
        if (words_ok && i < n) {
          uint64_t x;
          __builtin_memcpy(&x, in + n - 8, 8);
          words_ok = iso__word_is_track(x);
        }
        if (words_ok) return true;
      }
      want = ISO__C_TRACK; /* short, or a 'D' separator somewhere */
      break;
    case ISO_CONTENT_B:
      return true;
    default:
      return false; /* amounts: the sign needs the full check */
  }
  for (size_t i = 0; i < n; i++)
    if (!(iso__char_class[in[i]] & want)) return false;
  return true;
}

/**
 * iso__check_content -- checks a canonical value against a content class:
 * n digits; a letters (and spaces); an letters, digits, spaces; ans and ns
 * printable ASCII (0x20..0x7E); z digits and '=' (or 'D'); xn 'C'/'D' then
 * digits; b anything.  Returns 0, or ISO_E_NOT_NUMERIC (numeric classes) /
 * ISO_E_BAD_CHAR with *bad the index of the first bad character.
 */
int iso__check_content(uint8_t content, const uint8_t *in, size_t n,
                       size_t *bad);

/** iso__prefix_bytes -- bytes of a length prefix of `digits` digits (1..6)
 *  in encoding `enc`; 0 for a fixed field (digits == 0). */
static inline uint32_t iso__prefix_bytes(unsigned digits, unsigned enc) {
  if (digits == 0) return 0;
  if (enc == ISO_ENC_BCD || enc == ISO_ENC_BINARY) return (digits + 1) / 2;
  return digits;
}

/** iso__wire_len -- the bytes on the wire for a value of `len` canonical
 *  units with this content and data encoding (prefix excluded). */
static inline uint32_t iso__wire_len(unsigned content, unsigned enc,
                                     uint32_t len) {
  switch (enc) {
    case ISO_ENC_BCD:
    case ISO_ENC_BCD_LEFT:
      if (content == ISO_CONTENT_XN) return len ? 1 + len / 2 : 0;
      return (len + 1) / 2;
    case ISO_ENC_HEX:
      return 2 * len;
    default:
      return len;
  }
}

/**
 * iso__prefix_read -- decodes a length prefix of `digits` digits from
 * in[0..iso__prefix_bytes).  Returns the length (>= 0) or -1 when the prefix
 * is not a valid number in its encoding.
 */
long iso__prefix_read(const uint8_t *in, unsigned digits, unsigned enc);

/** iso__prefix_write -- writes `len` as a prefix of `digits` digits; the
 *  caller has checked that it fits (len < 10^digits). */
void iso__prefix_write(uint8_t *out, uint32_t len, unsigned digits,
                       unsigned enc);

/**
 * iso__decode_value -- turns a field's wire form (wire[0..wire_len), len
 * canonical units) into its canonical form in out[0..len).  Returns 0 or the
 * ISO_E_* code of the first bad byte (its index in *bad).
 */
int iso__decode_value(const iso_field_def *def, const uint8_t *wire,
                      uint32_t len, uint8_t *out, size_t *bad);

#endif /* ISOFLOW_ISO8583_ENCODING_H */
