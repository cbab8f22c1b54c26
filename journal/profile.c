/*
 * journal/profile.c -- stage-latency profiles over journaled transactions:
 * every stage timing of the selected completed transactions, grouped by
 * participant and phase, with exact nearest-rank percentiles (the journal
 * holds every sample, so no histogram approximation is needed).
 */
#include <stdlib.h>
#include <string.h>

#include "journal/journal_internal.h"

typedef struct series {
  char *participant; /* NULL: flow level */
  iso_phase phase;
  uint64_t *v;
  size_t n, cap;
} series;

typedef struct profile_ctx {
  series *s;
  size_t n, cap;
  int rc;
} profile_ctx;

static series *find(profile_ctx *p, const char *name, iso_phase phase) {
  for (size_t i = 0; i < p->n; i++)
    if (p->s[i].phase == phase &&
        (name ? p->s[i].participant && !strcmp(p->s[i].participant, name)
              : !p->s[i].participant))
      return &p->s[i];
  if (p->n == p->cap) {
    size_t cap = p->cap ? 2 * p->cap : 16;
    series *s = realloc(p->s, cap * sizeof *s);
    if (!s) return NULL;
    p->s = s;
    p->cap = cap;
  }
  series *s = &p->s[p->n];
  memset(s, 0, sizeof *s);
  s->phase = phase;
  if (name && !(s->participant = strdup(name))) return NULL;
  p->n++;
  return s;
}

static int add_row(const iso_journal_row *row, void *data) {
  profile_ctx *p = data;
  if (!row->completed) return 0;
  for (size_t i = 0; i < row->stage_count; i++) {
    const iso_stage_timing *t = &row->stages[i];
    series *s = find(p, t->participant, t->phase);
    if (!s) return ISO_E_NOMEM;
    if (s->n == s->cap) {
      size_t cap = s->cap ? 2 * s->cap : 64;
      uint64_t *v = realloc(s->v, cap * sizeof *v);
      if (!v) return ISO_E_NOMEM;
      s->v = v;
      s->cap = cap;
    }
    s->v[s->n++] = t->duration_ns;
  }
  return 0;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest value with at least q of the samples <= it. */
static uint64_t rank(const uint64_t *v, size_t n, double q) {
  size_t k = (size_t)(q * (double)n + 0.999999999);
  if (k < 1) k = 1;
  if (k > n) k = n;
  return v[k - 1];
}

/* Participants first (first seen), flow-level stages last. */
static int order(const void *a, const void *b) {
  const iso_journal_profile_row *x = a, *y = b;
  bool fx = !x->participant, fy = !y->participant;
  if (fx != fy) return fx ? 1 : -1;
  return 0;
}

int iso_journal_profile_compute(iso_journal_db *db,
                                const iso_journal_selection *sel,
                                iso_journal_profile *out) {
  profile_ctx p = {0};
  memset(out, 0, sizeof *out);
  int rc = iso__query(db, sel, false, false, add_row, &p);
  if (!rc && p.n) {
    out->rows = calloc(p.n, sizeof *out->rows);
    if (!out->rows) rc = ISO_E_NOMEM;
  }
  for (size_t i = 0; i < p.n; i++) {
    series *s = &p.s[i];
    if (!rc) {
      qsort(s->v, s->n, sizeof *s->v, cmp_u64);
      out->rows[i] = (iso_journal_profile_row){
          .participant = s->participant,
          .phase = s->phase,
          .count = s->n,
          .p50 = rank(s->v, s->n, 0.50),
          .p90 = rank(s->v, s->n, 0.90),
          .p99 = rank(s->v, s->n, 0.99),
          .p999 = rank(s->v, s->n, 0.999),
          .max = s->v[s->n - 1]};
      s->participant = NULL; /* owned by the row now */
      out->count = i + 1;
    }
    free(s->participant);
    free(s->v);
  }
  free(p.s);
  if (rc) {
    iso_journal_profile_free(out);
    return rc;
  }
  /* stable: insertion sort keeps first-seen order within each class */
  for (size_t i = 1; i < out->count; i++)
    for (size_t j = i; j > 0 && order(&out->rows[j - 1], &out->rows[j]) > 0; j--) {
      iso_journal_profile_row t = out->rows[j];
      out->rows[j] = out->rows[j - 1];
      out->rows[j - 1] = t;
    }
  return 0;
}

void iso_journal_profile_free(iso_journal_profile *p) {
  if (!p) return;
  for (size_t i = 0; i < p->count; i++) free((char *)p->rows[i].participant);
  free(p->rows);
  memset(p, 0, sizeof *p);
}
