/*
 * tests/test_flow_idempotency.c -- retransmissions and overload: duplicates
 * in flight and completed (on one loop and across loops), repeat MTIs,
 * fingerprint mismatches, the bounded store's eviction by size and age, and
 * the in-flight bound.
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

typedef struct env {
  uv_loop_t loop;
  iso_flow *flow;
  iso_flow_loop *fl;
  fx_part part;
} env;

/* One participant, `result`, that sets DE 39 "00" when it commits. */
static void approve(iso_tx *tx, void *data) {
  fx_part *p = data;
  p->commits++;
  iso_tx_set_response_code(tx, "00");
}

static void env_init(env *e, iso_flow_config *cfg, int result) {
  iso_flow_config local;
  if (!cfg) {
    fx_config(&local);
    cfg = &local;
  }
  assert_int_equal(uv_loop_init(&e->loop), 0);
  assert_int_equal(iso_flow_new(cfg, &e->flow), 0);
  e->part = (fx_part){.name = "auth", .result = result};
  iso_participant ip = fx_participant(&e->part);
  ip.commit = approve;
  assert_int_equal(iso_flow_add(e->flow, &ip), 0);
  fx_flow_start(e->flow, &e->loop, &e->fl);
  fx_log_reset();
}

static void env_end(env *e) {
  fx_flow_end(&e->loop, e->fl, e->flow);
}

static void submit(env *e, iso_flow_loop *fl, const char *mti,
                   const char *stan, const char *amount, fx_done *d) {
  fx_submit(fl ? fl : e->fl, mti, stan, amount, d);
}

static void wait_done(env *e, fx_done *d) {
  assert_true(fx_run_until(&e->loop, &d->calls, 5000));
}

static void overload_declines_at_once(void **state) {
  (void)state;
  iso_flow_config cfg;
  fx_config(&cfg);
  cfg.max_in_flight = 2;
  env e;
  env_init(&e, &cfg, ISO_PAUSE);
  fx_done d1, d2, d3;
  submit(&e, NULL, "0100", "000001", "000000000100", &d1);
  iso_tx *first = e.part.paused;
  submit(&e, NULL, "0100", "000002", "000000000100", &d2);
  iso_tx *second = e.part.paused;
  submit(&e, NULL, "0100", "000003", "000000000100", &d3);
  assert_int_equal(d3.calls, 1); /* declined during submit */
  assert_int_equal(d3.status, ISO_E_OVERLOAD);
  assert_string_equal(d3.rc, "91");
  assert_string_equal(d3.mti, "0110");
  assert_int_equal(e.part.prepares, 2);
  iso_flow_stats st;
  iso_flow_stats_get(e.flow, &st);
  assert_int_equal(st.overload_declined, 1);
  assert_int_equal(st.paused, 2);
  iso_tx_resume(first, ISO_PREPARED);
  iso_tx_resume(second, ISO_PREPARED);
  wait_done(&e, &d1);
  wait_done(&e, &d2);
  assert_int_equal(d1.status, 0);
  assert_string_equal(d2.rc, "00");
  env_end(&e);
}

static void concurrent_duplicates_run_once(void **state) {
  (void)state;
  env e;
  env_init(&e, NULL, ISO_PAUSE);
  fx_done d1, d2, d3;
  submit(&e, NULL, "0100", "000001", "000000000100", &d1);
  submit(&e, NULL, "0100", "000001", "000000000100", &d2);
  submit(&e, NULL, "0101", "000001", "000000000100", &d3); /* a repeat */
  assert_int_equal(e.part.prepares, 1);
  iso_tx_resume(e.part.paused, ISO_PREPARED);
  wait_done(&e, &d1);
  wait_done(&e, &d2);
  wait_done(&e, &d3);
  assert_int_equal(e.part.prepares, 1);
  assert_int_equal(e.part.commits, 1);
  assert_int_equal(d1.status, 0);
  assert_int_equal(d2.status, ISO_E_DUPLICATE);
  assert_int_equal(d3.status, ISO_E_DUPLICATE);
  assert_string_equal(d2.rc, "00");
  assert_string_equal(d3.mti, "0110");
  iso_flow_stats st;
  iso_flow_stats_get(e.flow, &st);
  assert_int_equal(st.dup_in_flight, 2);
  assert_int_equal(st.started, 1);
  env_end(&e);
}

