/*
 * tests/test_flow_context.c -- a transaction's named values: persistent
 * values kept in the record's own arena while they fit and allocated past
 * it, read back until the end and handed to the journal with the decision,
 * a request copied into the same arena left intact, names found by
 * pointer or by content, and the calls' error paths.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "flow/flow_internal.h"
#include "isoflow/flow.h"
#include "support/flow_fixture.h"

/* ---- a journal that keeps the last decision's values -------------------- */

typedef struct journal_stub {
  char values[512]; /* "name=bytes;" for each value of the last decision */
  size_t value_count;
} journal_stub;

static int stub_begin(void *self, const iso_journal_begin *ev) {
  (void)self;
  (void)ev;
  return 0;
}

static int stub_decision(void *self, const iso_journal_decision *ev,
                         iso_journal_ticket *ticket) {
  journal_stub *j = self;
  j->values[0] = '\0';
  j->value_count = ev->value_count;
  for (size_t i = 0; i < ev->value_count; i++) {
    size_t l = strlen(j->values);
    snprintf(j->values + l, sizeof j->values - l, "%s=%.*s;",
             ev->values[i].name, (int)ev->values[i].len,
             (const char *)ev->values[i].data);
  }
  iso_journal_ticket_done(ticket, 0, 0);
  return 0;
}

static int stub_completion(void *self, const iso_journal_completion *ev) {
  (void)self;
  (void)ev;
  return 0;
}

/* ---- the flow ----------------------------------------------------------- */

typedef struct env {
  uv_loop_t loop;
  iso_flow *flow;
  iso_flow_loop *fl;
  journal_stub journal;
} env;

static void env_start(env *e, const iso_participant *p, bool journal) {
  iso_flow_config cfg;
  fx_config(&cfg);
  assert_int_equal(uv_loop_init(&e->loop), 0);
  assert_int_equal(iso_flow_new(&cfg, &e->flow), 0);
  if (journal) {
    memset(&e->journal, 0, sizeof e->journal);
    iso_journal j = {.self = &e->journal,
                     .begin = stub_begin,
                     .decision = stub_decision,
                     .completion = stub_completion};
    assert_int_equal(iso_flow_set_journal(e->flow, &j), 0);
  }
  assert_int_equal(iso_flow_add(e->flow, p), 0);
  fx_flow_start(e->flow, &e->loop, &e->fl);
}

/* Submits a request (copied into the record) and runs it to its end. */
static void env_run(env *e, iso_msg *req, fx_done *d) {
  memset(d, 0, sizeof *d);
  assert_int_equal(iso_flow_submit(e->fl, req, 0, fx_on_done, d), 0);
  assert_true(fx_run_until(&e->loop, &d->calls, 5000));
}

/* The same with fx_request's request under STAN stan. */
static void env_run_default(env *e, const char *stan, fx_done *d) {
  iso_msg req;
  iso_msg_init(&req, iso_spec_builtin("iso87a"));
  fx_request(&req, "0100", stan, "000000001000");
  env_run(e, &req, d);
  iso_msg_cleanup(&req);
}

static void env_end(env *e) { fx_flow_end(&e->loop, e->fl, e->flow); }

/* What commit found, checked by the test after the run. */
static char seen[256];

/* Starts e with p alone (journaled) and runs one request through it, with
 * `seen` cleared; it must commit.  env_end afterwards. */
static void env_run_one(env *e, const iso_participant *p) {
  env_start(e, p, true);
  seen[0] = '\0';
  fx_done d;
  env_run_default(e, "000001", &d);
  assert_int_equal(d.status, 0);
}

static void see(iso_tx *tx, const char *name) {
  const void *bytes;
  size_t len;
  size_t l = strlen(seen);
  if (iso_tx_get_persistent(tx, name, &bytes, &len) == 0)
    snprintf(seen + l, sizeof seen - l, "%s=%.*s;", name, (int)len,
             (const char *)bytes);
  else
    snprintf(seen + l, sizeof seen - l, "%s=?;", name);
}

/* ---- values in the arena and past it ------------------------------------ */

