/*
 * journal/verify.c -- consistency checks over the whole journal (what
 * `isoflow journal verify` runs) and pruning of old completed transactions.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "journal/journal_internal.h"

typedef struct verify_ctx {
  iso_journal_db *db;
  iso_journal_problem_cb cb;
  void *data;
  int problems;
} verify_ctx;

static void problem(verify_ctx *v, uint64_t id, const char *what) {
  v->problems++;
  if (v->cb) v->cb(id, what, v->data);
}

/* Runs a query whose rows are (id) problems of one kind. */
static int check_sql(verify_ctx *v, const char *sql, const char *what) {
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(v->db->rdb, sql, -1, &st, NULL);
  if (rc) return iso__sqlite_status(rc);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    problem(v, (uint64_t)sqlite3_column_int64(st, 0), what);
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : iso__sqlite_status(rc);
}

/* A clear record: protected fields must be absent, except DE 2 masked. */
static void check_clear(verify_ctx *v, uint64_t id, const uint8_t *p,
                        size_t len) {
  if (!p) return;
  if (len < 5 || p[0] != 'M') {
    problem(v, id, "stored message does not decode");
    return;
  }
  size_t pos = 5;
  while (pos < len) {
    int f = p[pos++];
    uint64_t n;
    if (!iso__jget_varint(p, len, &pos, &n) || n > len - pos) {
      problem(v, id, "stored message does not decode");
      return;
    }
    const uint8_t *val = p + pos;
    pos += (size_t)n;
    if (iso__has_clear_pan(val, (size_t)n)) {
      problem(v, id, "clear card number in a stored message");
      return;
    }
    if (v->db->prot.prot[f] && (f != 2 || !memchr(val, '*', (size_t)n))) {
      problem(v, id, "protected field stored in clear");
      return;
    }
  }
}

static void check_envelope(verify_ctx *v, uint64_t id, char dir,
                           const uint8_t *env, size_t len) {
  if (!env) return;
  if (len < 1 + ISO__NONCE_LEN + ISO__TAG_LEN || env[0] != 1) {
    problem(v, id, "malformed encrypted envelope");
    return;
  }
  if (!v->db->prot.has_key) return;
  uint8_t *plain = malloc(len);
  size_t n = 0;
  if (!plain) return;
  if (iso__open(&v->db->prot, id, dir, env, len, plain, &n))
    problem(v, id, "encrypted envelope fails authentication");
  OPENSSL_cleanse(plain, len);
  free(plain);
}

/* Row by row: text columns, clear records, envelopes, list blobs. */
static int check_rows(verify_ctx *v) {
  sqlite3_stmt *st;
  int rc = iso__select(v->db, v->db->rdb, NULL, &st);
  if (rc) return rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    uint64_t id = (uint64_t)sqlite3_column_int64(st, 0);
    if ((sqlite3_int64)id <= 0) problem(v, id, "id not positive");
    for (int c = 6; c <= 12; c++) {
      const uint8_t *t = sqlite3_column_text(st, c);
      if (t && iso__has_clear_pan(t, (size_t)sqlite3_column_bytes(st, c)))
        problem(v, id, "clear card number in an identity column");
    }
    check_clear(v, id, sqlite3_column_blob(st, 19), (size_t)sqlite3_column_bytes(st, 19));
    check_clear(v, id, sqlite3_column_blob(st, 21), (size_t)sqlite3_column_bytes(st, 21));
    check_envelope(v, id, 'Q', sqlite3_column_blob(st, 20), (size_t)sqlite3_column_bytes(st, 20));
    check_envelope(v, id, 'R', sqlite3_column_blob(st, 22), (size_t)sqlite3_column_bytes(st, 22));
    iso__decoded lists[3] = {{0}};
    iso_journal_row row;
    iso_msg req;
    iso_msg_init(&req, v->db->spec);
    int drc = iso__row_decode(v->db, st, false, &row, lists, &req, NULL);
    if (drc == ISO_E_NOMEM) rc = drc;
    else if (drc && !row.completed) problem(v, id, "incomplete transaction not recoverable: records do not decode");
    else if (drc) problem(v, id, "records do not decode");
    iso_msg_cleanup(&req);
    for (int i = 0; i < 3; i++) iso__decoded_free(&lists[i]);
    if (rc == ISO_E_NOMEM) break;
  }
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : rc ? iso__sqlite_status(rc) : 0;
}

