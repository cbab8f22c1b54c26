/*
 * tests/test_journal_core.c -- the journal through its event API: rows as
 * written (a decision with or without its begin in the same group), ids
 * monotonic across reopen, card data never in clear in the
 * database bytes (with and without a key), key-file errors, idempotency
 * lookup, queue-full refusal, profiles from known timings, verify catching a
 * damaged journal, prune keeping incomplete transactions.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include <openssl/hmac.h>

#include "journal/journal_internal.h"
#include "support/journal_support.h"

static int collect(const iso_journal_row *row, void *data) {
  iso_journal_row *out = data;
  out->id = row->id;
  out->decided = row->decided;
  out->completed = row->completed;
  out->decision = row->decision;
  assert_string_equal(row->pan_masked, "411111******1111");
  assert_string_equal(row->stan, "000007");
  assert_string_equal(row->terminal, "TERM0001");
  assert_string_equal(row->amount, "000000012345");
  assert_string_equal(row->currency, "840");
  assert_string_equal(row->mti, "0200");
  assert_string_equal(row->response_code, "00");
  assert_int_equal(row->participant_count, 2);
  assert_string_equal(row->participants[1], "ledger");
  assert_int_equal(row->value_count, 1);
  assert_memory_equal(row->values[0].data, "H-1", 3);
  assert_int_equal(row->stage_count, 3);
  assert_null(row->stages[2].participant);
  assert_non_null(row->request);
  /* queries never decrypt: the PAN shows masked, track and PIN are gone */
  const uint8_t *v;
  size_t n;
  assert_int_equal(iso_msg_peek(row->request, 2, &v, &n), 0);
  assert_memory_equal(v, "411111******1111", 16);
  assert_false(iso_msg_has(row->request, 35));
  assert_false(iso_msg_has(row->request, 52));
  assert_int_equal(iso_msg_peek(row->request, 11, &v, &n), 0);
  assert_memory_equal(v, "000007", 6);
  return 0;
}

static void rows_and_reopen(bool with_key) {
  iso_journal_db *db;
  const char *key = with_key ? jt_key_file(false) : NULL;
  assert_int_equal(jt_open("a.db", key, true, &db), 0);
  assert_int_equal(iso_journal_first_tx_id(db), 1);
  assert_int_equal(jt_log_tx(db, 7, 7, ISO_DECISION_COMMIT, true), 0);
  iso_journal_sync_wait(db);
  iso_journal_row row = {0};
  iso_journal_selection sel = {.stan = "000007"};
  assert_int_equal(iso_journal_query(db, &sel, collect, &row), 0);
  assert_int_equal(row.id, 7);
  assert_true(row.completed);
  assert_int_equal(row.decision, ISO_DECISION_COMMIT);
  /* the request comes back whole only with the key */
  iso_msg m;
  iso_msg_init(&m, iso_spec_builtin("iso87a"));
  bool restored = false;
  assert_int_equal(iso_journal_load_request(db, 7, &m, &restored), 0);
  assert_int_equal(restored, with_key);
  const uint8_t *v;
  size_t n;
  assert_int_equal(iso_msg_peek(&m, 2, &v, &n), 0);
  assert_memory_equal(v, with_key ? JT_PAN : "411111******1111", 16);
  assert_int_equal(iso_msg_has(&m, 52), with_key);
  iso_msg_cleanup(&m);
  iso_journal_close(db);
  assert_int_equal(jt_open("a.db", key, true, &db), 0);
  assert_int_equal(iso_journal_first_tx_id(db), 8);
  iso_journal_close(db);
  jt_cleanup();
}

static void test_rows_no_key(void **s) { (void)s; rows_and_reopen(false); }
static void test_rows_with_key(void **s) { (void)s; rows_and_reopen(true); }

/* ---- a decision with its begin in the same group or not --------------- */

typedef struct seen {
  bool found, decided;
  iso_decision decision;
  char stan[8], pan[20];
  size_t participants;
  bool has_request;
} seen;

static int see(const iso_journal_row *row, void *data) {
  seen *out = data;
  out->found = true;
  out->decided = row->decided;
  out->decision = row->decision;
  snprintf(out->stan, sizeof out->stan, "%s", row->stan);
  snprintf(out->pan, sizeof out->pan, "%s", row->pan_masked);
  out->participants = row->participant_count;
  out->has_request = row->request != NULL;
  return 0;
}

