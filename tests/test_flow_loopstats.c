/*
 * tests/test_flow_loopstats.c -- the per-loop statistics of a flow whose
 * loops come and go: a closed loop's counters and histograms are handed to
 * the next loop that opens, so the flow keeps one block per loop open at
 * once (not one per loop ever opened: a server loop opens a flow loop for
 * every burst of connections), and the merged figures still count every
 * transaction of every loop, closed or not.  Also through a flow server,
 * whose loop opens a flow loop for each burst of connections.
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
#include "support/conn_harness.h"
#include "support/flow_fixture.h"

static size_t stats_blocks(const iso_flow *f) {
  size_t n = 0;
  for (const iso__loop_stats *st = f->stats; st; st = st->next) n++;
  return n;
}

static iso_flow *new_flow(fx_part *p) {
  iso_flow_config cfg;
  fx_config(&cfg);
  iso_flow *f;
  assert_int_equal(iso_flow_new(&cfg, &f), 0);
  iso_participant ip = fx_participant(p);
  assert_int_equal(iso_flow_add(f, &ip), 0);
  assert_int_equal(iso_flow_start(f), 0);
  iso_flow_profiler_enable(f, true);
  return f;
}

/* Runs one authorization with its own STAN on fl and waits for it. */
static void run_one(uv_loop_t *loop, iso_flow_loop *fl, unsigned n) {
  char stan[7];
  snprintf(stan, sizeof stan, "%06u", n % 1000000u);
  fx_done d;
  fx_submit(fl, "0100", stan, "000000000100", &d);
  assert_true(fx_run_until(loop, &d.calls, 5000));
  assert_int_equal(d.status, 0);
  assert_true(d.had_response);
}

/* The flow's merged figures count n commits and n transaction latencies:
 * nothing of a closed loop's block is lost. */
static void assert_merged_counts(const iso_flow *f, uint64_t n) {
  iso_flow_stats st;
  iso_flow_stats_get(f, &st);
  assert_int_equal(st.committed, n);
  assert_int_equal(st.in_flight, 0);
  iso_latency l;
  assert_int_equal(iso_flow_latency(f, NULL, ISO_PHASE_TOTAL, &l), 0);
  assert_int_equal(l.count, n);
}

static void a_closed_loops_block_is_reused(void **state) {
  (void)state;
  fx_part p = {.name = "approve", .result = ISO_PREPARED};
  iso_flow *f = new_flow(&p);
  for (unsigned i = 0; i < 50; i++) {
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    iso_flow_loop *fl;
    assert_int_equal(iso_flow_loop_new(f, &loop, &fl), 0);
    run_one(&loop, fl, i + 1);
    fx_close(&loop, fl);
    assert_int_equal(stats_blocks(f), 1);
  }
  /* Nothing of the 50 closed loops is lost from the merged figures. */
  assert_merged_counts(f, 50);
  iso_latency l;
  assert_int_equal(iso_flow_latency(f, "approve", ISO_PHASE_PREPARE, &l), 0);
  assert_int_equal(l.count, 50);
  assert_int_equal(p.commits, 50);
  iso_flow_free(f);
}

static void loops_open_at_once_have_their_own(void **state) {
  (void)state;
  fx_part p = {.name = "approve", .result = ISO_PREPARED};
  iso_flow *f = new_flow(&p);
  uv_loop_t la, lb, lc;
  assert_int_equal(uv_loop_init(&la), 0);
  assert_int_equal(uv_loop_init(&lb), 0);
  iso_flow_loop *a, *b, *c;
  assert_int_equal(iso_flow_loop_new(f, &la, &a), 0);
  assert_int_equal(iso_flow_loop_new(f, &lb, &b), 0);
  assert_int_equal(stats_blocks(f), 2);
  assert_ptr_not_equal(a->stats, b->stats);
  run_one(&la, a, 1);
  run_one(&lb, b, 2);
  run_one(&lb, b, 3);
  iso__loop_stats *was_a = a->stats;
  fx_close(&la, a);
  /* The third loop gets the closed one's block and counts on from it. */
  assert_int_equal(uv_loop_init(&lc), 0);
  assert_int_equal(iso_flow_loop_new(f, &lc, &c), 0);
  assert_ptr_equal(c->stats, was_a);
  assert_int_equal(stats_blocks(f), 2);
  run_one(&lc, c, 4);
  assert_int_equal(ISO__STAT_GET(c->stats->committed), 2);
  assert_int_equal(ISO__STAT_GET(b->stats->committed), 2);
  /* With both taken, a fourth loop open at the same time gets a new one. */
  uv_loop_t ld;
  iso_flow_loop *d;
  assert_int_equal(uv_loop_init(&ld), 0);
  assert_int_equal(iso_flow_loop_new(f, &ld, &d), 0);
  assert_int_equal(stats_blocks(f), 3);
  assert_ptr_not_equal(d->stats, b->stats);
  assert_ptr_not_equal(d->stats, c->stats);
  fx_close(&ld, d);
  fx_close(&lb, b);
  fx_close(&lc, c);
  assert_merged_counts(f, 4);
  iso_flow_free(f);
}

/* Runs loop until no loop of f holds a stats block (its flow loop closed). */
static bool run_until_released(uv_loop_t *loop, const iso_flow *f) {
  for (int i = 0; i < 2000; i++) {
    bool busy = false;
    for (const iso__loop_stats *st = f->stats; st; st = st->next)
      busy = busy || st->in_use;
    if (!busy) return true;
    th_run_for(loop, 1);
  }
  return false;
}

/* Twenty clients one after the other, each with one request: the server's
 * loop opens and closes a flow loop for each, and the flow keeps one
 * block. */
static void a_served_flow_keeps_one_block_per_loop(void **state) {
  (void)state;
  fx_part p = {.name = "approve", .result = ISO_PREPARED};
  iso_flow *f = new_flow(&p);
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  iso_flow_serve_opts so = fx_serve_opts(&loop);
  iso_flow_server *fs = fx_serve(f, &so);
  for (int i = 0; i < 20; i++) {
    th_client c;
    iso_conn_opts co = th_conn_opts();
    assert_int_equal(th_client_connect(&c, &loop, &co,
                                       iso_flow_server_port(fs)), 0);
    th_result r = {0};
    char stan[7];
    snprintf(stan, sizeof stan, "%06d", i + 1);
    assert_int_equal(th_request(c.conn, stan, 2000, &r), 0);
    assert_true(th_run_until(&loop, &r.done, 3000));
    assert_int_equal(r.status, 0);
    th_client_close(&c, &loop, ISO_CLOSE_NOW);
    assert_true(run_until_released(&loop, f));
    assert_int_equal(stats_blocks(f), 1);
  }
  fx_server_close(&loop, fs);
  assert_merged_counts(f, 20);
  iso_flow_free(f);
  th_loop_close(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(a_closed_loops_block_is_reused),
      cmocka_unit_test(loops_open_at_once_have_their_own),
      cmocka_unit_test(a_served_flow_keeps_one_block_per_loop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
