/*
 * flow/profiler.c -- per-stage latency: what each transaction records and
 * what each flow keeps.
 *
 * Every stage boundary (a participant's call ending, the journal answering)
 * is timed once by the engine; the stage is filed twice: into the
 * transaction's own stage list (kept only when a journal will want it) and,
 * when profiling is on, into the loop's histogram for that participant and
 * phase (iso__profile_stage, inline in flow_internal.h: it runs at every
 * stage of every transaction).  Histograms are per loop, so recording takes no lock; reading
 * merges every loop's histograms (closed loops included) under the flow's
 * lock and renders them as a table, JSON or Prometheus text.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "flow/flow_internal.h"

iso__hist *iso__profile_hist_new(iso__loop_stats *st, size_t index) {
  iso__hist *h = calloc(1, sizeof *h); /* once per participant, phase, loop */
  if (h) atomic_store_explicit(&st->hists[index], h, memory_order_release);
  return h;
}

static iso__hist *hist_for(iso__loop_stats *st, size_t index) {
  iso__hist *h = atomic_load_explicit(&st->hists[index], memory_order_acquire);
  return h ? h : iso__profile_hist_new(st, index);
}

void iso__profile_flow_stage(iso__loop_stats *st, const iso_flow *f,
                             unsigned phase, uint64_t ns) {
  iso__hist *h = hist_for(st, (size_t)f->nparts * ISO_PHASE__COUNT + phase);
  if (h) iso__hist_record(h, ns);
}

void iso__profile_keep_stage(iso_tx *tx, unsigned part, unsigned phase,
                             uint64_t start, uint64_t took) {
  iso__stage *stages = iso__tx_stages(tx);
  if (stages && tx->nstages < ISO__MAX_STAGES) {
    iso__stage *s = &stages[tx->nstages++];
    s->part = (uint8_t)part;
    s->phase = (uint8_t)phase;
    s->start_ns = start - tx->t_submit;
    s->duration_ns = took;
  }
}

/* ---- reading ------------------------------------------------------------ */

/* Merges one (row, phase) histogram of every loop into snap. */
static void merge_row(const iso_flow *f, size_t row, unsigned phase,
                      iso__hist_snap *snap) {
  memset(snap, 0, sizeof *snap);
  for (iso__loop_stats *st = f->stats; st; st = st->next) {
    iso__hist *h = atomic_load_explicit(&st->hists[row * ISO_PHASE__COUNT +
                                                   phase],
                                        memory_order_acquire);
    if (h) iso__hist_merge(snap, h);
  }
}

int iso_flow_latency(const iso_flow *flow, const char *participant,
                     iso_phase phase, iso_latency *out) {
  if (!flow || !out || phase < 0 || phase >= ISO_PHASE__COUNT)
    return ISO_E_INVAL;
  size_t row = flow->nparts;
  if (participant) {
    int p = iso__flow_find_part(flow, participant);
    if (p < 0) return ISO_E_NOT_FOUND;
    row = (size_t)p;
  }
  iso__hist_snap *snap = malloc(sizeof *snap);
  if (!snap) return ISO_E_NOMEM;
  uv_mutex_lock((uv_mutex_t *)&flow->lock);
  merge_row(flow, row, phase, snap);
  uv_mutex_unlock((uv_mutex_t *)&flow->lock);
  iso__hist_summary(snap, out);
  free(snap);
  return 0;
}

/* ---- rendering ---------------------------------------------------------- */

typedef struct out_buf {
  char *buf;
  size_t cap, len;
} out_buf;

static void put(out_buf *o, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  size_t room = o->len < o->cap ? o->cap - o->len : 0;
  int n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
  va_end(ap);
  if (n > 0) o->len += (size_t)n;
}

/* A name inside a JSON string or a Prometheus label value: both escape
 * backslash, quote and newline the same way; other control bytes become
 * '?' (names are identifiers, never card data). */
static void put_name(out_buf *o, const char *name) {
  for (const char *p = name; *p; p++) {
    unsigned char c = (unsigned char)*p;
    if (c == '"' || c == '\\')
      put(o, "\\%c", c);
    else if (c == '\n')
      put(o, "\\n");
    else
      put(o, "%c", c < 0x20 ? '?' : c);
  }
}

static void put_labels(out_buf *o, const char *flow, const char *who,
                       const char *phase) {
  put(o, "{flow=\"");
  put_name(o, flow);
  put(o, "\",participant=\"");
  put_name(o, who);
  put(o, "\",phase=\"%s\"", phase);
}

