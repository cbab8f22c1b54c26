/*
 * iso8583/msg_json.c -- a message as one flat JSON object and back:
 * iso_msg_to_json and iso_msg_from_json.
 *
 *   {"0":"0800","7":"0420090613","11":"900001","70":"001"}
 *
 * Keys are field numbers as strings ("0" the MTI; bitmaps are never shown,
 * pack computes them), values strings: text fields as their canonical text,
 * binary fields as upper-case hex.  Text bytes outside printable ASCII are
 * escaped (\u00XX for 0x80..0xFF), and iso_msg_from_json turns such escapes
 * back into the same bytes, so any value survives a round trip.
 *
 * Output is written straight into the caller's buffer by a hand-written
 * writer (json_text.h) -- it sits on logging paths and must not allocate.
 * Input is parsed with cJSON.
 */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "iso8583/encoding.h"
#include "iso8583/json_text.h"
#include "iso8583/wire.h"
#include "iso8583/mask.h"

/* What writing one member needs besides the field. */
typedef struct json_ctx {
  iso__out *o;
  unsigned flags;
  bool first;
} json_ctx;

static void json_member(void *arg, int f, const iso_field_def *def,
                        const uint8_t *value, size_t len) {
  json_ctx *c = arg;
  iso__out_str(c->o, c->first ? "\"" : ",\"");
  c->first = false;
  iso__out_uint(c->o, (unsigned long)f);
  iso__out_str(c->o, "\":");
  iso__out_value(c->o, def, iso__show_for(def, c->flags), value, len, true);
}

int iso_msg_to_json(const iso_msg *m, unsigned flags, char *buf, size_t cap,
                    size_t *out_len) {
  if (!m || (!buf && cap)) return ISO_E_INVAL;
  iso__out o;
  iso__out_init(&o, buf, cap);
  iso__out_char(&o, '{');
  const char *mti = iso_msg_mti(m);
  json_ctx c = {&o, flags, true};
  if (mti[0]) {
    iso__out_str(&o, "\"0\":");
    iso__out_json_string(&o, (const uint8_t *)mti, strlen(mti));
    c.first = false;
  }
  int rc = iso__msg_each_value(m, json_member, &c);
  if (rc) return rc;
  iso__out_char(&o, '}');
  return iso__out_finish(&o, out_len);
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */
/* ------------------------------------------------------------------------ */


/* "0" or "2".."192" (not 65), without sign, spaces or leading zeros; -1
 * otherwise. */
static int json_field_number(const char *key) {
  if (!strcmp(key, "0")) return 0;
  if (key[0] < '1' || key[0] > '9' || strlen(key) > 3) return -1;
  int n = 0;
  for (const char *p = key; *p; p++) {
    if (*p < '0' || *p > '9') return -1;
    n = n * 10 + (*p - '0');
  }
  return n >= 2 && n <= ISO_MAX_FIELD && n != 65 ? n : -1;
}

/* Sets field n from the JSON string s (decoded in place: both hex and the
 * \u00XX byte form only ever shrink). */
static int set_field(iso_msg *m, int n, char *s, iso_error *err) {
  const iso_field_def *def = iso_spec_field(m->spec, n);
  if (!def)
    return iso__fail(err, ISO_E_UNKNOWN_FIELD, n, 0, "field not defined by the spec");
  size_t chars = strlen(s);
  if (def->content == ISO_CONTENT_B) {
    size_t bad = 0;
    if (chars % 2)
      return iso__fail(err, ISO_E_BAD_JSON, n, chars, "binary values are hex: odd length");
    if (iso__hex_decode(s, chars, (uint8_t *)s, &bad))
      return iso__fail(err, ISO_E_BAD_JSON, n, bad, "binary values are hex: not a hex digit");
    return iso_msg_set_copy(m, n, s, chars / 2);
  }
  long len = iso__json_bytes(s, (uint8_t *)s, chars);
  if (len < 0)
    return iso__fail(err, ISO_E_BAD_JSON, n, 0,
                "text values hold characters U+0000 to U+00FF only");
  return iso_msg_set_copy(m, n, s, (size_t)len);
}

static int read_message(iso_msg *m, const cJSON *root, iso_error *err) {
  if (!cJSON_IsObject(root))
    return iso__fail(err, ISO_E_BAD_JSON, -1, 0, "a message must be a JSON object");
  uint64_t seen[3] = {0};
  bool seen_mti = false;
  for (cJSON *it = root->child; it; it = it->next) {
    int n = json_field_number(it->string);
    if (n < 0)
      return iso__fail(err, ISO_E_BAD_JSON, -1, 0,
                  "keys are field numbers: \"0\" (MTI) or \"2\" to \"192\" "
                  "(bitmaps are computed)");
    if (!cJSON_IsString(it))
      return iso__fail(err, ISO_E_BAD_JSON, n, 0, "field values must be strings");
    if (n == 0) {
      if (seen_mti) return iso__fail(err, ISO_E_BAD_JSON, 0, 0, "MTI given twice");
      seen_mti = true;
      if (iso_msg_set_mti(m, it->valuestring))
        return iso__fail(err, ISO_E_BAD_JSON, 0, 0, "the MTI must be 4 digits");
      continue;
    }
    uint64_t bit = 1ull << ((n - 1) & 63);
    if (seen[(n - 1) >> 6] & bit)
      return iso__fail(err, ISO_E_BAD_JSON, n, 0, "field given twice");
    seen[(n - 1) >> 6] |= bit;
    int rc = set_field(m, n, it->valuestring, err);
    if (rc == ISO_E_NOMEM) return iso__fail(err, rc, n, 0, "out of memory");
    if (rc) return rc;
  }
  return 0;
}

int iso_msg_from_json(iso_msg *m, const char *json, size_t len,
                      iso_error *err) {
  if (!m || !json) return iso__fail(err, ISO_E_INVAL, -1, 0, "no message or no text");
  cJSON *root = iso__json_parse(json, len, err);
  if (!root) return ISO_E_BAD_JSON;
  iso_msg_reset(m);
  int rc = read_message(m, root, err);
  cJSON_Delete(root);
  if (rc) iso_msg_reset(m);
  return rc;
}
