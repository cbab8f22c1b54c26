/*
 * tests/test_journal_flow.c -- the journal under a real flow: responses
 * held until the decision is durable and every transaction journaled with
 * its stages; ids monotonic across a restart; recovery of decided and
 * undecided transactions (and a second recovery finding nothing); injected
 * SQLite write and sync failures and a full disk never leading to an
 * approval that is not journaled; another process' lock reported as
 * ISO_E_JOURNAL_LOCKED, never silently.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "support/flow_fixture.h"
#include "support/journal_support.h"

typedef struct rig {
  uv_loop_t loop;
  iso_flow *flow;
  iso_flow_loop *fl;
  iso_journal_db *db;
  fx_part auth, ledger;
} rig;

static int failed_calls;
static void on_failed(iso_journal_db *db, int status, size_t count, void *data) {
  (void)db;
  (void)count;
  (void)data;
  assert_true(status < 0);
  failed_calls++;
}

static void rig_open(rig *r, const char *name, const char *vfs) {
  memset(r, 0, sizeof *r);
  char path[300];
  iso_journal_config jc;
  jt_config(&jc, path, sizeof path, name);
  jc.vfs = vfs;
  jc.busy_timeout_ms = 50;
  jc.failed = on_failed;
  assert_int_equal(iso_journal_open(&jc, &r->db), 0);
  iso_flow_config cfg;
  fx_config(&cfg);
  assert_int_equal(iso_flow_new(&cfg, &r->flow), 0);
  r->auth = (fx_part){.name = "auth", .result = ISO_PREPARED};
  r->ledger = (fx_part){.name = "ledger", .result = ISO_PREPARED};
  iso_participant a = fx_participant(&r->auth), l = fx_participant(&r->ledger);
  assert_int_equal(iso_flow_add(r->flow, &a), 0);
  assert_int_equal(iso_flow_add(r->flow, &l), 0);
  iso_journal j;
  assert_int_equal(iso_journal_interface(r->db, &j), 0);
  assert_int_equal(iso_flow_set_journal(r->flow, &j), 0);
  assert_int_equal(iso_flow_start(r->flow), 0);
  assert_int_equal(uv_loop_init(&r->loop), 0);
  assert_int_equal(iso_flow_loop_new(r->flow, &r->loop, &r->fl), 0);
}

static void rig_close(rig *r) {
  fx_flow_end(&r->loop, r->fl, r->flow);
  iso_journal_close(r->db);
}

/* Submits one request and runs the loop until it is answered. */
static fx_done submit(rig *r, const char *stan) {
  fx_done d;
  fx_submit(r->fl, "0200", stan, "000000001000", &d);
  assert_true(fx_run_until(&r->loop, &d.calls, 5000));
  return d;
}

static int check_row(const iso_journal_row *row, void *data) {
  int *n = data;
  (*n)++;
  assert_true(row->completed);
  assert_int_equal(row->decision, ISO_DECISION_COMMIT);
  assert_string_equal(row->response_code, ""); /* nobody set DE 39 */
  assert_string_equal(row->pan_masked, "424242******4242");
  assert_int_equal(row->participant_count, 2);
  bool saw_auth = false, saw_wait = false;
  for (size_t i = 0; i < row->stage_count; i++) {
    if (row->stages[i].participant && !strcmp(row->stages[i].participant, "auth"))
      saw_auth = true;
    if (!row->stages[i].participant && row->stages[i].phase == ISO_PHASE_JOURNAL_WAIT)
      saw_wait = true;
  }
  assert_true(saw_auth);
  assert_true(saw_wait);
  return 0;
}

static void test_flow_journals_every_tx(void **s) {
  (void)s;
  rig r;
  rig_open(&r, "f.db", NULL);
  uint64_t last = 0;
  for (int i = 0; i < 20; i++) {
    char stan[7];
    snprintf(stan, sizeof stan, "%06d", i + 1);
    fx_done d = submit(&r, stan);
    assert_int_equal(d.status, 0);
    assert_true(d.tx_id > last);
    last = d.tx_id;
  }
  iso_journal_sync_wait(r.db);
  int n = 0;
  assert_int_equal(iso_journal_query(r.db, NULL, check_row, &n), 0);
  assert_int_equal(n, 20);
  assert_int_equal(iso_journal_verify(r.db, NULL, NULL), 0);
  rig_close(&r);
  /* after a restart ids carry on above the last */
  rig_open(&r, "f.db", NULL);
  fx_done d = submit(&r, "000100");
  assert_int_equal(d.status, 0);
  assert_true(d.tx_id > last);
  rig_close(&r);
  jt_cleanup();
}

static void on_recovered(iso_journal_db *db, int status, size_t n, void *data) {
  (void)db;
  int *out = data;
  assert_int_equal(status, 0);
  out[0] = 1;
  out[1] = (int)n;
}

static int decision_of(const iso_journal_row *row, void *data) {
  int *out = data;
  assert_true(row->id < 64);
  out[row->id] = row->completed ? (int)row->decision : -1;
  return 0;
}

