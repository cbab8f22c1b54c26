/*
 * iso8583/spec.c -- spec validation and precomputation (iso__spec_prepare),
 * and the small public accessors: iso_spec_name, iso_spec_field,
 * iso_spec_free.
 *
 * Every spec, built-in (specs.c) or loaded from JSON (spec_json.c), passes
 * through iso__spec_prepare once.  It rejects combinations the codec cannot
 * carry (a BCD alphanumeric, a prefix too short for the maximum ...) so that
 * pack and unpack never meet them, and fills spec->wire[] with what their
 * hot loops need.
 */
#include <stdlib.h>
#include <string.h>

#include "iso8583/encoding.h"
#include "iso8583/spec_internal.h"

static int bad(iso_error *err, int field, const char *reason) {
  if (err) {
    err->code = ISO_E_BAD_SPEC;
    err->field = field;
    err->offset = 0;
    err->reason = reason;
  }
  return ISO_E_BAD_SPEC;
}

static bool is_numeric_content(unsigned content) {
  return content == ISO_CONTENT_N || content == ISO_CONTENT_Z ||
         content == ISO_CONTENT_XN;
}

/* The largest length a prefix of `digits` digits can carry. */
static uint32_t prefix_capacity(unsigned digits, unsigned enc) {
  uint32_t dec = 1;
  for (unsigned i = 0; i < digits; i++) dec *= 10;
  dec -= 1;
  if (enc == ISO_ENC_BINARY) {
    unsigned bits = 8 * ((digits + 1) / 2);
    uint32_t bin = bits >= 32 ? UINT32_MAX : (1u << bits) - 1;
    return bin < dec ? bin : dec;
  }
  return dec;
}

static const char *check_field(const iso_field_def *d) {
  if (d->content > ISO_CONTENT_XN) return "unknown content";
  if (d->length_type > ISO_LEN_LLLLLL) return "unknown length type";
  if (d->data_enc > ISO_ENC_HEX) return "unknown data encoding";
  if (d->pad > ISO_PAD_RIGHT) return "unknown padding";
  if (d->sensitivity > ISO_SENS_EXPIRY) return "unknown sensitivity";
  if (d->subfield_kind > ISO_SUB_TLV) return "unknown subfield kind";
  if (d->max_len == 0) return "zero length";
  if (d->max_len > 999999) return "length over 999999";

  bool binary = d->content == ISO_CONTENT_B;
  switch (d->data_enc) {
    case ISO_ENC_BCD:
    case ISO_ENC_BCD_LEFT:
      if (!is_numeric_content(d->content))
        return "BCD data needs numeric, track or amount content";
      break;
    case ISO_ENC_BINARY:
    case ISO_ENC_HEX:
      if (!binary) return "binary or hex data needs binary content";
      break;
    default:
      if (binary) return "binary content needs binary or hex data";
      break;
  }
  if (d->content == ISO_CONTENT_XN && d->max_len < 2)
    return "an amount needs a sign and at least one digit";

  if (d->length_type != ISO_LEN_FIXED) {
    if (d->prefix_enc != ISO_ENC_ASCII && d->prefix_enc != ISO_ENC_BCD &&
        d->prefix_enc != ISO_ENC_BINARY && d->prefix_enc != ISO_ENC_EBCDIC)
      return "prefix encoding must be ASCII, BCD, binary or EBCDIC";
    if (d->max_len > prefix_capacity(d->length_type, d->prefix_enc))
      return "maximum length does not fit the length prefix";
  }

  if (d->pad == ISO_PAD_LEFT || d->pad == ISO_PAD_RIGHT) {
    uint8_t c = (uint8_t)d->pad_char;
    unsigned content = d->content == ISO_CONTENT_XN ? ISO_CONTENT_N : d->content;
    if (iso__check_content((uint8_t)content, &c, 1, NULL) != 0)
      return "pad character not allowed by the content";
    if ((d->data_enc == ISO_ENC_BCD || d->data_enc == ISO_ENC_BCD_LEFT) &&
        c != '0')
      return "BCD fields pad with '0'";
  }

  if (d->subfield_kind == ISO_SUB_POSITIONAL) {
    if (d->subfield_count == 0 || d->subfields == NULL)
      return "positional subfields missing";
    uint32_t sum = 0;
    for (unsigned i = 0; i < d->subfield_count; i++) {
      if (d->subfields[i].length == 0) return "zero-length subfield";
      sum += d->subfields[i].length;
    }
    if (sum > d->max_len) return "subfields longer than the field";
  } else if (d->subfield_kind == ISO_SUB_TLV && !binary) {
    return "BER-TLV subfields need binary content";
  }
  return NULL;
}

