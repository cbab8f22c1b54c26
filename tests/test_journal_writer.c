/*
 * tests/test_journal_writer.c -- the writer's multi-row statements
 * (journal/writer.c, journal/schema.c): a group of many transactions is
 * written as statements of several rows each, and gives the same rows as
 * writing every event alone, also when a row of a statement conflicts with
 * one already there (a decision written before its begin, a completion
 * written twice): such a statement is written again one row at a time.
 * And the indexes it keeps: reversals in an index of their own, no index
 * of DE 41 + DE 11 in a new journal, while a journal made with one keeps
 * it and is written and read as before.
 */
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "journal/journal_internal.h"
#include "support/journal_support.h"

/* Queues begin, the decision right after it (paired; reported to `o` when
 * not NULL) and the completion with response code rc, waiting for
 * nothing. */
static void queue_tx_to(iso_journal_db *db, uint64_t id, iso_decision d, const char *rc,
                        jt_outcome *o) {
  const iso_spec *spec = iso_spec_builtin("iso87a");
  iso_msg req, resp;
  jt_request(&req, spec, (unsigned)id);
  char key[32];
  int kn = snprintf(key, sizeof key, "0200|%06u|TERM0001", (unsigned)id);
  iso_journal_begin b = {.tx_id = id, .idempotency_key = (const uint8_t *)key,
                         .idempotency_key_len = (size_t)kn, .fingerprint = id,
                         .request = &req, .started_at = jt_base_ns + id * 1000};
  assert_int_equal(iso_journal_log_begin(db, &b), 0);
  iso_msg_cleanup(&req);
  const char *parts[] = {"auth", "ledger"};
  iso_journal_decision dec = {.tx_id = id, .decision = d, .participants = parts,
                              .participant_count = 2};
  assert_int_equal(iso_journal_log_decision(db, &dec, o ? jt_on_decision : NULL, o), 0);
  jt_response(&resp, spec, (unsigned)id, rc);
  iso_journal_completion c = {.tx_id = id, .decision = d, .response = &resp,
                              .finished_at = b.started_at + 10000};
  memcpy(c.response_code, rc, 3);
  assert_int_equal(iso_journal_log_completion(db, &c), 0);
  iso_msg_cleanup(&resp);
}

static void queue_tx(iso_journal_db *db, uint64_t id, iso_decision d, const char *rc) {
  queue_tx_to(db, id, d, rc, NULL);
}

/* Holds the journal's write lock from another connection: the writer waits
 * for it (busy timeout), and what it has not taken by then piles up into
 * one group. */
static sqlite3 *hold_lock(const char *name) {
  char path[300];
  jt_path(path, sizeof path, name);
  sqlite3 *other;
  assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
  assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
  return other;
}

static void release_lock(sqlite3 *other) {
  assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(other);
}

typedef struct seen {
  uint64_t count, next_id;
  const char *rc_again, *rc_other;
} seen;

/* Every row whole: the begin's columns, the decision, the completion. */
static int check_row(const iso_journal_row *row, void *data) {
  seen *s = data;
  assert_int_equal(row->id, s->next_id);
  s->next_id++;
  s->count++;
  char stan[8];
  snprintf(stan, sizeof stan, "%06u", (unsigned)row->id);
  assert_string_equal(row->stan, stan);
  assert_int_equal(row->started_at, jt_base_ns + row->id * 1000);
  assert_int_equal(row->fingerprint, row->id);
  assert_non_null(row->request);
  assert_true(row->decided);
  /* 50's decision was written alone first (abort); the paired one that
   * came with its begin is the later, and wins */
  assert_int_equal(row->decision, row->id % 2 ? ISO_DECISION_ABORT : ISO_DECISION_COMMIT);
  assert_true(row->decided_at > 0);
  assert_int_equal(row->participant_count, 2);
  assert_true(row->completed);
  assert_int_equal(row->finished_at, row->started_at + 10000);
  assert_string_equal(row->response_code,
                      row->id == 70 || row->id == 100 ? s->rc_again : s->rc_other);
  assert_non_null(row->response);
  return 0;
}

