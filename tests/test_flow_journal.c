/*
 * tests/test_flow_journal.c -- the journal interface, driven by a fake
 * journal kept in this file: which events come in which order, responses
 * held until the decision is durable, failed writes declining (or holding)
 * the transaction, the idempotency lookup after a restart, and recovery of
 * decided and undecided transactions.
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

/* ---- the fake journal --------------------------------------------------- */

typedef struct fake {
  char log[2048];
  int fail_begin, fail_decision; /* errors to return */
  iso_journal_ticket *tickets[16];
  int nticket;
  /* what a later lookup answers with */
  uint8_t key[128];
  size_t key_len;
  uint64_t fingerprint;
  char rc[3];
  int lookup_calls, lookup_result;
  bool masked_pan; /* the stored response carries DE 2 masked, as a
                      journal without a key keeps it */
  unsigned long lookup_thread;
  int stage_count;
  bool last_readonly;
  char last_values[256];
} fake;

static void flog(fake *f, const char *fmt, ...) {
  size_t len = strlen(f->log);
  if (len) f->log[len++] = ' ';
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(f->log + len, sizeof f->log - len, fmt, ap);
  va_end(ap);
}

static int fake_begin(void *self, const iso_journal_begin *ev) {
  fake *f = self;
  flog(f, "begin:%llu", (unsigned long long)ev->tx_id);
  assert_non_null(ev->request);
  assert_true(ev->started_at > 0);
  if (ev->idempotency_key) {
    memcpy(f->key, ev->idempotency_key, ev->idempotency_key_len);
    f->key_len = ev->idempotency_key_len;
    f->fingerprint = ev->fingerprint;
  }
  return f->fail_begin;
}

static int fake_decision(void *self, const iso_journal_decision *ev,
                         iso_journal_ticket *ticket) {
  fake *f = self;
  char names[256] = "";
  for (size_t i = 0; i < ev->participant_count; i++) {
    strcat(names, i ? "," : "");
    strcat(names, ev->participants[i]);
  }
  flog(f, "decision:%llu:%s:%s%s", (unsigned long long)ev->tx_id,
       ev->decision == ISO_DECISION_COMMIT ? "commit" : "abort", names,
       ev->recovery ? ":recovery" : "");
  f->last_readonly = ev->readonly;
  f->last_values[0] = '\0';
  for (size_t i = 0; i < ev->value_count; i++) {
    size_t l = strlen(f->last_values);
    snprintf(f->last_values + l, sizeof f->last_values - l, "%s=%.*s;",
             ev->values[i].name, (int)ev->values[i].len,
             (const char *)ev->values[i].data);
  }
  if (f->fail_decision) return f->fail_decision;
  f->tickets[f->nticket++] = ticket;
  return 0;
}

static int fake_completion(void *self, const iso_journal_completion *ev) {
  fake *f = self;
  flog(f, "completion:%llu:%s", (unsigned long long)ev->tx_id,
       ev->response_code[0] ? ev->response_code : "-");
  if (ev->response_code[0]) memcpy(f->rc, ev->response_code, 3);
  f->stage_count = (int)ev->stage_count;
  return 0;
}

static int fake_lookup(void *self, const uint8_t *key, size_t key_len,
                       iso_journal_stored *out) {
  fake *f = self;
  __atomic_add_fetch(&f->lookup_calls, 1, __ATOMIC_SEQ_CST);
  f->lookup_thread = (unsigned long)pthread_self();
  if (f->lookup_result) return f->lookup_result;
  if (key_len != f->key_len || memcmp(key, f->key, key_len) != 0)
    return ISO_E_NOT_FOUND;
  out->fingerprint = f->fingerprint;
  iso_msg_set_mti(out->response, "0110");
  iso_msg_set_copy(out->response, 39, f->rc, 2);
  iso_msg_set_copy(out->response, 11, "000001", 6);
  if (f->masked_pan) iso_msg_set_str(out->response, 2, "424242******4242");
  return 0;
}

static iso_journal fake_journal(fake *f) {
  iso_journal j = {.self = f,
                   .first_tx_id = 1000,
                   .begin = fake_begin,
                   .decision = fake_decision,
                   .completion = fake_completion,
                   .lookup = fake_lookup};
  return j;
}

