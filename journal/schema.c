/*
 * journal/schema.c -- the database: opening a connection (WAL, sync level,
 * busy timeout, optional VFS), the schema (docs/journal.md explains every
 * column), the meta table (spec name, PAN-hash salt, key check, id high-water
 * mark) and the writer's prepared statements.
 */
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "journal/journal_internal.h"

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS meta(name TEXT PRIMARY KEY, value BLOB)"
    " WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS tx("
    " id INTEGER PRIMARY KEY,"
    " started_at INTEGER NOT NULL,"
    " idem_key BLOB,"
    " fingerprint INTEGER,"
    " mti TEXT, stan TEXT, rrn TEXT, terminal TEXT, amount TEXT,"
    " currency TEXT, pan_masked TEXT, pan_hash BLOB,"
    " request BLOB, request_protected BLOB,"
    " decision INTEGER, reason INTEGER, decided_at INTEGER,"
    " participants BLOB, vals BLOB);"
    "CREATE INDEX IF NOT EXISTS tx_idem_key ON tx(idem_key)"
    " WHERE idem_key IS NOT NULL;"
    /* Every index entry costs the writer about as much as a fifth of a
     * row, so only rows that need one get one: a request with DE 37 here
     * (a reversal's original by DE 41 + DE 37), a reversal in tx_reversal
     * (new_journal_sql).  An original named by DE 90 is found by its
     * idempotency key (iso_flow_idempotency_key). */
    "CREATE INDEX IF NOT EXISTS tx_terminal_rrn ON tx(terminal, rrn)"
    " WHERE rrn IS NOT NULL;"
    "CREATE TABLE IF NOT EXISTS tx_done("
    " id INTEGER PRIMARY KEY,"
    " finished_at INTEGER NOT NULL,"
    " decision INTEGER NOT NULL,"
    " response_code TEXT,"
    " response BLOB, response_protected BLOB, stages BLOB);";

/* What only a new journal gets.  Journals made before it keep their
 * index tx_terminal_stan on (terminal, stan), which SQLite uses for
 * selections of a terminal's reversals as well; building tx_reversal there
 * would read the whole table at open. */
static const char new_journal_sql[] =
    "CREATE INDEX IF NOT EXISTS tx_reversal ON tx(terminal, started_at)"
    " WHERE " ISO__REVERSAL_SQL("") ";";

int iso__sqlite_status(int rc) {
  switch (rc & 0xff) {
  case SQLITE_OK:
  case SQLITE_DONE:
  case SQLITE_ROW: return 0;
  case SQLITE_BUSY:
  case SQLITE_LOCKED: return ISO_E_JOURNAL_LOCKED;
  case SQLITE_NOMEM: return ISO_E_NOMEM;
  case SQLITE_CORRUPT:
  case SQLITE_NOTADB: return ISO_E_JOURNAL_CORRUPT;
  case SQLITE_IOERR:
  case SQLITE_FULL:
  case SQLITE_CANTOPEN:
  case SQLITE_READONLY: return ISO_E_IO;
  default: return ISO_E_JOURNAL;
  }
}

static int exec(sqlite3 *db, const char *sql) {
  return iso__sqlite_status(sqlite3_exec(db, sql, NULL, NULL, NULL));
}

static bool has_table(sqlite3 *db, const char *name) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                         -1, &st, NULL))
    return false;
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  bool found = sqlite3_step(st) == SQLITE_ROW;
  sqlite3_finalize(st);
  return found;
}

static int meta_get(sqlite3 *db, const char *name, void *buf, size_t cap,
                    size_t *len) {
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE name=?", -1, &st, NULL);
  if (rc == SQLITE_ERROR) return ISO_E_NOT_FOUND; /* no meta table at all */
  if (rc) return iso__sqlite_status(rc);
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  rc = sqlite3_step(st);
  int out = ISO_E_NOT_FOUND;
  if (rc == SQLITE_ROW) {
    size_t n = (size_t)sqlite3_column_bytes(st, 0);
    const void *p = sqlite3_column_blob(st, 0);
    if (n > cap) n = cap;
    if (p) memcpy(buf, p, n);
    *len = n;
    out = 0;
  } else if (rc != SQLITE_DONE) {
    out = iso__sqlite_status(rc);
  }
  sqlite3_finalize(st);
  return out;
}