/* 110 transactions in one or two groups: statements of 32, 8 and 1 rows;
 * 50's row is there before (in the second statement of 32 begins), and
 * completions of 70 and 100 (in the third of 32, in the one of 8). */
static void test_batches_with_conflicts(void **s) {
  (void)s;
  iso_journal_db *db;
  assert_int_equal(jt_open("w.db", NULL, false, &db), 0);
  const char *parts[] = {"auth"};
  iso_journal_decision early = {.tx_id = 50, .decision = ISO_DECISION_ABORT,
                                .participants = parts, .participant_count = 1};
  assert_int_equal(iso_journal_log_decision(db, &early, NULL, NULL), 0);
  for (uint64_t id = 70; id <= 100; id += 30) {
    iso_msg resp;
    jt_response(&resp, iso_spec_builtin("iso87a"), (unsigned)id, "91");
    iso_journal_completion c = {.tx_id = id, .decision = ISO_DECISION_COMMIT,
                                .response = &resp, .finished_at = 1};
    memcpy(c.response_code, "91", 3);
    assert_int_equal(iso_journal_log_completion(db, &c), 0);
    iso_msg_cleanup(&resp);
  }
  iso_journal_sync_wait(db);

  sqlite3 *other = hold_lock("w.db");
  for (uint64_t id = 1; id <= 110; id++)
    queue_tx(db, id, id % 2 ? ISO_DECISION_ABORT : ISO_DECISION_COMMIT,
             id == 70 || id == 100 ? "00" : "05");
  release_lock(other);
  iso_journal_sync_wait(db);

  seen got = {.next_id = 1, .rc_again = "00", .rc_other = "05"};
  iso_journal_selection sel = {0};
  assert_int_equal(iso_journal_query(db, &sel, check_row, &got), 0);
  assert_int_equal(got.count, 110);
  iso_journal_stats st;
  iso_journal_stats_get(db, &st);
  assert_int_equal(st.failures, 0);
  assert_int_equal(iso_journal_verify(db, NULL, NULL), 0);
  iso_journal_close(db);
  jt_cleanup();
}

/* Group sizes around the statement sizes (1, 7, 8, 9, 31, 32, 33, 41
 * transactions): every row written once. */
static void test_group_sizes(void **s) {
  (void)s;
  iso_journal_db *db;
  assert_int_equal(jt_open("g.db", NULL, false, &db), 0);
  const unsigned sizes[] = {1, 7, 8, 9, 31, 32, 33, 41};
  uint64_t id = 0;
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    sqlite3 *other = hold_lock("g.db");
    for (unsigned k = 0; k < sizes[i]; k++) {
      id++;
      queue_tx(db, id, id % 2 ? ISO_DECISION_ABORT : ISO_DECISION_COMMIT, "05");
    }
    release_lock(other);
    iso_journal_sync_wait(db);
  }
  seen got = {.next_id = 1, .rc_again = "05", .rc_other = "05"};
  iso_journal_selection sel = {0};
  assert_int_equal(iso_journal_query(db, &sel, check_row, &got), 0);
  assert_int_equal(got.count, id);
  iso_journal_close(db);
  jt_cleanup();
}

static int count_rows(const iso_journal_row *row, void *data) {
  (void)row;
  (*(int *)data)++;
  return 0;
}

/* A group of many rows whose writing fails (the disk refuses writes):
 * every decision in it hears the error, none of its rows is kept, and the
 * journal works again once the disk does. */
