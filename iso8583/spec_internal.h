/*
 * iso8583/spec_internal.h -- the layout of iso_spec, shared inside iso8583/.
 *
 * Built-in specs (specs.c) are static instances; the JSON loader
 * (spec_json.c) builds one on the heap.  Either way, iso__spec_prepare must
 * run before a spec is used: it validates the definitions and precomputes
 * what the hot paths of pack, unpack and peek need.
 */
#ifndef ISOFLOW_ISO8583_SPEC_INTERNAL_H
#define ISOFLOW_ISO8583_SPEC_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "isoflow/iso8583.h"

/* What unpack checks in a field's data after locating it. */
enum {
  ISO__CHECK_NONE = 0, /* a, an, ans, ns, b: length only */
  ISO__CHECK_DIGITS,   /* n in ASCII */
  ISO__CHECK_EBCDIC_DIGITS, /* n in EBCDIC */
  ISO__CHECK_BCD,      /* n, z or xn in BCD: nibbles and pad */
  ISO__CHECK_TRACK,    /* z in ASCII or EBCDIC: digits and '=' */
  ISO__CHECK_AMOUNT,   /* xn in ASCII or EBCDIC: sign then digits */
  ISO__CHECK_HEX       /* b shown as hex: hex characters */
};

/* Per-field wire facts, precomputed by iso__spec_prepare so that the hot
 * loops of pack, unpack and peek read one small record per field. */
typedef struct iso__field_wire {
  uint32_t max_len;      /* canonical units (characters or bytes) */
  uint32_t fixed_wire;   /* fixed fields: bytes on the wire; else 0 */
  uint8_t prefix_digits; /* 0 = fixed length */
  uint8_t prefix_bytes;  /* bytes the prefix takes on the wire */
  uint8_t prefix_enc;
  uint8_t data_enc;
  uint8_t content;
  uint8_t check;         /* ISO__CHECK_* */
  bool canonical;        /* wire form == canonical form (ASCII, binary) */
} iso__field_wire;

struct iso_spec {
  const char *name;
  const char *description;
  uint8_t mti_enc;    /* ISO_ENC_ASCII, ISO_ENC_BCD or ISO_ENC_EBCDIC */
  uint8_t bitmap_enc; /* ISO_ENC_BINARY or ISO_ENC_HEX */
  bool heap;          /* made by the JSON loader: iso_spec_free releases it */
  void *storage;      /* the loader's allocations (names, subfield tables):
                         one malloc'd block; iso_spec_free calls free() on
                         it, then on the spec itself */
  /* fields[n] describes data element n; entries 0, 1 and 65 are unused
   * (MTI and bitmaps are described by mti_enc and bitmap_enc).  An entry
   * whose name is NULL is a field the spec does not define. */
  iso_field_def fields[ISO_MAX_FIELD + 1];
  /* Filled by iso__spec_prepare: */
  bool prepared;
  uint64_t defined[3]; /* bit (n - 1) for each defined field n */
  uint64_t defined_wire[3]; /* the same in bitmap wire order: bit 63 of
                               word k is field 64k + 1; the indicator
                               bits (fields 1, 65) are set */
  iso__field_wire wire[ISO_MAX_FIELD + 1];
};

/** iso__spec_defines -- whether field n (2..192, not 65) is defined. */
static inline bool iso__spec_defines(const iso_spec *spec, int n) {
  return n >= 2 && n <= ISO_MAX_FIELD &&
         (spec->defined[(n - 1) >> 6] >> ((n - 1) & 63) & 1);
}

/**
 * iso__spec_prepare -- checks every defined field for a consistent
 * combination (content, length type, encodings, maximum) and fills any
 * precomputed data.  Returns 0 or ISO_E_BAD_SPEC with err naming the field
 * and the reason.  Must be called once before the spec is used (by the
 * loader that built it, before anyone else sees it).  Definitions for 0, 1
 * and 65 are ignored.
 */
int iso__spec_prepare(iso_spec *spec, iso_error *err);

#endif /* ISOFLOW_ISO8583_SPEC_INTERNAL_H */