static char long_value[101]; /* 100 bytes: never fits the arena */

static int set_values(iso_tx *tx, void *data) {
  (void)data;
  char buf[16];
  strcpy(buf, "card:12");
  if (iso_tx_set_persistent(tx, "hold", buf, 7) != 0) return ISO_ABORTED;
  strcpy(buf, "XXXXXXX"); /* the value was copied */
  if (iso_tx_set_persistent(tx, "big", long_value, 100) != 0)
    return ISO_ABORTED;
  if (iso_tx_set_persistent(tx, "empty", NULL, 0) != 0) return ISO_ABORTED;
  if (iso_tx_set_persistent(tx, "short", "ab", 2) != 0) return ISO_ABORTED;
  /* Whatever did not fit was allocated; ASan checks every block is freed. */
  iso_tx_set_response_code(tx, "00");
  return ISO_PREPARED;
}

static void commit_sees(iso_tx *tx, void *data) {
  (void)data;
  see(tx, "hold");
  see(tx, "empty");
  see(tx, "short");
  const void *bytes;
  size_t len;
  bool big = iso_tx_get_persistent(tx, "big", &bytes, &len) == 0 &&
             len == 100 && memcmp(bytes, long_value, 100) == 0;
  strcat(seen, big ? "big=ok;" : "big=?;");
}

/* Four values, one too long for the arena: all read back in commit, all
 * journaled with the decision, in the order they were set. */
static void values_kept_inline_and_allocated(void **state) {
  (void)state;
  memset(long_value, 'L', 100);
  iso_participant p = {.name = "p", .prepare = set_values,
                       .commit = commit_sees, .abort = commit_sees};
  env e;
  env_run_one(&e, &p);
  assert_string_equal(seen, "hold=card:12;empty=;short=ab;big=ok;");
  assert_int_equal(e.journal.value_count, 4);
  char expected[256];
  snprintf(expected, sizeof expected, "hold=card:12;big=%s;empty=;short=ab;",
           long_value);
  assert_string_equal(e.journal.values, expected);
  env_end(&e);
}

/* More short values than the arena holds (64 bytes, 16 a value here: its
 * length, then its 8 bytes): the rest are allocated, and every one reads
 * back; replacing one keeps the newest. */
static int set_many(iso_tx *tx, void *data) {
  (void)data;
  static const char *names[] = {"v0", "v1", "v2", "v3", "v4", "v5", "v6"};
  for (int i = 0; i < 7; i++) {
    char v[9];
    snprintf(v, sizeof v, "value-%02d", i);
    if (iso_tx_set_persistent(tx, names[i], v, 8) != 0) return ISO_ABORTED;
  }
  if (iso_tx_set_persistent(tx, "v2", "newer", 5) != 0) return ISO_ABORTED;
  iso_tx_set_response_code(tx, "00");
  return ISO_PREPARED;
}

static void commit_sees_many(iso_tx *tx, void *data) {
  (void)data;
  static const char *names[] = {"v0", "v1", "v2", "v3", "v4", "v5", "v6"};
  for (int i = 0; i < 7; i++) see(tx, names[i]);
}

static void arena_full_falls_back(void **state) {
  (void)state;
  iso_participant p = {.name = "p", .prepare = set_many,
                       .commit = commit_sees_many};
  env e;
  env_run_one(&e, &p);
  assert_string_equal(seen,
                      "v0=value-00;v1=value-01;v2=newer;v3=value-03;"
                      "v4=value-04;v5=value-05;v6=value-06;");
  assert_int_equal(e.journal.value_count, 7);
  /* The record is reused: its arena starts empty again. */
  seen[0] = '\0';
  fx_done d;
  env_run_default(&e, "000002", &d);
  assert_string_equal(seen,
                      "v0=value-00;v1=value-01;v2=newer;v3=value-03;"
                      "v4=value-04;v5=value-05;v6=value-06;");
  env_end(&e);
}

/* ---- the request shares the arena --------------------------------------- */

static char de43[41], de48[61];

