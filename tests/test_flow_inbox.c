/*
 * tests/test_flow_inbox.c -- events handed to a loop from other threads
 * (flow/serve.c's inbox): only the push that finds the inbox empty wakes
 * the loop, so every event pushed while it holds others must still be
 * delivered, whichever thread pushed it and however pushes and drains
 * interleave.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sched.h>
#include <uv.h>

#include "isoflow/flow.h"
#include "support/flow_fixture.h"

#define THREADS 4
#define PER_THREAD 300

static iso_tx *paused[THREADS * PER_THREAD];
static int npaused;

static int pause_prepare(iso_tx *tx, void *data) {
  (void)data;
  paused[npaused++] = tx;
  return ISO_PAUSE;
}

static void approve(iso_tx *tx, void *data) {
  (void)data;
  iso_tx_set_response_code(tx, "00");
}

static int done_count, committed;
static void on_done(iso_tx *tx, int status, const iso_msg *r, void *data) {
  (void)tx;
  (void)r;
  (void)data;
  done_count++;
  if (status == 0) committed++;
}

static void on_tick(uv_timer_t *t) { (void)t; }

typedef struct resumer {
  uv_thread_t thread;
  int first;
  int burst; /* resumes between yields: bursts, then gaps */
} resumer;

static void resume_share(void *arg) {
  resumer *r = arg;
  for (int i = 0; i < PER_THREAD; i++) {
    iso_tx_resume(paused[r->first + i], ISO_PREPARED);
    if (i % r->burst == r->burst - 1) {
      if (i % (3 * r->burst) == 0)
        uv_sleep(1);
      else
        sched_yield();
    }
  }
}

/* 1,200 paused transactions resumed from four threads at once, in bursts
 * of different sizes with yields and sleeps between them, while the loop
 * drains: every one completes (a lost wake-up would leave some waiting
 * until the bound), three rounds over the same loop. */
static void concurrent_resumes_all_delivered(void **state) {
  (void)state;
  iso_flow_config cfg;
  fx_config(&cfg);
  cfg.idempotency = false; /* every request the same: all run */
  uv_loop_t loop;
  iso_flow *flow;
  iso_flow_loop *fl;
  assert_int_equal(uv_loop_init(&loop), 0);
  assert_int_equal(iso_flow_new(&cfg, &flow), 0);
  iso_participant p = {.name = "p", .prepare = pause_prepare,
                       .commit = approve};
  assert_int_equal(iso_flow_add(flow, &p), 0);
  fx_flow_start(flow, &loop, &fl);
  iso_msg req;
  iso_msg_init(&req, iso_spec_builtin("iso87a"));
  fx_request(&req, "0100", "000001", "000000000100");
  for (int round = 0; round < 3; round++) {
    npaused = done_count = committed = 0;
    for (int i = 0; i < THREADS * PER_THREAD; i++)
      assert_int_equal(iso_flow_submit(fl, &req, 0, on_done, NULL), 0);
    assert_int_equal(npaused, THREADS * PER_THREAD);
    resumer r[THREADS];
    for (int t = 0; t < THREADS; t++) {
      r[t] = (resumer){.first = t * PER_THREAD, .burst = 1 + 7 * t};
      assert_int_equal(uv_thread_create(&r[t].thread, resume_share, &r[t]),
                       0);
    }
    /* The tick keeps uv_run returning, so a lost wake-up ends at the
     * deadline instead of blocking for good. */
    uv_timer_t tick;
    uv_timer_init(&loop, &tick);
    uv_timer_start(&tick, on_tick, 20, 20);
    uint64_t deadline = uv_hrtime() + 10000000000ull; /* 10 s */
    while (done_count < THREADS * PER_THREAD && uv_hrtime() < deadline)
      uv_run(&loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&tick, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
    for (int t = 0; t < THREADS; t++) uv_thread_join(&r[t].thread);
    assert_int_equal(done_count, THREADS * PER_THREAD);
    assert_int_equal(committed, THREADS * PER_THREAD);
  }
  iso_msg_cleanup(&req);
  fx_flow_end(&loop, fl, flow);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(concurrent_resumes_all_delivered),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
