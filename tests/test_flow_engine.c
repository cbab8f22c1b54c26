/*
 * tests/test_flow_engine.c -- the two-phase engine: who joins, who gets
 * commit or abort and in which order, prepare-for-abort, selectors and
 * groups, pause and resume, blocking participants, timeouts, deadlines, the
 * default response code, the context, and transactions without a response.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "isoflow/flow.h"
#include "support/flow_fixture.h"

typedef struct env {
  uv_loop_t loop;
  iso_flow *flow;
  iso_flow_loop *fl;
  iso_msg req;
} env;

static void env_init(env *e, iso_flow_config *cfg) {
  iso_flow_config local;
  if (!cfg) {
    fx_config(&local);
    cfg = &local;
  }
  assert_int_equal(uv_loop_init(&e->loop), 0);
  assert_int_equal(iso_flow_new(cfg, &e->flow), 0);
  iso_msg_init(&e->req, cfg->spec);
  fx_request(&e->req, "0100", "000001", "000000001000");
  fx_log_reset();
}

static void env_add(env *e, fx_part *p) {
  iso_participant ip = fx_participant(p);
  assert_int_equal(iso_flow_add(e->flow, &ip), 0);
}

static void env_group(env *e, const char *group, fx_part *p) {
  iso_participant ip = fx_participant(p);
  assert_int_equal(iso_flow_group_add(e->flow, group, &ip), 0);
}

static void env_start(env *e) {
  fx_flow_start(e->flow, &e->loop, &e->fl);
}

/* Adds the participants, a NULL-terminated list, in order, then starts the
 * flow: env_add for each, then env_start. */
__attribute__((sentinel)) static void env_start_with(env *e, ...) {
  va_list ap;
  va_start(ap, e);
  for (fx_part *p; (p = va_arg(ap, fx_part *)) != NULL;) env_add(e, p);
  va_end(ap);
  env_start(e);
}

static void env_run(env *e, fx_done *d) {
  memset(d, 0, sizeof *d);
  assert_int_equal(iso_flow_submit(e->fl, &e->req, 0, fx_on_done, d), 0);
  assert_true(fx_run_until(&e->loop, &d->calls, 5000));
  assert_int_equal(d->calls, 1);
}

static void env_end(env *e) {
  fx_flow_end(&e->loop, e->fl, e->flow);
  iso_msg_cleanup(&e->req);
}

static void commit_in_order(void **state) {
  (void)state;
  env e;
  env_init(&e, NULL);
  fx_part a = {.name = "a", .result = ISO_PREPARED};
  fx_part b = {.name = "b", .result = ISO_PREPARED};
  fx_part c = {.name = "c", .result = ISO_PREPARED};
  env_start_with(&e, &a, &b, &c, NULL);
  fx_done d;
  env_run(&e, &d);
  assert_int_equal(d.status, 0);
  assert_string_equal(fx_log,
                      "a.prepare b.prepare c.prepare a.commit b.commit c.commit");
  assert_string_equal(d.mti, "0110");
  assert_true(d.tx_id > 0);
  iso_flow_stats st;
  iso_flow_stats_get(e.flow, &st);
  assert_int_equal(st.committed, 1);
  assert_int_equal(st.in_flight, 0);
  env_end(&e);
}

static void abort_in_reverse_and_aborted_joins(void **state) {
  (void)state;
  env e;
  env_init(&e, NULL);
  fx_part a = {.name = "a", .result = ISO_PREPARED};
  fx_part b = {.name = "b", .result = ISO_PREPARED};
  fx_part c = {.name = "c", .result = ISO_ABORTED}; /* joins: its abort runs */
  fx_part d_ = {.name = "d", .result = ISO_PREPARED};
  env_start_with(&e, &a, &b, &c, &d_, NULL);
  fx_done d;
  env_run(&e, &d);
  assert_int_equal(d.status, ISO_E_ABORTED);
  assert_string_equal(fx_log,
                      "a.prepare b.prepare c.prepare c.abort b.abort a.abort");
  assert_int_equal(d_.prepares, 0); /* skipped once aborting */
  assert_string_equal(d.rc, "96");  /* the configured default */
  env_end(&e);
}