static void test_failed_batch(void **s) {
  (void)s;
  jt_fault_register();
  char path[300];
  iso_journal_config cfg;
  jt_config(&cfg, path, sizeof path, "f.db");
  cfg.vfs = "jtfault";
  iso_journal_db *db;
  assert_int_equal(iso_journal_open(&cfg, &db), 0);
  jt_outcome o = {0};
  sqlite3 *other = hold_lock("f.db");
  int hits = jt_fault_hits();
  jt_fault_arm(JT_FAULT_WRITE, 0);
  for (uint64_t id = 1; id <= 100; id++) queue_tx_to(db, id, ISO_DECISION_COMMIT, "00", &o);
  release_lock(other);
  iso_journal_sync_wait(db);
  jt_fault_arm(JT_FAULT_NONE, 0);
  assert_true(jt_fault_hits() > hits);
  assert_int_equal(atomic_load(&o.failed), 100);
  assert_int_equal(atomic_load(&o.durable), 0);
  assert_int_equal(atomic_load(&o.last_error), ISO_E_IO);
  iso_journal_sync_wait(db); /* the failed group's counting is over */
  iso_journal_stats st;
  iso_journal_stats_get(db, &st);
  assert_int_equal(st.failures, 300);
  int rows = 0;
  iso_journal_selection sel = {0};
  assert_int_equal(iso_journal_query(db, &sel, count_rows, &rows), 0);
  assert_int_equal(rows, 0);
  for (uint64_t id = 101; id <= 140; id++) queue_tx_to(db, id, ISO_DECISION_COMMIT, "00", &o);
  iso_journal_sync_wait(db);
  assert_int_equal(atomic_load(&o.durable), 40);
  assert_int_equal(iso_journal_query(db, &sel, count_rows, &rows), 0);
  assert_int_equal(rows, 40);
  iso_journal_close(db);
  jt_cleanup();
}

/* ---- indexes ------------------------------------------------------------- */

/* Queues begin + paired decision of a request with the given MTI. */
static void queue_mti(iso_journal_db *db, uint64_t id, const char *mti) {
  iso_msg req;
  jt_request(&req, iso_spec_builtin("iso87a"), (unsigned)id);
  assert_int_equal(iso_msg_set_mti(&req, mti), 0);
  iso_journal_begin b = {.tx_id = id, .request = &req, .started_at = jt_base_ns + id * 1000};
  assert_int_equal(iso_journal_log_begin(db, &b), 0);
  iso_msg_cleanup(&req);
  iso_journal_decision d = {.tx_id = id, .decision = ISO_DECISION_COMMIT};
  assert_int_equal(iso_journal_log_decision(db, &d, NULL, NULL), 0);
}

typedef struct ids {
  uint64_t id[16];
  size_t n;
} ids;

static int collect_ids(const iso_journal_row *row, void *data) {
  ids *out = data;
  assert_true(out->n < 16);
  out->id[out->n++] = row->id;
  return 0;
}

static ids select_ids(iso_journal_db *db, const iso_journal_selection *sel) {
  ids out = {0};
  assert_int_equal(iso_journal_query(db, sel, collect_ids, &out), 0);
  return out;
}

/* Whether SQLite's plan for the selection names the index. */
static bool plan_uses(iso_journal_db *db, sqlite3 *c, const iso_journal_selection *sel,
                      const char *index) {
  sqlite3_stmt *st, *plan;
  assert_int_equal(iso__select(db, c, sel, &st), 0);
  char sql[4096];
  snprintf(sql, sizeof sql, "EXPLAIN QUERY PLAN %s", sqlite3_sql(st));
  sqlite3_finalize(st);
  assert_int_equal(sqlite3_prepare_v2(c, sql, -1, &plan, NULL), SQLITE_OK);
  bool found = false;
  while (sqlite3_step(plan) == SQLITE_ROW)
    found |= strstr((const char *)sqlite3_column_text(plan, 3), index) != NULL;
  sqlite3_finalize(plan);
  return found;
}

static bool has_index(sqlite3 *c, const char *name) {
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(c, "SELECT 1 FROM sqlite_master WHERE type = 'index'"
                                         " AND name = ?", -1, &st, NULL), SQLITE_OK);
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  bool found = sqlite3_step(st) == SQLITE_ROW;
  sqlite3_finalize(st);
  return found;
}

/* The terminal's reversals (MTI x4xx of 1987, 1993, 2003) since a time;
 * one by STAN; what an index-backed selection returns either way. */
