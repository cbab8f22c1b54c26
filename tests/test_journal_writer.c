/*
 * tests/test_journal_writer.c -- the writer's multi-row statements
 * (journal/writer.c, journal/schema.c): a group of many transactions is
 * written as statements of several rows each, and gives the same rows as
 * writing every event alone, also when a row of a statement conflicts with
 * one already there (a decision written before its begin, a completion
 * written twice): such a statement is written again one row at a time.
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

/* Counts decisions reported durable and failed (on the writer thread). */
typedef struct outcome {
  _Atomic int durable, failed, last_error;
} outcome;

static void on_decision(void *arg, int status, uint64_t write_ns) {
  (void)write_ns;
  outcome *o = arg;
  if (status) {
    atomic_fetch_add(&o->failed, 1);
    atomic_store(&o->last_error, status);
  } else {
    atomic_fetch_add(&o->durable, 1);
  }
}

/* Queues begin, the decision right after it (paired; reported to `o` when
 * not NULL) and the completion with response code rc, waiting for
 * nothing. */
static void queue_tx_to(iso_journal_db *db, uint64_t id, iso_decision d, const char *rc,
                        outcome *o) {
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
  assert_int_equal(iso_journal_log_decision(db, &dec, o ? on_decision : NULL, o), 0);
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
  outcome o = {0};
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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_batches_with_conflicts),
      cmocka_unit_test(test_group_sizes),
      cmocka_unit_test(test_failed_batch),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
