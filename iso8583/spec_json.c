/*
 * iso8583/spec_json.c -- specs as JSON: iso_spec_parse_json, iso_spec_load_json,
 * iso_spec_open and iso_spec_to_json.  The format is documented key by key in
 * docs/specs.md.
 *
 * A loaded spec lives on the heap.  Its names, description and subfield
 * tables are copied out of the cJSON tree into one block, spec->storage,
 * which iso_spec_free (spec.c) releases with free().  The loader checks what it can see locally -- names, enum
 * values, ranges, required and unknown keys -- and leaves the consistency of
 * whole field definitions to iso__spec_prepare, which runs on every spec.
 *
 * Export writes every key of every defined field, so that loading an exported
 * spec gives back exactly the same definitions (tested for every built-in).
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iso8583/json_text.h"
#include "iso8583/wire.h"
#include "iso8583/spec_internal.h"

/* ------------------------------------------------------------------------ */
/* Names of the enum values, shared by the reader and the writer             */
/* ------------------------------------------------------------------------ */

typedef struct name_map {
  const char *name;
  int value;
} name_map;

static const name_map content_names[] = {
    {"n", ISO_CONTENT_N},   {"a", ISO_CONTENT_A}, {"an", ISO_CONTENT_AN},
    {"ans", ISO_CONTENT_ANS}, {"ns", ISO_CONTENT_NS}, {"b", ISO_CONTENT_B},
    {"z", ISO_CONTENT_Z},   {"xn", ISO_CONTENT_XN}, {NULL, 0}};

static const name_map length_names[] = {
    {"fixed", ISO_LEN_FIXED}, {"L", ISO_LEN_L},         {"LL", ISO_LEN_LL},
    {"LLL", ISO_LEN_LLL},     {"LLLL", ISO_LEN_LLLL},   {"LLLLL", ISO_LEN_LLLLL},
    {"LLLLLL", ISO_LEN_LLLLLL}, {NULL, 0}};

static const name_map data_enc_names[] = {
    {"ascii", ISO_ENC_ASCII},   {"bcd", ISO_ENC_BCD},       {"bcd_left", ISO_ENC_BCD_LEFT},
    {"ebcdic", ISO_ENC_EBCDIC}, {"binary", ISO_ENC_BINARY}, {"hex", ISO_ENC_HEX},
    {NULL, 0}};

static const name_map prefix_enc_names[] = {{"ascii", ISO_ENC_ASCII},
                                            {"bcd", ISO_ENC_BCD},
                                            {"binary", ISO_ENC_BINARY},
                                            {"ebcdic", ISO_ENC_EBCDIC},
                                            {NULL, 0}};

static const name_map mti_enc_names[] = {
    {"ascii", ISO_ENC_ASCII}, {"bcd", ISO_ENC_BCD}, {"ebcdic", ISO_ENC_EBCDIC}, {NULL, 0}};

static const name_map bitmap_enc_names[] = {
    {"binary", ISO_ENC_BINARY}, {"hex", ISO_ENC_HEX}, {NULL, 0}};

static const name_map pad_names[] = {{"default", ISO_PAD_DEFAULT},
                                     {"none", ISO_PAD_NONE},
                                     {"left", ISO_PAD_LEFT},
                                     {"right", ISO_PAD_RIGHT},
                                     {NULL, 0}};

static const name_map sensitivity_names[] = {
    {"none", ISO_SENS_NONE}, {"pan", ISO_SENS_PAN}, {"track", ISO_SENS_TRACK},
    {"pin", ISO_SENS_PIN},   {"cvv", ISO_SENS_CVV}, {"icc", ISO_SENS_ICC},
    {"expiry", ISO_SENS_EXPIRY}, {NULL, 0}};

static int name_lookup(const name_map *map, const char *name) {
  for (; map->name; map++)
    if (!strcmp(map->name, name)) return map->value;
  return -1;
}

static const char *name_of(const name_map *map, int value) {
  for (; map->name; map++)
    if (map->value == value) return map->name;
  return NULL;
}

/* ------------------------------------------------------------------------ */
/* Storage of a loaded spec                                                  */
/* ------------------------------------------------------------------------ */

/* A loaded spec's names, description and subfield tables share one malloc'd
 * block, spec->storage, so that iso_spec_free (spec.c) releases them with a
 * single free().  The block is sized before anything is copied by walking
 * the cJSON tree (store_need), which overestimates a little: every string of
 * the tree and every array as a subfield table. */
typedef struct loader {
  iso_spec *spec;
  char *base;
  size_t used, cap;
} loader;