static int meta_put(sqlite3 *db, const char *name, const void *v, size_t n) {
  sqlite3_stmt *st;
  int rc = sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO meta VALUES(?,?)", -1, &st, NULL);
  if (rc) return iso__sqlite_status(rc);
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  sqlite3_bind_blob(st, 2, v, (int)n, SQLITE_STATIC);
  rc = sqlite3_step(st);
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : iso__sqlite_status(rc);
}

/* Reads (or, when creating, sets) the meta entries: spec name, salt, key
 * check; computes first_tx_id.  Runs inside the opening transaction. */
static int load_meta(iso_journal_db *db, sqlite3 *c, bool create, char *why,
                     size_t why_cap) {
  char spec[64] = {0};
  size_t n = 0;
  int rc = meta_get(c, "spec", spec, sizeof spec - 1, &n);
  if (rc == ISO_E_NOT_FOUND && create) {
    if (!db->spec) {
      snprintf(why, why_cap, "journal %s: new journal needs a spec", db->path);
      return ISO_E_INVAL;
    }
    const char *name = iso_spec_name(db->spec);
    if ((rc = meta_put(c, "spec", name, strlen(name)))) return rc;
    uint8_t salt[32];
    if (RAND_bytes(salt, sizeof salt) != 1) return ISO_E_CRYPTO;
    if ((rc = meta_put(c, "salt", salt, sizeof salt))) return rc;
    if ((rc = meta_put(c, "version", "1", 1))) return rc;
  } else if (rc == ISO_E_NOT_FOUND) {
    snprintf(why, why_cap, "journal %s: not an isoflow journal", db->path);
    return ISO_E_JOURNAL_CORRUPT;
  } else if (rc) {
    return rc;
  } else if (!db->spec) {
    db->spec = iso_spec_builtin(spec);
    if (!db->spec) {
      snprintf(why, why_cap, "journal %s: spec '%s' is not built in; give one",
               db->path, spec);
      return ISO_E_INVAL;
    }
  }
  if (!db->prot.has_key) {
    if ((rc = meta_get(c, "salt", db->prot.hash_key, 32, &n))) return rc;
  } else {
    uint8_t check[16];
    rc = meta_get(c, "key_check", check, sizeof check, &n);
    if (rc == ISO_E_NOT_FOUND && !db->cfg.read_only)
      rc = meta_put(c, "key_check", db->prot.check, sizeof db->prot.check);
    else if (rc == 0 && (n != sizeof check ||
                         CRYPTO_memcmp(check, db->prot.check, n))) {
      snprintf(why, why_cap,
               "key file %s: not the key this journal was written with",
               db->cfg.key_file);
      return ISO_E_KEY_FILE;
    }
    if (rc && rc != ISO_E_NOT_FOUND) return rc;
  }
  sqlite3_stmt *st;
  rc = sqlite3_prepare_v2(c,
                          "SELECT max(coalesce((SELECT max(id) FROM tx),0),"
                          " coalesce((SELECT max(id) FROM tx_done),0),"
                          " coalesce((SELECT CAST(value AS INTEGER) FROM meta"
                          " WHERE name='high_water'),0))",
                          -1, &st, NULL);
  if (rc) return iso__sqlite_status(rc);
  rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) db->first_tx_id = (uint64_t)sqlite3_column_int64(st, 0) + 1;
  sqlite3_finalize(st);
  return rc == SQLITE_ROW ? 0 : iso__sqlite_status(rc);
}

static const char *sync_sql(iso_journal_sync s) {
  switch (s) {
  case ISO_JOURNAL_SYNC_NORMAL: return "PRAGMA synchronous=NORMAL";
  case ISO_JOURNAL_SYNC_OFF: return "PRAGMA synchronous=OFF";
  default: return "PRAGMA synchronous=FULL";
  }
}