static void no_join_gets_neither(void **state) {
  (void)state;
  env e;
  env_init(&e, NULL);
  fx_part a = {.name = "a", .result = ISO_PREPARED | ISO_NO_JOIN};
  fx_part b = {.name = "b", .result = ISO_ABORTED | ISO_NO_JOIN};
  env_start_with(&e, &a, &b, NULL);
  fx_done d;
  env_run(&e, &d);
  assert_int_equal(d.status, ISO_E_ABORTED);
  assert_string_equal(fx_log, "a.prepare b.prepare");
  assert_int_equal(a.commits + a.aborts + b.commits + b.aborts, 0);
  env_end(&e);
}

static void readonly_still_joins(void **state) {
  (void)state;
  env e;
  env_init(&e, NULL);
  fx_part a = {.name = "a", .result = ISO_PREPARED | ISO_READONLY};
  fx_part b = {.name = "b", .result = ISO_PREPARED | ISO_READONLY | ISO_NO_JOIN};
  env_start_with(&e, &a, &b, NULL);
  fx_done d;
  env_run(&e, &d);
  assert_int_equal(d.status, 0);
  assert_string_equal(fx_log, "a.prepare b.prepare a.commit");
  env_end(&e);
}

static void prepare_for_abort_fills_decline(void **state) {
  (void)state;
  env e;
  env_init(&e, NULL);
  fx_part a = {.name = "a", .result = ISO_ABORTED | ISO_NO_JOIN};
  fx_part skipped = {.name = "skipped", .result = ISO_PREPARED};
  fx_part filler = {.name = "filler", .result = ISO_PREPARED, .pfa = true,
                    .pfa_result = ISO_PREPARED, .pfa_code = "05"};
  env_start_with(&e, &a, &skipped, &filler, NULL);
  fx_done d;
  env_run(&e, &d);
  assert_int_equal(d.status, ISO_E_ABORTED);
  assert_string_equal(fx_log, "a.prepare filler.pfa filler.abort");
  assert_int_equal(skipped.prepares, 0);
  assert_int_equal(filler.prepares, 0);
  assert_string_equal(d.rc, "05"); /* not overwritten by the default */
  env_end(&e);
}

static void selector_runs_nested_groups_in_place(void **state) {
  (void)state;
  env e;
  env_init(&e, NULL);
  fx_part sel = {.name = "sel", .result = ISO_PREPARED, .selects = "g1 g2"};
  fx_part last = {.name = "last", .result = ISO_PREPARED};
  fx_part g1a = {.name = "g1a", .result = ISO_PREPARED, .selects = "inner"};
  fx_part g1b = {.name = "g1b", .result = ISO_PREPARED};
  fx_part in = {.name = "in", .result = ISO_PREPARED};
  fx_part g2 = {.name = "g2a", .result = ISO_PREPARED | ISO_NO_JOIN};
  env_add(&e, &sel);
  env_add(&e, &last);
  env_group(&e, "g1", &g1a);
  env_group(&e, "g1", &g1b);
  env_group(&e, "inner", &in);
  env_group(&e, "g2", &g2);
  env_start(&e);
  fx_done d;
  env_run(&e, &d);
  assert_int_equal(d.status, 0);
  assert_string_equal(fx_log,
                      "sel.prepare sel.select g1a.prepare g1a.select "
                      "in.prepare g1b.prepare g2a.prepare last.prepare "
                      "sel.commit g1a.commit in.commit g1b.commit "
                      "last.commit");
  env_end(&e);
}

static void unknown_group_aborts(void **state) {
  (void)state;
  env e;
  env_init(&e, NULL);
  fx_part sel = {.name = "sel", .result = ISO_PREPARED, .selects = "g1,nope"};
  fx_part g1 = {.name = "g1a", .result = ISO_PREPARED};
  env_add(&e, &sel);
  env_group(&e, "g1", &g1);
  env_start(&e);
  fx_done d;
  env_run(&e, &d);
  assert_int_equal(d.status, ISO_E_ABORTED);
  assert_int_equal(g1.prepares, 0);
  assert_string_equal(fx_log, "sel.prepare sel.select sel.abort");
  env_end(&e);
}

static int reason_seen;
static void record_reason(iso_tx *tx, void *data) {
  (void)data;
  reason_seen = iso_tx_abort_reason(tx);
}

