/*
 * tests/test_flow_profiler.c -- the latency histogram (bucket bounds,
 * percentiles of known inputs, merging) and the flow profiler (counts that
 * match transaction counts, per-loop figures merged, the three output
 * formats, switching it off), and the precise clock that times stages
 * (the TSC scaled to CLOCK_MONOTONIC where it is invariant).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "flow/clock.h"
#include "flow/histogram.h"
#include "isoflow/flow.h"
#include "support/flow_fixture.h"

static void buckets_keep_two_significant_digits(void **state) {
  (void)state;
  for (uint64_t v = 0; v < 300; v++)
    assert_true(iso__hist_bucket_high(iso__hist_bucket(v)) >= v);
  /* Every value comes back within 1 % from its bucket's upper bound. */
  uint64_t vals[] = {255, 256, 257, 1000, 12345, 999999, 1000000007ull,
                     59999999999ull, 60000000000ull};
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
    uint64_t hi = iso__hist_bucket_high(iso__hist_bucket(vals[i]));
    assert_true(hi >= vals[i]);
    assert_true((double)(hi - vals[i]) <= (double)vals[i] * 0.01);
  }
  assert_true(iso__hist_bucket(ISO__HIST_MAX_NS) < ISO__HIST_BUCKETS);
  assert_int_equal(iso__hist_bucket(UINT64_MAX), iso__hist_bucket(ISO__HIST_MAX_NS));
}

static void percentiles_of_known_inputs(void **state) {
  (void)state;
  iso__hist *h = calloc(1, sizeof *h);
  iso__hist_snap *snap = calloc(1, sizeof *snap);
  /* 1..10000 microseconds, once each. */
  for (uint64_t us = 1; us <= 10000; us++) iso__hist_record(h, us * 1000);
  iso__hist_merge(snap, h);
  iso_latency l;
  iso__hist_summary(snap, &l);
  assert_int_equal(l.count, 10000);
  assert_int_equal(l.max, 10000000);
  struct {
    uint64_t got, want;
  } checks[] = {{l.p50, 5000000}, {l.p90, 9000000}, {l.p99, 9900000},
                {l.p999, 9990000}, {l.p9999, 10000000}};
  for (size_t i = 0; i < 5; i++) {
    assert_true(checks[i].got >= checks[i].want);
    assert_true((double)checks[i].got <= (double)checks[i].want * 1.01);
  }
  /* Merging a second copy doubles counts, keeps the percentiles. */
  iso__hist_merge(snap, h);
  iso_latency l2;
  iso__hist_summary(snap, &l2);
  assert_int_equal(l2.count, 20000);
  assert_int_equal(l2.p50, l.p50);
  /* A single outlier shows in the max and p99.99 only. */
  memset(snap, 0, sizeof *snap);
  iso__hist *h2 = calloc(1, sizeof *h2);
  for (int i = 0; i < 9999; i++) iso__hist_record(h2, 100);
  iso__hist_record(h2, 50000000000ull);
  iso__hist_merge(snap, h2);
  iso__hist_summary(snap, &l);
  assert_int_equal(l.p50, 100);
  assert_int_equal(l.p999, 100);
  assert_int_equal(l.max, 50000000000ull);
  assert_true(l.p9999 == 100);
  assert_true(iso__hist_value_at(snap, 1.0) == 50000000000ull);
  free(h);
  free(h2);
  free(snap);
}

typedef struct env {
  uv_loop_t loop;
  iso_flow *flow;
  iso_flow_loop *fl;
  fx_part a, b;
} env;

static void env_init(env *e) {
  iso_flow_config cfg;
  fx_config(&cfg);
  cfg.name = "auth";
  cfg.idempotency = false;
  assert_int_equal(uv_loop_init(&e->loop), 0);
  assert_int_equal(iso_flow_new(&cfg, &e->flow), 0);
  e->a = (fx_part){.name = "check", .result = ISO_PREPARED};
  e->b = (fx_part){.name = "approve", .result = ISO_PREPARED};
  iso_participant pa = fx_participant(&e->a), pb = fx_participant(&e->b);
  assert_int_equal(iso_flow_add(e->flow, &pa), 0);
  assert_int_equal(iso_flow_add(e->flow, &pb), 0);
  fx_flow_start(e->flow, &e->loop, &e->fl);
}

static void run_n(env *e, int n) {
  iso_msg m;
  iso_msg_init(&m, iso_spec_builtin("iso87a"));
  fx_request(&m, "0100", "000001", "000000000100");
  fx_done d = {0};
  for (int i = 0; i < n; i++)
    assert_int_equal(iso_flow_submit(e->fl, &m, 0, fx_on_done, &d), 0);
  int all = 0;
  for (int spin = 0; spin < 5000 && d.calls < n; spin++)
    uv_run(&e->loop, UV_RUN_NOWAIT);
  all = d.calls == n;
  assert_true(all);
  iso_msg_cleanup(&m);
}