static int decide(iso_journal_db *db, uint64_t id, iso_decision d) {
  const char *parts[] = {"auth", "ledger"};
  iso_journal_decision ev = {.tx_id = id, .decision = d, .participants = parts,
                             .participant_count = 2};
  return iso_journal_log_decision(db, &ev, NULL, NULL);
}

static seen row_of(iso_journal_db *db, uint64_t id) {
  seen out = {0};
  iso_journal_selection sel = {.id = id};
  assert_int_equal(iso_journal_query(db, &sel, see, &out), 0);
  assert_true(out.found);
  return out;
}

/* The writer turns a begin and the decision queued right after it into one
 * row write, and any other decision into an upsert: every order gives the
 * same rows. */
static void test_decision_with_or_without_its_begin(void **s) {
  (void)s;
  iso_journal_db *db;
  assert_int_equal(jt_open("p.db", NULL, false, &db), 0);
  /* 1: the begin written in an earlier group */
  assert_int_equal(jt_log_tx(db, 1, 1, ISO_DECISION_NONE, false), 0);
  iso_journal_sync_wait(db);
  assert_false(row_of(db, 1).decided);
  assert_int_equal(decide(db, 1, ISO_DECISION_COMMIT), 0);
  /* 2 and 3: interleaved, 3's decision right after its begin */
  assert_int_equal(jt_log_tx(db, 2, 2, ISO_DECISION_NONE, false), 0);
  assert_int_equal(jt_log_tx(db, 3, 3, ISO_DECISION_NONE, false), 0);
  assert_int_equal(decide(db, 3, ISO_DECISION_ABORT), 0);
  assert_int_equal(decide(db, 2, ISO_DECISION_COMMIT), 0);
  /* 4: a decision whose begin never came */
  assert_int_equal(decide(db, 4, ISO_DECISION_ABORT), 0);
  iso_journal_sync_wait(db);
  const iso_decision want[] = {0, ISO_DECISION_COMMIT, ISO_DECISION_COMMIT,
                               ISO_DECISION_ABORT, ISO_DECISION_ABORT};
  for (uint64_t id = 1; id <= 4; id++) {
    seen r = row_of(db, id);
    assert_true(r.decided);
    assert_int_equal(r.decision, want[id]);
    assert_int_equal(r.participants, 2);
    if (id == 4) {
      assert_string_equal(r.stan, "");
      assert_false(r.has_request);
      continue;
    }
    char stan[8];
    snprintf(stan, sizeof stan, "%06u", (unsigned)id);
    assert_string_equal(r.stan, stan);
    assert_string_equal(r.pan, "411111******1111");
    assert_true(r.has_request);
  }
  iso_journal_stats st;
  iso_journal_stats_get(db, &st);
  assert_int_equal(st.failures, 0);
  iso_journal_close(db);
  jt_cleanup();
}

/* Reads every file of the journal byte for byte for the card data. */
static void assert_no_card_data(const char *name) {
  char path[300], wal[320];
  jt_path(path, sizeof path, name);
  snprintf(wal, sizeof wal, "%s-wal", path);
  const char *files[] = {path, wal};
  for (int i = 0; i < 2; i++) {
    assert_false(jt_file_contains(files[i], JT_PAN, strlen(JT_PAN)));
    assert_false(jt_file_contains(files[i], "25121010000012300000", 20));
    assert_false(jt_file_contains(files[i], JT_PIN, 8));
  }
  /* the test would see them: the identity columns are there */
  assert_true(jt_file_contains(path, "TERM0001", 8) || jt_file_contains(wal, "TERM0001", 8));
}

static void no_card_data(bool with_key) {
  iso_journal_db *db;
  const char *key = with_key ? jt_key_file(true) : NULL;
  assert_int_equal(jt_open("c.db", key, true, &db), 0);
  for (unsigned i = 1; i <= 50; i++)
    assert_int_equal(jt_log_tx(db, i, i, i % 3 ? ISO_DECISION_COMMIT : ISO_DECISION_ABORT, i % 5 != 0), 0);
  iso_journal_sync_wait(db);
  /* read while the WAL still holds the rows, then after a checkpoint */
  assert_no_card_data("c.db");
  assert_int_equal(iso_journal_verify(db, NULL, NULL), 0);
  iso_journal_close(db);
  assert_no_card_data("c.db");
  jt_cleanup();
}

