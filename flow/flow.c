/*
 * flow/flow.c -- the flow definition: configuration and its defaults, the
 * participant list and named groups, the attached journal, start (which
 * freezes the definition so every loop may share it), merged statistics and
 * freeing.
 */
#include <stdlib.h>
#include <string.h>

#include "flow/flow_internal.h"

static const int default_echo[] = {2, 3, 4, 7, 11, 12, 13, 32, 37, 41, 42, 49, 70, 90};
static const int default_key[] = {32, 11, 7, 41};
static const int default_fingerprint[] = {2, 3, 4, 49};

uint64_t iso__wall_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

const char *iso_phase_name(int phase) {
  static const char *const names[ISO_PHASE__COUNT] = {
      "prepare",      "prepare_for_abort", "commit", "abort",
      "journal_wait", "journal_write",     "total"};
  if (phase < 0 || phase >= ISO_PHASE__COUNT) return "?";
  return names[phase];
}

void iso_flow_config_init(iso_flow_config *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->max_in_flight = 10000;
  cfg->deadline_ms = 30000;
  memcpy(cfg->overload_code, "91", 3);
  memcpy(cfg->abort_code, "96", 3);
  memcpy(cfg->journal_fail_code, "96", 3);
  memcpy(cfg->echo_fields, default_echo, sizeof default_echo);
  cfg->echo_count = sizeof default_echo / sizeof default_echo[0];
  cfg->profiler = true;
  cfg->idempotency = true;
  memcpy(cfg->key_fields, default_key, sizeof default_key);
  cfg->key_count = sizeof default_key / sizeof default_key[0];
  memcpy(cfg->fingerprint_fields, default_fingerprint,
         sizeof default_fingerprint);
  cfg->fingerprint_count = sizeof default_fingerprint / sizeof(int);
  cfg->store_capacity = 100000;
  cfg->store_retention_ms = 600000;
  cfg->journal_lookup = ISO_LOOKUP_REPEATS;
}

static bool code_ok(const char c[3]) {
  return c[0] && c[1] && c[2] == '\0';
}

static bool fields_ok(const int *fields, size_t n, size_t max) {
  if (n > max) return false;
  for (size_t i = 0; i < n; i++)
    if (fields[i] < 2 || fields[i] > ISO_MAX_FIELD || fields[i] == 65)
      return false;
  return true;
}

int iso_flow_new(const iso_flow_config *cfg, iso_flow **out) {
  if (!cfg || !out || !cfg->spec || cfg->max_in_flight == 0) return ISO_E_INVAL;
  if (!code_ok(cfg->overload_code) || !code_ok(cfg->abort_code) ||
      !code_ok(cfg->journal_fail_code))
    return ISO_E_INVAL;
  if (!fields_ok(cfg->echo_fields, cfg->echo_count, ISO_FLOW_MAX_ECHO_FIELDS) ||
      !fields_ok(cfg->key_fields, cfg->key_count, ISO_FLOW_MAX_KEY_FIELDS) ||
      !fields_ok(cfg->fingerprint_fields, cfg->fingerprint_count,
                 ISO_FLOW_MAX_KEY_FIELDS))
    return ISO_E_INVAL;
  if (cfg->idempotency && cfg->store_capacity == 0) return ISO_E_INVAL;
  iso__clock_init();
  iso_flow *f = calloc(1, sizeof *f);
  if (!f) return ISO_E_NOMEM;
  f->cfg = *cfg;
  f->name = strdup(cfg->name ? cfg->name : "flow");
  f->groups = calloc(4, sizeof *f->groups);
  if (!f->name || !f->groups || uv_mutex_init(&f->lock) != 0) {
    free(f->name);
    free(f->groups);
    free(f);
    return ISO_E_NOMEM;
  }
  f->cfg.name = f->name;
  for (size_t i = 0; i < cfg->echo_count; i++) {
    int n = cfg->echo_fields[i];
    f->echo_mask[(n - 1) >> 6] |= 1ull << ((n - 1) & 63);
  }
  f->groups_cap = 4;
  f->ngroups = 1; /* the main list */
  atomic_init(&f->profiler_on, cfg->profiler);
  atomic_init(&f->next_id, 1);
  *out = f;
  return 0;
}

const char *iso_flow_name(const iso_flow *flow) { return flow->name; }

static int add_to_group(iso_flow *f, iso__group *g, const iso_participant *p) {
  if (f->started) return ISO_E_STATE;
  if (!p || !p->name || !p->name[0] || (!p->prepare && !p->select))
    return ISO_E_INVAL;
  if (f->nparts >= ISO_FLOW_MAX_PARTICIPANTS) return ISO_E_NOSPC;
  if (f->nparts == f->parts_cap) {
    uint16_t cap = f->parts_cap ? (uint16_t)(f->parts_cap * 2) : 8;
    iso_participant *n = realloc(f->parts, cap * sizeof *n);
    if (!n) return ISO_E_NOMEM;
    f->parts = n;
    f->parts_cap = cap;
  }
  if (g->count == g->cap) {
    uint16_t cap = g->cap ? (uint16_t)(g->cap * 2) : 8;
    uint8_t *n = realloc(g->members, cap);
    if (!n) return ISO_E_NOMEM;
    g->members = n;
    g->cap = cap;
  }
  f->parts[f->nparts] = *p;
  g->members[g->count++] = (uint8_t)f->nparts;
  f->nparts++;
  return 0;
}

int iso_flow_add(iso_flow *flow, const iso_participant *p) {
  if (!flow) return ISO_E_INVAL;
  return add_to_group(flow, &flow->groups[0], p);
}