typedef struct done_args {
  iso_journal_ticket *ticket;
  int status;
} done_args;

static void *ticket_thread(void *arg) {
  done_args *a = arg;
  uv_sleep(5);
  iso_journal_ticket_done(a->ticket, a->status, 1000);
  return NULL;
}

/* Completes a ticket from another thread, as the writer thread would. */
static void durable_from_thread(iso_journal_ticket *t, int status) {
  done_args a = {t, status};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, ticket_thread, &a), 0);
  pthread_join(th, NULL);
}

/* ---- the flow around it ------------------------------------------------- */

typedef struct env {
  uv_loop_t loop;
  iso_flow *flow;
  iso_flow_loop *fl;
  fake jr;
  fx_part a, b;
  int failures_reported;
} env;

static void on_failed(iso_flow *flow, uint64_t tx_id, int status, void *data) {
  (void)flow;
  (void)tx_id;
  (void)status;
  ((env *)data)->failures_reported++;
}

static int keep_amount(iso_tx *tx, void *data) {
  fx_part *p = data;
  p->prepares++;
  fx_log_add(p->name, "prepare");
  iso_tx_set_persistent(tx, "hold", "1000", 4);
  iso_tx_set_response_code(tx, "00");
  return ISO_PREPARED;
}

static void env_init(env *e, iso_flow_config *cfg, bool with_journal) {
  iso_flow_config local;
  if (!cfg) {
    fx_config(&local);
    cfg = &local;
  }
  memset(e, 0, sizeof *e);
  cfg->journal_failed = on_failed;
  cfg->journal_failed_data = e;
  assert_int_equal(uv_loop_init(&e->loop), 0);
  assert_int_equal(iso_flow_new(cfg, &e->flow), 0);
  e->a = (fx_part){.name = "a", .result = ISO_PREPARED};
  e->b = (fx_part){.name = "b", .result = ISO_PREPARED};
  iso_participant pa = fx_participant(&e->a), pb = fx_participant(&e->b);
  pa.prepare = keep_amount;
  assert_int_equal(iso_flow_add(e->flow, &pa), 0);
  assert_int_equal(iso_flow_add(e->flow, &pb), 0);
  if (with_journal) {
    iso_journal j = fake_journal(&e->jr);
    assert_int_equal(iso_flow_set_journal(e->flow, &j), 0);
  }
  fx_flow_start(e->flow, &e->loop, &e->fl);
  fx_log_reset();
}

static void env_end(env *e) {
  fx_flow_end(&e->loop, e->fl, e->flow);
}

static void submit(env *e, const char *mti, const char *amount, fx_done *d) {
  fx_submit(e->fl, mti, "000001", amount, d);
}

static void spin(env *e, int rounds) {
  for (int i = 0; i < rounds; i++) {
    uv_run(&e->loop, UV_RUN_NOWAIT);
    uv_sleep(1);
  }
}

static void events_in_order_and_response_held_until_durable(void **state) {
  (void)state;
  env e;
  env_init(&e, NULL, true);
  fx_done d;
  submit(&e, "0100", "000000000100", &d);
  spin(&e, 20);
  assert_string_equal(e.jr.log, "begin:1000 decision:1000:commit:a,b");
  assert_int_equal(d.calls, 0);    /* held */
  assert_int_equal(e.b.commits, 0); /* commit waits for durability */
  assert_string_equal(e.jr.last_values, "hold=1000;");
  assert_false(e.jr.last_readonly);
  assert_int_equal(e.jr.nticket, 1);
  durable_from_thread(e.jr.tickets[0], 0);
  assert_true(fx_run_until(&e.loop, &d.calls, 5000));
  assert_int_equal(d.status, 0);
  assert_int_equal(d.tx_id, 1000);
  assert_string_equal(fx_log, "a.prepare b.prepare a.commit b.commit");
  assert_string_equal(e.jr.log, "begin:1000 decision:1000:commit:a,b "
                                "completion:1000:00");
  /* 2 prepares, 2 commits, journal wait and write. */
  assert_int_equal(e.jr.stage_count, 6);
  iso_latency l;
  assert_int_equal(iso_flow_latency(e.flow, NULL, ISO_PHASE_JOURNAL_WAIT, &l),
                   0);
  assert_int_equal(l.count, 1);
  assert_true(l.max >= 4000000u);
  assert_int_equal(iso_flow_latency(e.flow, NULL, ISO_PHASE_JOURNAL_WRITE, &l),
                   0);
  assert_int_equal(l.count, 1);
  env_end(&e);
}

