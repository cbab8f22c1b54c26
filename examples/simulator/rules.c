/*
 * examples/simulator/rules.c -- the simulator's answer rules (rules.h):
 * parsing from the command line and from JSON (cJSON), and matching.
 */
#include "examples/simulator/rules.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isoflow/error.h"

static void rule_init(sim_rule *r) {
  memset(r, 0, sizeof *r);
  r->amount_min = r->amount_max = -1;
  memcpy(r->rc, "00", 3);
}

static bool digits(const char *s, size_t max) {
  size_t n = strlen(s);
  if (n == 0 || n > max) return false;
  for (size_t i = 0; i < n; i++)
    if (!isdigit((unsigned char)s[i])) return false;
  return true;
}

static bool rc_ok(const char *s) { return strlen(s) == 2 && isalnum((unsigned char)s[0]) && isalnum((unsigned char)s[1]); }

static int parse_pair(sim_rule *r, const char *key, const char *value) {
  char *end;
  if (!strcmp(key, "drop") && !value) {
    r->drop = true;
  } else if (!value) {
    return ISO_E_INVAL;
  } else if (!strcmp(key, "amount")) {
    long long lo = strtoll(value, &end, 10), hi;
    if (end == value || *end != '-' || lo < 0) return ISO_E_INVAL;
    const char *h = end + 1;
    hi = strtoll(h, &end, 10);
    if (end == h || *end || hi < lo) return ISO_E_INVAL;
    r->amount_min = lo;
    r->amount_max = hi;
  } else if (!strcmp(key, "pan-suffix")) {
    if (!digits(value, sizeof r->pan_suffix - 1)) return ISO_E_INVAL;
    strcpy(r->pan_suffix, value);
  } else if (!strcmp(key, "rc")) {
    if (!rc_ok(value)) return ISO_E_INVAL;
    memcpy(r->rc, value, 3);
  } else if (!strcmp(key, "delay")) {
    long long d = strtoll(value, &end, 10);
    if (end == value || *end || d < 0 || d > 600000) return ISO_E_INVAL;
    r->delay_ms = (uint32_t)d;
  } else {
    return ISO_E_INVAL;
  }
  return 0;
}

int sim_rule_parse(const char *text, sim_rule *out) {
  sim_rule r;
  rule_init(&r);
  char buf[256];
  if (strlen(text) >= sizeof buf || !*text) return ISO_E_INVAL;
  strcpy(buf, text);
  for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
    char *eq = strchr(tok, '=');
    if (eq) *eq = '\0';
    if (parse_pair(&r, tok, eq ? eq + 1 : NULL) < 0) return ISO_E_INVAL;
  }
  *out = r;
  return 0;
}

static int rule_from_json(const cJSON *o, sim_rule *r) {
  rule_init(r);
  if (!cJSON_IsObject(o)) return ISO_E_BAD_JSON;
  for (const cJSON *it = o->child; it; it = it->next) {
    const char *k = it->string;
    if (!strcmp(k, "amount_min") || !strcmp(k, "amount_max")) {
      if (!cJSON_IsNumber(it) || it->valuedouble < 0) return ISO_E_BAD_JSON;
      *(!strcmp(k, "amount_min") ? &r->amount_min : &r->amount_max) = (int64_t)it->valuedouble;
    } else if (!strcmp(k, "pan_suffix")) {
      if (!cJSON_IsString(it) || !digits(it->valuestring, sizeof r->pan_suffix - 1))
        return ISO_E_BAD_JSON;
      strcpy(r->pan_suffix, it->valuestring);
    } else if (!strcmp(k, "rc")) {
      if (!cJSON_IsString(it) || !rc_ok(it->valuestring)) return ISO_E_BAD_JSON;
      memcpy(r->rc, it->valuestring, 3);
    } else if (!strcmp(k, "delay_ms")) {
      if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > 600000)
        return ISO_E_BAD_JSON;
      r->delay_ms = (uint32_t)it->valuedouble;
    } else if (!strcmp(k, "drop")) {
      if (!cJSON_IsBool(it)) return ISO_E_BAD_JSON;
      r->drop = cJSON_IsTrue(it);
    } else {
      return ISO_E_BAD_JSON;
    }
  }
  /* One bound alone: the other is open. */
  if (r->amount_min >= 0 && r->amount_max < 0) r->amount_max = INT64_MAX;
  if (r->amount_max >= 0 && r->amount_min < 0) r->amount_min = 0;
  if (r->amount_max < r->amount_min) return ISO_E_BAD_JSON;
  return 0;
}

int sim_rules_load_json(const char *path, sim_rules *rules, int *bad) {
  FILE *f = fopen(path, "rb");
  if (!f) return ISO_E_IO;
  char *text = NULL;
  size_t len = 0, cap = 0, n;
  char chunk[4096];
  while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
    if (len + n + 1 > cap) {
      cap = (len + n + 1) * 2;
      char *t = realloc(text, cap);
      if (!t) {
        free(text);
        fclose(f);
        return ISO_E_NOMEM;
      }
      text = t;
    }
    memcpy(text + len, chunk, n);
    len += n;
  }
  fclose(f);
  cJSON *root = text ? cJSON_ParseWithLength(text, len) : NULL;
  free(text);
  int rc = 0, i = 0;
  if (!cJSON_IsArray(root)) {
    rc = ISO_E_BAD_JSON;
    i = -1;
  }
  for (const cJSON *it = root ? root->child : NULL; rc == 0 && it; it = it->next, i++) {
    if (rules->count == SIM_MAX_RULES) rc = ISO_E_NOSPC;
    else rc = rule_from_json(it, &rules->rule[rules->count]);
    if (rc == 0) rules->count++;
  }
  if (rc < 0 && bad) *bad = i;
  cJSON_Delete(root);
  return rc;
}

const sim_rule *sim_rules_match(const sim_rules *rules, int64_t amount, const char *pan) {
  for (size_t i = 0; i < rules->count; i++) {
    const sim_rule *r = &rules->rule[i];
    if (r->amount_min >= 0 && (amount < r->amount_min || amount > r->amount_max)) continue;
    if (r->pan_suffix[0]) {
      size_t pl = pan ? strlen(pan) : 0, sl = strlen(r->pan_suffix);
      if (pl < sl || strcmp(pan + pl - sl, r->pan_suffix)) continue;
    }
    return r;
  }
  return NULL;
}
