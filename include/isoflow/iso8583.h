/*
 * isoflow/iso8583.h -- the ISO 8583 message codec.
 *
 * A spec (iso_spec) says how each of up to 192 data elements is laid out on
 * the wire; a message (iso_msg) holds an MTI and a set of field values.
 *
 *   unpack   borrows the input buffer: field values point into it (zero copy),
 *            nothing is allocated, nothing past `len` is ever read, and a
 *            truncated message (ISO_E_NEED_MORE) is told apart from a
 *            malformed one (every other error).  Errors name the field and the
 *            offset (iso_error) and never echo field contents.
 *   pack     writes into a caller buffer; when it is short the call fails with
 *            ISO_E_NOSPC and reports the size it needs.
 *   peek     reads a few fields (match key, idempotency key) straight off the
 *            wire without a full unpack.
 *   describe renders a message as JSON or as a field-by-field dump, with the
 *            PAN masked (first 6, last 4) and tracks, PIN blocks, CVV and ICC
 *            data redacted unless the caller explicitly asks otherwise.
 *
 * Values are exchanged in "canonical" form, whatever the wire encoding:
 *   - numeric, alpha, track and amount fields as ASCII text ("000000000100",
 *     "4242424242424242=2512101", "C00000100");
 *   - binary fields as raw bytes.
 * Field numbering: 0 is the MTI, 1 the secondary-bitmap indicator, 2..64 the
 * primary fields, 65 the tertiary-bitmap indicator, 66..128 secondary, and
 * 129..192 tertiary.  Bitmaps are computed by pack; callers never set 1 or 65.
 */
#ifndef ISOFLOW_ISO8583_H
#define ISOFLOW_ISO8583_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "isoflow/error.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ISO_MAX_FIELD 192

/* ------------------------------------------------------------------------ */
/* Field definitions                                                         */
/* ------------------------------------------------------------------------ */

/** What a field may contain. */
typedef enum iso_content {
  ISO_CONTENT_N = 0, /* digits */
  ISO_CONTENT_A,     /* letters */
  ISO_CONTENT_AN,    /* letters and digits */
  ISO_CONTENT_ANS,   /* letters, digits and printable specials */
  ISO_CONTENT_NS,    /* digits and specials */
  ISO_CONTENT_B,     /* binary bytes */
  ISO_CONTENT_Z,     /* track data: digits, '=' (and 'D' on the wire in BCD) */
  ISO_CONTENT_XN     /* amount: 'C' or 'D' followed by digits */
} iso_content;

/** How the length is carried: fixed, or a prefix of 1 to 6 digits. */
typedef enum iso_length_type {
  ISO_LEN_FIXED = 0,
  ISO_LEN_L = 1,
  ISO_LEN_LL = 2,
  ISO_LEN_LLL = 3,
  ISO_LEN_LLLL = 4,
  ISO_LEN_LLLLL = 5,
  ISO_LEN_LLLLLL = 6
} iso_length_type;

/** Wire encodings, for data, length prefixes, the MTI and bitmaps. */
typedef enum iso_encoding {
  ISO_ENC_ASCII = 0, /* one ASCII byte a character */
  ISO_ENC_BCD,       /* packed decimal, right-aligned (pad nibble first) */
  ISO_ENC_BCD_LEFT,  /* packed decimal, left-aligned (pad nibble last) */
  ISO_ENC_EBCDIC,    /* one EBCDIC (code page 037) byte a character */
  ISO_ENC_BINARY,    /* raw bytes; for prefixes, a big-endian count */
  ISO_ENC_HEX        /* binary shown as upper-case hex ASCII, 2 bytes a byte */
} iso_encoding;

/** How a short value is padded to a fixed length (or to a whole byte). */
typedef enum iso_pad {
  ISO_PAD_DEFAULT = 0, /* numeric: left with '0' (amounts: after the sign);
                          binary and track: none (exact length required);
                          others: right with ' ' */
  ISO_PAD_NONE,        /* the value must have the exact length */
  ISO_PAD_LEFT,        /* left with pad_char */
  ISO_PAD_RIGHT        /* right with pad_char */
} iso_pad;

