/*
 * tests/test_journal_sync.c -- pipelined durability (journal/sync.c): with
 * synchronous=FULL a group's decisions are reported durable only after a
 * sync of the WAL that followed its COMMIT; a sync that fails reports them
 * failed and sets their committed rows back to ABORT (an "undo", written
 * again until a sync covers it, also when writing it fails); closing
 * reports every group queued.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "journal/journal_internal.h"
#include "support/journal_support.h"

/* Queues begin + decision (even ids abort). */
static void queue_decided(iso_journal_db *db, uint64_t id, jt_outcome *o) {
  iso_msg req;
  jt_request(&req, iso_spec_builtin("iso87a"), (unsigned)id);
  iso_journal_begin b = {.tx_id = id, .request = &req, .started_at = jt_base_ns + id * 1000};
  assert_int_equal(iso_journal_log_begin(db, &b), 0);
  iso_msg_cleanup(&req);
  iso_journal_decision d = {.tx_id = id,
                            .decision = id % 2 ? ISO_DECISION_COMMIT : ISO_DECISION_ABORT};
  assert_int_equal(iso_journal_log_decision(db, &d, jt_on_decision, o), 0);
}

static iso_journal_db *open_faulty(const char *name) {
  jt_fault_register();
  char path[300];
  iso_journal_config cfg;
  jt_config(&cfg, path, sizeof path, name);
  cfg.vfs = "jtfault";
  cfg.sync = ISO_JOURNAL_SYNC_FULL;
  iso_journal_db *db;
  assert_int_equal(iso_journal_open(&cfg, &db), 0);
  assert_true(db->pipelined);
  return db;
}

typedef struct rows {
  int count, commits, aborts, undone;
} rows;

static int tally(const iso_journal_row *row, void *data) {
  rows *r = data;
  r->count++;
  assert_true(row->decided);
  if (row->decision == ISO_DECISION_COMMIT) r->commits++;
  if (row->decision == ISO_DECISION_ABORT) r->aborts++;
  if (row->reason == ISO_E_JOURNAL) {
    r->undone++;
    assert_int_equal(row->decision, ISO_DECISION_ABORT);
    assert_true(row->id % 2 == 1); /* only what was COMMIT is set back */
  }
  return 0;
}

static rows tally_all(iso_journal_db *db) {
  rows r = {0};
  iso_journal_selection sel = {0};
  assert_int_equal(iso_journal_query(db, &sel, tally, &r), 0);
  return r;
}

/* No decision is reported durable while the WAL cannot be synced; their
 * committed rows end ABORT once a sync covers the undo. */
static void test_failed_sync_reports_and_undoes(void **s) {
  (void)s;
  iso_journal_db *db = open_faulty("s.db");
  jt_outcome o = {0};
  int hits = jt_fault_hits();
  jt_fault_arm(JT_FAULT_SYNC, 0);
  for (uint64_t id = 1; id <= 50; id++) queue_decided(db, id, &o);
  iso_journal_sync_wait(db);
  assert_true(jt_fault_hits() > hits);
  assert_int_equal(atomic_load(&o.failed), 50);
  assert_int_equal(atomic_load(&o.durable), 0);
  assert_int_equal(atomic_load(&o.last_error), ISO_E_IO);
  jt_fault_arm(JT_FAULT_NONE, 0);
  iso_journal_sync_wait(db); /* a group that writes the undo, synced */
  rows r = tally_all(db);
  assert_int_equal(r.count, 50);
  assert_int_equal(r.commits, 0);
  assert_int_equal(r.aborts, 50);
  assert_int_equal(r.undone, 25);
  /* and the journal goes on */
  queue_decided(db, 51, &o);
  iso_journal_sync_wait(db);
  assert_int_equal(atomic_load(&o.durable), 1);
  iso_journal_stats st;
  iso_journal_stats_get(db, &st);
  assert_int_equal(st.failures, 100);
  assert_int_equal(iso_journal_verify(db, NULL, NULL), 0);
  iso_journal_close(db);
  jt_cleanup();
}

/* The undo's own group fails to write: it is kept and written later. */
static void test_undo_kept_when_its_write_fails(void **s) {
  (void)s;
  iso_journal_db *db = open_faulty("u.db");
  jt_outcome o = {0};
  jt_fault_arm(JT_FAULT_SYNC, 0);
  for (uint64_t id = 1; id <= 10; id++) queue_decided(db, id, &o);
  iso_journal_sync_wait(db);
  assert_int_equal(atomic_load(&o.failed), 10);
  jt_fault_arm(JT_FAULT_WRITE, 0);
  queue_decided(db, 11, &o); /* its group carries the undo, and fails */
  iso_journal_sync_wait(db);
  assert_int_equal(atomic_load(&o.failed), 11);
  jt_fault_arm(JT_FAULT_NONE, 0);
  iso_journal_sync_wait(db);
  rows r = tally_all(db);
  assert_int_equal(r.count, 10); /* 11 was rolled back */
  assert_int_equal(r.commits, 0);
  assert_int_equal(r.undone, 5);
  iso_journal_close(db);
  jt_cleanup();
}

/* Closing reports every group handed to the syncer, durable, and the rows
 * are there when the journal opens again. */
static void test_close_reports_everything(void **s) {
  (void)s;
  iso_journal_db *db;
  assert_int_equal(jt_open("c.db", NULL, true, &db), 0);
  assert_true(db->pipelined);
  jt_outcome o = {0};
  for (uint64_t id = 1; id <= 300; id++) queue_decided(db, id, &o);
  iso_journal_close(db);
  assert_int_equal(atomic_load(&o.durable), 300);
  assert_int_equal(atomic_load(&o.failed), 0);
  assert_int_equal(jt_open("c.db", NULL, true, &db), 0);
  rows r = tally_all(db);
  assert_int_equal(r.count, 300);
  assert_int_equal(r.commits, 150);
  iso_journal_close(db);
  jt_cleanup();
}

/* NORMAL and OFF commit and report on the writer, as before. */
static void test_not_pipelined_below_full(void **s) {
  (void)s;
  char path[300];
  iso_journal_config cfg;
  jt_config(&cfg, path, sizeof path, "n.db");
  cfg.sync = ISO_JOURNAL_SYNC_NORMAL;
  iso_journal_db *db;
  assert_int_equal(iso_journal_open(&cfg, &db), 0);
  assert_false(db->pipelined);
  jt_outcome o = {0};
  queue_decided(db, 1, &o);
  iso_journal_sync_wait(db);
  assert_int_equal(atomic_load(&o.durable), 1);
  iso_journal_close(db);
  jt_cleanup();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_failed_sync_reports_and_undoes),
      cmocka_unit_test(test_undo_kept_when_its_write_fails),
      cmocka_unit_test(test_close_reports_everything),
      cmocka_unit_test(test_not_pipelined_below_full),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
