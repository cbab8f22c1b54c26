/*
 * tests/test_journal_cli.c -- `isoflow journal` end to end: a journal is
 * written through the library, then show, profile (every format), verify and
 * prune run as the real program; outputs and exit statuses are checked, and
 * no output ever carries the PAN.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <sqlite3.h>

#include <pthread.h>
#include <uv.h>

#include "isoflow/conn.h"
#include "support/journal_support.h"

static char out[1 << 16];

/* Runs `isoflow ARGS`, captures stdout+stderr into out; returns the exit
 * status. */
static int run(const char *fmt, ...) {
  char args[1024], cmd[1400];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(args, sizeof args, fmt, ap);
  va_end(ap);
  snprintf(cmd, sizeof cmd, "%s/isoflow %s 2>&1", ISOFLOW_BIN_DIR, args);
  FILE *p = popen(cmd, "r");
  assert_non_null(p);
  size_t n = fread(out, 1, sizeof out - 1, p);
  out[n] = 0;
  int st = pclose(p);
  assert_true(WIFEXITED(st));
  assert_null(strstr(out, JT_PAN));
  return WEXITSTATUS(st);
}

static char db_path[300];

static int setup(void **s) {
  (void)s;
  iso_journal_db *db;
  assert_int_equal(jt_open("cli.db", NULL, false, &db), 0);
  for (uint64_t id = 1; id <= 30; id++)
    assert_int_equal(jt_log_tx(db, id, (unsigned)id, id % 3 ? ISO_DECISION_COMMIT : ISO_DECISION_ABORT, id != 30), 0);
  iso_journal_close(db);
  jt_path(db_path, sizeof db_path, "cli.db");
  return 0;
}

static int teardown(void **s) {
  (void)s;
  jt_cleanup();
  return 0;
}

static void test_show(void **s) {
  (void)s;
  assert_int_equal(run("journal show %s", db_path), 0);
  assert_non_null(strstr(out, "411111******1111"));
  assert_null(strstr(out, "undecided")); /* every one was decided */
  assert_int_equal(run("journal show %s --stan 000007 --json", db_path), 0);
  assert_non_null(strstr(out, "\"id\":7,"));
  assert_non_null(strstr(out, "\"decision\":\"commit\""));
  assert_non_null(strstr(out, "\"participants\":[\"auth\",\"ledger\"]"));
  assert_null(strstr(out, "\"id\":8,"));
  assert_int_equal(run("journal show %s --rc 05 --json", db_path), 0);
  assert_non_null(strstr(out, "\"id\":3,"));
  assert_null(strstr(out, "\"id\":4,"));
  assert_int_equal(run("journal show %s --pan " JT_PAN " --limit 2 --json", db_path), 0);
  assert_non_null(strstr(out, "\"id\":2,"));
  assert_null(strstr(out, "\"id\":3,"));
  assert_int_equal(run("journal show %s --id 30 --json", db_path), 0);
  assert_non_null(strstr(out, "\"completed\":false"));
  /* started_at is 1700000000 s + id us: an empty range, then all 30 */
  assert_int_equal(run("journal show %s --since 2023-11-14T22:13:20 --until 1700000000 --json", db_path), 0);
  assert_string_equal(out, "");
  assert_int_equal(run("journal show %s --since 2023-11-14 --until 1700000001 --json", db_path), 0);
  assert_non_null(strstr(out, "\"id\":30,"));
  assert_int_equal(run("journal show %s --since yesterday", db_path), 2);
  assert_int_equal(run("journal show /nonexistent.db"), 1);
  assert_int_equal(run("journal show --help"), 0);
  assert_non_null(strstr(out, "--terminal"));
}

static void test_profile_formats(void **s) {
  (void)s;
  assert_int_equal(run("journal profile %s", db_path), 0);
  assert_non_null(strstr(out, "auth"));
  assert_non_null(strstr(out, "p99.9_us"));
  assert_int_equal(run("journal profile %s --format csv", db_path), 0);
  assert_non_null(strstr(out, "auth,prepare,29,"));
  assert_int_equal(run("journal profile %s --format json", db_path), 0);
  assert_non_null(strstr(out, "\"participant\":\"ledger\""));
  assert_int_equal(run("journal profile %s --format svg", db_path), 0);
  assert_non_null(strstr(out, "<svg"));
  assert_non_null(strstr(out, "latency (microseconds"));
  assert_non_null(strstr(out, "</svg>"));
  assert_int_equal(run("journal profile %s --format pie", db_path), 2);
}

