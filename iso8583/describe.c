/*
 * iso8583/describe.c -- iso_msg_describe: a message as a human-readable,
 * field-by-field dump for logs and traces, masked unless asked otherwise.
 *
 *      0 MTI: 0100
 *      2 Primary account number: 424242******4242
 *     35 Track 2 data: ***
 *     48 Additional data: AB123
 *          48.1 Kind: AB
 *          48.2 Code: 123
 *     55 ICC data: 9F02060000000001009F2701...
 *          9F02 (6): 000000000100
 *          9F27 (1): 80
 *
 * Positional subfields and BER-TLV elements sit indented below their field.
 * A redacted field shows no subfields; a redacted TLV field (DE 55 by
 * default) still lists its tags and lengths, with every value redacted.
 * The masking policy is mask.c's, shared with the JSON output.
 */
#include <stdlib.h>
#include <string.h>

#include "iso8583/json_text.h"
#include "iso8583/mask.h"

/* Nested constructed TLV elements are listed this deep, no deeper. */
#define TLV_MAX_DEPTH 4

static void describe_tlv(iso__out *o, const uint8_t *data, size_t len,
                         iso__show show, int depth) {
  size_t pos = 0;
  iso_tlv el;
  iso_error err;
  int rc;
  while ((rc = iso_tlv_next(data, len, &pos, &el, &err)) == 1) {
    iso__out_repeat(o, ' ', 9 + 2 * (size_t)depth);
    uint8_t tag[4];
    size_t ntag = 0;
    for (int shift = 24; shift >= 0; shift -= 8)
      if (ntag || (el.tag >> shift) & 0xFF || shift == 0)
        tag[ntag++] = (uint8_t)(el.tag >> shift);
    iso__out_hex(o, tag, ntag);
    iso__out_str(o, " (");
    iso__out_uint(o, (unsigned long)el.len);
    iso__out_str(o, "):");
    if (el.constructed && depth + 1 < TLV_MAX_DEPTH) {
      iso__out_char(o, '\n');
      describe_tlv(o, el.value, el.len, show, depth + 1);
      continue;
    }
    iso__out_char(o, ' ');
    if (show == ISO__SHOW_CLEAR)
      iso__out_hex(o, el.value, el.len);
    else
      iso__out_str(o, ISO__REDACTED);
    iso__out_char(o, '\n');
  }
  if (rc < 0) {
    iso__out_repeat(o, ' ', 9 + 2 * (size_t)depth);
    iso__out_str(o, "(malformed BER-TLV at offset ");
    iso__out_uint(o, (unsigned long)err.offset);
    iso__out_str(o, ")\n");
  }
}

static void describe_positional(iso__out *o, const iso_msg *m, int field,
                                const iso_field_def *def, const uint8_t *value,
                                size_t len) {
  for (int sub = 1; sub <= def->subfield_count; sub++) {
    const uint8_t *piece;
    size_t piece_len;
    if (iso_subfield_get(m->spec, field, value, len, sub, &piece, &piece_len))
      break; /* the value ends before this subfield */
    iso__out_repeat(o, ' ', 9);
    iso__out_uint(o, (unsigned long)field);
    iso__out_char(o, '.');
    iso__out_uint(o, (unsigned long)sub);
    iso__out_char(o, ' ');
    iso__out_printable(o, (const uint8_t *)def->subfields[sub - 1].name,
                       strlen(def->subfields[sub - 1].name));
    iso__out_str(o, ": ");
    iso__out_value(o, def, ISO__SHOW_CLEAR, piece, piece_len, false);
    iso__out_char(o, '\n');
  }
}

/* "   48 " -- field numbers right-aligned in four columns. */
static void field_number(iso__out *o, int field) {
  iso__out_repeat(o, ' ', field < 10 ? 4 : field < 100 ? 3 : 2);
  iso__out_uint(o, (unsigned long)field);
  iso__out_char(o, ' ');
}

/* What describing one field needs besides the field. */
typedef struct describe_ctx {
  iso__out *o;
  const iso_msg *m;
  unsigned flags;
} describe_ctx;

static void describe_field(void *arg, int f, const iso_field_def *def,
                           const uint8_t *value, size_t len) {
  describe_ctx *c = arg;
  iso__show show = iso__show_for(def, c->flags);
  field_number(c->o, f);
  iso__out_str(c->o, def->name);
  iso__out_str(c->o, ": ");
  iso__out_value(c->o, def, show, value, len, false);
  iso__out_char(c->o, '\n');
  if (def->subfield_kind == ISO_SUB_TLV)
    describe_tlv(c->o, value, len, show, 0);
  else if (def->subfield_kind == ISO_SUB_POSITIONAL && show == ISO__SHOW_CLEAR)
    describe_positional(c->o, c->m, f, def, value, len);
}

int iso_msg_describe(const iso_msg *m, unsigned flags, char *buf, size_t cap,
                     size_t *out_len) {
  if (!m || (!buf && cap)) return ISO_E_INVAL;
  iso__out o;
  iso__out_init(&o, buf, cap);
  field_number(&o, 0);
  iso__out_str(&o, "MTI: ");
  iso__out_str(&o, iso_msg_mti(m));
  iso__out_char(&o, '\n');
  describe_ctx c = {&o, m, flags};
  int rc = iso__msg_each_value(m, describe_field, &c);
  if (rc) return rc;
  return iso__out_finish(&o, out_len);
}