static void failed_write_declines(void **state) {
  (void)state;
  env e;
  env_init(&e, NULL, true);
  fx_done d;
  submit(&e, "0100", "000000000100", &d);
  spin(&e, 5);
  assert_int_equal(e.jr.nticket, 1);
  durable_from_thread(e.jr.tickets[0], ISO_E_JOURNAL);
  assert_true(fx_run_until(&e.loop, &d.calls, 5000));
  assert_int_equal(d.status, ISO_E_JOURNAL);
  assert_string_equal(d.rc, "96"); /* overrides a's "00" */
  assert_string_equal(fx_log, "a.prepare b.prepare b.abort a.abort");
  assert_int_equal(e.failures_reported, 1);
  iso_flow_stats st;
  iso_flow_stats_get(e.flow, &st);
  assert_int_equal(st.journal_failures, 1);
  assert_int_equal(st.committed, 0);
  assert_int_equal(st.aborted, 1);

  /* The decision call itself failing (queue full): same outcome. */
  e.jr.fail_decision = ISO_E_JOURNAL_FULL;
  fx_log_reset();
  fx_submit(e.fl, "0100", "000002", "000000000100", &d);
  assert_true(fx_run_until(&e.loop, &d.calls, 5000));
  assert_int_equal(d.status, ISO_E_JOURNAL);
  assert_int_equal(e.b.commits, 0);

  /* begin failing: declined before any participant runs. */
  e.jr.fail_begin = ISO_E_JOURNAL_FULL;
  int before = e.a.prepares;
  fx_submit(e.fl, "0100", "000003", "000000000100", &d);
  assert_true(fx_run_until(&e.loop, &d.calls, 5000));
  assert_int_equal(d.status, ISO_E_JOURNAL);
  assert_string_equal(d.rc, "96");
  assert_int_equal(e.a.prepares, before);
  assert_int_equal(e.failures_reported, 3);
  env_end(&e);
}

static void failure_after_early_commit_holds_response(void **state) {
  (void)state;
  iso_flow_config cfg;
  fx_config(&cfg);
  cfg.commit_before_durable = true;
  env e;
  env_init(&e, &cfg, true);
  fx_done d;
  submit(&e, "0100", "000000000100", &d);
  spin(&e, 5);
  assert_int_equal(e.b.commits, 1); /* ran before durability */
  assert_int_equal(d.calls, 0);     /* but the response waits */
  durable_from_thread(e.jr.tickets[0], ISO_E_IO);
  assert_true(fx_run_until(&e.loop, &d.calls, 5000));
  assert_int_equal(d.status, ISO_E_JOURNAL);
  assert_false(d.had_response); /* held back, never sent */
  assert_int_equal(e.failures_reported, 1);
  env_end(&e);
}

static void respond_before_durable_when_configured(void **state) {
  (void)state;
  iso_flow_config cfg;
  fx_config(&cfg);
  cfg.respond_before_durable = true;
  env e;
  env_init(&e, &cfg, true);
  fx_done d;
  submit(&e, "0100", "000000000100", &d);
  assert_true(fx_run_until(&e.loop, &d.calls, 5000));
  assert_int_equal(d.status, 0);
  assert_int_equal(e.jr.nticket, 1);
  /* The acknowledgement comes after the response: the record waited for
   * it (closing the loop would not finish otherwise). */
  assert_int_equal(e.b.commits, 1);
  durable_from_thread(e.jr.tickets[0], 0);
  spin(&e, 5);
  env_end(&e);
}