static void test_recovery(void **s) {
  (void)s;
  iso_journal_db *db;
  assert_int_equal(jt_open("rec.db", NULL, true, &db), 0);
  assert_int_equal(jt_log_tx(db, 1, 1, ISO_DECISION_COMMIT, true), 0);  /* done */
  assert_int_equal(jt_log_tx(db, 2, 2, ISO_DECISION_COMMIT, false), 0); /* decided */
  assert_int_equal(jt_log_tx(db, 3, 3, ISO_DECISION_ABORT, false), 0);  /* decided */
  assert_int_equal(jt_log_tx(db, 4, 4, ISO_DECISION_NONE, false), 0);   /* undecided */
  iso_journal_close(db);

  rig r;
  rig_open(&r, "rec.db", NULL);
  int done[2] = {0, 0};
  assert_int_equal(iso_journal_recover(r.db, r.fl, on_recovered, done), 0);
  assert_true(fx_run_until(&r.loop, &done[0], 5000));
  assert_int_equal(done[1], 3);
  /* 2 committed again (once), 3 aborted again, 4 aborted everywhere; 1 not
   * touched: committed once, before the restart */
  assert_int_equal(r.auth.commits, 1);
  assert_int_equal(r.ledger.commits, 1);
  assert_int_equal(r.auth.aborts, 2);
  assert_int_equal(r.ledger.aborts, 2);
  assert_true(r.auth.recovery_seen);
  iso_journal_sync_wait(r.db);
  size_t pending = 99;
  assert_int_equal(iso_journal_pending(r.db, &pending), 0);
  assert_int_equal(pending, 0);
  int dec[64] = {0};
  assert_int_equal(iso_journal_query(r.db, NULL, decision_of, dec), 0);
  assert_int_equal(dec[1], ISO_DECISION_COMMIT);
  assert_int_equal(dec[2], ISO_DECISION_COMMIT);
  assert_int_equal(dec[3], ISO_DECISION_ABORT);
  assert_int_equal(dec[4], ISO_DECISION_ABORT);
  assert_int_equal(iso_journal_verify(r.db, NULL, NULL), 0);
  /* recovering again finds nothing: nothing runs twice */
  done[0] = done[1] = 0;
  assert_int_equal(iso_journal_recover(r.db, r.fl, on_recovered, done), 0);
  assert_int_equal(done[0], 1);
  assert_int_equal(done[1], 0);
  assert_int_equal(r.auth.commits, 1);
  rig_close(&r);
  jt_cleanup();
}

/* A write or sync failure while the decision is written: declined, never
 * committed, reported; the journal has no approval. */
static void fault_case(int kind) {
  jt_fault_register();
  rig r;
  rig_open(&r, "fault.db", "jtfault");
  fx_done ok = submit(&r, "000001");
  assert_int_equal(ok.status, 0);
  failed_calls = 0;
  int hits = jt_fault_hits();
  jt_fault_arm(kind, 0);
  fx_done d = submit(&r, "000002");
  jt_fault_arm(JT_FAULT_NONE, 0);
  assert_true(jt_fault_hits() > hits);
  assert_int_equal(d.status, ISO_E_JOURNAL);
  assert_string_equal(d.rc, "96");
  assert_int_equal(r.auth.commits, 1); /* only the first transaction */
  assert_int_equal(r.ledger.commits, 1);
  assert_true(failed_calls > 0);
  iso_flow_stats st;
  iso_flow_stats_get(r.flow, &st);
  assert_true(st.journal_failures > 0);
  iso_journal_stats js;
  iso_journal_stats_get(r.db, &js);
  assert_true(js.failures > 0);
  /* the journal works again once the disk does */
  fx_done again = submit(&r, "000003");
  assert_int_equal(again.status, 0);
  iso_journal_sync_wait(r.db);
  int dec[64] = {0};
  assert_int_equal(iso_journal_query(r.db, NULL, decision_of, dec), 0);
  /* no approval journaled for the failed transaction */
  assert_true(dec[d.tx_id] != ISO_DECISION_COMMIT);
  assert_int_equal(iso_journal_verify(r.db, NULL, NULL), 0);
  rig_close(&r);
  jt_cleanup();
}

static void test_write_failure(void **s) { (void)s; fault_case(JT_FAULT_WRITE); }
static void test_sync_failure(void **s) { (void)s; fault_case(JT_FAULT_SYNC); }
static void test_disk_full(void **s) { (void)s; fault_case(JT_FAULT_FULL); }