/** Card data classes: decide masking in describe and protection in the journal. */
typedef enum iso_sensitivity {
  ISO_SENS_NONE = 0,
  ISO_SENS_PAN,   /* masked: first 6 and last 4 shown */
  ISO_SENS_TRACK, /* redacted */
  ISO_SENS_PIN,   /* redacted */
  ISO_SENS_CVV,   /* redacted */
  ISO_SENS_ICC,   /* redacted (chip data may hold track-equivalent data) */
  ISO_SENS_EXPIRY /* redacted */
} iso_sensitivity;

/** Subfield structure of a field. */
typedef enum iso_subfield_kind {
  ISO_SUB_NONE = 0,
  ISO_SUB_POSITIONAL, /* fixed-length pieces one after another */
  ISO_SUB_TLV         /* BER-TLV, as in DE 55 */
} iso_subfield_kind;

/** One positional subfield: `length` characters (bytes for binary fields). */
typedef struct iso_subfield_def {
  const char *name;
  uint16_t length;
} iso_subfield_def;

/** How one data element is laid out. */
typedef struct iso_field_def {
  const char *name;       /* "Primary account number"; NULL = not defined */
  uint32_t max_len;       /* fixed: the length; variable: the maximum;
                             in characters, or bytes for binary content */
  uint8_t content;        /* iso_content */
  uint8_t length_type;    /* iso_length_type */
  uint8_t data_enc;       /* iso_encoding */
  uint8_t prefix_enc;     /* iso_encoding: ASCII, BCD, BINARY or EBCDIC */
  uint8_t pad;            /* iso_pad */
  char pad_char;          /* used with ISO_PAD_LEFT / ISO_PAD_RIGHT */
  uint8_t sensitivity;    /* iso_sensitivity */
  uint8_t subfield_kind;  /* iso_subfield_kind */
  uint8_t subfield_count; /* entries in `subfields` (positional only) */
  const iso_subfield_def *subfields;
} iso_field_def;

/* ------------------------------------------------------------------------ */
/* Specs                                                                     */
/* ------------------------------------------------------------------------ */

typedef struct iso_spec iso_spec;

/**
 * iso_spec_builtin -- a built-in spec by name: "iso87a" (ASCII, hex bitmap),
 * "iso87a-bbitmap" (ASCII, binary bitmap), "iso87b" (BCD numerics, BCD
 * length prefixes, binary bitmap), "iso93a" (1993 layout, ASCII).
 * Returns a static spec, or NULL when the name is unknown.
 */
const iso_spec *iso_spec_builtin(const char *name);

/** iso_spec_builtin_names -- NULL-terminated list of the built-in names. */
const char *const *iso_spec_builtin_names(void);

/**
 * iso_spec_parse_json -- builds a spec from JSON text (format: docs/specs.md).
 * On success *out is a new spec the caller frees with iso_spec_free.  On
 * failure returns ISO_E_BAD_JSON or ISO_E_BAD_SPEC and fills err: err->field
 * is the offending field number (or -1) and err->reason says what is wrong.
 */
int iso_spec_parse_json(const char *text, size_t len, iso_spec **out,
                        iso_error *err);

/** iso_spec_load_json -- iso_spec_parse_json on a file's contents (ISO_E_IO
 *  when the file cannot be read). */
int iso_spec_load_json(const char *path, iso_spec **out, iso_error *err);

/**
 * iso_spec_open -- a built-in name or else a JSON file path, as the CLI and
 * the example programs take it.  *out must be released with iso_spec_free
 * (which does nothing for a built-in spec).
 */
int iso_spec_open(const char *name_or_path, const iso_spec **out,
                  iso_error *err);

/**
 * iso_spec_to_json -- the spec in the JSON format iso_spec_parse_json reads.
 * Returns a malloc'd NUL-terminated string the caller frees, or NULL on
 * allocation failure.
 */
char *iso_spec_to_json(const iso_spec *spec);

/** iso_spec_free -- frees a spec made by the JSON loaders; a built-in spec or
 *  NULL is ignored. */
void iso_spec_free(const iso_spec *spec);

/** iso_spec_name -- the spec's name ("iso87a", or the JSON "name"). */
const char *iso_spec_name(const iso_spec *spec);

