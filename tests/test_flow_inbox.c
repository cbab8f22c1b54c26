/*
 * tests/test_flow_inbox.c -- the loop's inbox (flow/serve.c), through which
 * other threads hand events to a loop: every event arrives once, events from
 * one thread arrive in the order that thread pushed them, more events than
 * one wake-up handles wait for the next, and the loop may push to itself
 * while it drains.  Paused transactions resumed with iso_tx_resume are the
 * events.
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

enum { N = 10000 }; /* more than one wake-up handles (4096) */

typedef struct rig {
  uv_loop_t loop;
  iso_flow *flow;
  iso_flow_loop *fl;
  iso_tx *paused[N]; /* by submit order */
  int npaused;
  int order[N]; /* the submit index of each transaction done, in turn */
  int ndone, failures, all_done;
  bool chain; /* a transaction of the first half done resumes its
                 counterpart in the second half, from the loop */
} rig;

static rig *the; /* on_done's: the done callback's data is the index */

static int pause_it(iso_tx *tx, void *data) {
  rig *r = data;
  r->paused[r->npaused++] = tx;
  return ISO_PAUSE;
}

static void on_done(iso_tx *tx, int status, const iso_msg *response, void *data) {
  (void)tx;
  (void)response;
  int index = (int)(intptr_t)data;
  if (status) the->failures++;
  the->order[the->ndone++] = index;
  if (the->ndone == N) the->all_done = 1;
  if (the->chain && index < N / 2) iso_tx_resume(the->paused[index + N / 2], ISO_PREPARED);
}

/* N transactions submitted, each paused in its only participant. */
static rig *rig_start(void) {
  rig *r = calloc(1, sizeof *r);
  assert_non_null(r);
  the = r;
  iso_flow_config cfg;
  fx_config(&cfg);
  cfg.max_in_flight = N;
  assert_int_equal(uv_loop_init(&r->loop), 0);
  assert_int_equal(iso_flow_new(&cfg, &r->flow), 0);
  iso_participant p = {.name = "p", .prepare = pause_it, .data = r};
  assert_int_equal(iso_flow_add(r->flow, &p), 0);
  fx_flow_start(r->flow, &r->loop, &r->fl);
  iso_msg m;
  iso_msg_init(&m, cfg.spec);
  for (int i = 0; i < N; i++) {
    char stan[8];
    snprintf(stan, sizeof stan, "%06d", i);
    fx_request(&m, "0100", stan, "000000001000");
    assert_int_equal(iso_flow_submit(r->fl, &m, 0, on_done, (void *)(intptr_t)i), 0);
  }
  iso_msg_cleanup(&m);
  assert_int_equal(r->npaused, N);
  return r;
}

static void rig_end(rig *r) {
  assert_int_equal(r->failures, 0);
  fx_flow_end(&r->loop, r->fl, r->flow);
  free(r);
  the = NULL;
}

/* Resumes paused[from, to) in order, from its own thread. */
typedef struct producer {
  rig *r;
  int from, to;
} producer;

static void *produce(void *arg) {
  producer *p = arg;
  for (int i = p->from; i < p->to; i++) iso_tx_resume(p->r->paused[i], ISO_PREPARED);
  return NULL;
}

/* Each producer's events in the order it pushed them. */
static void assert_in_order(const rig *r, const producer *p, int np) {
  for (int k = 0; k < np; k++) {
    int last = -1;
    for (int i = 0; i < r->ndone; i++) {
      int index = r->order[i];
      if (index < p[k].from || index >= p[k].to) continue;
      assert_true(index > last);
      last = index;
    }
  }
}

static void assert_each_once(const rig *r) {
  assert_int_equal(r->ndone, N);
  char *seen = calloc(N, 1);
  assert_non_null(seen);
  for (int i = 0; i < N; i++) {
    assert_false(seen[r->order[i]]);
    seen[r->order[i]] = 1;
  }
  free(seen);
}

/* Two threads push all their events before the loop looks: more than one
 * wake-up's worth waits in the inbox. */
static void test_queued_before_the_loop_runs(void **s) {
  (void)s;
  rig *r = rig_start();
  producer p[2] = {{r, 0, N / 2}, {r, N / 2, N}};
  pthread_t th[2];
  for (int k = 0; k < 2; k++) assert_int_equal(pthread_create(&th[k], NULL, produce, &p[k]), 0);
  for (int k = 0; k < 2; k++) pthread_join(th[k], NULL);
  assert_true(fx_run_until(&r->loop, &r->all_done, 20000));
  assert_each_once(r);
  assert_in_order(r, p, 2);
  rig_end(r);
}

/* Four threads push while the loop drains. */
static void test_pushed_while_the_loop_drains(void **s) {
  (void)s;
  rig *r = rig_start();
  producer p[4];
  pthread_t th[4];
  for (int k = 0; k < 4; k++) {
    p[k] = (producer){r, k * (N / 4), (k + 1) * (N / 4)};
    assert_int_equal(pthread_create(&th[k], NULL, produce, &p[k]), 0);
  }
  assert_true(fx_run_until(&r->loop, &r->all_done, 20000));
  for (int k = 0; k < 4; k++) pthread_join(th[k], NULL);
  assert_each_once(r);
  assert_in_order(r, p, 4);
  rig_end(r);
}

/* The loop pushes to its own inbox while it drains it: each transaction
 * of the first half done resumes its counterpart in the second half. */
static void test_the_loop_pushes_to_itself(void **s) {
  (void)s;
  rig *r = rig_start();
  r->chain = true;
  producer p[2] = {{r, 0, N / 2}, {r, N / 2, N}}; /* the test thread, the loop */
  produce(&p[0]);
  assert_true(fx_run_until(&r->loop, &r->all_done, 20000));
  assert_each_once(r);
  assert_in_order(r, p, 2);
  rig_end(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_queued_before_the_loop_runs),
      cmocka_unit_test(test_pushed_while_the_loop_drains),
      cmocka_unit_test(test_the_loop_pushes_to_itself),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