/* Runs one 0100 to completion through a fresh flow and keeps what the fake
 * journal learned of it (key, fingerprint, response code): the journal of a
 * process that has since stopped. */
static void journal_one_completed(fake *out) {
  env e;
  env_init(&e, NULL, true);
  fx_done d;
  submit(&e, "0100", "000000000100", &d);
  spin(&e, 5);
  durable_from_thread(e.jr.tickets[0], 0);
  assert_true(fx_run_until(&e.loop, &d.calls, 5000));
  *out = e.jr;
  env_end(&e);
}

/* Makes e's fake journal lookup find `learned`'s key, with the given
 * fingerprint and stored response code. */
static void fake_knows(env *e, const fake *learned, uint64_t fingerprint, const char *rc) {
  memcpy(e->jr.key, learned->key, learned->key_len);
  e->jr.key_len = learned->key_len;
  e->jr.fingerprint = fingerprint;
  memcpy(e->jr.rc, rc, 3);
}

static void lookup_after_restart_replays(void **state) {
  (void)state;
  fake saved;
  journal_one_completed(&saved);
  env e;
  env_init(&e, NULL, true);
  fake_knows(&e, &saved, saved.fingerprint, saved.rc);
  fx_done d;
  /* A repeat MTI unknown to the store is looked up: found with the same
   * fingerprint, it gets the stored response. */
  submit(&e, "0101", "000000000100", &d);
  assert_true(fx_run_until(&e.loop, &d.calls, 5000));
  assert_int_equal(d.status, ISO_E_DUPLICATE);
  assert_string_equal(d.mti, "0110");
  assert_string_equal(d.rc, "00");
  assert_int_equal(e.jr.lookup_calls, 1);
  assert_true(e.jr.lookup_thread != (unsigned long)pthread_self());
  assert_int_equal(e.a.prepares, 0);
  /* Now in the store: the next repeat needs no lookup. */
  submit(&e, "0101", "000000000100", &d);
  assert_int_equal(d.status, ISO_E_DUPLICATE);
  assert_int_equal(e.jr.lookup_calls, 1);
  iso_flow_stats st;
  iso_flow_stats_get(e.flow, &st);
  assert_int_equal(st.dup_from_journal, 1);
  assert_int_equal(st.dup_completed, 2);
  env_end(&e);
}

/* What a completion saw of the response: DE 2 and whether it packs. */
typedef struct packed_done {
  int calls, status, pack_rc;
  char pan[32];
} packed_done;

static void on_done_pack(iso_tx *tx, int status, const iso_msg *rsp,
                         void *data) {
  (void)tx;
  packed_done *d = data;
  d->calls++;
  d->status = status;
  size_t len = 0;
  d->pack_rc = iso_msg_get(rsp, 2, d->pan, sizeof d->pan - 1, &len);
  d->pan[len] = '\0';
  uint8_t buf[1024];
  size_t need;
  if (d->pack_rc == 0) d->pack_rc = iso_msg_pack(rsp, buf, sizeof buf, &need, NULL);
}

static void submit_packed(env *e, const char *mti, packed_done *d) {
  iso_msg m;
  iso_msg_init(&m, iso_spec_builtin("iso87a"));
  fx_request(&m, mti, "000001", "000000000100");
  memset(d, 0, sizeof *d);
  assert_int_equal(iso_flow_submit(e->fl, &m, 0, on_done_pack, d), 0);
  iso_msg_cleanup(&m);
}

/* A stored response whose DE 2 is masked (a journal with no key) is
 * answered with the duplicate's own echo fields, so it packs: from the
 * lookup, and again from the memory store. */
static void duplicate_echoes_its_own_pan(void **state) {
  (void)state;
  fake saved;
  journal_one_completed(&saved);
  env e;
  env_init(&e, NULL, true);
  fake_knows(&e, &saved, saved.fingerprint, saved.rc);
  e.jr.masked_pan = true;
  packed_done d;
  submit_packed(&e, "0101", &d);
  assert_true(fx_run_until(&e.loop, &d.calls, 5000));
  assert_int_equal(d.status, ISO_E_DUPLICATE);
  assert_int_equal(e.jr.lookup_calls, 1);
  assert_string_equal(d.pan, "4242424242424242");
  assert_int_equal(d.pack_rc, 0);
  submit_packed(&e, "0101", &d);
  assert_true(fx_run_until(&e.loop, &d.calls, 5000));
  assert_int_equal(d.status, ISO_E_DUPLICATE);
  assert_int_equal(e.jr.lookup_calls, 1); /* from the memory store */
  assert_string_equal(d.pan, "4242424242424242");
  assert_int_equal(d.pack_rc, 0);
  env_end(&e);
}

