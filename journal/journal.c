/*
 * journal/journal.c -- the journal handle: configuration, open and close,
 * and the three events (begin, decision, completion) serialized on the
 * caller's thread -- card data protected there, so the writer thread only
 * writes -- then copied into the writer's queue (writer.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "journal/journal_internal.h"

static _Thread_local char open_error[512];

const char *iso_journal_open_error(void) { return open_error; }

void iso_journal_config_init(iso_journal_config *cfg) {
  static const int prot[] = {2, 14, 35, 36, 45, 52, 55};
  memset(cfg, 0, sizeof *cfg);
  cfg->sync = ISO_JOURNAL_SYNC_FULL;
  cfg->queue_capacity = 65536;
  cfg->busy_timeout_ms = 2000;
  memcpy(cfg->protected_fields, prot, sizeof prot);
  cfg->protected_count = sizeof prot / sizeof *prot;
  cfg->lookup_window_ms = 86400000u;
}

static int fail_open(iso_journal_db *db, int rc) {
  if (!open_error[0]) snprintf(open_error, sizeof open_error, "%s", iso_strerror(rc));
  iso_journal_close(db);
  return rc;
}

int iso_journal_open(const iso_journal_config *cfg, iso_journal_db **out) {
  open_error[0] = 0;
  if (!cfg || !cfg->path || !out || cfg->protected_count > ISO_JOURNAL_MAX_PROTECTED) {
    snprintf(open_error, sizeof open_error, "invalid journal configuration");
    return ISO_E_INVAL;
  }
  iso_journal_db *db = calloc(1, sizeof *db);
  if (!db) return ISO_E_NOMEM;
  db->cfg = *cfg;
  if (!db->cfg.queue_capacity) db->cfg.queue_capacity = 65536;
  pthread_mutex_init(&db->mu, NULL);
  pthread_cond_init(&db->cv, NULL);
  pthread_mutex_init(&db->rd_mu, NULL);
  db->path = strdup(cfg->path);
  db->vfs = cfg->vfs ? strdup(cfg->vfs) : NULL;
  if (!db->path || (cfg->vfs && !db->vfs)) return fail_open(db, ISO_E_NOMEM);
  db->cfg.path = db->path;
  db->cfg.vfs = db->vfs;
  db->cfg.key_file = NULL;
  db->spec = cfg->spec;
  for (size_t i = 0; i < cfg->protected_count; i++) {
    int f = cfg->protected_fields[i];
    if (f < 2 || f > ISO_MAX_FIELD) {
      snprintf(open_error, sizeof open_error, "protected field %d out of range", f);
      return fail_open(db, ISO_E_INVAL);
    }
    db->prot.prot[f] = true;
  }
  int rc;
  if (cfg->key_file) {
    rc = iso__protect_load_key(&db->prot, cfg->key_file, open_error, sizeof open_error);
    if (rc) return fail_open(db, rc);
  }
  db->cfg.key_file = cfg->key_file; /* for messages during open only */
  rc = iso__schema_open(db, &db->rdb, !cfg->read_only, open_error, sizeof open_error);
  db->cfg.key_file = NULL;
  if (!rc) rc = iso__protect_ready(&db->prot);
  if (rc) return fail_open(db, rc);
  if (!cfg->read_only) {
    rc = iso__schema_open(db, &db->wdb, false, open_error, sizeof open_error);
    if (!rc) rc = iso__schema_prepare_writer(db);
    if (!rc) rc = iso__checkpointer_start(db);
    if (!rc) rc = iso__writer_start(db);
    if (rc) return fail_open(db, rc);
  }
  *out = db;
  return 0;
}