static void counts_match_transactions(void **state) {
  (void)state;
  env e;
  env_init(&e);
  run_n(&e, 250);
  iso_latency l;
  assert_int_equal(iso_flow_latency(e.flow, "check", ISO_PHASE_PREPARE, &l), 0);
  assert_int_equal(l.count, 250);
  assert_int_equal(iso_flow_latency(e.flow, "approve", ISO_PHASE_COMMIT, &l), 0);
  assert_int_equal(l.count, 250);
  assert_int_equal(iso_flow_latency(e.flow, "approve", ISO_PHASE_ABORT, &l), 0);
  assert_int_equal(l.count, 0);
  assert_int_equal(iso_flow_latency(e.flow, NULL, ISO_PHASE_TOTAL, &l), 0);
  assert_int_equal(l.count, 250);
  assert_true(l.p50 <= l.p99 && l.p99 <= l.max);
  assert_int_equal(iso_flow_latency(e.flow, "nobody", ISO_PHASE_COMMIT, &l),
                   ISO_E_NOT_FOUND);
  iso_flow_stats st;
  iso_flow_stats_get(e.flow, &st);
  assert_int_equal(st.committed, 250);

  /* Off: transactions still run, nothing more is recorded. */
  iso_flow_profiler_enable(e.flow, false);
  run_n(&e, 10);
  assert_int_equal(iso_flow_latency(e.flow, "check", ISO_PHASE_PREPARE, &l), 0);
  assert_int_equal(l.count, 250);
  iso_flow_profiler_enable(e.flow, true);
  run_n(&e, 10);
  assert_int_equal(iso_flow_latency(e.flow, "check", ISO_PHASE_PREPARE, &l), 0);
  assert_int_equal(l.count, 260);
  fx_flow_end(&e.loop, e.fl, e.flow);
}

static void renders_table_json_prometheus(void **state) {
  (void)state;
  env e;
  env_init(&e);
  run_n(&e, 20);
  char small[16];
  size_t need;
  assert_int_equal(iso_flow_profile(e.flow, ISO_PROFILE_TEXT, small,
                                    sizeof small, &need), ISO_E_NOSPC);
  assert_true(need > sizeof small);
  char *buf = malloc(need + 1);
  size_t len;
  assert_int_equal(iso_flow_profile(e.flow, ISO_PROFILE_TEXT, buf, need + 1,
                                    &len), 0);
  assert_int_equal(len, need);
  assert_non_null(strstr(buf, "flow auth"));
  assert_non_null(strstr(buf, "check"));
  assert_non_null(strstr(buf, "p99.99"));
  free(buf);

  char big[8192];
  assert_int_equal(iso_flow_profile(e.flow, ISO_PROFILE_JSON, big, sizeof big,
                                    &len), 0);
  assert_true(strncmp(big, "{\"flow\":\"auth\",\"stages\":[{", 26) == 0);
  assert_non_null(strstr(big, "\"participant\":\"approve\",\"phase\":\"commit\","
                              "\"count\":20"));
  assert_non_null(strstr(big, "\"participant\":null,\"phase\":\"total\""));
  assert_true(big[len - 1] == '}' && big[len - 2] == ']');

  assert_int_equal(iso_flow_profile(e.flow, ISO_PROFILE_PROMETHEUS, big,
                                    sizeof big, &len), 0);
  assert_non_null(strstr(big, "# TYPE isoflow_stage_seconds summary"));
  assert_non_null(strstr(big,
                         "isoflow_stage_seconds_count{flow=\"auth\","
                         "participant=\"check\",phase=\"prepare\"} 20\n"));
  assert_non_null(strstr(big, "quantile=\"0.9999\"}"));
  fx_flow_end(&e.loop, e.fl, e.flow);
}

static void names_are_escaped(void **state) {
  (void)state;
  iso_flow_config cfg;
  fx_config(&cfg);
  cfg.name = "say \"hi\"";
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  iso_flow *f;
  assert_int_equal(iso_flow_new(&cfg, &f), 0);
  fx_part p = {.name = "back\\slash", .result = ISO_PREPARED};
  iso_participant ip = fx_participant(&p);
  assert_int_equal(iso_flow_add(f, &ip), 0);
  assert_int_equal(iso_flow_start(f), 0);
  iso_flow_loop *fl;
  assert_int_equal(iso_flow_loop_new(f, &loop, &fl), 0);
  fx_done d;
  fx_submit(fl, "0100", "000001", "000000000100", &d);
  assert_true(fx_run_until(&loop, &d.calls, 5000));
  char big[8192];
  size_t len;
  assert_int_equal(iso_flow_profile(f, ISO_PROFILE_JSON, big, sizeof big,
                                    &len), 0);
  assert_non_null(strstr(big, "{\"flow\":\"say \\\"hi\\\"\""));
  assert_non_null(strstr(big, "\"participant\":\"back\\\\slash\""));
  assert_int_equal(iso_flow_profile(f, ISO_PROFILE_PROMETHEUS, big,
                                    sizeof big, &len), 0);
  assert_non_null(strstr(big, "flow=\"say \\\"hi\\\"\",participant="
                              "\"back\\\\slash\""));
  fx_flow_end(&loop, fl, f);
}