static void completed_duplicate_replays_with_adjusted_mti(void **state) {
  (void)state;
  env e;
  env_init(&e, NULL, ISO_PREPARED);
  fx_done d1, d2;
  submit(&e, NULL, "0200", "000007", "000000000500", &d1);
  wait_done(&e, &d1);
  assert_string_equal(d1.mti, "0210");
  submit(&e, NULL, "0201", "000007", "000000000500", &d2);
  assert_int_equal(d2.calls, 1); /* answered during submit */
  assert_int_equal(d2.status, ISO_E_DUPLICATE);
  assert_string_equal(d2.mti, "0210");
  assert_string_equal(d2.rc, "00");
  assert_int_equal(e.part.prepares, 1);
  iso_flow_stats st;
  iso_flow_stats_get(e.flow, &st);
  assert_int_equal(st.dup_completed, 1);
  /* An advice and its repeat: 0420 then 0421, both answered 0430. */
  submit(&e, NULL, "0420", "000008", "000000000500", &d1);
  wait_done(&e, &d1);
  submit(&e, NULL, "0421", "000008", "000000000500", &d2);
  assert_int_equal(d2.status, ISO_E_DUPLICATE);
  assert_string_equal(d2.mti, "0430");
  assert_int_equal(e.part.prepares, 2);
  env_end(&e);
}

/* Ids go to the transactions that run, in order, with no gap: a duplicate
 * (completed or in flight), a 94 and an overload decline take none, with
 * the store on (where the check numbers a new key) as with it off. */
static void only_transactions_that_run_are_numbered(void **state) {
  (void)state;
  for (int idem = 0; idem < 2; idem++) {
    iso_flow_config cfg;
    fx_config(&cfg);
    cfg.idempotency = idem;
    cfg.max_in_flight = 2;
    env e;
    env_init(&e, &cfg, ISO_PREPARED);
    fx_done a, dup, mismatch, b, paused, waiting, over;
    submit(&e, NULL, "0100", "000081", "000000000100", &a);
    wait_done(&e, &a);
    assert_int_equal(a.tx_id, 1);
    submit(&e, NULL, "0101", "000081", "000000000100", &dup);
    submit(&e, NULL, "0100", "000081", "000000000999", &mismatch);
    if (idem) {
      assert_int_equal(dup.status, ISO_E_DUPLICATE);
      assert_int_equal(dup.tx_id, 0);
      assert_int_equal(mismatch.status, ISO_E_FINGERPRINT);
      assert_int_equal(mismatch.tx_id, 0);
    }
    submit(&e, NULL, "0100", "000082", "000000000100", &b);
    wait_done(&e, &b);
    assert_int_equal(b.tx_id, idem ? 2 : 4);
    e.part.result = ISO_PAUSE;
    submit(&e, NULL, "0100", "000083", "000000000100", &paused);
    iso_tx *held = e.part.paused;
    assert_int_equal(iso_tx_id(held), idem ? 3 : 5);
    submit(&e, NULL, "0100", "000083", "000000000100", &waiting);
    submit(&e, NULL, "0100", "000084", "000000000100", &over);
    assert_int_equal(over.status, ISO_E_OVERLOAD);
    assert_int_equal(over.tx_id, 0);
    e.part.result = ISO_PREPARED;
    if (!idem) { /* the second ran too (no store): it holds id 6 */
      assert_int_equal(iso_tx_id(e.part.paused), 6);
      iso_tx_resume(e.part.paused, ISO_PREPARED);
    }
    iso_tx_resume(held, ISO_PREPARED);
    wait_done(&e, &paused);
    wait_done(&e, &waiting);
    assert_int_equal(waiting.status, idem ? ISO_E_DUPLICATE : 0);
    assert_int_equal(waiting.tx_id, idem ? 0 : 6);
    assert_int_equal(paused.tx_id, idem ? 3 : 5);
    env_end(&e);
  }
}