int iso__flow_find_group(const iso_flow *f, const char *name, size_t len) {
  for (uint16_t i = 1; i < f->ngroups; i++)
    if (strlen(f->groups[i].name) == len &&
        memcmp(f->groups[i].name, name, len) == 0)
      return i;
  return -1;
}

int iso_flow_group_add(iso_flow *flow, const char *group,
                       const iso_participant *p) {
  if (!flow || !group || !group[0]) return ISO_E_INVAL;
  if (flow->started) return ISO_E_STATE;
  int gi = iso__flow_find_group(flow, group, strlen(group));
  if (gi < 0) {
    if (flow->ngroups >= 255) return ISO_E_NOSPC;
    if (flow->ngroups == flow->groups_cap) {
      uint16_t cap = (uint16_t)(flow->groups_cap * 2);
      iso__group *n = realloc(flow->groups, cap * sizeof *n);
      if (!n) return ISO_E_NOMEM;
      flow->groups = n;
      flow->groups_cap = cap;
    }
    iso__group *g = &flow->groups[flow->ngroups];
    memset(g, 0, sizeof *g);
    if (!(g->name = strdup(group))) return ISO_E_NOMEM;
    gi = flow->ngroups++;
  }
  return add_to_group(flow, &flow->groups[gi], p);
}

int iso__flow_find_part(const iso_flow *f, const char *name) {
  for (uint16_t i = 0; i < f->nparts; i++)
    if (strcmp(f->parts[i].name, name) == 0) return i;
  return -1;
}

int iso_flow_set_journal(iso_flow *flow, const iso_journal *j) {
  if (!flow || !j || !j->begin || !j->decision || !j->completion)
    return ISO_E_INVAL;
  if (flow->started) return ISO_E_STATE;
  flow->journal = *j;
  flow->has_journal = true;
  return 0;
}

int iso_flow_start(iso_flow *flow) {
  if (!flow) return ISO_E_INVAL;
  if (flow->started) return ISO_E_STATE;
  if (flow->groups[0].count == 0) return ISO_E_INVAL;
  if (flow->cfg.idempotency) {
    int rc = iso__store_new(flow, &flow->store);
    if (rc < 0) return rc;
  }
  uint64_t first = flow->has_journal ? flow->journal.first_tx_id : 0;
  atomic_store(&flow->next_id, first ? first : 1);
  /* The stage records sit after the transaction record, and only when a
   * journal will want them: the histograms need no per-transaction copy. */
  flow->tx_size = sizeof(iso_tx);
  flow->keep_stages = flow->has_journal || flow->cfg.record_stages;
  if (flow->keep_stages)
    flow->tx_size += ISO__MAX_STAGES * sizeof(iso__stage);
  flow->started = true;
  return 0;
}

iso__loop_stats *iso__flow_stats_new(iso_flow *f) {
  uv_mutex_lock(&f->lock);
  iso__loop_stats *st = f->stats;
  while (st && st->in_use) st = st->next;
  if (st) st->in_use = true;
  uv_mutex_unlock(&f->lock);
  if (st) return st;
  st = calloc(1, sizeof *st);
  if (!st) return NULL;
  st->in_use = true;
  st->nhists = ((size_t)f->nparts + 1) * ISO_PHASE__COUNT;
  st->hists = calloc(st->nhists, sizeof *st->hists);
  if (!st->hists) {
    free(st);
    return NULL;
  }
  uv_mutex_lock(&f->lock);
  st->next = f->stats;
  f->stats = st;
  uv_mutex_unlock(&f->lock);
  return st;
}

void iso__flow_stats_release(iso_flow *f, iso__loop_stats *st) {
  /* The lock also orders the closed loop's plain writes to its histograms
   * before the next owner's, on whichever thread that runs. */
  uv_mutex_lock(&f->lock);
  st->in_use = false;
  uv_mutex_unlock(&f->lock);
}

void iso_flow_stats_get(const iso_flow *flow, iso_flow_stats *out) {
  memset(out, 0, sizeof *out);
  if (!flow) return;
  uv_mutex_lock((uv_mutex_t *)&flow->lock);
  for (iso__loop_stats *s = flow->stats; s; s = s->next) {
#define ISO__SUM(field) out->field += ISO__STAT_GET(s->field);
    ISO__SUM(submitted) ISO__SUM(started) ISO__SUM(committed)
    ISO__SUM(aborted) ISO__SUM(in_flight) ISO__SUM(paused)
    ISO__SUM(overload_declined) ISO__SUM(deadline_expired)
    ISO__SUM(participant_timeouts) ISO__SUM(dup_in_flight)
    ISO__SUM(dup_completed) ISO__SUM(dup_from_journal)
    ISO__SUM(repeat_as_original) ISO__SUM(fingerprint_mismatch)
    ISO__SUM(journal_failures) ISO__SUM(recovered)
#undef ISO__SUM
  }
  uv_mutex_unlock((uv_mutex_t *)&flow->lock);
  if (flow->store)
    iso__store_counts(flow->store, &out->store_evicted_size,
                      &out->store_evicted_age);
}

void iso_flow_profiler_enable(iso_flow *flow, bool on) {
  if (flow) atomic_store(&flow->profiler_on, on);
}

void iso_flow_free(iso_flow *flow) {
  if (!flow) return;
  iso__store_free(flow->store);
  for (uint16_t i = 0; i < flow->ngroups; i++) {
    free(flow->groups[i].name);
    free(flow->groups[i].members);
  }
  free(flow->groups);
  free(flow->parts);
  iso__loop_stats *s = flow->stats;
  while (s) {
    iso__loop_stats *next = s->next;
    for (size_t i = 0; i < s->nhists; i++) free(atomic_load(&s->hists[i]));
    free(s->hists);
    free(s);
    s = next;
  }
  uv_mutex_destroy(&flow->lock);
  free(flow->name);
  free(flow);
}
