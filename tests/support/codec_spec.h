/*
 * tests/support/codec_spec.h -- helpers for the codec suites: a custom spec
 * on the heap built field by field, and hex <-> bytes for test vectors.
 */
#ifndef ISOFLOW_TESTS_CODEC_SPEC_H
#define ISOFLOW_TESTS_CODEC_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "isoflow/iso8583.h"

/** A new heap spec with no fields (ASCII MTI, the given bitmap encoding). */
iso_spec *codec_spec_new(uint8_t mti_enc, uint8_t bitmap_enc);

/** Defines field n of s. */
void codec_spec_set(iso_spec *s, int n, iso_field_def def);

/** Prepares s (asserting success) and returns it, ready to use. */
const iso_spec *codec_spec_ready(iso_spec *s);

/** Frees a spec from codec_spec_new. */
void codec_spec_free(iso_spec *s);

/** Decodes a hex string into out (asserting it fits); returns the bytes. */
size_t codec_unhex(const char *hex, uint8_t *out, size_t cap);

/** Encodes bytes as upper-case hex into a static buffer (tests only). */
const char *codec_hex(const uint8_t *in, size_t n);

#endif