static void repeat_of_unknown_runs_as_original(void **state) {
  (void)state;
  env e;
  env_init(&e, NULL, ISO_PREPARED);
  fx_done d;
  submit(&e, NULL, "0401", "000009", "000000000500", &d);
  wait_done(&e, &d);
  assert_int_equal(d.status, 0);
  assert_string_equal(d.mti, "0410");
  assert_int_equal(e.part.prepares, 1);
  iso_flow_stats st;
  iso_flow_stats_get(e.flow, &st);
  assert_int_equal(st.repeat_as_original, 1);
  env_end(&e);
}

static void changed_amount_declined_94(void **state) {
  (void)state;
  env e;
  env_init(&e, NULL, ISO_PAUSE);
  fx_done d1, d2, d3;
  submit(&e, NULL, "0100", "000011", "000000000100", &d1);
  submit(&e, NULL, "0100", "000011", "000000000999", &d2); /* in flight */
  assert_int_equal(d2.status, ISO_E_FINGERPRINT);
  assert_string_equal(d2.rc, "94");
  iso_tx_resume(e.part.paused, ISO_PREPARED);
  wait_done(&e, &d1);
  submit(&e, NULL, "0101", "000011", "000000000998", &d3); /* completed */
  assert_int_equal(d3.status, ISO_E_FINGERPRINT);
  assert_string_equal(d3.rc, "94");
  assert_string_equal(d3.mti, "0110");
  assert_int_equal(e.part.prepares, 1);
  iso_flow_stats st;
  iso_flow_stats_get(e.flow, &st);
  assert_int_equal(st.fingerprint_mismatch, 2);
  env_end(&e);
}

static void store_evicts_oldest_by_size(void **state) {
  (void)state;
  iso_flow_config cfg;
  fx_config(&cfg);
  cfg.store_capacity = 2;
  env e;
  env_init(&e, &cfg, ISO_PREPARED);
  fx_done d;
  const char *stans[] = {"000021", "000022", "000023"};
  for (int i = 0; i < 3; i++) {
    submit(&e, NULL, "0100", stans[i], "000000000100", &d);
    wait_done(&e, &d);
  }
  submit(&e, NULL, "0100", "000023", "000000000100", &d); /* still kept */
  assert_int_equal(d.status, ISO_E_DUPLICATE);
  submit(&e, NULL, "0100", "000021", "000000000100", &d); /* evicted */
  wait_done(&e, &d);
  assert_int_equal(d.status, 0);
  assert_int_equal(e.part.prepares, 4);
  iso_flow_stats st;
  iso_flow_stats_get(e.flow, &st);
  assert_int_equal(st.store_evicted_size, 2); /* 000021, then 000022 */
  assert_int_equal(st.store_evicted_age, 0);
  env_end(&e);
}

/* 1,000 keys in a store of 1,000 (64 buckets of 31 slots).  Every key is
 * found again; 300 more evict exactly the 300 oldest, wherever they sat.
 * (Chains: see chained_keys_found_and_evicted.) */