/* A first participant that joins and notes why the transaction aborted. */
static void add_watcher(env *e, fx_part *p) {
  *p = (fx_part){.name = "watch", .result = ISO_PREPARED, .no_second = true};
  iso_participant w = fx_participant(p);
  w.abort = record_reason;
  assert_int_equal(iso_flow_add(e->flow, &w), 0);
  reason_seen = 0;
}

static void loop_guard_aborts(void **state) {
  (void)state;
  env e;
  env_init(&e, NULL);
  fx_part watch;
  add_watcher(&e, &watch);
  fx_part sel = {.name = "sel", .result = ISO_PREPARED, .selects = "again"};
  fx_part again = {.name = "again", .result = ISO_PREPARED | ISO_NO_JOIN,
                   .selects = "again"};
  env_add(&e, &sel);
  env_group(&e, "again", &again);
  env_start(&e);
  fx_done d;
  env_run(&e, &d);
  assert_int_equal(d.status, ISO_E_ABORTED);
  assert_int_equal(again.prepares, ISO_FLOW_MAX_DEPTH);
  assert_int_equal(sel.aborts, 1);
  assert_int_equal(reason_seen, ISO_E_GROUP_LOOP);
  env_end(&e);
}

static void abort_reason_is_visible(void **state) {
  (void)state;
  env e;
  env_init(&e, NULL);
  fx_part watch;
  add_watcher(&e, &watch);
  fx_part sel = {.name = "sel", .result = ISO_PREPARED, .selects = "zzz"};
  env_start_with(&e, &sel, NULL);
  fx_done d;
  env_run(&e, &d);
  assert_int_equal(d.status, ISO_E_ABORTED);
  assert_int_equal(reason_seen, ISO_E_UNKNOWN_GROUP);
  env_end(&e);
}

static void *resume_later(void *arg) {
  fx_part *p = arg;
  while (!__atomic_load_n(&p->paused, __ATOMIC_ACQUIRE)) uv_sleep(1);
  uv_sleep(20);
  iso_tx_resume(p->paused, ISO_PREPARED);
  return NULL;
}

static void pause_resumed_from_another_thread(void **state) {
  (void)state;
  env e;
  env_init(&e, NULL);
  fx_part a = {.name = "a", .result = ISO_PAUSE};
  fx_part b = {.name = "b", .result = ISO_PREPARED};
  env_start_with(&e, &a, &b, NULL);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, resume_later, &a), 0);
  fx_done d;
  env_run(&e, &d);
  pthread_join(th, NULL);
  assert_int_equal(d.status, 0);
  assert_string_equal(fx_log, "a.prepare b.prepare a.commit b.commit");
  iso_latency l;
  assert_int_equal(iso_flow_latency(e.flow, "a", ISO_PHASE_PREPARE, &l), 0);
  assert_int_equal(l.count, 1);
  assert_true(l.max >= 15000000u); /* the pause counts as a's prepare */
  env_end(&e);
}

static void deadline_expires_while_paused(void **state) {
  (void)state;
  iso_flow_config cfg;
  fx_config(&cfg);
  cfg.deadline_ms = 30;
  env e;
  env_init(&e, &cfg);
  fx_part a = {.name = "a", .result = ISO_PREPARED};
  fx_part p = {.name = "p", .result = ISO_PAUSE};
  fx_part filler = {.name = "filler", .result = ISO_PREPARED, .pfa = true,
                    .pfa_result = ISO_PREPARED | ISO_NO_JOIN};
  env_start_with(&e, &a, &p, &filler, NULL);
  fx_done d;
  uint64_t t0 = uv_hrtime();
  env_run(&e, &d);
  uint64_t took = uv_hrtime() - t0;
  assert_int_equal(d.status, ISO_E_ABORTED);
  assert_true(took >= 25000000u);
  assert_string_equal(d.rc, "96");
  assert_string_equal(fx_log, "a.prepare p.prepare filler.pfa a.abort");
  assert_int_equal(p.aborts, 0); /* never answered: did not join */
  iso_flow_stats st;
  iso_flow_stats_get(e.flow, &st);
  assert_int_equal(st.deadline_expired, 1);
  assert_int_equal(st.paused, 0);
  /* The late resume is absorbed; the record goes back only then. */
  iso_tx_resume(p.paused, ISO_PREPARED);
  env_end(&e);
  assert_int_equal(p.commits + p.aborts, 0);
}