static uint8_t check_kind(const iso_field_def *d) {
  switch (d->data_enc) {
    case ISO_ENC_BCD:
    case ISO_ENC_BCD_LEFT:
      return ISO__CHECK_BCD;
    case ISO_ENC_HEX:
      return ISO__CHECK_HEX;
    case ISO_ENC_BINARY:
      return ISO__CHECK_NONE;
    default:
      break;
  }
  switch (d->content) {
    case ISO_CONTENT_N:
      return d->data_enc == ISO_ENC_EBCDIC ? ISO__CHECK_EBCDIC_DIGITS
                                           : ISO__CHECK_DIGITS;
    case ISO_CONTENT_Z:
      return ISO__CHECK_TRACK;
    case ISO_CONTENT_XN:
      return ISO__CHECK_AMOUNT;
    default:
      return ISO__CHECK_NONE;
  }
}

int iso__spec_prepare(iso_spec *spec, iso_error *err) {
  if (spec->mti_enc != ISO_ENC_ASCII && spec->mti_enc != ISO_ENC_BCD &&
      spec->mti_enc != ISO_ENC_EBCDIC)
    return bad(err, 0, "MTI encoding must be ASCII, BCD or EBCDIC");
  if (spec->bitmap_enc != ISO_ENC_BINARY && spec->bitmap_enc != ISO_ENC_HEX)
    return bad(err, 1, "bitmap encoding must be binary or hex");

  memset(spec->defined, 0, sizeof spec->defined);
  spec->defined_wire[0] = spec->defined_wire[1] = 1ull << 63;
  spec->defined_wire[2] = 0;
  memset(spec->wire, 0, sizeof spec->wire);
  for (int n = 2; n <= ISO_MAX_FIELD; n++) {
    const iso_field_def *d = &spec->fields[n];
    if (n == 65 || d->name == NULL) continue;
    const char *why = check_field(d);
    if (why) return bad(err, n, why);

    iso__field_wire *w = &spec->wire[n];
    w->max_len = d->max_len;
    w->prefix_digits = d->length_type;
    w->prefix_bytes = (uint8_t)iso__prefix_bytes(d->length_type, d->prefix_enc);
    w->prefix_enc = d->prefix_enc;
    w->data_enc = d->data_enc;
    w->content = d->content;
    w->check = check_kind(d);
    w->canonical = d->data_enc == ISO_ENC_ASCII || d->data_enc == ISO_ENC_BINARY;
    if (d->length_type == ISO_LEN_FIXED)
      w->fixed_wire = iso__wire_len(d->content, d->data_enc, d->max_len);
    spec->defined[(n - 1) >> 6] |= 1ull << ((n - 1) & 63);
    spec->defined_wire[(n - 1) >> 6] |= 1ull << (63 - ((n - 1) & 63));
  }
  spec->prepared = true;
  return 0;
}

const char *iso_spec_name(const iso_spec *spec) {
  return spec ? spec->name : NULL;
}

const iso_field_def *iso_spec_field(const iso_spec *spec, int field) {
  if (!spec || !iso__spec_defines(spec, field)) return NULL;
  return &spec->fields[field];
}

void iso_spec_free(const iso_spec *spec) {
  if (!spec || !spec->heap) return;
  iso_spec *s = (iso_spec *)spec;
  free(s->storage);
  free(s);
}