static void lookup_always_finds_plain_retransmission(void **state) {
  (void)state;
  fake learned;
  journal_one_completed(&learned);
  /* Default policy: a plain 0100 unknown to the store is not looked up. */
  {
    env e;
    env_init(&e, NULL, true);
    fake_knows(&e, &learned, learned.fingerprint, learned.rc);
    fx_done d;
    submit(&e, "0100", "000000000100", &d);
    spin(&e, 5);
    assert_int_equal(e.jr.lookup_calls, 0);
    durable_from_thread(e.jr.tickets[0], 0);
    assert_true(fx_run_until(&e.loop, &d.calls, 5000));
    assert_int_equal(d.status, 0);
    env_end(&e);
  }
  /* ISO_LOOKUP_ALWAYS: it is, and answered from the journal. */
  iso_flow_config cfg;
  fx_config(&cfg);
  cfg.journal_lookup = ISO_LOOKUP_ALWAYS;
  env e;
  env_init(&e, &cfg, true);
  fake_knows(&e, &learned, learned.fingerprint, "00");
  fx_done d;
  submit(&e, "0100", "000000000100", &d);
  assert_true(fx_run_until(&e.loop, &d.calls, 5000));
  assert_int_equal(e.jr.lookup_calls, 1);
  assert_int_equal(d.status, ISO_E_DUPLICATE);
  assert_string_equal(d.mti, "0110");
  assert_int_equal(e.a.prepares, 0);
  env_end(&e);
}

static void lookup_mismatch_miss_and_failure(void **state) {
  (void)state;
  fake learned;
  {
    /* Miss: the repeat runs as an original (and the fake learns its key). */
    env e;
    env_init(&e, NULL, true);
    fx_done d;
    submit(&e, "0101", "000000000100", &d);
    spin(&e, 10);
    assert_int_equal(e.jr.lookup_calls, 1);
    assert_int_equal(e.jr.nticket, 1);
    durable_from_thread(e.jr.tickets[0], 0);
    assert_true(fx_run_until(&e.loop, &d.calls, 5000));
    assert_int_equal(d.status, 0);
    iso_flow_stats st;
    iso_flow_stats_get(e.flow, &st);
    assert_int_equal(st.repeat_as_original, 1);
    learned = e.jr;
    env_end(&e);
  }
  env e;
  env_init(&e, NULL, true);
  fx_done d;
  /* Found under the same key with another fingerprint: 94, never run. */
  fake_knows(&e, &learned, learned.fingerprint ^ 1, "00");
  submit(&e, "0101", "000000000100", &d);
  assert_true(fx_run_until(&e.loop, &d.calls, 5000));
  assert_int_equal(d.status, ISO_E_FINGERPRINT);
  assert_string_equal(d.rc, "94");
  assert_int_equal(e.a.prepares, 0);

  /* The lookup failing: declined with the journal failure code. */
  e.jr.lookup_result = ISO_E_IO;
  fx_submit(e.fl, "0201", "000777", "000000000100", &d);
  assert_true(fx_run_until(&e.loop, &d.calls, 5000));
  assert_int_equal(d.status, ISO_E_JOURNAL);
  assert_string_equal(d.rc, "96");
  assert_int_equal(e.a.prepares, 0);
  assert_int_equal(e.failures_reported, 1);
  env_end(&e);
}

