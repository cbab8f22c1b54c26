/*
 * tests/test_journal_nomem.c -- the journal when memory runs out: opening a
 * journal, logging a transaction through it and closing it, with each
 * allocation the library makes failing in turn.  Every run must end in an
 * error code or in success -- never a crash, a hang or a leak -- and a
 * journal that opened must still report every decision (durable or failed)
 * and close cleanly.
 *
 * Allocations fail through support/failing_alloc.h (the suite is linked
 * with malloc, calloc and realloc wrapped: tests/journal.cmake); SQLite's
 * and OpenSSL's own are not affected.  LeakSanitizer, on in the test
 * build, checks every run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "isoflow/journal.h"
#include "support/failing_alloc.h"
#include "support/journal_support.h"

/* Opens a durable journal, logs one transaction (begin, decision, waits
 * for its report, completion) and closes.  Returns how open went; *decided
 * is the decision's report (0 durable, or an error), 1 when never made. */
static int journal_round(const char *name, int *decided) {
  *decided = 1;
  iso_journal_db *db = NULL;
  int rc = jt_open(name, jt_key_file(false), true, &db);
  if (rc) return rc;
  *decided = jt_log_tx(db, 1, 1, ISO_DECISION_COMMIT, true);
  iso_journal_close(db);
  return 0;
}

static int count_commit(const iso_journal_row *row, void *data) {
  if (row->decided && row->decision == ISO_DECISION_COMMIT) ++*(int *)data;
  return 0;
}

/* Transactions decided commit in the journal `name`, read with nothing
 * failing. */
static int committed_rows(const char *name) {
  iso_journal_db *db;
  assert_int_equal(jt_open(name, jt_key_file(false), true, &db), 0);
  iso_journal_selection all;
  memset(&all, 0, sizeof all);
  int n = 0;
  assert_int_equal(iso_journal_query(db, &all, count_commit, &n), 0);
  iso_journal_close(db);
  return n;
}

static void test_each_allocation_fails_once(void **state) {
  (void)state;
  /* How many allocations an undisturbed round makes. */
  int decided;
  fa_count_reset();
  assert_int_equal(journal_round("count.db", &decided), 0);
  assert_int_equal(decided, 0);
  long total = fa_count();
  assert_true(total > 0);

  int opened = 0, refused = 0;
  for (long n = 0; n < total; n++) {
    char name[32];
    snprintf(name, sizeof name, "fail%ld.db", n);
    fa_arm(n);
    int rc = journal_round(name, &decided);
    fa_arm(-1);
    if (rc) {
      /* Refused with a reason, never a crash. */
      assert_true(rc == ISO_E_NOMEM || rc == ISO_E_JOURNAL || rc == ISO_E_IO);
      refused++;
    } else {
      /* Opened: the decision was reported; one reported durable is in the
       * journal, decided commit, and one reported failed is not. */
      assert_true(decided <= 0);
      assert_int_equal(committed_rows(name), decided == 0 ? 1 : 0);
      opened++;
    }
  }
  assert_true(refused > 0);
  /* With nothing failing any more, the same round succeeds. */
  assert_int_equal(journal_round("after.db", &decided), 0);
  assert_int_equal(decided, 0);
  assert_true(opened > 0); /* some allocations have a fallback */
  jt_cleanup();
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_each_allocation_fails_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