static int set_after_request(iso_tx *tx, void *data) {
  (void)data;
  if (iso_tx_set_persistent(tx, "a", "0123456789", 10) != 0) return ISO_ABORTED;
  if (iso_tx_set_persistent(tx, "b", "abcdefghij", 10) != 0) return ISO_ABORTED;
  iso_tx_set_response_code(tx, "00");
  return ISO_PREPARED;
}

/* Field f of the request equals want ("" when f is absent). */
static bool request_has(iso_tx *tx, int f, const char *want) {
  char v[64];
  size_t len;
  if (iso_msg_get(iso_tx_request(tx), f, v, sizeof v, &len) != 0)
    return want[0] == '\0';
  return len == strlen(want) && memcmp(v, want, len) == 0;
}

static void commit_checks_request(iso_tx *tx, void *data) {
  (void)data;
  const iso_msg *r = iso_tx_request(tx);
  char fields[64] = "";
  for (int f = iso_msg_next_field(r, 0); f > 0; f = iso_msg_next_field(r, f))
    snprintf(fields + strlen(fields), sizeof fields - strlen(fields), "%d,", f);
  bool ok = request_has(tx, 43, de43) && request_has(tx, 48, de48) &&
            request_has(tx, 2, "4242424242424242") &&
            strcmp(iso_msg_mti(r), "0100") == 0 &&
            strcmp(fields, de43[0] ? "2,3,4,7,11,32,41,43,48,49,"
                                   : "2,3,4,7,11,32,41,48,49,") == 0;
  strcat(seen, ok ? "request=ok;" : "request=changed;");
  see(tx, "a");
  see(tx, "b");
}

/* A copied request whose values spill past the message's inline storage
 * (96 bytes) into the record's arena (64): DE 43 (40 bytes) leaves room
 * for one value there, a DE 48 of 60 bytes for none.  Values set after it
 * are read back and never overwrite it. */
static void request_in_arena_kept(void **state) {
  (void)state;
  iso_participant p = {.name = "p", .prepare = set_after_request,
                       .commit = commit_checks_request};
  env e;
  env_start(&e, &p, false);
  for (int room = 1; room >= 0; room--) {
    memset(de43, 0, sizeof de43);
    memset(de48, 0, sizeof de48);
    if (room) {
      memset(de43, 'N', 40);
      memset(de48, 'Q', 10);
    } else {
      memset(de48, 'Q', 60);
    }
    iso_msg req;
    iso_msg_init(&req, iso_spec_builtin("iso87a"));
    fx_request(&req, "0100", room ? "000002" : "000003", "000000001000");
    if (room) assert_int_equal(iso_msg_set_str(&req, 43, de43), 0);
    assert_int_equal(iso_msg_set_str(&req, 48, de48), 0);
    seen[0] = '\0';
    fx_done d;
    env_run(&e, &req, &d);
    iso_msg_cleanup(&req);
    assert_int_equal(d.status, 0);
    assert_string_equal(seen, "request=ok;a=0123456789;b=abcdefghij;");
  }
  env_end(&e);
}

/* ---- names -------------------------------------------------------------- */

