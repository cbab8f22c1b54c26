/*
 * iso8583/encoding.c -- the wire-encoding primitives (see encoding.h):
 * EBCDIC code page 037, hex, BCD, digit and content checks, length prefixes.
 *
 * These run in the hot paths of pack and unpack, so they work on whole
 * buffers with table look-ups rather than a function call per byte.
 */
#include "iso8583/encoding.h"

#include <string.h>

/* Code page 037 maps all 256 bytes one-to-one onto Latin-1, so both tables
 * are complete permutations (generated from the cp037 definition). */
const uint8_t iso__ebcdic_to_ascii[256] = {
    0x00, 0x01, 0x02, 0x03, 0x9C, 0x09, 0x86, 0x7F, 0x97, 0x8D, 0x8E, 0x0B,
    0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x11, 0x12, 0x13, 0x9D, 0x85, 0x08, 0x87,
    0x18, 0x19, 0x92, 0x8F, 0x1C, 0x1D, 0x1E, 0x1F, 0x80, 0x81, 0x82, 0x83,
    0x84, 0x0A, 0x17, 0x1B, 0x88, 0x89, 0x8A, 0x8B, 0x8C, 0x05, 0x06, 0x07,
    0x90, 0x91, 0x16, 0x93, 0x94, 0x95, 0x96, 0x04, 0x98, 0x99, 0x9A, 0x9B,
    0x14, 0x15, 0x9E, 0x1A, 0x20, 0xA0, 0xE2, 0xE4, 0xE0, 0xE1, 0xE3, 0xE5,
    0xE7, 0xF1, 0xA2, 0x2E, 0x3C, 0x28, 0x2B, 0x7C, 0x26, 0xE9, 0xEA, 0xEB,
    0xE8, 0xED, 0xEE, 0xEF, 0xEC, 0xDF, 0x21, 0x24, 0x2A, 0x29, 0x3B, 0xAC,
    0x2D, 0x2F, 0xC2, 0xC4, 0xC0, 0xC1, 0xC3, 0xC5, 0xC7, 0xD1, 0xA6, 0x2C,
    0x25, 0x5F, 0x3E, 0x3F, 0xF8, 0xC9, 0xCA, 0xCB, 0xC8, 0xCD, 0xCE, 0xCF,
    0xCC, 0x60, 0x3A, 0x23, 0x40, 0x27, 0x3D, 0x22, 0xD8, 0x61, 0x62, 0x63,
    0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0xAB, 0xBB, 0xF0, 0xFD, 0xFE, 0xB1,
    0xB0, 0x6A, 0x6B, 0x6C, 0x6D, 0x6E, 0x6F, 0x70, 0x71, 0x72, 0xAA, 0xBA,
    0xE6, 0xB8, 0xC6, 0xA4, 0xB5, 0x7E, 0x73, 0x74, 0x75, 0x76, 0x77, 0x78,
    0x79, 0x7A, 0xA1, 0xBF, 0xD0, 0xDD, 0xDE, 0xAE, 0x5E, 0xA3, 0xA5, 0xB7,
    0xA9, 0xA7, 0xB6, 0xBC, 0xBD, 0xBE, 0x5B, 0x5D, 0xAF, 0xA8, 0xB4, 0xD7,
    0x7B, 0x41, 0x42, 0x43, 0x44, 0x45, 0x46, 0x47, 0x48, 0x49, 0xAD, 0xF4,
    0xF6, 0xF2, 0xF3, 0xF5, 0x7D, 0x4A, 0x4B, 0x4C, 0x4D, 0x4E, 0x4F, 0x50,
    0x51, 0x52, 0xB9, 0xFB, 0xFC, 0xF9, 0xFA, 0xFF, 0x5C, 0xF7, 0x53, 0x54,
    0x55, 0x56, 0x57, 0x58, 0x59, 0x5A, 0xB2, 0xD4, 0xD6, 0xD2, 0xD3, 0xD5,
    0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39, 0xB3, 0xDB,
    0xDC, 0xD9, 0xDA, 0x9F,
};