#define STORE_ALIGN _Alignof(max_align_t)

static size_t store_need(const cJSON *node) {
  size_t need = 0;
  for (; node; node = node->next) {
    if (node->string) need += strlen(node->string) + 1;
    if (cJSON_IsString(node)) need += strlen(node->valuestring) + 1;
    if (cJSON_IsArray(node))
      need += (size_t)cJSON_GetArraySize(node) * sizeof(iso_subfield_def) + STORE_ALIGN;
    need += store_need(node->child);
  }
  return need;
}

static void *store_alloc(loader *ld, size_t size, size_t align) {
  size_t at = (ld->used + align - 1) / align * align;
  if (at + size > ld->cap) return NULL; /* cannot happen: store_need is an upper bound */
  ld->used = at + size;
  return ld->base + at;
}

static const char *store_str(loader *ld, const char *s) {
  size_t n = strlen(s) + 1;
  char *copy = store_alloc(ld, n, 1);
  if (copy) memcpy(copy, s, n);
  return copy;
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */
/* ------------------------------------------------------------------------ */


#define BAD(field, reason) iso__fail(err, ISO_E_BAD_SPEC, (field), 0, (reason))

/* Checks that `obj` has only keys from the NULL-terminated `allowed`. */
static bool only_known_keys(const cJSON *obj, const char *const *allowed) {
  for (const cJSON *it = obj->child; it; it = it->next) {
    const char *const *k = allowed;
    while (*k && strcmp(*k, it->string)) k++;
    if (!*k) return false;
  }
  return true;
}

/* Looks up an optional enum-valued key: -1 with *bad set when present but not
 * a known name; `dflt` when absent. */
static int enum_key(const cJSON *obj, const char *key, const name_map *map,
                    int dflt, bool *bad) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
  if (!v) return dflt;
  int value = cJSON_IsString(v) ? name_lookup(map, v->valuestring) : -1;
  if (value < 0) *bad = true;
  return value;
}

/* An integer-valued number in [lo, hi], or -1. */
static long int_value(const cJSON *v, long lo, long hi) {
  if (!cJSON_IsNumber(v)) return -1;
  double d = v->valuedouble;
  if (d < (double)lo || d > (double)hi || d != (double)(long)d) return -1;
  return (long)d;
}

/* "2".."192" without sign, spaces or leading zeros; 1 and 65 are bitmaps. */
static int field_number(const char *key) {
  if (key[0] < '1' || key[0] > '9' || strlen(key) > 3) return -1;
  int n = 0;
  for (const char *p = key; *p; p++) {
    if (*p < '0' || *p > '9') return -1;
    n = n * 10 + (*p - '0');
  }
  return n;
}

static int read_subfields(loader *ld, iso_field_def *def, int n,
                          const cJSON *arr, iso_error *err) {
  static const char *const keys[] = {"name", "length", NULL};
  int count = cJSON_GetArraySize(arr);
  if (!cJSON_IsArray(arr) || count < 1 || count > 255)
    return BAD(n, "\"subfields\" must be an array of 1 to 255 subfields");
  iso_subfield_def *subs =
      store_alloc(ld, sizeof *subs * (size_t)count, _Alignof(iso_subfield_def));
  if (!subs) return iso__fail(err, ISO_E_NOMEM, n, 0, "out of memory");
  unsigned long total = 0;
  int i = 0;
  for (const cJSON *it = arr->child; it; it = it->next, i++) {
    if (!cJSON_IsObject(it)) return BAD(n, "a subfield must be an object");
    if (!only_known_keys(it, keys)) return BAD(n, "unknown key in a subfield");
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(it, "name");
    const cJSON *len = cJSON_GetObjectItemCaseSensitive(it, "length");
    if (!cJSON_IsString(name) || !name->valuestring[0])
      return BAD(n, "a subfield needs a non-empty \"name\" string");
    long l = int_value(len, 1, 65535);
    if (l < 0) return BAD(n, "a subfield needs a \"length\" from 1 to 65535");
    subs[i].name = store_str(ld, name->valuestring);
    if (!subs[i].name) return iso__fail(err, ISO_E_NOMEM, n, 0, "out of memory");
    subs[i].length = (uint16_t)l;
    total += (unsigned long)l;
  }
  if (total > def->max_len)
    return BAD(n, "subfield lengths add up to more than the field's \"max\"");
  def->subfield_kind = ISO_SUB_POSITIONAL;
  def->subfield_count = (uint8_t)count;
  def->subfields = subs;
  return 0;
}