static void full_store_keeps_and_evicts(void **state) {
  (void)state;
  iso_flow_config cfg;
  fx_config(&cfg);
  cfg.store_capacity = 1000;
  env e;
  env_init(&e, &cfg, ISO_PREPARED);
  fx_done d;
  char stan[7];
  for (int i = 0; i < 1000; i++) {
    snprintf(stan, sizeof stan, "%06d", 100000 + i);
    submit(&e, NULL, "0100", stan, "000000000100", &d);
    wait_done(&e, &d);
    assert_int_equal(d.status, 0);
  }
  for (int i = 0; i < 1000; i++) {
    snprintf(stan, sizeof stan, "%06d", 100000 + i);
    submit(&e, NULL, "0100", stan, "000000000100", &d);
    assert_int_equal(d.status, ISO_E_DUPLICATE);
  }
  for (int i = 0; i < 300; i++) {
    snprintf(stan, sizeof stan, "%06d", 200000 + i);
    submit(&e, NULL, "0100", stan, "000000000100", &d);
    wait_done(&e, &d);
  }
  iso_flow_stats st;
  iso_flow_stats_get(e.flow, &st);
  assert_int_equal(st.store_evicted_size, 300);
  for (int i = 300; i < 1000; i++) { /* kept */
    snprintf(stan, sizeof stan, "%06d", 100000 + i);
    submit(&e, NULL, "0100", stan, "000000000100", &d);
    assert_int_equal(d.status, ISO_E_DUPLICATE);
  }
  assert_int_equal(e.part.prepares, 1300);
  for (int i = 0; i < 300; i++) { /* evicted: they run again */
    snprintf(stan, sizeof stan, "%06d", 100000 + i);
    submit(&e, NULL, "0100", stan, "000000000100", &d);
    wait_done(&e, &d);
    assert_int_equal(d.status, 0);
  }
  assert_int_equal(e.part.prepares, 1600);
  env_end(&e);
}

/* A participant that pauses while `hold` is set (keeping each paused
 * transaction) and otherwise prepares; its commit approves. */
typedef struct holder {
  bool hold;
  iso_tx *paused[128];
  int npaused, prepares;
} holder;

static int hold_prepare(iso_tx *tx, void *data) {
  holder *h = data;
  h->prepares++;
  if (!h->hold) return ISO_PREPARED;
  h->paused[h->npaused++] = tx;
  return ISO_PAUSE;
}

static void hold_commit(iso_tx *tx, void *data) {
  (void)data;
  iso_tx_set_response_code(tx, "00");
}

/* Submits STAN 300000 + i on e's loop and runs it to its answer. */
static int run_stan(env *e, unsigned i) {
  char stan[7];
  fx_done d;
  snprintf(stan, sizeof stan, "%06u", (300000 + i) % 1000000);
  submit(e, NULL, "0100", stan, "000000000100", &d);
  if (d.calls == 0) wait_done(e, &d);
  return d.status;
}

/* A store of 16 keys has one bucket of 31 slots; keys in flight are not
 * bounded by the capacity, so 100 held at once take every slot and chain
 * the other 69.  A duplicate of a chained key waits for it; once all
 * complete, the 84 oldest are evicted (from slots, then from the chain)
 * and run again, the 16 newest (chained) are replayed, and once 16 more
 * keys have evicted those too (emptying the chain), they run again. */