static void blocking_participant_runs_on_pool(void **state) {
  (void)state;
  env e;
  env_init(&e, NULL);
  fx_part a = {.name = "a", .result = ISO_PREPARED};
  fx_part b = {.name = "b", .result = ISO_PREPARED, .blocking = true,
               .sleep_ms = 5};
  fx_part c = {.name = "c", .result = ISO_PREPARED};
  env_start_with(&e, &a, &b, &c, NULL);
  fx_done d;
  env_run(&e, &d);
  assert_int_equal(d.status, 0);
  assert_string_equal(fx_log,
                      "a.prepare b.prepare c.prepare a.commit b.commit c.commit");
  assert_true(b.prepare_thread != a.prepare_thread);
  assert_true(c.prepare_thread == a.prepare_thread);
  assert_true(b.second_thread != a.second_thread); /* commit on the pool too */
  assert_true(c.second_thread == a.second_thread);
  /* Aborting: the blocking participant's abort also runs on the pool. */
  fx_log_reset();
  c.result = ISO_ABORTED;
  fx_request(&e.req, "0100", "000002", "000000001000");
  env_run(&e, &d);
  assert_int_equal(d.status, ISO_E_ABORTED);
  assert_string_equal(fx_log, "a.prepare b.prepare c.prepare c.abort b.abort "
                              "a.abort");
  assert_true(b.second_thread != a.second_thread);
  env_end(&e);
}

static void participant_timeout_aborts(void **state) {
  (void)state;
  env e;
  env_init(&e, NULL);
  fx_part slow = {.name = "slow", .result = ISO_PREPARED, .sleep_ms = 20,
                  .timeout_ms = 5};
  fx_part next = {.name = "next", .result = ISO_PREPARED};
  env_start_with(&e, &slow, &next, NULL);
  fx_done d;
  env_run(&e, &d);
  assert_int_equal(d.status, ISO_E_ABORTED);
  assert_string_equal(fx_log, "slow.prepare slow.abort");
  iso_flow_stats st;
  iso_flow_stats_get(e.flow, &st);
  assert_int_equal(st.participant_timeouts, 1);
  env_end(&e);
}

static void no_response_wanted(void **state) {
  (void)state;
  env e;
  env_init(&e, NULL);
  fx_part a = {.name = "a", .result = ISO_PREPARED};
  env_start_with(&e, &a, NULL);
  fx_done d = {0};
  assert_int_equal(
      iso_flow_submit(e.fl, &e.req, ISO_SUBMIT_NO_RESPONSE, fx_on_done, &d), 0);
  assert_true(fx_run_until(&e.loop, &d.calls, 5000));
  assert_int_equal(d.status, 0);
  assert_false(d.had_response);
  assert_int_equal(a.commits, 1);
  env_end(&e);
}

static int destroyed;
static void count_destroy(void *v) {
  (void)v;
  destroyed++;
}
static int ctx_prepare(iso_tx *tx, void *data) {
  (void)data;
  static int dummy[8];
  for (int i = 0; i < 8; i++) {
    static const char *names[] = {"v0", "v1", "v2", "v3",
                                  "v4", "v5", "v6", "v7"};
    if (iso_tx_set(tx, names[i], &dummy[i], count_destroy) != 0) return -1;
  }
  if (iso_tx_get(tx, "v6") != &dummy[6]) return ISO_ABORTED;
  iso_tx_set(tx, "v6", NULL, NULL); /* removes, destroys */
  if (iso_tx_get(tx, "v6") != NULL) return ISO_ABORTED;
  if (iso_tx_set_persistent(tx, "amount", "1000", 4) != 0) return -1;
  const void *bytes;
  size_t len;
  if (iso_tx_get_persistent(tx, "amount", &bytes, &len) != 0 || len != 4 ||
      memcmp(bytes, "1000", 4) != 0)
    return ISO_ABORTED;
  if (iso_tx_get_persistent(tx, "v1", &bytes, &len) != ISO_E_NOT_FOUND)
    return ISO_ABORTED;
  iso_tx_set_response_code(tx, "00");
  return ISO_PREPARED | ISO_NO_JOIN;
}