static int read_field(loader *ld, int n, const cJSON *obj, iso_error *err) {
  static const char *const keys[] = {"name", "content", "length", "max",
                                     "encoding", "prefix_encoding", "pad",
                                     "pad_char", "sensitivity", "subfields",
                                     "tlv", NULL};
  static const unsigned long prefix_limit[] = {999999, 9, 99, 999, 9999, 99999,
                                               999999};
  iso_field_def *def = &ld->spec->fields[n];
  if (!cJSON_IsObject(obj)) return BAD(n, "a field definition must be an object");
  if (!only_known_keys(obj, keys)) return BAD(n, "unknown key in a field definition");

  const cJSON *name = cJSON_GetObjectItemCaseSensitive(obj, "name");
  if (!cJSON_IsString(name) || !name->valuestring[0])
    return BAD(n, "missing or empty \"name\"");
  bool bad = false;
  int content = enum_key(obj, "content", content_names, -2, &bad);
  if (content == -2) return BAD(n, "missing \"content\"");
  if (bad) return BAD(n, "unknown \"content\" (n a an ans ns b z xn)");
  int length = enum_key(obj, "length", length_names, -2, &bad);
  if (length == -2) return BAD(n, "missing \"length\"");
  if (bad) return BAD(n, "unknown \"length\" (fixed L LL LLL LLLL LLLLL LLLLLL)");
  const cJSON *maxv = cJSON_GetObjectItemCaseSensitive(obj, "max");
  if (!maxv) return BAD(n, "missing \"max\"");
  long max = int_value(maxv, 1, (long)prefix_limit[length]);
  if (max < 0)
    return BAD(n, length == ISO_LEN_FIXED
                      ? "\"max\" must be an integer from 1 to 999999"
                      : "\"max\" must be an integer from 1 to what the length "
                        "prefix can count");
  int data_enc = enum_key(obj, "encoding", data_enc_names,
                          content == ISO_CONTENT_B ? ISO_ENC_BINARY : ISO_ENC_ASCII,
                          &bad);
  if (bad) return BAD(n, "unknown \"encoding\" (ascii bcd bcd_left ebcdic binary hex)");
  int prefix_enc = enum_key(obj, "prefix_encoding", prefix_enc_names, ISO_ENC_ASCII, &bad);
  if (bad) return BAD(n, "unknown \"prefix_encoding\" (ascii bcd binary ebcdic)");
  int pad = enum_key(obj, "pad", pad_names, ISO_PAD_DEFAULT, &bad);
  if (bad) return BAD(n, "unknown \"pad\" (default none left right)");
  int sens = enum_key(obj, "sensitivity", sensitivity_names, ISO_SENS_NONE, &bad);
  if (bad) return BAD(n, "unknown \"sensitivity\" (none pan track pin cvv icc expiry)");

  /* One character, U+0001..U+00FF, decoded as the export writes it (bytes
   * over 0x7F as \u00XX), so an exported spec always loads again. */
  const cJSON *pad_char = cJSON_GetObjectItemCaseSensitive(obj, "pad_char");
  uint8_t pad_byte = 0;
  if (pad_char && (!cJSON_IsString(pad_char) ||
                   iso__json_bytes(pad_char->valuestring, &pad_byte, 1) != 1))
    return BAD(n, "\"pad_char\" must be a one-character string");
  if (!pad_char && (pad == ISO_PAD_LEFT || pad == ISO_PAD_RIGHT))
    return BAD(n, "\"pad\" left or right needs a \"pad_char\"");

  def->name = store_str(ld, name->valuestring);
  if (!def->name) return iso__fail(err, ISO_E_NOMEM, n, 0, "out of memory");
  def->max_len = (uint32_t)max;
  def->content = (uint8_t)content;
  def->length_type = (uint8_t)length;
  def->data_enc = (uint8_t)data_enc;
  def->prefix_enc = (uint8_t)prefix_enc;
  def->pad = (uint8_t)pad;
  def->pad_char = (char)pad_byte;
  def->sensitivity = (uint8_t)sens;

  const cJSON *tlv = cJSON_GetObjectItemCaseSensitive(obj, "tlv");
  const cJSON *subs = cJSON_GetObjectItemCaseSensitive(obj, "subfields");
  if (tlv && !cJSON_IsBool(tlv)) return BAD(n, "\"tlv\" must be true or false");
  if (cJSON_IsTrue(tlv)) {
    if (subs) return BAD(n, "a field has \"subfields\" or \"tlv\", not both");
    def->subfield_kind = ISO_SUB_TLV;
  }
  if (subs) return read_subfields(ld, def, n, subs, err);
  return 0;
}