static void chained_keys_found_and_evicted(void **state) {
  (void)state;
  iso_flow_config cfg;
  fx_config(&cfg);
  cfg.store_capacity = 16;
  env e;
  holder h = {.hold = true};
  assert_int_equal(uv_loop_init(&e.loop), 0);
  assert_int_equal(iso_flow_new(&cfg, &e.flow), 0);
  iso_participant p = {.name = "hold", .prepare = hold_prepare,
                       .commit = hold_commit, .data = &h};
  assert_int_equal(iso_flow_add(e.flow, &p), 0);
  fx_flow_start(e.flow, &e.loop, &e.fl);
  fx_done held[100], dup;
  char stan[7];
  for (int i = 0; i < 100; i++) {
    snprintf(stan, sizeof stan, "%06d", 300000 + i);
    submit(&e, NULL, "0100", stan, "000000000100", &held[i]);
  }
  assert_int_equal(h.npaused, 100);
  submit(&e, NULL, "0100", "300099", "000000000100", &dup); /* chained */
  assert_int_equal(dup.calls, 0);
  assert_int_equal(h.prepares, 100);
  h.hold = false;
  for (int i = 0; i < 100; i++) iso_tx_resume(h.paused[i], ISO_PREPARED);
  wait_done(&e, &dup);
  assert_int_equal(dup.status, ISO_E_DUPLICATE);
  assert_string_equal(dup.rc, "00");
  wait_done(&e, &held[99]);
  for (int i = 0; i < 100; i++) {
    assert_int_equal(held[i].calls, 1);
    assert_int_equal(held[i].status, 0);
  }
  iso_flow_stats st;
  iso_flow_stats_get(e.flow, &st);
  assert_int_equal(st.store_evicted_size, 84);
  for (int i = 84; i < 100; i++) /* kept, in the chain */
    assert_int_equal(run_stan(&e, i), ISO_E_DUPLICATE);
  assert_int_equal(h.prepares, 100);
  for (int i = 0; i < 16; i++) /* evicted from slots and chain: run again */
    assert_int_equal(run_stan(&e, i * 5), 0);
  assert_int_equal(h.prepares, 116);
  for (int i = 84; i < 100; i++) /* the chain's 16 are now evicted */
    assert_int_equal(run_stan(&e, i), 0);
  assert_int_equal(h.prepares, 132);
  for (int i = 84; i < 100; i++) /* and kept again, in slots */
    assert_int_equal(run_stan(&e, i), ISO_E_DUPLICATE);
  assert_int_equal(h.prepares, 132);
  env_end(&e);
}

static void store_evicts_by_age(void **state) {
  (void)state;
  iso_flow_config cfg;
  fx_config(&cfg);
  cfg.store_retention_ms = 30;
  env e;
  env_init(&e, &cfg, ISO_PREPARED);
  fx_done d;
  submit(&e, NULL, "0100", "000031", "000000000100", &d);
  wait_done(&e, &d);
  submit(&e, NULL, "0100", "000031", "000000000100", &d);
  assert_int_equal(d.status, ISO_E_DUPLICATE);
  uv_sleep(50);
  submit(&e, NULL, "0100", "000031", "000000000100", &d);
  wait_done(&e, &d);
  assert_int_equal(d.status, 0);
  assert_int_equal(e.part.prepares, 2);
  iso_flow_stats st;
  iso_flow_stats_get(e.flow, &st);
  assert_int_equal(st.store_evicted_age, 1);
  env_end(&e);
}

static void duplicate_on_another_loop_waits(void **state) {
  (void)state;
  env e;
  env_init(&e, NULL, ISO_PAUSE);
  uv_loop_t other;
  iso_flow_loop *fl2;
  assert_int_equal(uv_loop_init(&other), 0);
  assert_int_equal(iso_flow_loop_new(e.flow, &other, &fl2), 0);
  fx_done d1, d2;
  submit(&e, NULL, "0100", "000041", "000000000100", &d1);
  submit(&e, fl2, "0100", "000041", "000000000100", &d2);
  assert_int_equal(d2.calls, 0);
  iso_tx_resume(e.part.paused, ISO_PREPARED);
  wait_done(&e, &d1);
  assert_true(fx_run_until(&other, &d2.calls, 5000));
  assert_int_equal(d2.status, ISO_E_DUPLICATE);
  assert_string_equal(d2.rc, "00");
  assert_int_equal(e.part.prepares, 1);
  fx_close(&other, fl2);
  iso_flow_stats st;
  iso_flow_stats_get(e.flow, &st); /* merged, the closed loop included */
  assert_int_equal(st.dup_in_flight, 1);
  assert_int_equal(st.submitted, 2);
  env_end(&e);
}

/* Submits a request whose DE 48 (a key field here) holds 200 bytes, the
 * last one `last`. */