/* The checks that are one query each: every id a query returns is a
 * problem of its kind.  A decline may lack its transaction's rows: its
 * decision write failed (the flow declined it) and only the completion was
 * written.  An approval never may. */
static const struct {
  const char *sql;
  const char *what;
} sql_checks[] = {
    {"SELECT d.id FROM tx_done d LEFT JOIN tx t ON t.id = d.id"
     " WHERE t.id IS NULL AND d.decision <> 2",
     "approval without its transaction"},
    {"SELECT d.id FROM tx_done d JOIN tx t ON t.id = d.id"
     " WHERE t.decision IS NULL AND d.decision <> 2",
     "approval without a journaled decision"},
    {"SELECT d.id FROM tx_done d JOIN tx t ON t.id = d.id"
     " WHERE t.decision IS NOT NULL AND t.decision <> d.decision",
     "completion disagrees with the decision"},
    {"SELECT id FROM tx WHERE decision IS NOT NULL AND"
     " decision NOT IN (1, 2)",
     "unknown decision value"},
    {"SELECT id FROM tx WHERE typeof(id) <> 'integer' OR"
     " (decided_at IS NOT NULL AND decided_at < started_at)",
     "timestamps out of order"},
};

int iso_journal_verify(iso_journal_db *db, iso_journal_problem_cb cb,
                       void *data) {
  if (!db) return ISO_E_INVAL;
  verify_ctx v = {db, cb, data, 0};
  pthread_mutex_lock(&db->rd_mu);
  int rc = sqlite3_exec(db->rdb, "BEGIN", NULL, NULL, NULL);
  rc = iso__sqlite_status(rc);
  for (size_t i = 0; !rc && i < sizeof sql_checks / sizeof sql_checks[0]; i++)
    rc = check_sql(&v, sql_checks[i].sql, sql_checks[i].what);
  if (!rc) rc = check_rows(&v);
  sqlite3_exec(db->rdb, "COMMIT", NULL, NULL, NULL);
  pthread_mutex_unlock(&db->rd_mu);
  return rc ? rc : v.problems;
}

int iso_journal_prune(iso_journal_db *db, uint64_t before, size_t *removed) {
  if (!db) return ISO_E_INVAL;
  sqlite3 *c = NULL;
  int rc = sqlite3_open_v2(db->path, &c, SQLITE_OPEN_READWRITE, db->vfs);
  if (rc) {
    sqlite3_close(c);
    return ISO_E_IO;
  }
  sqlite3_busy_timeout(c, (int)db->cfg.busy_timeout_ms);
  rc = sqlite3_exec(c, "BEGIN IMMEDIATE", NULL, NULL, NULL);
  /* Keep the highest id ever used, so ids stay monotonic once its row is
   * gone. */
  if (!rc)
    rc = sqlite3_exec(c,
                      "INSERT OR REPLACE INTO meta VALUES('high_water',"
                      " max(coalesce((SELECT max(id) FROM tx), 0),"
                      " coalesce((SELECT CAST(value AS INTEGER) FROM meta"
                      " WHERE name='high_water'), 0)))",
                      NULL, NULL, NULL);
  sqlite3_stmt *st = NULL;
  if (!rc)
    rc = sqlite3_prepare_v2(c,
                            "DELETE FROM tx WHERE id IN (SELECT id FROM tx_done"
                            " WHERE finished_at < ?1)",
                            -1, &st, NULL);
  size_t n = 0;
  if (!rc) {
    sqlite3_bind_int64(st, 1, (sqlite3_int64)before);
    rc = sqlite3_step(st);
    rc = rc == SQLITE_DONE ? 0 : rc;
    n = (size_t)sqlite3_changes(c);
  }
  sqlite3_finalize(st);
  if (!rc) rc = sqlite3_prepare_v2(c, "DELETE FROM tx_done WHERE finished_at < ?1", -1, &st, NULL);
  if (!rc) {
    sqlite3_bind_int64(st, 1, (sqlite3_int64)before);
    rc = sqlite3_step(st);
    rc = rc == SQLITE_DONE ? 0 : rc;
    sqlite3_finalize(st);
  }
  if (!rc) rc = sqlite3_exec(c, "COMMIT", NULL, NULL, NULL);
  if (rc) sqlite3_exec(c, "ROLLBACK", NULL, NULL, NULL);
  sqlite3_close(c);
  if (!rc && removed) *removed = n;
  return iso__sqlite_status(rc);
}