static int read_spec(loader *ld, const cJSON *root, iso_error *err) {
  iso_spec *spec = ld->spec;
  static const char *const keys[] = {"name", "description", "mti_encoding",
                                     "bitmap_encoding", "fields", NULL};
  if (!cJSON_IsObject(root)) return BAD(-1, "a spec must be a JSON object");
  if (!only_known_keys(root, keys)) return BAD(-1, "unknown key in the spec");
  const cJSON *name = cJSON_GetObjectItemCaseSensitive(root, "name");
  if (!cJSON_IsString(name) || !name->valuestring[0])
    return BAD(-1, "missing or empty \"name\"");
  const cJSON *desc = cJSON_GetObjectItemCaseSensitive(root, "description");
  if (desc && !cJSON_IsString(desc)) return BAD(-1, "\"description\" must be a string");
  bool bad = false;
  int mti_enc = enum_key(root, "mti_encoding", mti_enc_names, ISO_ENC_ASCII, &bad);
  if (bad) return BAD(0, "unknown \"mti_encoding\" (ascii bcd ebcdic)");
  int bitmap_enc = enum_key(root, "bitmap_encoding", bitmap_enc_names, ISO_ENC_BINARY, &bad);
  if (bad) return BAD(1, "unknown \"bitmap_encoding\" (binary hex)");
  const cJSON *fields = cJSON_GetObjectItemCaseSensitive(root, "fields");
  if (!fields) return BAD(-1, "missing \"fields\"");
  if (!cJSON_IsObject(fields)) return BAD(-1, "\"fields\" must be an object");

  ld->cap = store_need(root);
  ld->base = spec->storage = malloc(ld->cap);
  if (!ld->base) return iso__fail(err, ISO_E_NOMEM, -1, 0, "out of memory");
  spec->name = store_str(ld, name->valuestring);
  spec->description = desc ? store_str(ld, desc->valuestring) : NULL;
  if (!spec->name || (desc && !spec->description))
    return iso__fail(err, ISO_E_NOMEM, -1, 0, "out of memory");
  spec->mti_enc = (uint8_t)mti_enc;
  spec->bitmap_enc = (uint8_t)bitmap_enc;

  for (const cJSON *it = fields->child; it; it = it->next) {
    int n = field_number(it->string);
    if (n < 2 || n > ISO_MAX_FIELD || n == 65)
      return BAD(n > 0 ? n : -1,
                 "field numbers are 2 to 192, without 65 (bitmaps are implied)");
    if (spec->fields[n].name) return BAD(n, "field defined twice");
    int rc = read_field(ld, n, it, err);
    if (rc) return rc;
  }
  return 0;
}

int iso_spec_parse_json(const char *text, size_t len, iso_spec **out,
                        iso_error *err) {
  if (!text || !out) return iso__fail(err, ISO_E_INVAL, -1, 0, "no text or no output");
  *out = NULL;
  cJSON *root = iso__json_parse(text, len, err);
  if (!root) return ISO_E_BAD_JSON;
  iso_spec *spec = calloc(1, sizeof *spec);
  if (!spec) {
    cJSON_Delete(root);
    return iso__fail(err, ISO_E_NOMEM, -1, 0, "out of memory");
  }
  spec->heap = true;
  loader ld = {.spec = spec};
  int rc = read_spec(&ld, root, err);
  cJSON_Delete(root);
  if (!rc) rc = iso__spec_prepare(spec, err);
  if (rc) {
    free(spec->storage);
    free(spec);
    return rc;
  }
  *out = spec;
  return 0;
}

static const char cannot_open[] = "cannot open the spec file";

int iso_spec_load_json(const char *path, iso_spec **out, iso_error *err) {
  if (!path || !out) return iso__fail(err, ISO_E_INVAL, -1, 0, "no path or no output");
  *out = NULL;
  FILE *f = fopen(path, "rb");
  if (!f) return iso__fail(err, ISO_E_IO, -1, 0, cannot_open);
  size_t cap = 16384, len = 0;
  char *text = malloc(cap);
  int rc = 0;
  while (text) {
    len += fread(text + len, 1, cap - len, f);
    if (len < cap) break;
    char *bigger = realloc(text, cap * 2);
    if (!bigger) {
      free(text);
      text = NULL;
      break;
    }
    text = bigger;
    cap *= 2;
  }
  if (!text)
    rc = iso__fail(err, ISO_E_NOMEM, -1, 0, "out of memory");
  else if (ferror(f))
    rc = iso__fail(err, ISO_E_IO, -1, len, "cannot read the spec file");
  fclose(f);
  if (!rc) rc = iso_spec_parse_json(text, len, out, err);
  free(text);
  return rc;
}