static void test_no_card_data_no_key(void **s) { (void)s; no_card_data(false); }
static void test_no_card_data_with_key(void **s) { (void)s; no_card_data(true); }

static void test_key_file_errors(void **s) {
  (void)s;
  char path[300];
  jt_path(path, sizeof path, "short.key");
  FILE *f = fopen(path, "wb");
  fputs("abc", f);
  fclose(f);
  iso_journal_db *db = NULL;
  assert_int_equal(jt_open("k.db", path, true, &db), ISO_E_KEY_FILE);
  assert_non_null(strstr(iso_journal_open_error(), path));
  assert_int_equal(jt_open("k.db", "/nonexistent/key", true, &db), ISO_E_KEY_FILE);
  assert_non_null(strstr(iso_journal_open_error(), "/nonexistent/key"));
  /* written with one key, opened with another: refused, named */
  assert_int_equal(jt_open("k.db", jt_key_file(false), true, &db), 0);
  iso_journal_close(db);
  jt_path(path, sizeof path, "other.key");
  f = fopen(path, "wb");
  for (int i = 0; i < 32; i++) fputc(0x55, f);
  fclose(f);
  assert_int_equal(jt_open("k.db", path, true, &db), ISO_E_KEY_FILE);
  assert_non_null(strstr(iso_journal_open_error(), "not the key"));
  jt_cleanup();
}

static void test_lookup(void **s) {
  (void)s;
  iso_journal_db *db;
  assert_int_equal(jt_open("l.db", jt_key_file(false), false, &db), 0);
  jt_base_ns = (uint64_t)time(NULL) * 1000000000u; /* within the window */
  assert_int_equal(jt_log_tx(db, 3, 42, ISO_DECISION_COMMIT, true), 0);
  assert_int_equal(jt_log_tx(db, 4, 43, ISO_DECISION_COMMIT, false), 0);
  iso_journal_sync_wait(db);
  iso_msg resp;
  iso_msg_init(&resp, iso_spec_builtin("iso87a"));
  iso_journal_stored st = {.response = &resp};
  const char *key = "0200|000042|TERM0001";
  assert_int_equal(iso_journal_lookup(db, (const uint8_t *)key, strlen(key), &st), 0);
  assert_int_equal(st.fingerprint, 0x1234 + 3);
  assert_string_equal(iso_msg_mti(&resp), "0210");
  const uint8_t *v;
  size_t n;
  assert_int_equal(iso_msg_peek(&resp, 39, &v, &n), 0);
  assert_memory_equal(v, "00", 2);
  assert_int_equal(iso_msg_peek(&resp, 2, &v, &n), 0); /* restored by key */
  assert_memory_equal(v, JT_PAN, 16);
  iso_msg_cleanup(&resp);
  /* not completed: not found, the flow must not answer from it */
  key = "0200|000043|TERM0001";
  iso_msg_init(&resp, iso_spec_builtin("iso87a"));
  assert_int_equal(iso_journal_lookup(db, (const uint8_t *)key, strlen(key), &st), ISO_E_NOT_FOUND);
  iso_msg_cleanup(&resp);
  /* completed, but long before the lookup window: not found */
  jt_base_ns = 1700000000000000000ull;
  assert_int_equal(jt_log_tx(db, 5, 44, ISO_DECISION_COMMIT, true), 0);
  iso_journal_sync_wait(db);
  key = "0200|000044|TERM0001";
  iso_msg_init(&resp, iso_spec_builtin("iso87a"));
  assert_int_equal(iso_journal_lookup(db, (const uint8_t *)key, strlen(key), &st), ISO_E_NOT_FOUND);
  iso_msg_cleanup(&resp);
  iso_journal_close(db);
  jt_cleanup();
}