/** iso_spec_field -- the definition of field 2..192, or NULL when the spec
 *  does not define it. */
const iso_field_def *iso_spec_field(const iso_spec *spec, int field);

/* ------------------------------------------------------------------------ */
/* Messages                                                                  */
/* ------------------------------------------------------------------------ */

#define ISO_MSG_INLINE_SLOTS 24
#define ISO_MSG_INLINE_ARENA 96

/** A value stored in a message (internal layout; use the functions). */
typedef struct iso__slot {
  const uint8_t *data;
  uint32_t len;   /* canonical length (characters, or bytes for binary) */
  uint32_t flags; /* ISO__SLOT_* (wire form, owned) */
} iso__slot;

/**
 * A message.  The caller owns the memory and may embed it; fields below are
 * private.  Initialise with iso_msg_init, release with iso_msg_cleanup.
 * A message made by unpack borrows the input buffer, which must outlive it.
 */
typedef struct iso_msg {
  const iso_spec *spec;
  uint64_t present[3]; /* bit (n - 1) for field n, 1..192 */
  char mti[5];         /* NUL-terminated; "" when unset */
  uint8_t nslots;
  uint8_t slot_cap;
  uint8_t index[ISO_MAX_FIELD + 1]; /* field -> slot + 1, 0 = absent */
  iso__slot *slots;
  struct iso__arena_block *overflow; /* extra storage for copies */
  uint32_t arena_used;
  iso__slot inline_slots[ISO_MSG_INLINE_SLOTS];
  uint8_t inline_arena[ISO_MSG_INLINE_ARENA];
} iso_msg;

/** iso_msg_init -- an empty message for `spec`.  Never fails. */
void iso_msg_init(iso_msg *m, const iso_spec *spec);

/** iso_msg_reset -- removes the MTI and every field; keeps the spec. */
void iso_msg_reset(iso_msg *m);

/** iso_msg_cleanup -- releases what the message allocated.  The message may
 *  be initialised again afterwards. */
void iso_msg_cleanup(iso_msg *m);

/** iso_msg_copy -- dst becomes a deep copy of src, spec included (values
 *  copied into dst's storage, so src and its input buffer may go).  dst must
 *  be initialised; its previous contents are released.  ISO_E_NOMEM leaves
 *  dst empty. */
int iso_msg_copy(iso_msg *dst, const iso_msg *src);

/** iso_msg_set_mti -- sets the 4-digit MTI; ISO_E_BAD_MTI unless 4 digits. */
int iso_msg_set_mti(iso_msg *m, const char *mti);

/** iso_msg_mti -- the MTI as a NUL-terminated string ("" when unset). */
const char *iso_msg_mti(const iso_msg *m);

/**
 * iso_msg_set -- sets field 2..192 to `len` bytes of canonical value.  The
 * message borrows `value`: it must stay valid while the message uses it.
 * Returns ISO_E_UNKNOWN_FIELD for a field the spec lacks; content and length
 * are checked by pack, not here.
 */
int iso_msg_set(iso_msg *m, int field, const void *value, size_t len);

/** iso_msg_set_copy -- like iso_msg_set but copies the value into the
 *  message's own storage (no allocation for small values). */
int iso_msg_set_copy(iso_msg *m, int field, const void *value, size_t len);

/** iso_msg_set_str -- iso_msg_set_copy with a NUL-terminated string. */
int iso_msg_set_str(iso_msg *m, int field, const char *value);

/** iso_msg_unset -- removes a field; absent fields are fine. */
void iso_msg_unset(iso_msg *m, int field);

/** iso_msg_has -- whether field 2..192 is present. */
bool iso_msg_has(const iso_msg *m, int field);

/**
 * iso_msg_next_field -- iterates present fields in ascending order: returns
 * the first present field greater than `after` (start with 0), or 0 at the
 * end.
 */
int iso_msg_next_field(const iso_msg *m, int after);

/**
 * iso_msg_get -- copies field's canonical value into buf (decoding BCD,
 * EBCDIC or hex wire forms).  *len receives the value's length.  Returns
 * ISO_E_NO_FIELD when absent, ISO_E_NOSPC when cap is short (*len then says
 * how much is needed).  Adds a NUL after the value when there is room.
 */
