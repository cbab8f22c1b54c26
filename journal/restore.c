/*
 * journal/restore.c -- messages back out of the journal: rebuilding a stored
 * request or response (opening its envelope when the key is there), the
 * idempotency lookup the flow falls back to, and loading one request.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "journal/journal_internal.h"

int iso__rebuild(iso_journal_db *db, uint64_t id, char dir,
                 const uint8_t *clear, size_t clear_len, const uint8_t *env,
                 size_t env_len, bool decrypt, iso_msg *m, bool *restored) {
  if (restored) *restored = false;
  int rc = iso__record_to_msg(clear, clear_len, true, m);
  if (rc || !env || !decrypt || !db->prot.has_key) return rc;
  uint8_t stack[1024];
  uint8_t *plain = env_len <= sizeof stack ? stack : malloc(env_len);
  if (!plain) return ISO_E_NOMEM;
  size_t n = 0;
  rc = iso__open(&db->prot, id, dir, env, env_len, plain, &n);
  if (!rc) rc = iso__record_to_msg(plain, n, false, m);
  OPENSSL_cleanse(plain, n);
  if (plain != stack) free(plain);
  if (!rc && restored) *restored = true;
  return rc;
}

int iso_journal_lookup(iso_journal_db *db, const uint8_t *key, size_t key_len,
                       iso_journal_stored *out) {
  if (!db || !key || !out) return ISO_E_INVAL;
  uint64_t now = iso__now_ns(), window = db->cfg.lookup_window_ms * 1000000u;
  uint64_t since = db->cfg.lookup_window_ms < now / 1000000u ? now - window : 0;
  pthread_mutex_lock(&db->rd_mu);
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(
      db->rdb,
      "SELECT t.id, t.fingerprint, d.response, d.response_protected"
      " FROM tx t JOIN tx_done d ON d.id = t.id"
      " WHERE t.idem_key = ? AND d.finished_at >= ?"
      " ORDER BY t.id DESC LIMIT 1",
      -1, &st, NULL);
  if (rc) {
    pthread_mutex_unlock(&db->rd_mu);
    return iso__sqlite_status(rc);
  }
  sqlite3_bind_blob(st, 1, key, (int)key_len, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, (sqlite3_int64)since);
  rc = sqlite3_step(st);
  int out_rc = ISO_E_NOT_FOUND;
  if (rc == SQLITE_ROW) {
    uint64_t id = (uint64_t)sqlite3_column_int64(st, 0);
    out->fingerprint = (uint64_t)sqlite3_column_int64(st, 1);
    out_rc = 0;
    const uint8_t *resp = sqlite3_column_blob(st, 2);
    if (resp && out->response)
      out_rc = iso__rebuild(db, id, 'R', resp, (size_t)sqlite3_column_bytes(st, 2),
                            sqlite3_column_blob(st, 3),
                            (size_t)sqlite3_column_bytes(st, 3), true,
                            out->response, NULL);
  } else if (rc != SQLITE_DONE) {
    out_rc = iso__sqlite_status(rc);
  }
  sqlite3_finalize(st);
  pthread_mutex_unlock(&db->rd_mu);
  return out_rc;
}

bool iso_journal_card_data_hidden(const iso_msg *request) {
  const uint8_t *pan;
  size_t len;
  if (!request || iso_msg_peek(request, 2, &pan, &len)) return false;
  return memchr(pan, '*', len) != NULL;
}

int iso_journal_load_request(iso_journal_db *db, uint64_t id, iso_msg *msg,
                             bool *restored) {
  if (!db || !msg) return ISO_E_INVAL;
  pthread_mutex_lock(&db->rd_mu);
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(
      db->rdb, "SELECT request, request_protected FROM tx WHERE id = ?", -1,
      &st, NULL);
  if (rc) {
    pthread_mutex_unlock(&db->rd_mu);
    return iso__sqlite_status(rc);
  }
  sqlite3_bind_int64(st, 1, (sqlite3_int64)id);
  rc = sqlite3_step(st);
  int out = ISO_E_NOT_FOUND;
  if (rc == SQLITE_ROW && sqlite3_column_blob(st, 0)) {
    out = iso__rebuild(db, id, 'Q', sqlite3_column_blob(st, 0),
                       (size_t)sqlite3_column_bytes(st, 0),
                       sqlite3_column_blob(st, 1),
                       (size_t)sqlite3_column_bytes(st, 1), true, msg, restored);
  } else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
    out = iso__sqlite_status(rc);
  }
  sqlite3_finalize(st);
  pthread_mutex_unlock(&db->rd_mu);
  return out;
}