static int names_prepare(iso_tx *tx, void *data) {
  (void)data;
  int ok = 1;
  static char copy[8]; /* names are borrowed: it must outlive the tx */
  strcpy(copy, "hold"); /* same name, another pointer */
  ok &= iso_tx_set_persistent(tx, "hold", "1", 1) == 0;
  const void *bytes;
  size_t len;
  ok &= iso_tx_get_persistent(tx, copy, &bytes, &len) == 0 && len == 1;
  ok &= iso_tx_set_persistent(tx, copy, "22", 2) == 0; /* replaces */
  ok &= iso_tx_get_persistent(tx, "hold", &bytes, &len) == 0 && len == 2 &&
        memcmp(bytes, "22", 2) == 0;
  /* iso_tx_get sees a persistent value's bytes too. */
  ok &= iso_tx_get(tx, "hold") == bytes;
  /* A plain value is not persistent. */
  static int plain;
  ok &= iso_tx_set(tx, "plain", &plain, NULL) == 0;
  ok &= iso_tx_get_persistent(tx, "plain", &bytes, &len) == ISO_E_NOT_FOUND;
  ok &= iso_tx_get(tx, "plain") == &plain;
  /* Absent, and no name at all. */
  ok &= iso_tx_get_persistent(tx, "absent", &bytes, &len) == ISO_E_NOT_FOUND;
  ok &= iso_tx_get_persistent(tx, NULL, &bytes, &len) == ISO_E_NOT_FOUND;
  ok &= iso_tx_get(tx, NULL) == NULL;
  /* Errors: no name, bytes missing, a destroy function of the flow's own. */
  ok &= iso_tx_set_persistent(tx, NULL, "x", 1) == ISO_E_INVAL;
  ok &= iso_tx_set_persistent(tx, "x", NULL, 1) == ISO_E_INVAL;
  ok &= iso_tx_set(tx, "y", &plain, iso__persistent_kept) == ISO_E_INVAL;
  ok &= iso_tx_set(tx, "y", &plain, iso__persistent_free) == ISO_E_INVAL;
  ok &= iso_tx_get(tx, "y") == NULL;
  /* Removing a persistent value. */
  ok &= iso_tx_set_persistent(tx, "gone", "g", 1) == 0;
  ok &= iso_tx_set(tx, "gone", NULL, NULL) == 0;
  ok &= iso_tx_get_persistent(tx, "gone", &bytes, &len) == ISO_E_NOT_FOUND;
  iso_tx_set_response_code(tx, ok ? "00" : "96");
  return ok ? ISO_PREPARED : ISO_ABORTED;
}

static void names_and_errors(void **state) {
  (void)state;
  iso_participant p = {.name = "p", .prepare = names_prepare};
  env e;
  env_run_one(&e, &p);
  assert_string_equal(e.journal.values, "hold=22;");
  env_end(&e);
}

/* ---- a full context ----------------------------------------------------- */

/* A context holds a bounded number of values: once full, setting another
 * fails with ISO_E_NOMEM and takes nothing (a large persistent value's
 * copy is given back; LeakSanitizer would see it otherwise); replacing a
 * value still works; the transaction goes on. */
static char full_names[300][8];
static int full_count;

static int fill_prepare(iso_tx *tx, void *data) {
  (void)data;
  static int plain;
  int ok = 1;
  full_count = 0;
  for (int i = 0; i < 300; i++) {
    snprintf(full_names[i], sizeof full_names[i], "v%d", i);
    int rc = iso_tx_set(tx, full_names[i], &plain, NULL);
    if (rc == ISO_E_NOMEM) break;
    ok &= rc == 0;
    full_count++;
  }
  ok &= full_count > 3 && full_count < 300;
  ok &= iso_tx_set_persistent(tx, "big", long_value, 100) == ISO_E_NOMEM;
  ok &= iso_tx_set_persistent(tx, "small", "s", 1) == ISO_E_NOMEM;
  ok &= iso_tx_get(tx, "big") == NULL;
  /* A name already there is replaced in place, even now. */
  ok &= iso_tx_set(tx, full_names[0], &plain, NULL) == 0;
  /* Dropping one makes room for one. */
  ok &= iso_tx_set(tx, full_names[1], NULL, NULL) == 0;
  ok &= iso_tx_set_persistent(tx, "big", long_value, 100) == 0;
  iso_tx_set_response_code(tx, ok ? "00" : "96");
  return ok ? ISO_PREPARED : ISO_ABORTED;
}

static void full_context_refuses(void **state) {
  (void)state;
  memset(long_value, 'L', 100);
  iso_participant p = {.name = "p", .prepare = fill_prepare};
  env e;
  env_run_one(&e, &p);
  assert_int_equal(e.journal.value_count, 1); /* "big", the one persistent */
  env_end(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(values_kept_inline_and_allocated),
      cmocka_unit_test(arena_full_falls_back),
      cmocka_unit_test(request_in_arena_kept),
      cmocka_unit_test(names_and_errors),
      cmocka_unit_test(full_context_refuses),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