static int stages_seen;
static void check_stages(iso_tx *tx, int status, const iso_msg *r, void *d) {
  (void)r;
  (void)d;
  assert_int_equal(status, 0);
  iso_stage_timing st[16];
  size_t n = iso_tx_stages(tx, st, 16);
  assert_int_equal(n, 4); /* two prepares, two commits */
  const char *who[] = {"check", "approve", "check", "approve"};
  const iso_phase ph[] = {ISO_PHASE_PREPARE, ISO_PHASE_PREPARE,
                          ISO_PHASE_COMMIT, ISO_PHASE_COMMIT};
  for (size_t i = 0; i < n; i++) {
    assert_string_equal(st[i].participant, who[i]);
    assert_int_equal(st[i].phase, ph[i]);
    if (i) /* each stage starts where the previous one ended */
      assert_true(st[i].start_ns == st[i - 1].start_ns + st[i - 1].duration_ns);
  }
  assert_int_equal(iso_tx_stages(tx, st, 1), 4); /* count even when short */
  stages_seen++;
}

static void stages_per_transaction(void **state) {
  (void)state;
  iso_flow_config cfg;
  fx_config(&cfg);
  cfg.record_stages = true;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  iso_flow *f;
  assert_int_equal(iso_flow_new(&cfg, &f), 0);
  fx_part a = {.name = "check", .result = ISO_PREPARED};
  fx_part b = {.name = "approve", .result = ISO_PREPARED};
  iso_participant pa = fx_participant(&a), pb = fx_participant(&b);
  assert_int_equal(iso_flow_add(f, &pa), 0);
  assert_int_equal(iso_flow_add(f, &pb), 0);
  assert_int_equal(iso_flow_start(f), 0);
  iso_flow_loop *fl;
  assert_int_equal(iso_flow_loop_new(f, &loop, &fl), 0);
  iso_msg m;
  iso_msg_init(&m, cfg.spec);
  fx_request(&m, "0100", "000001", "000000000100");
  stages_seen = 0;
  assert_int_equal(iso_flow_submit(fl, &m, 0, check_stages, NULL), 0);
  assert_true(fx_run_until(&loop, &stages_seen, 5000));
  fx_close(&loop, fl);
  iso_msg_cleanup(&m);
  iso_flow_free(f);
}

/* Reads the precise clock between two CLOCK_MONOTONIC reads that lie within
 * 50 us of each other (a preemption in between spoils a try). */
static uint64_t bracketed(uint64_t *before, uint64_t *after) {
  uint64_t now = 0;
  for (int i = 0; i < 1000; i++) {
    *before = iso__mono_ns();
    now = iso__now_ns();
    *after = iso__mono_ns();
    if (*after - *before < 50000u) break;
  }
  return now;
}

/* The precise clock reads CLOCK_MONOTONIC's scale (whether it is the TSC
 * or not), never goes back, and measures a sleep as CLOCK_MONOTONIC does. */
static void precise_clock_follows_monotonic(void **state) {
  (void)state;
  iso__clock_init();
  uint64_t a0, b0, a1, b1;
  uint64_t p0 = bracketed(&a0, &b0);
  assert_true(p0 + 100000u >= a0); /* within 0.1 ms of its bracket */
  assert_true(p0 <= b0 + 100000u);
  uint64_t prev = iso__now_ns();
  for (int i = 0; i < 100000; i++) {
    uint64_t now = iso__now_ns();
    assert_true(now >= prev);
    prev = now;
  }
  p0 = bracketed(&a0, &b0);
  struct timespec nap = {0, 30000000}; /* 30 ms */
  nanosleep(&nap, NULL);
  uint64_t p1 = bracketed(&a1, &b1);
  uint64_t shortest = a1 - b0, longest = b1 - a0, slack = longest / 100;
  assert_true(p1 - p0 + slack >= shortest); /* 1 % */
  assert_true(p1 - p0 <= longest + slack);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(buckets_keep_two_significant_digits),
      cmocka_unit_test(percentiles_of_known_inputs),
      cmocka_unit_test(counts_match_transactions),
      cmocka_unit_test(renders_table_json_prometheus),
      cmocka_unit_test(names_are_escaped),
      cmocka_unit_test(stages_per_transaction),
      cmocka_unit_test(precise_clock_follows_monotonic),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