/* Files that are not journals are refused with a reason. */
static void test_open_refusals(void **s) {
  (void)s;
  char path[300];
  jt_path(path, sizeof path, "other.db");
  sqlite3 *c;
  assert_int_equal(sqlite3_open(path, &c), SQLITE_OK);
  assert_int_equal(sqlite3_exec(c, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(c);
  iso_journal_config cfg;
  iso_journal_config_init(&cfg);
  cfg.path = path;
  cfg.read_only = true;
  iso_journal_db *db = NULL;
  assert_int_equal(iso_journal_open(&cfg, &db), ISO_E_JOURNAL_CORRUPT);
  assert_non_null(strstr(iso_journal_open_error(), "not an isoflow journal"));
  jt_path(path, sizeof path, "absent.db");
  assert_true(iso_journal_open(&cfg, &db) < 0);
  assert_null(db);
  /* a new journal needs a spec; a bad protected field is refused */
  cfg.read_only = false;
  assert_int_equal(iso_journal_open(&cfg, &db), ISO_E_INVAL);
  cfg.spec = iso_spec_builtin("iso87a");
  cfg.protected_fields[0] = 1;
  assert_int_equal(iso_journal_open(&cfg, &db), ISO_E_INVAL);
  /* a read-only journal takes no events */
  iso_journal_config_init(&cfg);
  cfg.path = path;
  cfg.spec = iso_spec_builtin("iso87a");
  assert_int_equal(iso_journal_open(&cfg, &db), 0);
  iso_journal_close(db);
  cfg.read_only = true;
  assert_int_equal(iso_journal_open(&cfg, &db), 0);
  iso_journal j;
  assert_int_equal(iso_journal_interface(db, &j), ISO_E_STATE);
  iso_journal_begin b = {.tx_id = 1};
  assert_int_equal(iso_journal_log_begin(db, &b), ISO_E_STATE);
  iso_journal_close(db);
  jt_cleanup();
}

static void test_queue_full(void **s) {
  (void)s;
  char path[300];
  iso_journal_config cfg;
  jt_config(&cfg, path, sizeof path, "q.db");
  cfg.queue_capacity = 4;
  iso_journal_db *db;
  assert_int_equal(iso_journal_open(&cfg, &db), 0);
  iso_msg req;
  jt_request(&req, cfg.spec, 1);
  int full = 0;
  for (uint64_t id = 1; id <= 2000; id++) {
    iso_journal_begin b = {.tx_id = id, .request = &req, .started_at = 1};
    int rc = iso_journal_log_begin(db, &b);
    assert_true(rc == 0 || rc == ISO_E_JOURNAL_FULL);
    full += rc == ISO_E_JOURNAL_FULL;
  }
  iso_msg_cleanup(&req);
  assert_true(full > 0);
  iso_journal_stats st;
  iso_journal_stats_get(db, &st);
  assert_int_equal(st.full, (uint64_t)full);
  iso_journal_close(db);
  jt_cleanup();
}

static void test_profile_known_timings(void **s) {
  (void)s;
  iso_journal_db *db;
  assert_int_equal(jt_open("p.db", NULL, false, &db), 0);
  /* auth prepare takes 1000 * (id % 10 + 1) ns: ids 1..100 give ten of
   * each of 1000..10000 (id 10 -> 1000, id 1 -> 2000 ...) */
  for (uint64_t id = 1; id <= 100; id++)
    assert_int_equal(jt_log_tx(db, id, (unsigned)id, ISO_DECISION_COMMIT, true), 0);
  assert_int_equal(jt_log_tx(db, 101, 101, ISO_DECISION_COMMIT, false), 0);
  iso_journal_sync_wait(db);
  iso_journal_profile p;
  assert_int_equal(iso_journal_profile_compute(db, NULL, &p), 0);
  assert_int_equal(p.count, 3);
  assert_string_equal(p.rows[0].participant, "auth");
  assert_int_equal(p.rows[0].phase, ISO_PHASE_PREPARE);
  assert_int_equal(p.rows[0].count, 100); /* 101 is not complete */
  assert_int_equal(p.rows[0].p50, 5000);
  assert_int_equal(p.rows[0].p90, 9000);
  assert_int_equal(p.rows[0].p99, 10000);
  assert_int_equal(p.rows[0].max, 10000);
  assert_string_equal(p.rows[1].participant, "ledger");
  assert_int_equal(p.rows[1].p99, 500);
  assert_null(p.rows[2].participant);
  assert_int_equal(p.rows[2].phase, ISO_PHASE_TOTAL);
  iso_journal_profile_free(&p);
  /* a selection narrows it */
  iso_journal_selection sel = {.id = 10};
  assert_int_equal(iso_journal_profile_compute(db, &sel, &p), 0);
  assert_int_equal(p.rows[0].count, 1);
  assert_int_equal(p.rows[0].max, 1000);
  iso_journal_profile_free(&p);
  iso_journal_close(db);
  jt_cleanup();
}

static int count_problem(uint64_t id, const char *what, void *data) {
  (void)id;
  (void)what;
  (*(int *)data)++;
  return 0;
}
static void on_problem(uint64_t id, const char *what, void *data) {
  count_problem(id, what, data);
}

/* Damages the journal behind its back with plain SQL. */
static void damage(const char *sql) {
  char path[300];
  jt_path(path, sizeof path, "v.db");
  sqlite3 *c;
  assert_int_equal(sqlite3_open(path, &c), SQLITE_OK);
  assert_int_equal(sqlite3_exec(c, sql, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(c);
}

static void test_verify_catches_damage(void **s) {
  (void)s;
  const char *damages[] = {
      /* an approval whose transaction is gone */
      "DELETE FROM tx WHERE id = 2",
      /* an approval whose decision is gone */
      "UPDATE tx SET decision = NULL WHERE id = 1",
      /* decision and completion disagree */
      "UPDATE tx SET decision = 2 WHERE id = 3",
      /* a clear PAN pasted into the stored request */
      "UPDATE tx SET request = X'4D30323030' || X'0210' || CAST('4111111111111111' AS BLOB) WHERE id = 4",
      /* an incomplete transaction whose participants do not decode */
      "UPDATE tx SET participants = X'05FF' WHERE id = 6",
      /* a tampered envelope */
      "UPDATE tx SET request_protected = X'01' || randomblob(40) WHERE id = 5",
  };
  for (size_t i = 0; i < sizeof damages / sizeof *damages; i++) {
    iso_journal_db *db;
    assert_int_equal(jt_open("v.db", jt_key_file(false), false, &db), 0);
    for (uint64_t id = 1; id <= 6; id++)
      assert_int_equal(jt_log_tx(db, id, (unsigned)id, ISO_DECISION_COMMIT, id != 6), 0);
    iso_journal_sync_wait(db);
    int problems = 0;
    assert_int_equal(iso_journal_verify(db, on_problem, &problems), 0);
    iso_journal_close(db);
    damage(damages[i]);
    assert_int_equal(jt_open("v.db", jt_key_file(false), false, &db), 0);
    int n = iso_journal_verify(db, on_problem, &problems);
    assert_true(n > 0);
    assert_int_equal(n, problems);
    iso_journal_close(db);
    jt_cleanup();
  }
}

static void test_prune_keeps_incomplete(void **s) {
  (void)s;
  iso_journal_db *db;
  assert_int_equal(jt_open("r.db", NULL, false, &db), 0);
  for (uint64_t id = 1; id <= 20; id++)
    assert_int_equal(jt_log_tx(db, id, (unsigned)id, ISO_DECISION_COMMIT, id % 4 != 0), 0);
  assert_int_equal(jt_log_tx(db, 21, 21, ISO_DECISION_NONE, false), 0);
  iso_journal_sync_wait(db);
  size_t removed = 0, pending = 0;
  /* finished_at = 1700000000000000000 + id * 1000 + 10000 */
  assert_int_equal(iso_journal_prune(db, 1700000000000000000ull + 11 * 1000 + 10000, &removed), 0);
  assert_int_equal(removed, 8); /* 1..10 without 4 and 8 */
  assert_int_equal(iso_journal_pending(db, &pending), 0);
  assert_int_equal(pending, 6); /* 4 8 12 16 20 21 */
  assert_int_equal(iso_journal_prune(db, UINT64_MAX >> 1, &removed), 0);
  assert_int_equal(iso_journal_pending(db, &pending), 0);
  assert_int_equal(pending, 6);
  iso_journal_close(db);
  /* ids stay monotonic after pruning the highest */
  assert_int_equal(jt_open("r.db", NULL, false, &db), 0);
  assert_int_equal(iso_journal_first_tx_id(db), 22);
  assert_int_equal(iso_journal_verify(db, NULL, NULL), 0);
  iso_journal_close(db);
  jt_cleanup();
}

/* The identity columns are copied while the request is encoded: present
 * fields fill them, absent ones leave them NULL, and only a request with a
 * PAN has the keyed hash a query by card finds. */
typedef struct ident {
  int rows;
  char rrn[16], terminal[12], currency[4], amount[16], stan[8], pan[24], mti[5];
} ident;

static int see_ident(const iso_journal_row *row, void *data) {
  ident *out = data;
  out->rows++;
  snprintf(out->rrn, sizeof out->rrn, "%s", row->rrn);
  snprintf(out->terminal, sizeof out->terminal, "%s", row->terminal);
  snprintf(out->currency, sizeof out->currency, "%s", row->currency);
  snprintf(out->amount, sizeof out->amount, "%s", row->amount);
  snprintf(out->stan, sizeof out->stan, "%s", row->stan);
  snprintf(out->pan, sizeof out->pan, "%s", row->pan_masked);
  snprintf(out->mti, sizeof out->mti, "%s", row->mti);
  return 0;
}

static ident ident_of(iso_journal_db *db, uint64_t id, const char *pan) {
  ident out = {0};
  iso_journal_selection sel = {.id = id, .pan = pan};
  assert_int_equal(iso_journal_query(db, &sel, see_ident, &out), 0);
  return out;
}

static void test_identity_columns(void **s) {
  (void)s;
  for (int k = 0; k < 2; k++) {
    iso_journal_db *db;
    assert_int_equal(jt_open("i.db", k ? jt_key_file(false) : NULL, false, &db), 0);
    const iso_spec *spec = iso_spec_builtin("iso87a");
    iso_msg full, bare, long_pan;
    jt_request(&full, spec, 7);
    iso_msg_init(&bare, spec);
    iso_msg_set_mti(&bare, "0100");
    iso_msg_set_str(&bare, 11, "000042");
    iso_msg_set_str(&bare, 4, "000000000100");
    jt_request(&long_pan, spec, 8);
    iso_msg_set_str(&long_pan, 2, "4111111111111111113"); /* 19 digits */
    iso_journal_begin b[] = {{.tx_id = 1, .request = &full},
                             {.tx_id = 2, .request = &bare},
                             {.tx_id = 3, .request = &long_pan},
                             {.tx_id = 4, .request = NULL}};
    for (size_t i = 0; i < 4; i++) assert_int_equal(iso_journal_log_begin(db, &b[i]), 0);
    iso_msg_cleanup(&full);
    iso_msg_cleanup(&bare);
    iso_msg_cleanup(&long_pan);
    iso_journal_sync_wait(db);

    ident r = ident_of(db, 1, NULL);
    assert_int_equal(r.rows, 1);
    assert_string_equal(r.mti, "0200");
    assert_string_equal(r.stan, "000007");
    assert_string_equal(r.rrn, "RRN000000007");
    assert_string_equal(r.terminal, "TERM0001");
    assert_string_equal(r.amount, "000000012345");
    assert_string_equal(r.currency, "840");
    assert_string_equal(r.pan, "411111******1111");
    assert_int_equal(ident_of(db, 1, JT_PAN).rows, 1);

    r = ident_of(db, 2, NULL);
    assert_int_equal(r.rows, 1);
    assert_string_equal(r.mti, "0100");
    assert_string_equal(r.stan, "000042");
    assert_string_equal(r.amount, "000000000100");
    assert_string_equal(r.rrn, "");
    assert_string_equal(r.terminal, "");
    assert_string_equal(r.currency, "");
    assert_string_equal(r.pan, "");
    assert_int_equal(ident_of(db, 2, JT_PAN).rows, 0); /* no hash stored */

    r = ident_of(db, 3, NULL);
    assert_string_equal(r.pan, "411111*********1113");
    assert_int_equal(ident_of(db, 3, "4111111111111111113").rows, 1);
    assert_int_equal(ident_of(db, 3, JT_PAN).rows, 0);

    r = ident_of(db, 4, NULL);
    assert_int_equal(r.rows, 1);
    assert_string_equal(r.stan, "");
    assert_string_equal(r.pan, "");
    iso_journal_close(db);
    jt_cleanup();
  }
}

/* Envelope nonces come from a per-thread pool: never the same twice in a
 * process, and a forked child does not reuse the parent's pool (the same
 * bytes in both processes would repeat a nonce under the key). */
static void seal_nonce(iso_journal_db *db, uint8_t nonce[ISO__NONCE_LEN]) {
  iso__jbuf env;
  iso__jbuf_init(&env);
  int fields[] = {2};
  const uint8_t plain[] = {2, 4, '4', '1', '1', '1'};
  assert_int_equal(iso__seal(&db->prot, 1, 'Q', fields, 1, plain, sizeof plain, &env), 0);
  assert_int_equal(env.len, 1 + ISO__NONCE_LEN + ISO__TAG_LEN + sizeof plain);
  memcpy(nonce, env.data + 1, ISO__NONCE_LEN);
  iso__jbuf_free(&env);
}

static void test_nonces_fresh_after_fork(void **s) {
  (void)s;
  iso_journal_db *db;
  assert_int_equal(jt_open("n.db", jt_key_file(false), false, &db), 0);
  enum { N = 1200 }; /* more than one pool */
  static uint8_t seen_nonces[N][ISO__NONCE_LEN];
  for (int i = 0; i < N; i++) {
    seal_nonce(db, seen_nonces[i]);
    for (int j = 0; j < i; j++)
      assert_memory_not_equal(seen_nonces[i], seen_nonces[j], ISO__NONCE_LEN);
  }
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    uint8_t n[ISO__NONCE_LEN];
    seal_nonce(db, n);
    _exit(write(fds[1], n, sizeof n) == (ssize_t)sizeof n ? 0 : 1);
  }
  uint8_t child[ISO__NONCE_LEN], mine[ISO__NONCE_LEN];
  assert_int_equal(read(fds[0], child, sizeof child), (ssize_t)sizeof child);
  int ws;
  assert_int_equal(waitpid(pid, &ws, 0), pid);
  assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
  seal_nonce(db, mine);
  assert_memory_not_equal(child, mine, ISO__NONCE_LEN);
  close(fds[0]);
  close(fds[1]);
  iso_journal_close(db);
  jt_cleanup();
}

/* The PAN hash is HMAC-SHA256 computed from pre-keyed states: it must equal
 * OpenSSL's own HMAC with the same key. */
static void test_pan_hash_is_hmac(void **s) {
  (void)s;
  for (int k = 0; k < 2; k++) {
    iso_journal_db *db;
    assert_int_equal(jt_open("h.db", k ? jt_key_file(false) : NULL, false, &db), 0);
    uint8_t mine[32], ref[32];
    unsigned n = 32;
    for (size_t len = 0; len <= 19; len++) {
      assert_int_equal(iso__pan_hash(&db->prot, (const uint8_t *)JT_TRACK2, len, mine), 0);
      HMAC(EVP_sha256(), db->prot.hash_key, 32, (const uint8_t *)JT_TRACK2, len, ref, &n);
      assert_memory_equal(mine, ref, 32);
    }
    iso_journal_close(db);
    jt_cleanup();
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pan_hash_is_hmac),
      cmocka_unit_test(test_identity_columns),
      cmocka_unit_test(test_nonces_fresh_after_fork),
      cmocka_unit_test(test_rows_no_key),
      cmocka_unit_test(test_rows_with_key),
      cmocka_unit_test(test_decision_with_or_without_its_begin),
      cmocka_unit_test(test_no_card_data_no_key),
      cmocka_unit_test(test_no_card_data_with_key),
      cmocka_unit_test(test_key_file_errors),
      cmocka_unit_test(test_lookup),
      cmocka_unit_test(test_queue_full),
      cmocka_unit_test(test_open_refusals),
      cmocka_unit_test(test_profile_known_timings),
      cmocka_unit_test(test_verify_catches_damage),
      cmocka_unit_test(test_prune_keeps_incomplete),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