/* SQLite counts every allocation under a global mutex unless told not to
 * (the profile showed the mutex at 7% of the writer's instructions).  Must
 * run before SQLite initializes; when something else in the process
 * initialized it first, the call fails and nothing changes. */
static void sqlite_setup(void) {
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

int iso__schema_open(iso_journal_db *db, sqlite3 **out, bool create,
                     char *why, size_t why_cap) {
  static pthread_once_t once = PTHREAD_ONCE_INIT;
  pthread_once(&once, sqlite_setup);
  sqlite3 *c = NULL;
  int flags = db->cfg.read_only ? SQLITE_OPEN_READONLY
                                : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  flags |= SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(db->path, &c, flags, db->vfs);
  if (rc) {
    snprintf(why, why_cap, "journal %s: %s", db->path,
             c ? sqlite3_errmsg(c) : "cannot be opened");
    sqlite3_close(c);
    return rc == SQLITE_CANTOPEN ? ISO_E_IO : iso__sqlite_status(rc);
  }
  sqlite3_busy_timeout(c, (int)db->cfg.busy_timeout_ms);
  int st = 0;
  if (!db->cfg.read_only) {
    /* A new journal gets 16 KiB pages (an existing one keeps its own):
     * fewer page splits and WAL frames per row; the writer measured 3%
     * fewer instructions and 5% less process CPU per transaction. */
    if (create) st = exec(c, "PRAGMA page_size=16384");
    if (!st) st = exec(c, "PRAGMA journal_mode=WAL");
    if (!st) st = exec(c, sync_sql(db->cfg.sync));
    /* Checkpoints in the writer's own time, in bigger steps. */
    if (!st) st = exec(c, "PRAGMA wal_autocheckpoint=1000");
    if (!st) st = exec(c, "PRAGMA cache_size=-65536");
    if (!st) st = exec(c, "PRAGMA temp_store=MEMORY");
  }
  /* Take the write lock once at open: a journal another process holds
   * fails here, clearly, instead of at the first decision. */
  if (!st) st = exec(c, db->cfg.read_only ? "BEGIN" : "BEGIN IMMEDIATE");
  if (!st && create) {
    bool fresh = !has_table(c, "tx");
    st = exec(c, schema_sql);
    if (!st && fresh) st = exec(c, new_journal_sql);
  }
  if (!st) st = load_meta(db, c, create, why, why_cap);
  if (!st) st = exec(c, "COMMIT");
  if (st) {
    if (!*why) {
      if (st == ISO_E_JOURNAL_LOCKED)
        snprintf(why, why_cap, "journal %s: locked by another process", db->path);
      else
        snprintf(why, why_cap, "journal %s: %s", db->path, sqlite3_errmsg(c));
    }
    sqlite3_exec(c, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(c);
    return st;
  }
  *out = c;
  return 0;
}

const int ISO__ROWS[ISO__ROW_SIZES] = {ISO__MAX_ROWS, 8, 1};

/* `verb` `table` VALUES(?,..),(?,..) `tail`: `rows` rows of `cols`
 * parameters, numbered in order. */
static int prepare_rows(sqlite3 *c, const char *verb, const char *table,
                        const char *tail, int rows, int cols, sqlite3_stmt **out) {
  size_t cap = strlen(verb) + strlen(table) + strlen(tail) +
               (size_t)rows * ((size_t)cols * 2 + 3) + 16;
  char *sql = sqlite3_malloc64(cap);
  if (!sql) return SQLITE_NOMEM;
  size_t n = (size_t)snprintf(sql, cap, "%s %s VALUES", verb, table);
  for (int r = 0; r < rows; r++) {
    sql[n++] = r ? ',' : ' ';
    sql[n++] = '(';
    for (int i = 0; i < cols; i++) {
      if (i) sql[n++] = ',';
      sql[n++] = '?';
    }
    sql[n++] = ')';
  }
  snprintf(sql + n, cap - n, " %s", tail);
  int rc = sqlite3_prepare_v3(c, sql, -1, SQLITE_PREPARE_PERSISTENT, out, NULL);
  sqlite3_free(sql);
  return rc;
}

/* The writer's statements.  One row: a begin (with its decision when
 * paired, else NULLs there) inserted, or, when its row exists (a decision
 * written first), given the begin's columns and the paired decision's; a
 * completion inserted or replacing an earlier one.
 *
 * Several rows: plain inserts, OR FAIL.  A statement that writes several
 * rows and may be aborted by a constraint halfway has SQLite keep a
 * statement journal (a copy of every page it touches, to undo its own
 * rows): with scattered index keys that is a page copy per index entry,
 * which cost more than the statements saved.  An upsert or OR REPLACE may
 * abort (their NOT NULL checks); OR FAIL never undoes, so no statement
 * journal.  The rows of a statement that fails (an id already there: never
 * in the flow's use) are written again one at a time with the one-row
 * statements, which take an existing row as the one-row case does. */
/* A paired decision's column in the one-row upsert: the decision's value
 * when the begin came with one, the row's own otherwise. */
#define PAIRED(col) "CASE WHEN excluded.decision IS NULL THEN " col " ELSE excluded." col " END"

int iso__schema_prepare_writer(iso_journal_db *db) {
  static const char tx_cols[] =
      "tx(id,started_at,idem_key,fingerprint,mti,stan,rrn,"
      "terminal,amount,currency,pan_masked,pan_hash,request,request_protected,"
      "decision,reason,decided_at,participants,vals)";
  static const char tx_upsert[] =
      "ON CONFLICT(id) DO UPDATE SET started_at=excluded.started_at,"
      " idem_key=excluded.idem_key, fingerprint=excluded.fingerprint,"
      " mti=excluded.mti, stan=excluded.stan, rrn=excluded.rrn,"
      " terminal=excluded.terminal, amount=excluded.amount,"
      " currency=excluded.currency, pan_masked=excluded.pan_masked,"
      " pan_hash=excluded.pan_hash, request=excluded.request,"
      " request_protected=excluded.request_protected,"
      " decision=" PAIRED("decision") ", reason=" PAIRED("reason") ","
      " decided_at=" PAIRED("decided_at") ", participants=" PAIRED("participants") ","
      " vals=" PAIRED("vals");
  static const char done_cols[] =
      "tx_done(id,finished_at,decision,response_code,"
      "response,response_protected,stages)";
  static const char dec[] =
      "INSERT INTO tx(id,started_at,decision,reason,decided_at,participants,vals)"
      " VALUES(?1,?5,?2,?3,?5,?4,?6) ON CONFLICT(id) DO UPDATE SET"
      " decision=excluded.decision, reason=excluded.reason,"
      " decided_at=excluded.decided_at, participants=excluded.participants,"
      " vals=excluded.vals";
  /* The writer never deletes; Debian's SQLite zeroes freed cell space by
   * default (SECURE_DELETE), work a journal of protected rows has no use
   * for on its insert path.  prune, on its own connection, keeps it. */
  int rc = sqlite3_exec(db->wdb, "PRAGMA secure_delete=OFF", NULL, NULL, NULL);
  for (int i = 0; i < ISO__ROW_SIZES && !rc; i++) {
    int rows = ISO__ROWS[i];
    rc = prepare_rows(db->wdb, rows > 1 ? "INSERT OR FAIL INTO" : "INSERT INTO", tx_cols,
                      rows > 1 ? "" : tx_upsert, rows, ISO__BEGIN_COLS, &db->st_insert[i]);
    if (!rc)
      rc = prepare_rows(db->wdb, rows > 1 ? "INSERT OR FAIL INTO" : "INSERT OR REPLACE INTO",
                        done_cols, "", rows, ISO__DONE_COLS, &db->st_done[i]);
  }
  if (!rc) rc = sqlite3_prepare_v3(db->wdb, dec, -1, SQLITE_PREPARE_PERSISTENT, &db->st_decide, NULL);
  return iso__sqlite_status(rc);
}