int iso_msg_get(const iso_msg *m, int field, void *buf, size_t cap,
                size_t *len);

/**
 * iso_msg_peek -- zero-copy access to a field's canonical value when it is
 * stored in canonical form (always for values that were set, and for unpacked
 * ASCII/binary fields).  Returns ISO_E_UNSUPPORTED when the value is held in
 * a wire encoding that needs decoding: use iso_msg_get then.
 */
int iso_msg_peek(const iso_msg *m, int field, const uint8_t **data,
                 size_t *len);

/**
 * iso_msg_pack -- encodes the message into buf.  On success returns 0 and
 * sets *out_len to the bytes written.  ISO_E_NOSPC when cap is short, with
 * *out_len set to the size needed.  Content, length and padding are checked
 * here; err (may be NULL) names the field.  Bitmaps are computed.
 * ISO_E_BAD_MTI when no MTI is set.  A content or length error is reported
 * in preference to ISO_E_NOSPC.  Values unpacked from the wire are written
 * back as they were read.
 */
int iso_msg_pack(const iso_msg *m, uint8_t *buf, size_t cap, size_t *out_len,
                 iso_error *err);

/**
 * iso_msg_unpack -- parses exactly one message occupying buf[0..len).  m must
 * be initialised with the spec to use; its previous contents are dropped.
 * Borrows buf; never reads past len; never allocates for a message of up to
 * ISO_MSG_INLINE_SLOTS fields (a message with more grows its slot table
 * once; reset keeps it, cleanup frees it).  Returns 0, ISO_E_NEED_MORE when
 * the input ends inside the message, ISO_E_TRAILING when bytes follow the
 * last field, or another negative code for malformed input, with err (may
 * be NULL) naming the field and the offset; on error m is left empty.
 * Checked on the way in: MTI, bitmaps (every field named must be defined:
 * ISO_E_UNKNOWN_FIELD), length prefixes (ISO_E_BAD_LENGTH), numeric, track
 * and amount contents (ISO_E_NOT_NUMERIC, ISO_E_BAD_CHAR), BCD pad nibbles
 * (0 or F, else ISO_E_BAD_PAD) and hex characters; alphanumeric contents
 * are passed through as they are.
 */
int iso_msg_unpack(iso_msg *m, const uint8_t *buf, size_t len, iso_error *err);

/* ------------------------------------------------------------------------ */
/* Reading chosen fields without a full unpack                               */
/* ------------------------------------------------------------------------ */

/** A field found on the wire: `data` points into the input, in wire form. */
typedef struct iso_field_ref {
  const uint8_t *data; /* NULL when the field is absent */
  uint32_t wire_len;   /* bytes on the wire, without the length prefix */
  uint32_t len;        /* canonical length */
} iso_field_ref;

/**
 * iso_peek_fields -- locates the MTI and `n` chosen fields (any order) in a
 * packed message, skipping the others by their lengths only.  mti receives
 * the 4 MTI characters (decoded when BCD/EBCDIC) and may be NULL; out[i] is
 * filled for fields[i].  Same error rules as unpack; the fields after the last
 * one asked for are not checked, the ones before it only for their lengths.
 * ISO_E_INVAL when a number in `fields` is not a data element (2..192, not
 * 65).
 */
int iso_peek_fields(const iso_spec *spec, const uint8_t *buf, size_t len,
                    char mti[4], const int *fields, size_t n,
                    iso_field_ref *out, iso_error *err);

/* ------------------------------------------------------------------------ */
/* MTI helpers                                                               */
/* ------------------------------------------------------------------------ */

/* These take the 4 MTI characters; a NUL after them is not needed (the mti
 * of iso_peek_fields can be passed as is) and no more than 4 bytes are read.
 * Anything that is not 4 digits is neither a response nor a repeat. */

/** iso_mti_is_response -- the third digit (function) is odd: 0110, 0210,
 *  0410, 0430, 0810... */
bool iso_mti_is_response(const char *mti);

/** iso_mti_is_repeat -- the fourth digit (origin) is a repeat: 0101, 0201,
 *  0221, 0401, 0421... */
