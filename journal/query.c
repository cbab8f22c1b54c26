/*
 * journal/query.c -- selecting transactions: the selection becomes one
 * SQL statement with bound parameters (never text pasted into SQL), and each
 * row is decoded into an iso_journal_row with its messages rebuilt masked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal/journal_internal.h"

#define ROW_COLUMNS                                                           \
  "t.id, t.started_at, t.decided_at, d.finished_at, t.idem_key,"             \
  " t.fingerprint, t.mti, t.stan, t.rrn, t.terminal, t.amount, t.currency,"   \
  " t.pan_masked, t.decision, t.reason, d.response_code, t.participants,"     \
  " t.vals, d.stages, t.request, t.request_protected, d.response,"           \
  " d.response_protected, d.id IS NOT NULL, d.decision, t.pan_hash"

int iso__select(iso_journal_db *db, sqlite3 *c, const iso_journal_selection *sel,
                sqlite3_stmt **out) {
  char sql[2048];
  size_t n = (size_t)snprintf(sql, sizeof sql,
                              "SELECT " ROW_COLUMNS
                              " FROM tx t LEFT JOIN tx_done d ON d.id = t.id"
                              " WHERE 1");
  static const iso_journal_selection none;
  if (!sel) sel = &none;
#define ADD(cond) n += (size_t)snprintf(sql + n, sizeof sql - n, " AND %s", cond)
  if (sel->id) ADD("t.id = :id");
  if (sel->key) ADD("t.idem_key = :key");
  if (sel->stan) ADD("t.stan = :stan");
  if (sel->rrn) ADD("t.rrn = :rrn");
  if (sel->terminal) ADD("t.terminal = :terminal");
  if (sel->response_code) ADD("d.response_code = :rc");
  if (sel->pan) ADD("t.pan_hash = :pan");
  if (sel->since) ADD("t.started_at >= :since");
  if (sel->until) ADD("t.started_at < :until");
  if (sel->reversals) ADD(ISO__REVERSAL_SQL("t."));
#undef ADD
  n += (size_t)snprintf(sql + n, sizeof sql - n, " ORDER BY t.id");
  if (sel->limit) snprintf(sql + n, sizeof sql - n, " LIMIT %zu", sel->limit);
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(c, sql, -1, &st, NULL);
  if (rc) return iso__sqlite_status(rc);
#define BIND_TEXT(name, v)                                                    \
  if (v) sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, name), v, -1, SQLITE_STATIC)
  if (sel->id) sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":id"), (sqlite3_int64)sel->id);
  if (sel->key)
    sqlite3_bind_blob(st, sqlite3_bind_parameter_index(st, ":key"), sel->key,
                      (int)sel->key_len, SQLITE_STATIC);
  BIND_TEXT(":stan", sel->stan);
  BIND_TEXT(":rrn", sel->rrn);
  BIND_TEXT(":terminal", sel->terminal);
  BIND_TEXT(":rc", sel->response_code);
#undef BIND_TEXT
  if (sel->pan) {
    uint8_t h[32];
    iso__pan_hash(&db->prot, (const uint8_t *)sel->pan, strlen(sel->pan), h);
    sqlite3_bind_blob(st, sqlite3_bind_parameter_index(st, ":pan"), h, 32, SQLITE_TRANSIENT);
  }
  if (sel->since) sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":since"), (sqlite3_int64)sel->since);
  if (sel->until) sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":until"), (sqlite3_int64)sel->until);
  *out = st;
  return 0;
}

static const char *text(sqlite3_stmt *st, int i) {
  const char *s = (const char *)sqlite3_column_text(st, i);
  return s ? s : "";
}

/* Decodes a list blob; a NULL blob is an empty list. */
static int decode(sqlite3_stmt *st, int i,
                  int (*fn)(const uint8_t *, size_t, iso__decoded *),
                  iso__decoded *d) {
  const uint8_t *p = sqlite3_column_blob(st, i);
  if (!p) return 0;
  return fn(p, (size_t)sqlite3_column_bytes(st, i), d);
}