static const char *const quantile_names[] = {"0.5", "0.9", "0.99", "0.999",
                                             "0.9999"};

static void render_row(out_buf *o, iso_profile_format format, const char *flow,
                       const char *participant, unsigned phase,
                       const iso_latency *l, bool first) {
  const char *who = participant ? participant : "-";
  const char *ph = iso_phase_name((int)phase);
  const uint64_t q[5] = {l->p50, l->p90, l->p99, l->p999, l->p9999};
  switch (format) {
  case ISO_PROFILE_TEXT:
    put(o, "%-20s %-17s %10" PRIu64, who, ph, l->count);
    for (int i = 0; i < 5; i++) put(o, " %10.1f", (double)q[i] / 1000.0);
    put(o, " %10.1f\n", (double)l->max / 1000.0);
    break;
  case ISO_PROFILE_JSON:
    put(o, "%s{\"participant\":", first ? "" : ",");
    if (participant) {
      put(o, "\"");
      put_name(o, participant);
      put(o, "\"");
    } else {
      put(o, "null");
    }
    put(o,
        ",\"phase\":\"%s\",\"count\":%" PRIu64 ",\"p50_ns\":%" PRIu64
        ",\"p90_ns\":%" PRIu64 ",\"p99_ns\":%" PRIu64 ",\"p999_ns\":%" PRIu64
        ",\"p9999_ns\":%" PRIu64 ",\"max_ns\":%" PRIu64 "}",
        ph, l->count, l->p50, l->p90, l->p99, l->p999, l->p9999, l->max);
    break;
  case ISO_PROFILE_PROMETHEUS:
    for (int i = 0; i < 5; i++) {
      put(o, "isoflow_stage_seconds");
      put_labels(o, flow, who, ph);
      put(o, ",quantile=\"%s\"} %.9f\n", quantile_names[i],
          (double)q[i] / 1e9);
    }
    put(o, "isoflow_stage_seconds_count");
    put_labels(o, flow, who, ph);
    put(o, "} %" PRIu64 "\n", l->count);
    put(o, "isoflow_stage_max_seconds");
    put_labels(o, flow, who, ph);
    put(o, "} %.9f\n", (double)l->max / 1e9);
    break;
  }
}

int iso_flow_profile(const iso_flow *flow, iso_profile_format format,
                     char *buf, size_t cap, size_t *out_len) {
  if (!flow || (!buf && cap) || !out_len || format < ISO_PROFILE_TEXT ||
      format > ISO_PROFILE_PROMETHEUS)
    return ISO_E_INVAL;
  out_buf o = {buf, cap, 0};
  switch (format) {
  case ISO_PROFILE_TEXT:
    put(&o, "flow %s (times in microseconds)\n", flow->name);
    put(&o, "%-20s %-17s %10s %10s %10s %10s %10s %10s %10s\n", "participant",
        "phase", "count", "p50", "p90", "p99", "p99.9", "p99.99", "max");
    break;
  case ISO_PROFILE_JSON:
    put(&o, "{\"flow\":\"");
    put_name(&o, flow->name);
    put(&o, "\",\"stages\":[");
    break;
  case ISO_PROFILE_PROMETHEUS:
    put(&o, "# HELP isoflow_stage_seconds Stage latency by participant and "
            "phase.\n# TYPE isoflow_stage_seconds summary\n"
            "# HELP isoflow_stage_max_seconds Longest stage seen.\n"
            "# TYPE isoflow_stage_max_seconds gauge\n");
    break;
  }
  iso__hist_snap *snap = malloc(sizeof *snap);
  if (!snap) return ISO_E_NOMEM;
  bool first = true;
  uv_mutex_lock((uv_mutex_t *)&flow->lock);
  for (size_t row = 0; row <= flow->nparts; row++) {
    for (unsigned phase = 0; phase < ISO_PHASE__COUNT; phase++) {
      merge_row(flow, row, phase, snap);
      if (snap->count == 0) continue;
      iso_latency l;
      iso__hist_summary(snap, &l);
      const char *who = row < flow->nparts ? flow->parts[row].name : NULL;
      render_row(&o, format, flow->name, who, phase, &l, first);
      first = false;
    }
  }
  uv_mutex_unlock((uv_mutex_t *)&flow->lock);
  free(snap);
  if (format == ISO_PROFILE_JSON) put(&o, "]}");
  *out_len = o.len;
  if (o.len >= cap) return ISO_E_NOSPC;
  return 0;
}