const uint8_t iso__ascii_to_ebcdic[256] = {
    0x00, 0x01, 0x02, 0x03, 0x37, 0x2D, 0x2E, 0x2F, 0x16, 0x05, 0x25, 0x0B,
    0x0C, 0x0D, 0x0E, 0x0F, 0x10, 0x11, 0x12, 0x13, 0x3C, 0x3D, 0x32, 0x26,
    0x18, 0x19, 0x3F, 0x27, 0x1C, 0x1D, 0x1E, 0x1F, 0x40, 0x5A, 0x7F, 0x7B,
    0x5B, 0x6C, 0x50, 0x7D, 0x4D, 0x5D, 0x5C, 0x4E, 0x6B, 0x60, 0x4B, 0x61,
    0xF0, 0xF1, 0xF2, 0xF3, 0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0x7A, 0x5E,
    0x4C, 0x7E, 0x6E, 0x6F, 0x7C, 0xC1, 0xC2, 0xC3, 0xC4, 0xC5, 0xC6, 0xC7,
    0xC8, 0xC9, 0xD1, 0xD2, 0xD3, 0xD4, 0xD5, 0xD6, 0xD7, 0xD8, 0xD9, 0xE2,
    0xE3, 0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xBA, 0xE0, 0xBB, 0xB0, 0x6D,
    0x79, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x91, 0x92,
    0x93, 0x94, 0x95, 0x96, 0x97, 0x98, 0x99, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6,
    0xA7, 0xA8, 0xA9, 0xC0, 0x4F, 0xD0, 0xA1, 0x07, 0x20, 0x21, 0x22, 0x23,
    0x24, 0x15, 0x06, 0x17, 0x28, 0x29, 0x2A, 0x2B, 0x2C, 0x09, 0x0A, 0x1B,
    0x30, 0x31, 0x1A, 0x33, 0x34, 0x35, 0x36, 0x08, 0x38, 0x39, 0x3A, 0x3B,
    0x04, 0x14, 0x3E, 0xFF, 0x41, 0xAA, 0x4A, 0xB1, 0x9F, 0xB2, 0x6A, 0xB5,
    0xBD, 0xB4, 0x9A, 0x8A, 0x5F, 0xCA, 0xAF, 0xBC, 0x90, 0x8F, 0xEA, 0xFA,
    0xBE, 0xA0, 0xB6, 0xB3, 0x9D, 0xDA, 0x9B, 0x8B, 0xB7, 0xB8, 0xB9, 0xAB,
    0x64, 0x65, 0x62, 0x66, 0x63, 0x67, 0x9E, 0x68, 0x74, 0x71, 0x72, 0x73,
    0x78, 0x75, 0x76, 0x77, 0xAC, 0x69, 0xED, 0xEE, 0xEB, 0xEF, 0xEC, 0xBF,
    0x80, 0xFD, 0xFE, 0xFB, 0xFC, 0xAD, 0xAE, 0x59, 0x44, 0x45, 0x42, 0x46,
    0x43, 0x47, 0x9C, 0x48, 0x54, 0x51, 0x52, 0x53, 0x58, 0x55, 0x56, 0x57,
    0x8C, 0x49, 0xCD, 0xCE, 0xCB, 0xCF, 0xCC, 0xE1, 0x70, 0xDD, 0xDE, 0xDB,
    0xDC, 0x8D, 0x8E, 0xDF,
};

const char iso__hex_digits[16] = "0123456789ABCDEF";

/* Hex digit value, or 0xFF for a character that is not a hex digit. */
static const uint8_t hex_value[256] = {
    ['0'] = 0,  ['1'] = 1,  ['2'] = 2,  ['3'] = 3,  ['4'] = 4,  ['5'] = 5,
    ['6'] = 6,  ['7'] = 7,  ['8'] = 8,  ['9'] = 9,  ['A'] = 10, ['B'] = 11,
    ['C'] = 12, ['D'] = 13, ['E'] = 14, ['F'] = 15, ['a'] = 10, ['b'] = 11,
    ['c'] = 12, ['d'] = 13, ['e'] = 14, ['f'] = 15,
};
static const bool hex_valid[256] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
    ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['A'] = 1, ['B'] = 1,
    ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['a'] = 1, ['b'] = 1,
    ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
};