static void recovery_reruns_decided_commit(void **state) {
  (void)state;
  env e;
  env_init(&e, NULL, true);
  const char *names[] = {"b", "a"};
  iso_tx_value vals[] = {{"hold", (const uint8_t *)"42", 2}};
  iso_flow_recovery rec = {.tx_id = 77,
                           .decision = ISO_DECISION_COMMIT,
                           .participants = names,
                           .participant_count = 2,
                           .values = vals,
                           .value_count = 1};
  assert_int_equal(iso_flow_recover(e.fl, &rec, NULL, NULL), 0);
  spin(&e, 5);
  assert_string_equal(fx_log, "b.commit a.commit"); /* in journaled order */
  assert_true(e.b.recovery_seen);
  assert_string_equal(e.jr.log, "completion:77:-");
  assert_int_equal(e.a.prepares + e.b.prepares, 0);

  const char *bad[] = {"zz"};
  rec.participants = bad;
  rec.participant_count = 1;
  assert_int_equal(iso_flow_recover(e.fl, &rec, NULL, NULL), ISO_E_NOT_FOUND);
  iso_flow_stats st;
  iso_flow_stats_get(e.flow, &st);
  assert_int_equal(st.recovered, 1);
  env_end(&e);
}

/* Whether the last transaction's request and response were in iso87a. */
static bool both_iso87a;
static void on_done_spec(iso_tx *tx, int status, const iso_msg *r,
                         void *data) {
  fx_on_done(tx, status, r, data);
  const iso_spec *a = iso_spec_builtin("iso87a");
  both_iso87a = r && r->spec == a && iso_tx_request(tx)->spec == a;
}

/* A record that recovered a request in another spec (iso87b; the flow's is
 * iso87a) goes back to the free list with messages of that spec: the next
 * transaction on it gets them initialised for the flow's spec again. */
static void record_reused_after_other_spec(void **state) {
  (void)state;
  env e;
  env_init(&e, NULL, true);
  iso_msg old;
  iso_msg_init(&old, iso_spec_builtin("iso87b"));
  fx_request(&old, "0100", "000079", "000000000100");
  const char *names[] = {"a"};
  iso_flow_recovery rec = {.tx_id = 79,
                           .decision = ISO_DECISION_COMMIT,
                           .participants = names,
                           .participant_count = 1,
                           .request = &old,
                           .response = &old};
  assert_int_equal(iso_flow_recover(e.fl, &rec, NULL, NULL), 0);
  spin(&e, 5);
  assert_string_equal(e.jr.log, "completion:79:-");
  iso_msg_cleanup(&old);
  fx_done d = {0};
  iso_msg m;
  iso_msg_init(&m, iso_spec_builtin("iso87a"));
  fx_request(&m, "0100", "000001", "000000000100");
  both_iso87a = false;
  assert_int_equal(iso_flow_submit(e.fl, &m, 0, on_done_spec, &d), 0);
  iso_msg_cleanup(&m);
  spin(&e, 5);
  durable_from_thread(e.jr.tickets[e.jr.nticket - 1], 0);
  assert_true(fx_run_until(&e.loop, &d.calls, 5000));
  assert_int_equal(d.status, 0);
  assert_string_equal(d.mti, "0110");
  assert_string_equal(d.rc, "00");
  assert_true(both_iso87a);
  iso_flow_stats st;
  iso_flow_stats_get(e.flow, &st);
  assert_int_equal(st.recovered, 1);
  env_end(&e);
}

static int recovered_calls;
static void on_recovered(iso_flow_loop *fl, uint64_t id, int status,
                         void *data) {
  (void)fl;
  (void)data;
  assert_int_equal(id, 78);
  assert_int_equal(status, ISO_E_ABORTED);
  recovered_calls++;
}

static void recovery_aborts_undecided_everywhere(void **state) {
  (void)state;
  env e;
  env_init(&e, NULL, true);
  iso_flow_recovery rec = {.tx_id = 78, .decision = ISO_DECISION_NONE};
  recovered_calls = 0;
  assert_int_equal(iso_flow_recover(e.fl, &rec, on_recovered, NULL), 0);
  spin(&e, 5);
  assert_string_equal(e.jr.log, "decision:78:abort:a,b:recovery");
  assert_string_equal(fx_log, ""); /* abort waits for the durable decision */
  durable_from_thread(e.jr.tickets[0], 0);
  assert_true(fx_run_until(&e.loop, &recovered_calls, 5000));
  assert_string_equal(fx_log, "b.abort a.abort");
  assert_true(e.a.recovery_seen && e.b.recovery_seen);
  assert_string_equal(e.jr.log, "decision:78:abort:a,b:recovery "
                                "completion:78:96");
  env_end(&e);
}

