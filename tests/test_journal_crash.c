/*
 * tests/test_journal_crash.c -- a child process runs a flow with a durable
 * journal and is killed with SIGKILL at chosen points of a transaction
 * (in prepare, before the decision; in commit, after it; right after the
 * response) and at random moments of a busy stream (mid group commit).  The
 * parent reopens the journal, recovers, and checks the invariants: every
 * approval the client saw is journaled as committed, undecided transactions
 * end aborted, decided ones finish with their decision, recovery touches only
 * transactions without completion, nothing is committed twice outside
 * recovery, and verify finds nothing wrong.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/flow_fixture.h"
#include "support/journal_support.h"

enum { KILL_NONE, KILL_PREPARE, KILL_COMMIT, KILL_RESPONSE };

static int log_fd = -1;
static int kill_mode;
static uint64_t kill_at; /* the transaction (count) to die in */

static void note(const char *fmt, ...) {
  char line[96];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (write(log_fd, line, (size_t)n) != n) _exit(5);
}

static int p_prepare(iso_tx *tx, void *data) {
  if (kill_mode == KILL_PREPARE && !strcmp(data, "auth") && iso_tx_id(tx) == kill_at)
    raise(SIGKILL);
  return ISO_PREPARED;
}

static void p_commit(iso_tx *tx, void *data) {
  note("%s %s %llu\n", iso_tx_is_recovery(tx) ? "RC" : "C", (const char *)data,
       (unsigned long long)iso_tx_id(tx));
  if (kill_mode == KILL_COMMIT && !strcmp(data, "auth") && iso_tx_id(tx) == kill_at)
    raise(SIGKILL); /* auth committed, ledger not yet */
}

static void p_abort(iso_tx *tx, void *data) {
  note("%s %s %llu\n", iso_tx_is_recovery(tx) ? "RA" : "A", (const char *)data,
       (unsigned long long)iso_tx_id(tx));
}

typedef struct rig {
  uv_loop_t loop;
  iso_flow *flow;
  iso_flow_loop *fl;
  iso_journal_db *db;
} rig;

static int rig_open(rig *r) {
  char path[300];
  iso_journal_config jc;
  jt_config(&jc, path, sizeof path, "crash.db");
  int rc = iso_journal_open(&jc, &r->db);
  if (rc) return rc;
  iso_flow_config cfg;
  iso_flow_config_init(&cfg);
  cfg.spec = jc.spec;
  if ((rc = iso_flow_new(&cfg, &r->flow))) return rc;
  static char auth[] = "auth", ledger[] = "ledger";
  iso_participant a = {.name = "auth", .prepare = p_prepare, .commit = p_commit,
                       .abort = p_abort, .data = auth};
  iso_participant l = a;
  l.name = "ledger";
  l.data = ledger;
  iso_journal j;
  if ((rc = iso_flow_add(r->flow, &a)) || (rc = iso_flow_add(r->flow, &l)) ||
      (rc = iso_journal_interface(r->db, &j)) ||
      (rc = iso_flow_set_journal(r->flow, &j)) || (rc = iso_flow_start(r->flow)))
    return rc;
  if (uv_loop_init(&r->loop)) return ISO_E_STATE;
  return iso_flow_loop_new(r->flow, &r->loop, &r->fl);
}

static int in_flight;

static void on_done(iso_tx *tx, int status, const iso_msg *response, void *data) {
  (void)response;
  (void)data;
  in_flight--;
  note("OK %llu %d\n", (unsigned long long)iso_tx_id(tx), status);
  if (kill_mode == KILL_RESPONSE && iso_tx_id(tx) == kill_at) raise(SIGKILL);
}

/* The child: a stream of transactions, 8 in flight, until killed. */
static void child(void) {
  rig r;
  memset(&r, 0, sizeof r);
  if (rig_open(&r)) _exit(4);
  iso_msg m;
  iso_msg_init(&m, iso_spec_builtin("iso87a"));
  time_t end = time(NULL) + 10;
  for (unsigned n = 1; time(NULL) < end; n++) {
    while (in_flight >= 8) uv_run(&r.loop, UV_RUN_ONCE);
    char stan[7];
    snprintf(stan, sizeof stan, "%06u", n % 1000000);
    iso_msg_reset(&m);
    iso_msg_set_mti(&m, "0200");
    iso_msg_set_str(&m, 2, JT_PAN);
    iso_msg_set_str(&m, 3, "000000");
    iso_msg_set_str(&m, 4, "000000001000");
    iso_msg_set_str(&m, 7, "1123131415");
    iso_msg_set_str(&m, 11, stan);
    iso_msg_set_str(&m, 41, "TERM0001");
    iso_msg_set_str(&m, 49, "840");
    if (iso_flow_submit(r.fl, &m, 0, on_done, NULL) == 0) in_flight++;
    uv_run(&r.loop, UV_RUN_NOWAIT);
  }
  _exit(3); /* never killed: the parent treats it as a failure */
}

typedef struct seen {
  int commits[4096], rcommits[4096], raborts[4096];
  int ok_status[4096];
  bool ok[4096];
} seen;

static void read_log(const char *path, seen *s) {
  memset(s, 0, sizeof *s);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  char kind[8], who[16];
  unsigned long long id;
  int status;
  char line[128];
  while (fgets(line, sizeof line, f)) {
    if (sscanf(line, "OK %llu %d", &id, &status) == 2) {
      assert_true(id < 4096);
      s->ok[id] = true;
      s->ok_status[id] = status;
    } else if (sscanf(line, "%7s %15s %llu", kind, who, &id) == 3) {
      assert_true(id < 4096);
      bool ledger = !strcmp(who, "ledger");
      if (!strcmp(kind, "C")) s->commits[id] += ledger ? 0x100 : 1;
      if (!strcmp(kind, "RC")) s->rcommits[id]++;
      if (!strcmp(kind, "RA")) s->raborts[id]++;
    }
  }
  fclose(f);
}