static void submit_long(env *e, const char *mti, char last, fx_done *d) {
  char de48[201];
  memset(de48, 'A', 200);
  de48[199] = last;
  de48[200] = '\0';
  iso_msg m;
  iso_msg_init(&m, iso_spec_builtin("iso87a"));
  fx_request(&m, mti, "000061", "000000000100");
  assert_int_equal(iso_msg_set_str(&m, 48, de48), 0);
  memset(d, 0, sizeof *d);
  assert_int_equal(iso_flow_submit(e->fl, &m, 0, fx_on_done, d), 0);
  iso_msg_cleanup(&m);
}

/* A key of more than 128 bytes still gets idempotency (it is digested);
 * keys that differ only in their last byte stay apart. */
static void long_key_is_digested(void **state) {
  (void)state;
  iso_flow_config cfg;
  fx_config(&cfg);
  cfg.key_fields[cfg.key_count++] = 48;
  env e;
  env_init(&e, &cfg, ISO_PREPARED);
  fx_done d1, d2, d3;
  submit_long(&e, "0100", 'x', &d1);
  wait_done(&e, &d1);
  assert_int_equal(d1.status, 0);
  submit_long(&e, "0101", 'x', &d2);
  assert_int_equal(d2.calls, 1); /* answered from the store during submit */
  assert_int_equal(d2.status, ISO_E_DUPLICATE);
  assert_string_equal(d2.mti, "0110");
  assert_string_equal(d2.rc, "00");
  submit_long(&e, "0100", 'y', &d3);
  wait_done(&e, &d3);
  assert_int_equal(d3.status, 0);
  assert_int_equal(e.part.prepares, 2);
  iso_flow_stats st;
  iso_flow_stats_get(e.flow, &st);
  assert_int_equal(st.dup_completed, 1);
  env_end(&e);
}

/* Commits with DE 39 and an authorization code, and drops DE 2 from the
 * response. */
static void approve_with_code(iso_tx *tx, void *data) {
  approve(tx, data);
  iso_msg_set_copy(iso_tx_response(tx), 38, "AB12CD", 6);
  iso_msg_unset(iso_tx_response(tx), 2);
}

static char seen[4][32]; /* DE 2, 37, 38, 11 of the last response */
static void on_done_fields(iso_tx *tx, int status, const iso_msg *r,
                           void *data) {
  fx_on_done(tx, status, r, data);
  const int fields[4] = {2, 37, 38, 11};
  for (int i = 0; i < 4; i++) {
    size_t len;
    if (!r || iso_msg_get(r, fields[i], seen[i], sizeof seen[i], &len) != 0)
      strcpy(seen[i], "-");
  }
}

/* The store keeps what a duplicate's own request cannot give back: fields
 * the participants set, and echo fields outside the key and fingerprint
 * (DE 37 here, which the retransmission lacks); DE 2 and DE 11 are echoed
 * from the duplicate's request, as before. */
static void replay_keeps_what_the_request_cannot_give(void **state) {
  (void)state;
  env e; /* env_init's, with approve_with_code as the commit */
  iso_flow_config cfg;
  fx_config(&cfg);
  assert_int_equal(uv_loop_init(&e.loop), 0);
  assert_int_equal(iso_flow_new(&cfg, &e.flow), 0);
  e.part = (fx_part){.name = "auth", .result = ISO_PREPARED};
  iso_participant ip = fx_participant(&e.part);
  ip.commit = approve_with_code;
  assert_int_equal(iso_flow_add(e.flow, &ip), 0);
  assert_int_equal(iso_flow_start(e.flow), 0);
  assert_int_equal(iso_flow_loop_new(e.flow, &e.loop, &e.fl), 0);
  fx_log_reset();
  fx_done d1, d2;
  iso_msg m;
  iso_msg_init(&m, iso_spec_builtin("iso87a"));
  fx_request(&m, "0200", "000071", "000000000100");
  assert_int_equal(iso_msg_set_str(&m, 37, "RRN000000071"), 0);
  memset(&d1, 0, sizeof d1);
  assert_int_equal(iso_flow_submit(e.fl, &m, 0, on_done_fields, &d1), 0);
  wait_done(&e, &d1);
  assert_string_equal(seen[0], "-");
  assert_string_equal(seen[1], "RRN000000071");
  assert_string_equal(seen[2], "AB12CD");
  iso_msg_unset(&m, 37);
  assert_int_equal(iso_msg_set_mti(&m, "0201"), 0);
  memset(&d2, 0, sizeof d2);
  assert_int_equal(iso_flow_submit(e.fl, &m, 0, on_done_fields, &d2), 0);
  assert_int_equal(d2.status, ISO_E_DUPLICATE);
  assert_string_equal(d2.mti, "0210");
  assert_string_equal(d2.rc, "00");
  assert_string_equal(seen[0], "4242424242424242"); /* the duplicate's */
  assert_string_equal(seen[1], "RRN000000071");     /* the original's */
  assert_string_equal(seen[2], "AB12CD");
  assert_string_equal(seen[3], "000071");
  assert_int_equal(e.part.prepares, 1);
  iso_msg_cleanup(&m);
  env_end(&e);
}