static void test_locked_by_another(void **s) {
  (void)s;
  rig r;
  rig_open(&r, "lock.db", NULL);
  char path[300];
  jt_path(path, sizeof path, "lock.db");
  sqlite3 *other;
  assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
  assert_int_equal(sqlite3_exec(other, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
  fx_done d = submit(&r, "000001");
  assert_int_equal(d.status, ISO_E_JOURNAL);
  assert_string_equal(d.rc, "96");
  assert_int_equal(r.auth.commits, 0);
  /* a second journal cannot even open it: clear error */
  iso_journal_config jc;
  iso_journal_config_init(&jc);
  jc.path = path;
  jc.busy_timeout_ms = 50;
  iso_journal_db *db2 = NULL;
  assert_int_equal(iso_journal_open(&jc, &db2), ISO_E_JOURNAL_LOCKED);
  assert_non_null(strstr(iso_journal_open_error(), "locked"));
  assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(other);
  fx_done ok = submit(&r, "000002");
  assert_int_equal(ok.status, 0);
  rig_close(&r);
  jt_cleanup();
}

/* ---- replay through a flow in process ------------------------------------ */

static char seen_pan[32];

static int approve_all(iso_tx *tx, void *data) {
  (void)data;
  size_t n = 0;
  if (iso_msg_get(iso_tx_request(tx), 2, seen_pan, sizeof seen_pan, &n)) seen_pan[0] = 0;
  iso_tx_set_response_code(tx, "00");
  return ISO_PREPARED | ISO_NO_JOIN;
}

typedef struct replay_seen {
  int each, done, status, hidden;
  size_t replayed, differed;
  char journaled[8][3];
} replay_seen;

static void on_each(uint64_t id, const char *journaled_rc, int status,
                    const iso_msg *response, void *data) {
  replay_seen *r = data;
  assert_true(id >= 1 && id <= 6);
  if (status == ISO_E_KEY_FILE) {
    assert_null(response); /* card data not restorable: not run */
    r->hidden++;
  } else {
    assert_int_equal(status, 0);
    assert_non_null(response);
  }
  snprintf(r->journaled[id], 3, "%s", journaled_rc);
  r->each++;
}

static void on_replayed(int status, size_t replayed, size_t differed, void *data) {
  replay_seen *r = data;
  r->done = 1;
  r->status = status;
  r->replayed = replayed;
  r->differed = differed;
}

static void replay_case(bool key) {
  seen_pan[0] = 0;
  iso_journal_db *db;
  const char *kf = key ? jt_key_file(false) : NULL;
  assert_int_equal(jt_open("replay.db", kf, false, &db), 0);
  /* ids 3 and 6 were declined (05); the rest approved (00) */
  for (uint64_t id = 1; id <= 6; id++)
    assert_int_equal(jt_log_tx(db, id, (unsigned)id, id % 3 ? ISO_DECISION_COMMIT : ISO_DECISION_ABORT, true), 0);
  iso_journal_sync_wait(db);
  iso_flow_config cfg;
  fx_config(&cfg);
  cfg.idempotency = false;
  iso_flow *flow;
  assert_int_equal(iso_flow_new(&cfg, &flow), 0);
  iso_participant a = {.name = "approve", .prepare = approve_all};
  assert_int_equal(iso_flow_add(flow, &a), 0);
  assert_int_equal(iso_flow_start(flow), 0);
  uv_loop_t loop;
  iso_flow_loop *fl;
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(iso_flow_loop_new(flow, &loop, &fl), 0);
  replay_seen r = {0};
  assert_int_equal(iso_journal_replay(db, NULL, fl, 2, on_each, on_replayed, &r), 0);
  assert_true(fx_run_until(&loop, &r.done, 5000));
  assert_int_equal(r.status, 0);
  assert_int_equal(r.each, 6);
  assert_string_equal(r.journaled[3], "05");
  assert_string_equal(r.journaled[4], "00");
  /* With the key every request ran with its card number in clear; without
   * it (the PAN was masked when written) none ran: a masked PAN is not the
   * transaction that was journaled. */
  assert_int_equal(r.replayed, key ? 6 : 0);
  assert_int_equal(r.differed, key ? 2 : 0);
  assert_int_equal(r.hidden, key ? 0 : 6);
  assert_string_equal(seen_pan, key ? JT_PAN : "");
  /* a selection narrows it */
  r = (replay_seen){0};
  iso_journal_selection sel = {.rrn = "RRN000000004"};
  assert_int_equal(iso_journal_replay(db, &sel, fl, 4, on_each, on_replayed, &r), 0);
  assert_true(fx_run_until(&loop, &r.done, 5000));
  assert_int_equal(r.each, 1);
  assert_int_equal(r.replayed, key ? 1 : 0);
  assert_int_equal(r.differed, 0);
  fx_flow_end(&loop, fl, flow);
  iso_journal_close(db);
  jt_cleanup();
}

static void test_replay_with_key(void **s) { (void)s; replay_case(true); }
static void test_replay_without_key(void **s) { (void)s; replay_case(false); }

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_flow_journals_every_tx),
      cmocka_unit_test(test_recovery),
      cmocka_unit_test(test_write_failure),
      cmocka_unit_test(test_sync_failure),
      cmocka_unit_test(test_disk_full),
      cmocka_unit_test(test_locked_by_another),
      cmocka_unit_test(test_replay_with_key),
      cmocka_unit_test(test_replay_without_key),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