typedef struct state {
  bool exists[4096], completed[4096], decided[4096];
  int decision[4096];
} state;

static int read_row(const iso_journal_row *row, void *data) {
  state *s = data;
  assert_true(row->id < 4096);
  s->exists[row->id] = true;
  s->completed[row->id] = row->completed;
  s->decided[row->id] = row->decided;
  s->decision[row->id] = (int)row->decision;
  return 0;
}

static void on_recovered(iso_journal_db *db, int status, size_t n, void *data) {
  (void)db;
  (void)n;
  assert_int_equal(status, 0);
  *(int *)data = 1;
}

/* Returns how many transactions the journal held after the kill. */
static int crash_case(int mode, uint64_t at, unsigned kill_after_ms) {
  char logpath[300];
  jt_path(logpath, sizeof logpath, "crash.log");
  log_fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0600);
  assert_true(log_fd >= 0);
  kill_mode = mode;
  kill_at = at;
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) child();
  if (kill_after_ms) {
    /* wait until the stream runs (a loaded machine may start the child
     * slowly; bounded), then let it run a little longer and kill it */
    for (int i = 0; i < 1000; i++) {
      struct stat sb;
      if (stat(logpath, &sb) == 0 && sb.st_size > 200) break;
      usleep(10000);
    }
    usleep(kill_after_ms * 1000);
    kill(pid, SIGKILL);
  }
  int ws;
  assert_int_equal(waitpid(pid, &ws, 0), pid);
  assert_true(WIFSIGNALED(ws) && WTERMSIG(ws) == SIGKILL);
  kill_mode = KILL_NONE;

  rig r;
  memset(&r, 0, sizeof r);
  assert_int_equal(rig_open(&r), 0);
  assert_int_equal(iso_journal_verify(r.db, NULL, NULL), 0);
  state *before = calloc(1, sizeof *before), *after = calloc(1, sizeof *after);
  assert_int_equal(iso_journal_query(r.db, NULL, read_row, before), 0);
  int done = 0;
  assert_int_equal(iso_journal_recover(r.db, r.fl, on_recovered, &done), 0);
  assert_true(fx_run_until(&r.loop, &done, 10000));
  iso_journal_sync_wait(r.db);
  assert_int_equal(iso_journal_query(r.db, NULL, read_row, after), 0);
  size_t pending = 1;
  assert_int_equal(iso_journal_pending(r.db, &pending), 0);
  assert_int_equal(pending, 0);
  assert_int_equal(iso_journal_verify(r.db, NULL, NULL), 0);
  seen *s = malloc(sizeof *s);
  read_log(logpath, s);
  int approvals = 0, rows = 0;
  for (uint64_t id = 1; id < 4096; id++) {
    /* an approval the client saw is journaled as committed */
    if (s->ok[id] && s->ok_status[id] == 0) {
      approvals++;
      assert_true(after->exists[id]);
      assert_int_equal(after->decision[id], ISO_DECISION_COMMIT);
    }
    /* nothing committed twice outside recovery */
    assert_true((s->commits[id] & 0xff) <= 1 && (s->commits[id] >> 8) <= 1);
    /* recovery touched only what had no completion */
    if (s->rcommits[id] || s->raborts[id]) assert_false(before->completed[id]);
    if (!before->exists[id]) continue;
    rows++;
    assert_true(after->completed[id]);
    if (!before->completed[id]) {
      if (!before->decided[id]) {
        assert_int_equal(after->decision[id], ISO_DECISION_ABORT);
        assert_int_equal(s->rcommits[id], 0);
      } else {
        assert_int_equal(after->decision[id], before->decision[id]);
      }
    }
  }
  if (mode == KILL_RESPONSE) assert_true(approvals > 0);
  if (mode == KILL_PREPARE) {
    /* its begin may not have reached the disk (begin is not waited for);
     * if it did, it is undecided and ends aborted.  Never committed. */
    assert_false(before->decided[at]);
    if (before->exists[at]) assert_int_equal(after->decision[at], ISO_DECISION_ABORT);
    assert_int_equal(s->commits[at], 0);
    assert_int_equal(s->rcommits[at], 0);
  }
  if (mode == KILL_COMMIT) {
    assert_true(before->decided[at] && !before->completed[at]);
    assert_int_equal(s->rcommits[at], 2); /* both re-run, flagged */
  }
  free(s);
  free(before);
  free(after);
  fx_flow_end(&r.loop, r.fl, r.flow);
  iso_journal_close(r.db);
  close(log_fd);
  jt_cleanup();
  return rows;
}

static void test_kill_in_prepare(void **st) { (void)st; crash_case(KILL_PREPARE, 40, 0); }
static void test_kill_in_commit(void **st) { (void)st; crash_case(KILL_COMMIT, 40, 0); }
static void test_kill_after_response(void **st) { (void)st; crash_case(KILL_RESPONSE, 40, 0); }

static void test_kill_at_random_moments(void **st) {
  (void)st;
  unsigned delays[] = {1, 7, 15, 30, 60, 110};
  int rows = 0;
  for (size_t i = 0; i < sizeof delays / sizeof *delays; i++)
    rows += crash_case(KILL_NONE, 0, delays[i]);
  assert_true(rows > 0); /* the kills did land in a running stream */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_kill_in_prepare),
      cmocka_unit_test(test_kill_in_commit),
      cmocka_unit_test(test_kill_after_response),
      cmocka_unit_test(test_kill_at_random_moments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