static void without_journal_flows_run_in_memory(void **state) {
  (void)state;
  env e;
  env_init(&e, NULL, false);
  fx_done d;
  submit(&e, "0100", "000000000100", &d);
  assert_true(fx_run_until(&e.loop, &d.calls, 5000));
  assert_int_equal(d.status, 0);
  assert_int_equal(d.tx_id, 1);
  assert_string_equal(e.jr.log, "");
  env_end(&e);
}

/* Runs msg through e's flow to completion; the fake journal keeps the key
 * its begin carried. */
static void run_one(env *e, iso_msg *m) {
  fx_done d = {0};
  int before = e->jr.nticket;
  assert_int_equal(iso_flow_submit(e->fl, m, 0, fx_on_done, &d), 0);
  spin(e, 5);
  assert_int_equal(e->jr.nticket, before + 1);
  durable_from_thread(e->jr.tickets[before], 0);
  assert_true(fx_run_until(&e->loop, &d.calls, 5000));
  assert_int_equal(d.status, 0);
}

/* iso_flow_idempotency_key gives what the flow journals: a repeat (0101)
 * has its original's key, a long key comes folded the same way, and a
 * message without an MTI or a flow without idempotency have none. */
static void idempotency_key_is_the_journaled_one(void **state) {
  (void)state;
  env e;
  env_init(&e, NULL, true);
  const iso_spec *spec = iso_spec_builtin("iso87a");
  iso_msg m;
  uint8_t key[ISO_FLOW_KEY_MAX];
  size_t len = 0;
  for (int long_key = 0; long_key < 2; long_key++) {
    iso_msg_init(&m, spec);
    fx_request(&m, "0100", long_key ? "000002" : "000001", "000000000100");
    if (long_key) assert_int_equal(iso_msg_set_str(&m, 32, "12345678901"), 0);
    run_one(&e, &m);
    assert_int_equal(e.jr.key_len, long_key ? ISO_FLOW_KEY_MAX : 38);
    assert_int_equal(iso_msg_set_mti(&m, "0101"), 0);
    assert_int_equal(iso_flow_idempotency_key(e.flow, &m, key, &len), 0);
    assert_int_equal(len, e.jr.key_len);
    assert_memory_equal(key, e.jr.key, len);
    iso_msg_cleanup(&m);
  }
  iso_msg_init(&m, spec);
  assert_int_equal(iso_flow_idempotency_key(e.flow, &m, key, &len), ISO_E_INVAL);
  iso_msg_cleanup(&m);
  env_end(&e);
  iso_flow_config cfg;
  fx_config(&cfg);
  cfg.idempotency = false;
  env_init(&e, &cfg, false);
  iso_msg_init(&m, spec);
  fx_request(&m, "0100", "000001", "000000000100");
  assert_int_equal(iso_flow_idempotency_key(e.flow, &m, key, &len), ISO_E_STATE);
  iso_msg_cleanup(&m);
  env_end(&e);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(events_in_order_and_response_held_until_durable),
      cmocka_unit_test(failed_write_declines),
      cmocka_unit_test(failure_after_early_commit_holds_response),
      cmocka_unit_test(respond_before_durable_when_configured),
      cmocka_unit_test(lookup_after_restart_replays),
      cmocka_unit_test(duplicate_echoes_its_own_pan),
      cmocka_unit_test(lookup_mismatch_miss_and_failure),
      cmocka_unit_test(lookup_always_finds_plain_retransmission),
      cmocka_unit_test(recovery_reruns_decided_commit),
      cmocka_unit_test(recovery_aborts_undecided_everywhere),
      cmocka_unit_test(record_reused_after_other_spec),
      cmocka_unit_test(without_journal_flows_run_in_memory),
      cmocka_unit_test(idempotency_key_is_the_journaled_one),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