void iso__hex_encode(const uint8_t *in, size_t n, char *out) {
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = iso__hex_digits[in[i] >> 4];
    out[2 * i + 1] = iso__hex_digits[in[i] & 0x0F];
  }
}

int iso__hex_decode(const char *in, size_t nchars, uint8_t *out, size_t *bad) {
  const uint8_t *s = (const uint8_t *)in;
  if (nchars % 2) {
    if (bad) *bad = nchars;
    return -1;
  }
  for (size_t i = 0; i < nchars; i += 2) {
    if (!hex_valid[s[i]] || !hex_valid[s[i + 1]]) {
      if (bad) *bad = hex_valid[s[i]] ? i + 1 : i;
      return -1;
    }
    out[i / 2] = (uint8_t)(hex_value[s[i]] << 4 | hex_value[s[i + 1]]);
  }
  return 0;
}

void iso__ebcdic_decode(const uint8_t *in, size_t n, uint8_t *out) {
  for (size_t i = 0; i < n; i++) out[i] = iso__ebcdic_to_ascii[in[i]];
}

void iso__ebcdic_encode(const uint8_t *in, size_t n, uint8_t *out) {
  for (size_t i = 0; i < n; i++) out[i] = iso__ascii_to_ebcdic[in[i]];
}

/* Nibble for a character, or 0xFF when it cannot be packed: digits, and
 * for track data also the separator ('=' or 'D' -> D). */
static const uint8_t digit_nibble[256] = {
    [0 ... '0' - 1] = 0xFF, ['0'] = 0, ['1'] = 1, ['2'] = 2, ['3'] = 3,
    ['4'] = 4, ['5'] = 5, ['6'] = 6, ['7'] = 7, ['8'] = 8, ['9'] = 9,
    ['9' + 1 ... 255] = 0xFF,
};
static const uint8_t track_nibble[256] = {
    [0 ... '0' - 1] = 0xFF, ['0'] = 0, ['1'] = 1, ['2'] = 2, ['3'] = 3,
    ['4'] = 4, ['5'] = 5, ['6'] = 6, ['7'] = 7, ['8'] = 8, ['9'] = 9,
    [':' ... '<'] = 0xFF, ['='] = 0x0D, ['>' ... 'C'] = 0xFF, ['D'] = 0x0D,
    ['E' ... 255] = 0xFF,
};

int iso__bcd_encode(const char *in, size_t ndigits, uint8_t *out, bool left,
                    bool track, size_t *bad) {
  const uint8_t *s = (const uint8_t *)in;
  const uint8_t *nib = track ? track_nibble : digit_nibble;
  size_t i = 0, o = 0;
  if ((ndigits & 1) && !left) { /* right-aligned: the pad nibble leads */
    if (nib[s[0]] == 0xFF) goto fail;
    out[o++] = nib[s[0]];
    i = 1;
  }
  for (; i + 2 <= ndigits; i += 2) {
    uint8_t hi = nib[s[i]], lo = nib[s[i + 1]];
    if (hi == 0xFF || lo == 0xFF) goto fail;
    out[o++] = (uint8_t)(hi << 4 | lo);
  }
  if (i < ndigits) { /* left-aligned: the pad nibble trails */
    if (nib[s[i]] == 0xFF) goto fail;
    out[o++] = (uint8_t)(nib[s[i]] << 4);
  }
  return 0;
fail:
  for (size_t k = 0; k < ndigits; k++) {
    if (nib[s[k]] == 0xFF) {
      if (bad) *bad = k;
      break;
    }
  }
  return -1;
}