void iso_journal_close(iso_journal_db *db) {
  if (!db) return;
  if (db->started) iso__writer_stop(db);
  iso__queue_free(db);
  iso__checkpointer_stop(db);
  sqlite3_close(db->cdb);
  for (int i = 0; i < ISO__ROW_SIZES; i++) {
    sqlite3_finalize(db->st_insert[i]);
    sqlite3_finalize(db->st_done[i]);
  }
  sqlite3_finalize(db->st_decide);
  sqlite3_close(db->wdb);
  sqlite3_close(db->rdb);
  pthread_mutex_destroy(&db->mu);
  pthread_cond_destroy(&db->cv);
  pthread_mutex_destroy(&db->rd_mu);
  if (db->owned_spec) iso_spec_free(db->owned_spec);
  iso__protect_free(&db->prot);
  free(db->path);
  free(db->vfs);
  free(db);
}

uint64_t iso_journal_first_tx_id(const iso_journal_db *db) { return db->first_tx_id; }

bool iso_journal_has_key(const iso_journal_db *db) { return db->prot.has_key; }

const iso_spec *iso_journal_spec(const iso_journal_db *db) { return db->spec; }

void iso_journal_stats_get(iso_journal_db *db, iso_journal_stats *out) {
  out->events = atomic_load(&db->n_events);
  out->groups = atomic_load(&db->n_groups);
  out->failures = atomic_load(&db->n_failures);
  out->failed_groups = atomic_load(&db->n_failed_groups);
  out->full = atomic_load(&db->n_full);
  out->max_group = atomic_load(&db->n_max_group);
  out->writer_cpu_ns = atomic_load(&db->n_cpu_ns);
}

/* ---- event serialization --------------------------------------------------- */

/* Copies a short text field (canonical value) of the request. */
static void copy_text(const iso_msg *m, int f, char *out, size_t cap) {
  size_t len = 0;
  out[0] = 0;
  if (iso_msg_get(m, f, out, cap, &len) || len >= cap) out[0] = 0;
  else out[len] = 0;
}

/* Serializes a message: clear record, and the protected fields sealed (with
 * a key) or dropped (DE 2 masked into the clear record instead). */
static int protect_message(iso_journal_db *db, uint64_t tx_id, char dir,
                           const iso_msg *m, iso__jbuf *clear, iso__jbuf *env,
                           bool *has_env) {
  iso__jbuf plain;
  iso__jbuf_init(&plain);
  int fields[ISO_MAX_FIELD];
  size_t nf = 0;
  bool key = db->prot.has_key;
  /* DE 2 always goes masked into the clear record (displays, queries);
   * with the key the envelope restores it. */
  int rc = iso__record_message(m, db->prot.prot, true, clear,
                               key ? &plain : NULL, fields, &nf);
  *has_env = false;
  if (!rc && key && nf) {
    rc = iso__seal(&db->prot, tx_id, dir, fields, nf, plain.data, plain.len, env);
    *has_env = rc == 0;
  }
  iso__jbuf_wipe(&plain);
  return rc;
}

int iso_journal_log_begin(iso_journal_db *db, const iso_journal_begin *ev) {
  if (!db || !ev || db->cfg.read_only) return db && ev ? ISO_E_STATE : ISO_E_INVAL;
  iso__jbuf key, req, env;
  iso__jbuf_init(&key);
  iso__jbuf_init(&req);
  iso__jbuf_init(&env);
  bool has_env = false, has_req = ev->request != NULL;
  int rc = 0;
  if (ev->idempotency_key) iso__jbuf_put(&key, ev->idempotency_key, ev->idempotency_key_len);
  if (has_req) rc = protect_message(db, ev->tx_id, 'Q', ev->request, &req, &env, &has_env);
  iso__event e = {.kind = ISO__EV_BEGIN, .tx_id = ev->tx_id,
                  .at = ev->started_at, .fingerprint = ev->fingerprint};
  if (!rc && has_req) {
    const iso_msg *m = ev->request;
    const char *mti = iso_msg_mti(m);
    memcpy(e.mti, mti, strnlen(mti, sizeof e.mti - 1));
    copy_text(m, 11, e.stan, sizeof e.stan);
    copy_text(m, 37, e.rrn, sizeof e.rrn);
    copy_text(m, 41, e.terminal, sizeof e.terminal);
    copy_text(m, 4, e.amount, sizeof e.amount);
    copy_text(m, 49, e.currency, sizeof e.currency);
    char pan[24];
    size_t len = 0;
    if (iso_msg_get(m, 2, pan, sizeof pan, &len) == 0 && len < sizeof e.pan_masked) {
      iso_mask_pan(pan, len, e.pan_masked);
      e.pan_masked[len] = 0;
      e.has_pan = iso__pan_hash(&db->prot, (const uint8_t *)pan, len, e.pan_hash) == 0;
    }
    OPENSSL_cleanse(pan, sizeof pan);
  }
  if (!rc) {
    iso__jbuf *bufs[] = {ev->idempotency_key ? &key : NULL, has_req ? &req : NULL,
                         has_env ? &env : NULL};
    iso__blob *blobs[] = {&e.key, &e.request, &e.request_prot};
    rc = iso__enqueue(db, &e, bufs, blobs, 3, db->cfg.queue_capacity);
  }
  iso__jbuf_free(&key);
  iso__jbuf_free(&req);
  iso__jbuf_free(&env);
  return rc;
}