static void idempotency_can_be_off(void **state) {
  (void)state;
  iso_flow_config cfg;
  fx_config(&cfg);
  cfg.idempotency = false;
  env e;
  env_init(&e, &cfg, ISO_PREPARED);
  fx_done d;
  for (int i = 0; i < 2; i++) {
    submit(&e, NULL, "0100", "000051", "000000000100", &d);
    wait_done(&e, &d);
    assert_int_equal(d.status, 0);
  }
  assert_int_equal(e.part.prepares, 2);
  env_end(&e);
}

static void siphash_reference_vector(void **state) {
  (void)state;
  /* SipHash-2-4 paper, appendix A: key 00..0f, message 00..0e. */
  uint8_t key[16], msg[15];
  for (int i = 0; i < 16; i++) key[i] = (uint8_t)i;
  for (int i = 0; i < 15; i++) msg[i] = (uint8_t)i;
  assert_true(iso__siphash(key, msg, sizeof msg) == 0xa129ca6149be45e5ull);
}

static void siphash13_reference_values(void **state) {
  (void)state;
  /* SipHash-1-3 as CPython 3.11 computes bytes hashes with PYTHONHASHSEED=0
   * (key all zero): hash(b"siphash"), hash(bytes(range(15))). */
  uint8_t zero[16] = {0}, msg[15];
  for (int i = 0; i < 15; i++) msg[i] = (uint8_t)i;
  assert_true(iso__siphash13(zero, "siphash", 7) == 0x8264ceeccb16bcbeull);
  assert_true(iso__siphash13(zero, msg, sizeof msg) == 0xf30eb725bb91c9eaull);
  /* And the key matters. */
  uint8_t key[16];
  for (int i = 0; i < 16; i++) key[i] = (uint8_t)i;
  assert_true(iso__siphash13(key, msg, sizeof msg) !=
              iso__siphash13(zero, msg, sizeof msg));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(overload_declines_at_once),
      cmocka_unit_test(siphash13_reference_values),
      cmocka_unit_test(concurrent_duplicates_run_once),
      cmocka_unit_test(completed_duplicate_replays_with_adjusted_mti),
      cmocka_unit_test(only_transactions_that_run_are_numbered),
      cmocka_unit_test(repeat_of_unknown_runs_as_original),
      cmocka_unit_test(changed_amount_declined_94),
      cmocka_unit_test(store_evicts_oldest_by_size),
      cmocka_unit_test(store_evicts_by_age),
      cmocka_unit_test(full_store_keeps_and_evicts),
      cmocka_unit_test(chained_keys_found_and_evicted),
      cmocka_unit_test(duplicate_on_another_loop_waits),
      cmocka_unit_test(long_key_is_digested),
      cmocka_unit_test(replay_keeps_what_the_request_cannot_give),
      cmocka_unit_test(idempotency_can_be_off),
      cmocka_unit_test(siphash_reference_vector),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
