/*
 * iso8583/mask.h -- what a person may see of a field: the masking policy and
 * the canonical value that JSON output (msg_json.c) and describe
 * (describe.c) both render.  One policy, so the two can never disagree
 * about what is shown in clear.
 */
#ifndef ISOFLOW_ISO8583_MASK_H
#define ISOFLOW_ISO8583_MASK_H

#include <stddef.h>
#include <stdint.h>

#include "iso8583/json_text.h"
#include "isoflow/iso8583.h"

/** What to show of a value (see docs/specs.md, "sensitivity"). */
typedef enum iso__show {
  ISO__SHOW_CLEAR = 0, /* the value itself */
  ISO__SHOW_PAN,       /* first 6 and last 4, '*' between (iso_mask_pan) */
  ISO__SHOW_REDACTED   /* ISO__REDACTED instead of the value */
} iso__show;

/** The text written in place of a redacted value. */
#define ISO__REDACTED "***"

/** iso__show_for -- the policy: PAN fields masked, tracks, PIN blocks, CVV,
 *  ICC data and expiry dates redacted, unless flags has ISO_SHOW_UNMASKED. */
iso__show iso__show_for(const iso_field_def *def, unsigned flags);

/**
 * iso__msg_value -- field's canonical value.  When the message holds it in
 * canonical form, *value points into the message; otherwise it is decoded
 * into scratch[0..cap) or, when longer, into a malloc'd buffer returned in
 * *owned (the caller frees it; NULL otherwise).  Returns 0 or ISO_E_*.
 */
int iso__msg_value(const iso_msg *m, int field, uint8_t *scratch, size_t cap,
                   const uint8_t **value, size_t *len, void **owned);

/** Called by iso__msg_each_value for every field present, in field order. */
typedef void (*iso__value_visit)(void *arg, int field, const iso_field_def *def,
                                 const uint8_t *value, size_t len);

/**
 * iso__msg_each_value -- calls visit for every data element present in m
 * (MTI excluded), in field order, with its canonical value (iso__msg_value).
 * The value is valid during the call only.  Returns 0, or the first
 * ISO_E_* met reading a value (no further call is made then).
 */
int iso__msg_each_value(const iso_msg *m, iso__value_visit visit, void *arg);

/**
 * iso__out_value -- writes a value as `show` says: binary content as
 * upper-case hex, text as is; as a quoted JSON string when `json`, else as
 * printable text (describe).  PAN masking applies to the text.
 */
void iso__out_value(iso__out *o, const iso_field_def *def, iso__show show,
                    const uint8_t *value, size_t len, bool json);

#endif /* ISOFLOW_ISO8583_MASK_H */
