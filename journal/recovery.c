/*
 * journal/recovery.c -- finishing, after a restart, the transactions the
 * journal holds without a completion.  Each is handed to the flow
 * (iso_flow_recover) with what was journaled: decided ones re-run their
 * commit or abort over the joined participants with the persistent values;
 * undecided ones abort everywhere.  One at a time, in id order.  The flow
 * writes the completion afterwards, so a recovery that is itself interrupted
 * simply finds the same transactions again next time (participants are
 * idempotent by contract), and none is finished twice once completed.
 */
#include <stdlib.h>
#include <string.h>

#include "journal/journal_internal.h"

typedef struct recovery {
  iso_journal_db *db;
  iso_flow_loop *fl;
  iso_journal_recover_cb cb;
  void *data;
  uint64_t *ids;
  size_t count, next;
  bool handed;    /* the current one reached the flow */
  bool in_query;  /* inside the query that hands it over */
  bool sync_done; /* ... and the flow finished it right there */
  int sync_status;
} recovery;

static int load_ids(iso_journal_db *db, uint64_t **ids, size_t *count) {
  pthread_mutex_lock(&db->rd_mu);
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(db->rdb,
                              "SELECT t.id FROM tx t WHERE NOT EXISTS"
                              " (SELECT 1 FROM tx_done d WHERE d.id = t.id)"
                              " ORDER BY t.id",
                              -1, &st, NULL);
  size_t n = 0, cap = 0;
  uint64_t *v = NULL;
  if (!rc) {
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      if (n == cap) {
        cap = cap ? 2 * cap : 64;
        uint64_t *w = realloc(v, cap * sizeof *v);
        if (!w) {
          rc = SQLITE_NOMEM;
          break;
        }
        v = w;
      }
      v[n++] = (uint64_t)sqlite3_column_int64(st, 0);
    }
    if (rc == SQLITE_DONE) rc = 0;
    sqlite3_finalize(st);
  }
  pthread_mutex_unlock(&db->rd_mu);
  if (rc) {
    free(v);
    return iso__sqlite_status(rc);
  }
  *ids = v;
  *count = n;
  return 0;
}

static void recovered(iso_flow_loop *fl, uint64_t tx_id, int status, void *data);

/* Hands one journaled transaction to the flow (inside the query callback:
 * the flow copies what it keeps). */
static int hand_over(const iso_journal_row *row, void *data) {
  recovery *r = data;
  iso_flow_recovery rec = {
      .tx_id = row->id,
      .decision = row->decided ? row->decision : ISO_DECISION_NONE,
      .participants = row->participants,
      .participant_count = row->participant_count,
      .values = row->values,
      .value_count = row->value_count,
      .request = row->request,
      .response = row->response};
  int rc = iso_flow_recover(r->fl, &rec, recovered, r);
  r->handed = rc == 0;
  return rc;
}

static void finish(recovery *r, int status) {
  r->cb(r->db, status, status ? r->next : r->count, r->data);
  free(r->ids);
  free(r);
}

/* Starts the next one; returns 0 when one is under way or all are done. */
static int start_next(recovery *r) {
  while (r->next < r->count) {
    iso_journal_selection sel = {.id = r->ids[r->next]};
    r->handed = r->sync_done = false;
    r->in_query = true;
    int rc = iso__query(r->db, &sel, true, true, hand_over, r);
    r->in_query = false;
    if (rc) return rc;
    if (r->sync_done && r->sync_status) return r->sync_status;
    if (r->handed && !r->sync_done) return 0; /* under way */
    r->next++; /* finished already, or gone meanwhile (pruned) */
  }
  return 1; /* nothing left */
}

static void recovered(iso_flow_loop *fl, uint64_t tx_id, int status, void *data) {
  (void)fl;
  (void)tx_id;
  recovery *r = data;
  if (status == ISO_E_ABORTED) status = 0; /* finished, by aborting */
  if (r->in_query) { /* the flow finished it during iso_flow_recover */
    r->sync_done = true;
    r->sync_status = status;
    return;
  }
  if (status) {
    finish(r, status);
    return;
  }
  r->next++;
  int rc = start_next(r);
  if (rc) finish(r, rc > 0 ? 0 : rc);
}

int iso_journal_recover(iso_journal_db *db, iso_flow_loop *fl,
                        iso_journal_recover_cb cb, void *data) {
  if (!db || !fl || !cb) return ISO_E_INVAL;
  if (db->cfg.read_only) return ISO_E_STATE;
  recovery *r = calloc(1, sizeof *r);
  if (!r) return ISO_E_NOMEM;
  *r = (recovery){.db = db, .fl = fl, .cb = cb, .data = data};
  int rc = load_ids(db, &r->ids, &r->count);
  if (!rc) rc = start_next(r);
  if (rc < 0) {
    free(r->ids);
    free(r);
    return rc;
  }
  if (rc > 0) finish(r, 0); /* nothing to recover: cb runs now */
  return 0;
}
