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

struct iso_spec {
  const char *name;
  const char *description;
  uint8_t mti_enc;    /* ISO_ENC_ASCII, ISO_ENC_BCD or ISO_ENC_EBCDIC */
  uint8_t bitmap_enc; /* ISO_ENC_BINARY or ISO_ENC_HEX */
  bool heap;          /* made by the JSON loader: iso_spec_free releases it */
  void *storage;      /* the loader's allocations (names, subfield tables) */
  /* fields[n] describes data element n; entries 0, 1 and 65 are unused
   * (MTI and bitmaps are described by mti_enc and bitmap_enc).  An entry
   * whose name is NULL is a field the spec does not define. */
  iso_field_def fields[ISO_MAX_FIELD + 1];
};

/**
 * iso__spec_prepare -- checks every defined field for a consistent
 * combination (content, length type, encodings, maximum) and fills any
 * precomputed data.  Returns 0 or ISO_E_BAD_SPEC with err naming the field
 * and the reason.  Must be called once before the spec is used.
 */
int iso__spec_prepare(iso_spec *spec, iso_error *err);

#endif /* ISOFLOW_ISO8583_SPEC_INTERNAL_H */