static inline int bcd_walk(const uint8_t *in, size_t ndigits, char *out,
                           bool left, bool track, size_t *bad) {
  size_t nbytes = (ndigits + 1) / 2;
  bool odd = ndigits & 1;
  size_t k = 0;
  for (size_t b = 0; b < nbytes; b++) {
    uint8_t nib[2] = {(uint8_t)(in[b] >> 4), (uint8_t)(in[b] & 0x0F)};
    for (int h = 0; h < 2; h++) {
      bool is_pad = odd && ((!left && b == 0 && h == 0) ||
                            (left && b == nbytes - 1 && h == 1));
      uint8_t v = nib[h];
      if (is_pad) {
        if (v != 0 && v != 0x0F) {
          if (bad) *bad = b;
          return ISO_E_BAD_PAD;
        }
        continue;
      }
      char c;
      if (v <= 9)
        c = (char)('0' + v);
      else if (track && v == 0x0D)
        c = '=';
      else {
        if (bad) *bad = b;
        return ISO_E_NOT_NUMERIC;
      }
      if (out) out[k] = c;
      k++;
    }
  }
  return 0;
}

int iso__bcd_decode(const uint8_t *in, size_t ndigits, char *out, bool left,
                    bool track, size_t *bad) {
  return bcd_walk(in, ndigits, out, left, track, bad);
}

int iso__bcd_check(const uint8_t *in, size_t ndigits, bool left, bool track,
                   size_t *bad) {
  return bcd_walk(in, ndigits, NULL, left, track, bad);
}

bool iso__is_digits(const uint8_t *in, size_t n, size_t *bad) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t x;
    memcpy(&x, in + i, 8);
    if (!iso__word_is_digits(x)) break;
  }
  unsigned acc = 0;
  for (size_t j = i; j < n; j++) acc |= (unsigned)(in[j] - '0') > 9;
  if (!acc) return true;
  for (; i < n; i++) {
    if ((unsigned)(in[i] - '0') > 9) {
      if (bad) *bad = i;
      return false;
    }
  }
  return true;
}

/* Character classes for iso__check_content and iso__quick_content_ok. */
#define C_DIGIT ISO__C_DIGIT
#define C_ALPHA ISO__C_ALPHA
#define C_SPACE ISO__C_SPACE
#define C_PRINT ISO__C_PRINT
#define C_TRACK ISO__C_TRACK

const uint8_t iso__char_class[256] = {
    [' '] = C_SPACE | C_PRINT,
    ['!' ... '/'] = C_PRINT,
    ['0' ... '9'] = C_DIGIT | C_TRACK | C_PRINT,
    [':' ... '<'] = C_PRINT,
    ['='] = C_TRACK | C_PRINT,
    ['>' ... '@'] = C_PRINT,
    ['A' ... 'C'] = C_ALPHA | C_PRINT,
    ['D'] = C_ALPHA | C_TRACK | C_PRINT,
    ['E' ... 'Z'] = C_ALPHA | C_PRINT,
    ['[' ... '`'] = C_PRINT,
    ['a' ... 'z'] = C_ALPHA | C_PRINT,
    ['{' ... '~'] = C_PRINT,
};

static int check_class(const uint8_t *in, size_t n, uint8_t want, int code,
                       size_t *bad) {
  for (size_t i = 0; i < n; i++) {
    if (!(iso__char_class[in[i]] & want)) {
      if (bad) *bad = i;
      return code;
    }
  }
  return 0;
}

int iso__check_content(uint8_t content, const uint8_t *in, size_t n,
                       size_t *bad) {
  switch (content) {
    case ISO_CONTENT_N:
      return iso__is_digits(in, n, bad) ? 0 : ISO_E_NOT_NUMERIC;
    case ISO_CONTENT_A:
      return check_class(in, n, C_ALPHA | C_SPACE, ISO_E_BAD_CHAR, bad);
    case ISO_CONTENT_AN:
      return check_class(in, n, C_ALPHA | C_DIGIT | C_SPACE, ISO_E_BAD_CHAR,
                         bad);
    case ISO_CONTENT_ANS:
    case ISO_CONTENT_NS: {
      size_t i = 0;
      for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, in + i, 8);
        if (!iso__word_is_printable(x)) break;
      }
      int rc = check_class(in + i, n - i, C_PRINT, ISO_E_BAD_CHAR, bad);
      if (rc && bad) *bad += i;
      return rc;
    }
    case ISO_CONTENT_Z:
      return check_class(in, n, C_TRACK, ISO_E_NOT_NUMERIC, bad);
    case ISO_CONTENT_XN:
      if (n == 0) return 0;
      if (in[0] != 'C' && in[0] != 'D') {
        if (bad) *bad = 0;
        return ISO_E_BAD_CHAR;
      }
      if (!iso__is_digits(in + 1, n - 1, bad)) {
        if (bad) *bad += 1;
        return ISO_E_NOT_NUMERIC;
      }
      return 0;
    default:
      return 0;
  }
}