int iso_spec_open(const char *name_or_path, const iso_spec **out,
                  iso_error *err) {
  if (!name_or_path || !out) return iso__fail(err, ISO_E_INVAL, -1, 0, "no name or no output");
  const iso_spec *builtin = iso_spec_builtin(name_or_path);
  if (builtin) {
    *out = builtin;
    return 0;
  }
  iso_spec *loaded = NULL;
  int rc = iso_spec_load_json(name_or_path, &loaded, err);
  if (rc == ISO_E_IO && err && err->reason == cannot_open && !strchr(name_or_path, '/'))
    err->reason = "neither a built-in spec name nor a readable spec file";
  *out = loaded;
  return rc;
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                   */
/* ------------------------------------------------------------------------ */

static void write_key_name(iso__out *o, const char *key, const name_map *map,
                           int value) {
  iso__out_str(o, ", \"");
  iso__out_str(o, key);
  iso__out_str(o, "\": \"");
  const char *name = name_of(map, value);
  iso__out_str(o, name ? name : "?");
  iso__out_char(o, '"');
}

static void write_field(iso__out *o, int n, const iso_field_def *def) {
  iso__out_str(o, "    \"");
  iso__out_uint(o, (unsigned long)n);
  iso__out_str(o, "\": {\"name\": ");
  iso__out_json_text(o, def->name);
  write_key_name(o, "content", content_names, def->content);
  write_key_name(o, "length", length_names, def->length_type);
  iso__out_str(o, ", \"max\": ");
  iso__out_uint(o, def->max_len);
  write_key_name(o, "encoding", data_enc_names, def->data_enc);
  write_key_name(o, "prefix_encoding", prefix_enc_names, def->prefix_enc);
  write_key_name(o, "pad", pad_names, def->pad);
  if (def->pad_char) {
    iso__out_str(o, ", \"pad_char\": ");
    iso__out_json_string(o, (const uint8_t *)&def->pad_char, 1);
  }
  write_key_name(o, "sensitivity", sensitivity_names, def->sensitivity);
  if (def->subfield_kind == ISO_SUB_TLV) iso__out_str(o, ", \"tlv\": true");
  if (def->subfield_kind == ISO_SUB_POSITIONAL) {
    iso__out_str(o, ",\n      \"subfields\": [");
    for (unsigned i = 0; i < def->subfield_count; i++) {
      iso__out_str(o, i ? ",\n        {\"name\": " : "\n        {\"name\": ");
      iso__out_json_text(o, def->subfields[i].name);
      iso__out_str(o, ", \"length\": ");
      iso__out_uint(o, def->subfields[i].length);
      iso__out_char(o, '}');
    }
    iso__out_str(o, "]");
  }
  iso__out_char(o, '}');
}

static void write_spec(iso__out *o, const iso_spec *spec) {
  iso__out_str(o, "{\n  \"name\": ");
  iso__out_json_text(o, spec->name ? spec->name : "");
  if (spec->description) {
    iso__out_str(o, ",\n  \"description\": ");
    iso__out_json_text(o, spec->description);
  }
  iso__out_str(o, ",\n  \"mti_encoding\": \"");
  const char *mti_enc = name_of(mti_enc_names, spec->mti_enc);
  iso__out_str(o, mti_enc ? mti_enc : "?");
  iso__out_str(o, "\",\n  \"bitmap_encoding\": \"");
  const char *bitmap_enc = name_of(bitmap_enc_names, spec->bitmap_enc);
  iso__out_str(o, bitmap_enc ? bitmap_enc : "?");
  iso__out_str(o, "\",\n  \"fields\": {");
  bool first = true;
  for (int n = 2; n <= ISO_MAX_FIELD; n++) {
    if (!spec->fields[n].name || n == 65) continue;
    iso__out_str(o, first ? "\n" : ",\n");
    first = false;
    write_field(o, n, &spec->fields[n]);
  }
  iso__out_str(o, "\n  }\n}\n");
}

char *iso_spec_to_json(const iso_spec *spec) {
  if (!spec) return NULL;
  iso__out o;
  iso__out_init(&o, NULL, 0);
  write_spec(&o, spec);
  size_t need = o.len + 1;
  char *text = malloc(need);
  if (!text) return NULL;
  iso__out_init(&o, text, need);
  write_spec(&o, spec);
  iso__out_finish(&o, NULL);
  return text;
}