bool iso_mti_is_repeat(const char *mti);

/** iso_mti_response -- writes the response MTI for a request MTI (0100 ->
 *  0110, 0201 -> 0210, 0420 -> 0430) into out[4]; ISO_E_BAD_MTI when `mti`
 *  is already a response or not 4 digits. */
int iso_mti_response(const char *mti, char out[4]);

/* ------------------------------------------------------------------------ */
/* Subfields                                                                 */
/* ------------------------------------------------------------------------ */

/** One BER-TLV element: `value` points into the input. */
typedef struct iso_tlv {
  uint32_t tag;         /* the tag bytes big-endian, e.g. 0x9F26 */
  bool constructed;     /* bit 6 of the first tag byte */
  const uint8_t *value;
  size_t len;
} iso_tlv;

/**
 * iso_tlv_next -- reads the BER-TLV element at *pos of data[0..len) and
 * advances *pos.  Returns 1 when an element was read, 0 at the end of data,
 * or ISO_E_BAD_TLV (err->offset says where).  Never reads past len.  Bytes
 * 0x00 and 0xFF between elements are padding and are skipped; indefinite
 * lengths (0x80) and lengths of more than 4 bytes are refused.
 */
int iso_tlv_next(const uint8_t *data, size_t len, size_t *pos, iso_tlv *out,
                 iso_error *err);

/**
 * iso_tlv_append -- appends one element (tag, length, value) at *pos of
 * buf[0..cap), advancing *pos.  ISO_E_NOSPC when it does not fit.
 */
int iso_tlv_append(uint8_t *buf, size_t cap, size_t *pos, uint32_t tag,
                   const void *value, size_t len);

/**
 * iso_subfield_get -- a positional subfield (1-based `sub`) of field's
 * canonical value, as a pointer into `value`.  ISO_E_NO_FIELD when the value
 * is too short to hold it, ISO_E_INVAL when the field has no positional
 * subfields or `sub` is not one of them.
 */
int iso_subfield_get(const iso_spec *spec, int field, const uint8_t *value,
                     size_t len, int sub, const uint8_t **out, size_t *out_len);

/* ------------------------------------------------------------------------ */
/* Describe, JSON, masking                                                   */
/* ------------------------------------------------------------------------ */

/** Flags for describe and JSON output. */
enum {
  ISO_SHOW_MASKED = 0,   /* the default: PAN masked, secrets redacted */
  ISO_SHOW_UNMASKED = 1  /* an explicit choice to show card data in clear */
};

/**
 * iso_mask_pan -- writes the masked form of a PAN (first 6 and last 4 shown,
 * '*' between; PANs of 10 digits or fewer become all '*') into out, which
 * must hold len bytes.  Returns len.
 */
size_t iso_mask_pan(const char *pan, size_t len, char *out);

/**
 * iso_msg_to_json -- the message as one JSON object: keys are field numbers
 * as strings, "0" the MTI, binary values as upper-case hex, no bitmap entry,
 * e.g. {"0":"0800","7":"0420090613","11":"900001","70":"001"}.  Masked unless
 * ISO_SHOW_UNMASKED.  Writes a NUL-terminated string; ISO_E_NOSPC with
 * *out_len set to the size needed (without the NUL) when cap is short.
 */
int iso_msg_to_json(const iso_msg *m, unsigned flags, char *buf, size_t cap,
                    size_t *out_len);

/**
 * iso_msg_from_json -- fills m (initialised with a spec) from such a JSON
 * object.  Values are copied into the message.  Binary fields are read as
 * hex.  Returns ISO_E_BAD_JSON for bad JSON or values (err->field names the
 * field), ISO_E_UNKNOWN_FIELD for a field the spec lacks.
 */
int iso_msg_from_json(iso_msg *m, const char *json, size_t len,
                      iso_error *err);

/**
 * iso_msg_describe -- a multi-line, human-readable dump: one line per field
 * with its number, name and (masked) value, positional subfields and TLV
 * elements indented below.  Same buffer rules as iso_msg_to_json.
 */
int iso_msg_describe(const iso_msg *m, unsigned flags, char *buf, size_t cap,
                     size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif /* ISOFLOW_ISO8583_H */