static void context_values_and_destructors(void **state) {
  (void)state;
  env e;
  env_init(&e, NULL);
  iso_participant p = {.name = "ctx", .prepare = ctx_prepare};
  assert_int_equal(iso_flow_add(e.flow, &p), 0);
  env_start(&e);
  destroyed = 0;
  fx_done d;
  env_run(&e, &d);
  assert_int_equal(d.status, 0);
  assert_string_equal(d.rc, "00");
  assert_int_equal(destroyed, 8);
  env_end(&e);
}

static int echo_calls;
static void check_echo(iso_tx *tx, int status, const iso_msg *r, void *data) {
  (void)tx;
  (void)data;
  /* the second submission is a duplicate, answered from the first */
  assert_int_equal(status, echo_calls++ == 0 ? 0 : ISO_E_DUPLICATE);
  assert_string_equal(iso_msg_mti(r), "0110");
  assert_true(iso_msg_has(r, 11));
  assert_true(iso_msg_has(r, 41));
  assert_false(iso_msg_has(r, 2)); /* not in the configured list */
  assert_false(iso_msg_has(r, 4));
  char stan[8];
  size_t len;
  assert_int_equal(iso_msg_get(r, 11, stan, sizeof stan, &len), 0);
  assert_string_equal(stan, "000001");
}

static void response_echoes_configured_fields(void **state) {
  (void)state;
  env e;
  iso_flow_config cfg;
  fx_config(&cfg);
  cfg.echo_count = 2;
  cfg.echo_fields[0] = 11;
  cfg.echo_fields[1] = 41;
  env_init(&e, &cfg);
  fx_part a = {.name = "a", .result = ISO_PREPARED};
  env_start_with(&e, &a, NULL);
  echo_calls = 0;
  assert_int_equal(iso_flow_submit(e.fl, &e.req, ISO_SUBMIT_BORROW,
                                   check_echo, NULL), 0);
  assert_int_equal(iso_flow_submit(e.fl, &e.req, 0, check_echo, NULL), 0);
  for (int i = 0; i < 5000 && echo_calls < 2; i++) {
    uv_run(&e.loop, UV_RUN_NOWAIT);
    uv_sleep(1);
  }
  env_end(&e);
  assert_int_equal(echo_calls, 2);
}

/* The flow accepts more echo fields (ISO_FLOW_MAX_ECHO_FIELDS) than a
 * message has inline slots (ISO_MSG_INLINE_SLOTS): a response echoing that
 * many grows its slot table and still holds every echoed value, beside the
 * response code the flow copies in after them (the abort code: the
 * participant aborts), and nothing that was not asked for. */
#define MANY_ECHO 30
static int many_echo[MANY_ECHO];
static int many_calls;

/* A value for fixed numeric field n of iso87a: max_len digits from n. */
static void many_value(int n, size_t len, char *out) {
  for (size_t i = 0; i < len; i++) out[i] = (char)('0' + (n + i) % 10);
  out[len] = '\0';
}

static void check_many_echo(iso_tx *tx, int status, const iso_msg *r,
                            void *data) {
  (void)tx;
  (void)data;
  many_calls++;
  assert_int_equal(status, ISO_E_ABORTED);
  assert_string_equal(iso_msg_mti(r), "0110");
  for (int i = 0; i < MANY_ECHO; i++) {
    int n = many_echo[i];
    const iso_field_def *def = iso_spec_field(r->spec, n);
    char want[64], got[64];
    size_t len;
    if (n == 2) snprintf(want, sizeof want, "4242424242424242");
    else many_value(n, def->max_len, want);
    assert_int_equal(iso_msg_get(r, n, got, sizeof got, &len), 0);
    assert_string_equal(got, want);
  }
  char rc[3];
  size_t len;
  assert_int_equal(iso_msg_get(r, 39, rc, sizeof rc, &len), 0);
  assert_string_equal(rc, "96");
  assert_false(iso_msg_has(r, 32)); /* in the request, not echoed */
}

