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

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_show),
      cmocka_unit_test(test_profile_formats),
      cmocka_unit_test(test_verify_and_prune),
      cmocka_unit_test(test_usage),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