int iso_journal_log_decision(iso_journal_db *db,
                             const iso_journal_decision *ev,
                             iso_journal_durable_cb cb, void *arg) {
  if (!db || !ev) return ISO_E_INVAL;
  if (db->cfg.read_only) return ISO_E_STATE;
  iso__jbuf names, vals;
  iso__jbuf_init(&names);
  iso__jbuf_init(&vals);
  iso__record_names(&names, ev->participants, ev->participant_count);
  iso__record_values(&vals, ev->values, ev->value_count);
  iso__event e = {.kind = ISO__EV_DECISION, .tx_id = ev->tx_id,
                  .decision = (int)ev->decision, .reason = ev->reason,
                  .at = iso__now_ns(), .cb = cb, .cb_arg = arg};
  int rc = names.failed || vals.failed ? ISO_E_NOMEM : 0;
  if (!rc) {
    iso__jbuf *bufs[] = {&names, &vals};
    iso__blob *blobs[] = {&e.participants, &e.values};
    rc = iso__enqueue(db, &e, bufs, blobs, 2, 2 * (size_t)db->cfg.queue_capacity);
  }
  iso__jbuf_free(&names);
  iso__jbuf_free(&vals);
  return rc;
}

int iso_journal_log_completion(iso_journal_db *db,
                               const iso_journal_completion *ev) {
  if (!db || !ev) return ISO_E_INVAL;
  if (db->cfg.read_only) return ISO_E_STATE;
  iso__jbuf resp, env, stages;
  iso__jbuf_init(&resp);
  iso__jbuf_init(&env);
  iso__jbuf_init(&stages);
  bool has_env = false;
  int rc = 0;
  if (ev->response) rc = protect_message(db, ev->tx_id, 'R', ev->response, &resp, &env, &has_env);
  iso__record_stages(&stages, ev->stages, ev->stage_count);
  if (!rc && stages.failed) rc = ISO_E_NOMEM;
  iso__event e = {.kind = ISO__EV_COMPLETION, .tx_id = ev->tx_id,
                  .decision = (int)ev->decision,
                  .at = ev->finished_at ? ev->finished_at : iso__now_ns()};
  memcpy(e.rc, ev->response_code, 2);
  if (!ev->response_code[0]) e.rc[0] = 0;
  if (!rc) {
    iso__jbuf *bufs[] = {ev->response ? &resp : NULL, has_env ? &env : NULL, &stages};
    iso__blob *blobs[] = {&e.response, &e.response_prot, &e.stages};
    rc = iso__enqueue(db, &e, bufs, blobs, 3, 2 * (size_t)db->cfg.queue_capacity);
  }
  iso__jbuf_free(&resp);
  iso__jbuf_free(&env);
  iso__jbuf_free(&stages);
  return rc;
}