long iso__prefix_read(const uint8_t *in, unsigned digits, unsigned enc) {
  long v = 0;
  switch (enc) {
    case ISO_ENC_ASCII:
      for (unsigned i = 0; i < digits; i++) {
        unsigned d = (unsigned)in[i] - '0';
        if (d > 9) return -1;
        v = v * 10 + d;
      }
      return v;
    case ISO_ENC_EBCDIC:
      for (unsigned i = 0; i < digits; i++) {
        unsigned d = (unsigned)in[i] - 0xF0;
        if (d > 9) return -1;
        v = v * 10 + d;
      }
      return v;
    case ISO_ENC_BINARY:
      for (unsigned i = 0; i < (digits + 1) / 2; i++) v = v << 8 | in[i];
      return v;
    case ISO_ENC_BCD: {
      unsigned nbytes = (digits + 1) / 2;
      for (unsigned i = 0; i < nbytes; i++) {
        unsigned hi = in[i] >> 4, lo = in[i] & 0x0F;
        if (hi > 9 || lo > 9) return -1;
        v = v * 100 + hi * 10 + lo;
      }
      return v;
    }
    default:
      return -1;
  }
}

void iso__prefix_write(uint8_t *out, uint32_t len, unsigned digits,
                       unsigned enc) {
  switch (enc) {
    case ISO_ENC_ASCII:
    case ISO_ENC_EBCDIC: {
      uint8_t zero = enc == ISO_ENC_ASCII ? '0' : 0xF0;
      for (unsigned i = digits; i-- > 0;) {
        out[i] = (uint8_t)(zero + len % 10);
        len /= 10;
      }
      break;
    }
    case ISO_ENC_BINARY:
      for (unsigned i = (digits + 1) / 2; i-- > 0;) {
        out[i] = (uint8_t)(len & 0xFF);
        len >>= 8;
      }
      break;
    case ISO_ENC_BCD:
      for (unsigned i = (digits + 1) / 2; i-- > 0;) {
        unsigned two = len % 100;
        len /= 100;
        out[i] = (uint8_t)((two / 10) << 4 | (two % 10));
      }
      break;
    default:
      break;
  }
}

int iso__decode_value(const iso_field_def *def, const uint8_t *wire,
                      uint32_t len, uint8_t *out, size_t *bad) {
  switch (def->data_enc) {
    case ISO_ENC_BCD:
    case ISO_ENC_BCD_LEFT: {
      bool left = def->data_enc == ISO_ENC_BCD_LEFT;
      bool track = def->content == ISO_CONTENT_Z;
      if (def->content == ISO_CONTENT_XN) {
        if (len == 0) return 0;
        out[0] = wire[0];
        int rc = iso__bcd_decode(wire + 1, len - 1, (char *)out + 1, left,
                                 false, bad);
        if (rc && bad) *bad += 1;
        return rc;
      }
      return iso__bcd_decode(wire, len, (char *)out, left, track, bad);
    }
    case ISO_ENC_EBCDIC:
      iso__ebcdic_decode(wire, len, out);
      return 0;
    case ISO_ENC_HEX:
      return iso__hex_decode((const char *)wire, 2 * (size_t)len, out, bad)
                 ? ISO_E_BAD_CHAR
                 : 0;
    default:
      memcpy(out, wire, len);
      return 0;
  }
}