static void more_echo_fields_than_inline_slots(void **state) {
  (void)state;
  iso_flow_config cfg;
  fx_config(&cfg);
  /* DE 2 (the fixture's PAN) and fixed numeric fields up to MANY_ECHO */
  size_t count = 0;
  many_echo[count++] = 2;
  for (int n = 3; n <= 128 && count < MANY_ECHO; n++) {
    const iso_field_def *def = iso_spec_field(cfg.spec, n);
    if (n != 32 && n != 39 && def && def->name &&
        def->content == ISO_CONTENT_N && def->length_type == ISO_LEN_FIXED &&
        def->max_len < 64)
      many_echo[count++] = n;
  }
  assert_int_equal(count, MANY_ECHO);
  assert_true(MANY_ECHO > ISO_MSG_INLINE_SLOTS);
  memcpy(cfg.echo_fields, many_echo, sizeof many_echo);
  cfg.echo_count = MANY_ECHO;
  env e;
  env_init(&e, &cfg);
  for (int i = 1; i < MANY_ECHO; i++) {
    char v[64];
    int n = many_echo[i];
    many_value(n, iso_spec_field(cfg.spec, n)->max_len, v);
    assert_int_equal(iso_msg_set_str(&e.req, n, v), 0);
  }
  fx_part a = {.name = "a", .result = ISO_ABORTED};
  env_start_with(&e, &a, NULL);
  many_calls = 0;
  assert_int_equal(iso_flow_submit(e.fl, &e.req, 0, check_many_echo, NULL),
                   0);
  for (int i = 0; i < 5000 && many_calls < 1; i++) {
    uv_run(&e.loop, UV_RUN_NOWAIT);
    uv_sleep(1);
  }
  env_end(&e);
  assert_int_equal(many_calls, 1);
}

/* A request unpacked from iso87b holds BCD values in their wire form.  The
 * response echoes them (by slot with the flow's own spec, decoded into an
 * iso87a response otherwise) and packs to the same values. */
static int wire_calls;
static void check_wire_echo(iso_tx *tx, int status, const iso_msg *r,
                            void *data) {
  (void)tx;
  (void)data;
  wire_calls++;
  assert_int_equal(status, 0);
  uint8_t wire[512];
  size_t n;
  assert_int_equal(iso_msg_pack(r, wire, sizeof wire, &n, NULL), 0);
  iso_msg back;
  iso_msg_init(&back, r->spec);
  assert_int_equal(iso_msg_unpack(&back, wire, n, NULL), 0);
  const int fields[] = {2, 3, 4, 11, 41, 49};
  const char *want[] = {"4242424242424242", "000000", "000000001000",
                        "000001", "TERM0001", "840"};
  for (int i = 0; i < 6; i++) {
    char v[32];
    size_t len;
    assert_int_equal(iso_msg_get(&back, fields[i], v, sizeof v, &len), 0);
    assert_string_equal(v, want[i]);
  }
  iso_msg_cleanup(&back);
}

static void wire_form_request_echoes(void **state) {
  (void)state;
  const char *specs[] = {"iso87b", "iso87a"}; /* the flow's spec */
  for (int k = 0; k < 2; k++) {
    iso_msg src, req;
    iso_msg_init(&src, iso_spec_builtin("iso87b"));
    fx_request(&src, "0100", "000001", "000000001000");
    uint8_t wire[512];
    size_t n;
    assert_int_equal(iso_msg_pack(&src, wire, sizeof wire, &n, NULL), 0);
    iso_msg_init(&req, iso_spec_builtin("iso87b"));
    assert_int_equal(iso_msg_unpack(&req, wire, n, NULL), 0);
    env e;
    iso_flow_config cfg;
    fx_config(&cfg);
    cfg.spec = iso_spec_builtin(specs[k]);
    env_init(&e, &cfg);
    fx_part a = {.name = "a", .result = ISO_PREPARED};
    env_add(&e, &a);
    env_start(&e);
    wire_calls = 0;
    assert_int_equal(iso_flow_submit(e.fl, &req, ISO_SUBMIT_BORROW,
                                     check_wire_echo, NULL), 0);
    for (int i = 0; i < 5000 && wire_calls < 1; i++) {
      uv_run(&e.loop, UV_RUN_NOWAIT);
      uv_sleep(1);
    }
    env_end(&e);
    assert_int_equal(wire_calls, 1);
    iso_msg_cleanup(&req);
    iso_msg_cleanup(&src);
  }
}

