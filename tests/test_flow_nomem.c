/*
 * tests/test_flow_nomem.c -- the transaction manager when memory runs out:
 * a flow with two participants and its idempotency store is made, started
 * on a loop, given transactions (originals, a duplicate, persistent
 * values) and closed, with each allocation the library makes failing in
 * turn.  Each run must end in an error code or in success -- never a
 * crash, a hang or a leak -- and every submission the flow accepted must
 * complete exactly once.
 *
 * Allocations fail through support/failing_alloc.h (the suite is linked
 * with malloc, calloc and realloc wrapped: tests/flow.cmake).
 * LeakSanitizer, on in the test build, checks every run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "isoflow/flow.h"
#include "support/failing_alloc.h"
#include "support/flow_fixture.h"

static char big_value[200]; /* never fits the record's own area */

static int keep_values(iso_tx *tx, void *data) {
  (void)data;
  /* A failure here is the participant's to decide: it declines. */
  if (iso_tx_set_persistent(tx, "hold", "card:1", 6) < 0 ||
      iso_tx_set_persistent(tx, "big", big_value, sizeof big_value) < 0) {
    iso_tx_set_response_code(tx, "96");
    return ISO_ABORTED;
  }
  return ISO_PREPARED;
}

static int approve(iso_tx *tx, void *data) {
  (void)data;
  iso_tx_set_response_code(tx, "00");
  return ISO_PREPARED;
}

static void on_done(iso_tx *tx, int status, const iso_msg *response, void *data) {
  (void)tx;
  (void)status;
  (void)response;
  ++*(int *)data;
}

/* One round.  Returns the first error of building the flow (then nothing
 * was submitted), else 0, with the counts of accepted submissions and of
 * completions. */
static int flow_round(int *accepted, int *completed) {
  *accepted = *completed = 0;
  iso_flow_config cfg;
  fx_config(&cfg);
  cfg.store_capacity = 64;
  iso_flow *flow = NULL;
  int rc = iso_flow_new(&cfg, &flow);
  if (rc) return rc;
  iso_participant values = {.name = "values", .prepare = keep_values};
  iso_participant approval = {.name = "approval", .prepare = approve};
  if ((rc = iso_flow_add(flow, &values)) || (rc = iso_flow_add(flow, &approval)) ||
      (rc = iso_flow_start(flow))) {
    iso_flow_free(flow);
    return rc;
  }
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  iso_flow_loop *fl = NULL;
  if ((rc = iso_flow_loop_new(flow, &loop, &fl))) {
    assert_int_equal(uv_loop_close(&loop), 0);
    iso_flow_free(flow);
    return rc;
  }
  /* Originals, then a duplicate of the first: answered from the store. */
  static const char *const stans[] = {"000001", "000002", "000003", "000001"};
  for (size_t i = 0; i < sizeof stans / sizeof stans[0]; i++) {
    iso_msg m;
    iso_msg_init(&m, cfg.spec);
    fx_request(&m, "0100", stans[i], "000000000100");
    int s = iso_flow_submit(fl, &m, 0, on_done, completed);
    iso_msg_cleanup(&m);
    if (s == 0) (*accepted)++;
    else assert_int_equal(s, ISO_E_NOMEM);
  }
  for (int i = 0; i < 1000 && *completed < *accepted; i++) uv_run(&loop, UV_RUN_NOWAIT);
  fx_flow_end(&loop, fl, flow);
  return 0;
}

static void test_each_allocation_fails_once(void **state) {
  (void)state;
  memset(big_value, 'B', sizeof big_value);
  int accepted, completed;
  fa_count_reset();
  assert_int_equal(flow_round(&accepted, &completed), 0);
  assert_int_equal(accepted, 4);
  assert_int_equal(completed, 4);
  long total = fa_count();
  assert_true(total > 0);

  int refused = 0, ran = 0;
  for (long n = 0; n < total; n++) {
    fa_arm(n);
    int rc = flow_round(&accepted, &completed);
    fa_arm(-1);
    if (rc) {
      assert_int_equal(rc, ISO_E_NOMEM);
      refused++;
    } else {
      /* Whatever was accepted completed, once. */
      assert_int_equal(completed, accepted);
      ran++;
    }
  }
  assert_true(refused > 0);
  assert_true(ran > 0);
  /* With nothing failing any more, the same round runs whole. */
  assert_int_equal(flow_round(&accepted, &completed), 0);
  assert_int_equal(completed, 4);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_each_allocation_fails_once),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