static void test_verify_and_prune(void **s) {
  (void)s;
  assert_int_equal(run("journal verify %s", db_path), 0);
  assert_non_null(strstr(out, "sound"));
  assert_int_equal(run("journal prune %s", db_path), 2);
  assert_int_equal(run("journal prune %s --before 2100-01-01", db_path), 0);
  assert_non_null(strstr(out, "removed 29 "));
  assert_int_equal(run("journal show %s --json", db_path), 0);
  assert_non_null(strstr(out, "\"id\":30,")); /* incomplete: kept */
  /* damage: a clear PAN in a stored request */
  sqlite3 *c;
  assert_int_equal(sqlite3_open(db_path, &c), SQLITE_OK);
  assert_int_equal(sqlite3_exec(c, "UPDATE tx SET request = X'4D30323030' || X'0210' || CAST('4111111111111111' AS BLOB) WHERE id = 30", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(c);
  assert_int_equal(run("journal verify %s", db_path), 1);
  assert_non_null(strstr(out, "transaction 30: clear card number"));
}

static void test_usage(void **s) {
  (void)s;
  assert_int_equal(run("journal"), 2);
  assert_int_equal(run("journal --help"), 0);
  assert_non_null(strstr(out, "profile"));
  assert_int_equal(run("journal bogus"), 2);
  assert_int_equal(run("--help"), 0);
  assert_non_null(strstr(out, "journal"));
}

/* ---- a live host for replay: approves everything but STAN 000004 ------- */

static const iso_spec *host_spec;
static int host_saw_clear_pan, host_requests;

static void host_inbound(iso_conn *conn, iso_inbound_kind kind, const iso_frame *f) {
  if (kind != ISO_INBOUND_REQUEST) return;
  iso_msg req, resp;
  iso_msg_init(&req, host_spec);
  iso_msg_init(&resp, host_spec);
  host_requests++;
  if (iso_msg_unpack(&req, f->payload, f->len, NULL) == 0) {
    char mti[4], stan[8] = "", pan[24] = "";
    size_t n;
    iso_mti_response(iso_msg_mti(&req), mti);
    char m5[5];
    memcpy(m5, mti, 4);
    m5[4] = 0;
    iso_msg_set_mti(&resp, m5);
    iso_msg_get(&req, 11, stan, sizeof stan, &n);
    if (iso_msg_get(&req, 2, pan, sizeof pan, &n) == 0 && !strcmp(pan, JT_PAN))
      host_saw_clear_pan++;
    iso_msg_set_str(&resp, 11, stan);
    iso_msg_set_str(&resp, 41, "TERM0001");
    iso_msg_set_str(&resp, 39, strcmp(stan, "000004") ? "00" : "51");
    iso_conn_send_msg(conn, &resp);
  }
  iso_msg_cleanup(&req);
  iso_msg_cleanup(&resp);
}

static void test_replay_to_host(void **s) {
  (void)s;
  host_spec = iso_spec_builtin("iso87a");
  iso_journal_db *db;
  assert_int_equal(jt_open("host.db", jt_key_file(false), false, &db), 0);
  for (uint64_t id = 1; id <= 6; id++) /* 3 and 6 journaled 05 */
    assert_int_equal(jt_log_tx(db, id, (unsigned)id, id % 3 ? ISO_DECISION_COMMIT : ISO_DECISION_ABORT, true), 0);
  iso_journal_close(db);
  char path[300];
  jt_path(path, sizeof path, "host.db");
  iso_server_opts so = {0};
  so.conn.spec = host_spec;
  so.conn.on_inbound = host_inbound;
  so.workers = 1;
  struct sockaddr_in addr;
  uv_ip4_addr("127.0.0.1", 0, &addr);
  iso_server *srv;
  assert_int_equal(iso_server_start(&so, (struct sockaddr *)&addr, &srv), 0);
  int port = iso_server_port(srv);
  /* 1 2 5 match (00), 4 differs (51 vs 00), 3 and 6 differ (00 vs 05) */
  assert_int_equal(run("journal replay %s --to 127.0.0.1:%d --key-file %s --concurrency 3 --rate 1000",
                       path, port, jt_key_file(false)), 1);
  assert_non_null(strstr(out, "replayed 6: 3 matched the journaled response code, 3 differed"));
  assert_non_null(strstr(out, "transaction 4: journaled rc '00', got '51'"));
  assert_non_null(strstr(out, "transaction 3: journaled rc '05', got '00'"));
  assert_int_equal(host_saw_clear_pan, 6); /* restored with the key */
  assert_int_equal(host_requests, 6);
  /* without the key: sealed card data is never sent made up; nothing goes
   * out, and the message says the key file is needed */
  assert_int_equal(run("journal replay %s --to 127.0.0.1:%d --stan 000001", path, port), 2);
  assert_non_null(strstr(out, "1 of the 1 selected requests hold card data sealed"));
  assert_non_null(strstr(out, "give --key-file"));
  assert_int_equal(host_requests, 6);
  assert_int_equal(host_saw_clear_pan, 6);
  /* a journal written without a key holds the PAN masked for good: those
   * requests are listed as not sent, never sent with made-up digits */
  assert_int_equal(jt_open("masked.db", NULL, false, &db), 0);
  for (uint64_t id = 1; id <= 2; id++)
    assert_int_equal(jt_log_tx(db, id, (unsigned)id, ISO_DECISION_COMMIT, true), 0);
  iso_journal_close(db);
  char masked[300];
  jt_path(masked, sizeof masked, "masked.db");
  assert_int_equal(run("journal replay %s --to 127.0.0.1:%d", masked, port), 1);
  assert_non_null(strstr(out, "transaction 1: journaled rc '00', not sent: its PAN was journaled masked"));
  assert_non_null(strstr(out, "replayed 2: 0 matched the journaled response code, 2 differed"));
  assert_int_equal(host_requests, 6);
  assert_int_equal(run("journal replay %s", path), 2);
  assert_int_equal(run("journal replay %s --to 127.0.0.1:1 --timeout 500 --key-file %s",
                       path, jt_key_file(false)), 1);
  iso_server_close(srv, NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_show),
      cmocka_unit_test(test_profile_formats),
      cmocka_unit_test(test_verify_and_prune),
      cmocka_unit_test(test_usage),
      cmocka_unit_test(test_replay_to_host),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