static void bad_arguments_and_states(void **state) {
  (void)state;
  iso_flow_config cfg;
  fx_config(&cfg);
  iso_flow *f;
  cfg.spec = NULL;
  assert_int_equal(iso_flow_new(&cfg, &f), ISO_E_INVAL);
  fx_config(&cfg);
  memcpy(cfg.abort_code, "9", 2);
  assert_int_equal(iso_flow_new(&cfg, &f), ISO_E_INVAL);
  fx_config(&cfg);
  assert_int_equal(iso_flow_new(&cfg, &f), 0);
  assert_int_equal(iso_flow_start(f), ISO_E_INVAL); /* empty */
  iso_participant none = {.name = "x"};
  assert_int_equal(iso_flow_add(f, &none), ISO_E_INVAL);
  fx_part a = {.name = "a", .result = ISO_PREPARED};
  iso_participant ip = fx_participant(&a);
  uv_loop_t loop;
  uv_loop_init(&loop);
  iso_flow_loop *fl;
  assert_int_equal(iso_flow_loop_new(f, &loop, &fl), ISO_E_STATE);
  assert_int_equal(iso_flow_add(f, &ip), 0);
  assert_int_equal(iso_flow_start(f), 0);
  assert_int_equal(iso_flow_add(f, &ip), ISO_E_STATE);
  assert_int_equal(iso_flow_loop_new(f, &loop, &fl), 0);
  iso_msg m;
  iso_msg_init(&m, cfg.spec);
  fx_request(&m, "0110", "000001", "000000000100");
  fx_done d = {0};
  assert_int_equal(iso_flow_submit(fl, &m, 0, fx_on_done, &d),
                   ISO_E_NOT_REQUEST);
  assert_int_equal(d.calls, 0);
  fx_close(&loop, fl);
  iso_msg_cleanup(&m);
  iso_flow_free(f);
}

static int loop_closed;
static void on_loop_closed(iso_flow_loop *fl, void *data) {
  (void)fl;
  (void)data;
  loop_closed = 1;
}

static void close_waits_for_transactions_in_flight(void **state) {
  (void)state;
  env e;
  env_init(&e, NULL);
  fx_part a = {.name = "a", .result = ISO_PAUSE};
  env_start_with(&e, &a, NULL);
  fx_done d = {0};
  assert_int_equal(iso_flow_submit(e.fl, &e.req, 0, fx_on_done, &d), 0);
  loop_closed = 0;
  assert_int_equal(iso_flow_loop_close(e.fl, on_loop_closed, NULL), 0);
  assert_int_equal(iso_flow_loop_close(e.fl, NULL, NULL), ISO_E_STATE);
  assert_int_equal(iso_flow_submit(e.fl, &e.req, 0, fx_on_done, &d),
                   ISO_E_STATE);
  for (int i = 0; i < 20; i++) uv_run(&e.loop, UV_RUN_NOWAIT);
  assert_int_equal(loop_closed, 0); /* the paused one is still in flight */
  iso_tx_resume(a.paused, ISO_PREPARED);
  assert_true(fx_run_until(&e.loop, &loop_closed, 5000));
  assert_int_equal(d.calls, 1);
  assert_int_equal(d.status, 0);
  assert_int_equal(uv_run(&e.loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(&e.loop), 0);
  iso_flow_free(e.flow);
  iso_msg_cleanup(&e.req);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(commit_in_order),
      cmocka_unit_test(abort_in_reverse_and_aborted_joins),
      cmocka_unit_test(no_join_gets_neither),
      cmocka_unit_test(readonly_still_joins),
      cmocka_unit_test(prepare_for_abort_fills_decline),
      cmocka_unit_test(selector_runs_nested_groups_in_place),
      cmocka_unit_test(unknown_group_aborts),
      cmocka_unit_test(loop_guard_aborts),
      cmocka_unit_test(abort_reason_is_visible),
      cmocka_unit_test(pause_resumed_from_another_thread),
      cmocka_unit_test(deadline_expires_while_paused),
      cmocka_unit_test(blocking_participant_runs_on_pool),
      cmocka_unit_test(participant_timeout_aborts),
      cmocka_unit_test(no_response_wanted),
      cmocka_unit_test(context_values_and_destructors),
      cmocka_unit_test(response_echoes_configured_fields),
      cmocka_unit_test(wire_form_request_echoes),
      cmocka_unit_test(more_echo_fields_than_inline_slots),
      cmocka_unit_test(bad_arguments_and_states),
      cmocka_unit_test(close_waits_for_transactions_in_flight),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