static void check_selections(iso_journal_db *db) {
  iso_journal_selection sel = {.terminal = "TERM0001", .reversals = true};
  ids got = select_ids(db, &sel);
  assert_int_equal(got.n, 4);
  const uint64_t want[] = {2, 4, 5, 6};
  for (size_t i = 0; i < 4; i++) assert_int_equal(got.id[i], want[i]);
  sel.since = jt_base_ns + 5 * 1000;
  got = select_ids(db, &sel);
  assert_int_equal(got.n, 2);
  assert_int_equal(got.id[0], 5);
  sel = (iso_journal_selection){.terminal = "TERM0001", .stan = "000003"};
  got = select_ids(db, &sel);
  assert_int_equal(got.n, 1);
  assert_int_equal(got.id[0], 3);
}

static void queue_mtis(iso_journal_db *db, uint64_t first) {
  const char *mtis[] = {"0200", "0400", "0100", "0420", "1420", "2401", "0500", "3400"};
  for (size_t i = 0; i < 8; i++) queue_mti(db, first + i, mtis[i]);
  iso_journal_sync_wait(db);
}

static void test_indexes_new_journal(void **s) {
  (void)s;
  iso_journal_db *db;
  assert_int_equal(jt_open("i.db", NULL, false, &db), 0);
  queue_mtis(db, 1);
  check_selections(db);
  char path[300];
  jt_path(path, sizeof path, "i.db");
  sqlite3 *c;
  assert_int_equal(sqlite3_open(path, &c), SQLITE_OK);
  assert_false(has_index(c, "tx_terminal_stan"));
  assert_true(has_index(c, "tx_reversal"));
  iso_journal_selection sel = {.terminal = "T", .since = 1, .reversals = true};
  assert_true(plan_uses(db, c, &sel, "tx_reversal"));
  sel = (iso_journal_selection){.key = (const uint8_t *)"k", .key_len = 1};
  assert_true(plan_uses(db, c, &sel, "tx_idem_key"));
  sel = (iso_journal_selection){.terminal = "T", .rrn = "R"};
  assert_true(plan_uses(db, c, &sel, "tx_terminal_rrn"));
  sqlite3_close(c);
  iso_journal_close(db);
  jt_cleanup();
}

/* A journal made with tx_terminal_stan and without tx_reversal opens, is
 * written (in batches) and read as before, and keeps its index. */
static void test_indexes_old_journal(void **s) {
  (void)s;
  iso_journal_db *db;
  assert_int_equal(jt_open("o.db", NULL, false, &db), 0);
  iso_journal_close(db);
  char path[300];
  jt_path(path, sizeof path, "o.db");
  sqlite3 *c;
  assert_int_equal(sqlite3_open(path, &c), SQLITE_OK);
  assert_int_equal(sqlite3_exec(c, "DROP INDEX tx_reversal;"
                                   "CREATE INDEX tx_terminal_stan ON tx(terminal, stan)",
                                NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(c);
  assert_int_equal(jt_open("o.db", NULL, false, &db), 0);
  sqlite3 *other = hold_lock("o.db");
  for (uint64_t id = 1; id <= 8; id += 8) {
    const char *mtis[] = {"0200", "0400", "0100", "0420", "1420", "2401", "0500", "3400"};
    for (size_t i = 0; i < 8; i++) queue_mti(db, id + i, mtis[i]);
  }
  release_lock(other);
  iso_journal_sync_wait(db);
  check_selections(db);
  assert_int_equal(sqlite3_open(path, &c), SQLITE_OK);
  assert_true(has_index(c, "tx_terminal_stan"));
  assert_false(has_index(c, "tx_reversal"));
  iso_journal_selection sel = {.terminal = "T", .stan = "S"};
  assert_true(plan_uses(db, c, &sel, "tx_terminal_stan"));
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(c, "SELECT count(*) FROM tx INDEXED BY tx_terminal_stan"
                                         " WHERE terminal = 'TERM0001'", -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int(st, 0), 8); /* written into the old index */
  sqlite3_finalize(st);
  sqlite3_close(c);
  assert_int_equal(iso_journal_verify(db, NULL, NULL), 0);
  iso_journal_close(db);
  jt_cleanup();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_batches_with_conflicts),
      cmocka_unit_test(test_group_sizes),
      cmocka_unit_test(test_failed_batch),
      cmocka_unit_test(test_indexes_new_journal),
      cmocka_unit_test(test_indexes_old_journal),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