int iso__row_decode(iso_journal_db *db, sqlite3_stmt *st, bool decrypt,
                    iso_journal_row *row, iso__decoded *lists, iso_msg *req,
                    iso_msg *resp) {
  memset(row, 0, sizeof *row);
  row->id = (uint64_t)sqlite3_column_int64(st, 0);
  row->started_at = (uint64_t)sqlite3_column_int64(st, 1);
  row->decided_at = (uint64_t)sqlite3_column_int64(st, 2);
  row->finished_at = (uint64_t)sqlite3_column_int64(st, 3);
  row->key = sqlite3_column_blob(st, 4);
  row->key_len = (size_t)sqlite3_column_bytes(st, 4);
  row->fingerprint = (uint64_t)sqlite3_column_int64(st, 5);
  row->mti = text(st, 6);
  row->stan = text(st, 7);
  row->rrn = text(st, 8);
  row->terminal = text(st, 9);
  row->amount = text(st, 10);
  row->currency = text(st, 11);
  row->pan_masked = text(st, 12);
  row->decided = sqlite3_column_type(st, 13) != SQLITE_NULL;
  row->decision = (iso_decision)sqlite3_column_int(st, 13);
  row->reason = sqlite3_column_int(st, 14);
  row->response_code = text(st, 15);
  row->completed = sqlite3_column_int(st, 23) != 0;
  row->request_sealed = sqlite3_column_type(st, 20) != SQLITE_NULL;
  int rc = decode(st, 16, iso__decode_names, &lists[0]);
  if (!rc) rc = decode(st, 17, iso__decode_values, &lists[1]);
  if (!rc) rc = decode(st, 18, iso__decode_stages, &lists[2]);
  if (rc) return rc;
  row->participants = (const char *const *)lists[0].names;
  row->participant_count = lists[0].name_count;
  row->values = lists[1].values;
  row->value_count = lists[1].value_count;
  row->stages = lists[2].stages;
  row->stage_count = lists[2].stage_count;
  if (req && sqlite3_column_blob(st, 19)) {
    rc = iso__rebuild(db, row->id, 'Q', sqlite3_column_blob(st, 19),
                      (size_t)sqlite3_column_bytes(st, 19),
                      sqlite3_column_blob(st, 20),
                      (size_t)sqlite3_column_bytes(st, 20), decrypt, req, NULL);
    if (rc) return rc;
    row->request = req;
  }
  if (resp && sqlite3_column_blob(st, 21)) {
    rc = iso__rebuild(db, row->id, 'R', sqlite3_column_blob(st, 21),
                      (size_t)sqlite3_column_bytes(st, 21),
                      sqlite3_column_blob(st, 22),
                      (size_t)sqlite3_column_bytes(st, 22), decrypt, resp, NULL);
    if (rc) return rc;
    row->response = resp;
  }
  return 0;
}

int iso__query(iso_journal_db *db, const iso_journal_selection *sel,
               bool decrypt, bool messages, iso_journal_row_cb cb, void *data) {
  if (!db || !cb) return ISO_E_INVAL;
  pthread_mutex_lock(&db->rd_mu);
  sqlite3_stmt *st;
  int rc = iso__select(db, db->rdb, sel, &st);
  if (rc) {
    pthread_mutex_unlock(&db->rd_mu);
    return rc;
  }
  iso_msg req, resp;
  iso_msg_init(&req, db->spec);
  iso_msg_init(&resp, db->spec);
  int s;
  while (!rc && (s = sqlite3_step(st)) == SQLITE_ROW) {
    iso__decoded lists[3] = {{0}};
    iso_journal_row row;
    iso_msg_reset(&req);
    iso_msg_reset(&resp);
    rc = iso__row_decode(db, st, decrypt, &row, lists, messages ? &req : NULL,
                         messages ? &resp : NULL);
    if (!rc) rc = cb(&row, data);
    for (int i = 0; i < 3; i++) iso__decoded_free(&lists[i]);
  }
  if (!rc && s != SQLITE_DONE) rc = iso__sqlite_status(s);
  iso_msg_cleanup(&req);
  iso_msg_cleanup(&resp);
  sqlite3_finalize(st);
  pthread_mutex_unlock(&db->rd_mu);
  return rc;
}

int iso_journal_query(iso_journal_db *db, const iso_journal_selection *sel,
                      iso_journal_row_cb cb, void *data) {
  return iso__query(db, sel, false, true, cb, data);
}

int iso_journal_pending(iso_journal_db *db, size_t *count) {
  pthread_mutex_lock(&db->rd_mu);
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(db->rdb,
                              "SELECT count(*) FROM tx t WHERE NOT EXISTS"
                              " (SELECT 1 FROM tx_done d WHERE d.id = t.id)",
                              -1, &st, NULL);
  if (!rc) {
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) *count = (size_t)sqlite3_column_int64(st, 0);
    rc = rc == SQLITE_ROW ? 0 : iso__sqlite_status(rc);
    sqlite3_finalize(st);
  } else {
    rc = iso__sqlite_status(rc);
  }
  pthread_mutex_unlock(&db->rd_mu);
  return rc;
}
