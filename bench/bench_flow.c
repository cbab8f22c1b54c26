/*
 * bench/bench_flow.c -- the transaction manager in process, no journal:
 *
 *   flow.tx               transactions a second on one core, five trivial
 *                         participants, profiler on, idempotency on (each
 *                         request has its own STAN, so every one runs)
 *   flow.tx.profiler_off  the same with the profiler switched off
 *   flow.tx.no_idempotency profiler on, idempotency store off
 *   flow.tx.no_idempotency.profiler_off  both off: the engine alone
 *   flow.allocs_per_tx    malloc calls per transaction once the store is
 *                         full (second half of a flow.tx run)
 *   flow.mem_per_tx       bytes of heap per transaction in flight, measured
 *                         with mallinfo2 over many paused transactions
 *   flow.clock.*          what one read of the profiler's clock costs here
 *                         (x86-64): rdtsc back to back, rdtsc among
 *                         dependent arithmetic (its cost beyond that
 *                         arithmetic alone), and clock_gettime
 *
 * Every participant runs synchronously, so a submit runs the whole
 * transaction and calls back before it returns; the loop is only needed for
 * the paused ones.  Each tx figure is the median of 5 runs of 2,000,000
 * transactions (--quick: 1 run of 200,000), after a warm-up run; each run
 * makes a new flow, so its store starts empty and is full (and evicting)
 * after its first 100,000 transactions.  Every tx figure NAME comes with
 * NAME.cpu: transactions per second of this thread's CPU time, which a
 * loaded machine depresses far less than the wall clock (it still counts
 * the cache misses other processes cause).
 * --only NAME runs one tx figure once (e.g. under callgrind).
 */
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "isoflow/flow.h"
#include "support/bench.h"

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

static int work_prepare(iso_tx *tx, void *data) {
  (void)tx;
  (*(unsigned long *)data)++;
  return ISO_PREPARED;
}

static void work_commit(iso_tx *tx, void *data) {
  (void)tx;
  (*(unsigned long *)data)++;
}

static int approve_prepare(iso_tx *tx, void *data) {
  (*(unsigned long *)data)++;
  iso_tx_set_response_code(tx, "00");
  return ISO_PREPARED;
}

static iso_tx *paused[1 << 20];
static size_t npaused;

static int pause_prepare(iso_tx *tx, void *data) {
  (void)data;
  paused[npaused++] = tx;
  return ISO_PAUSE;
}

static unsigned long counters[5];
static unsigned long completed;

static void on_done(iso_tx *tx, int status, const iso_msg *resp, void *data) {
  (void)tx;
  (void)resp;
  (void)data;
  if (status == 0) completed++;
}

static iso_flow *make_flow(bool profiler, bool idempotency, bool pause_first,
                           uint32_t max_in_flight) {
  iso_flow_config cfg;
  iso_flow_config_init(&cfg);
  cfg.name = "bench";
  cfg.spec = iso_spec_builtin("iso87a");
  cfg.profiler = profiler;
  cfg.idempotency = idempotency;
  cfg.max_in_flight = max_in_flight;
  iso_flow *f;
  if (iso_flow_new(&cfg, &f) != 0) abort();
  static const char *names[5] = {"validate", "limits", "fraud", "balance",
                                 "approve"};
  for (int i = 0; i < 5; i++) {
    iso_participant p = {.name = names[i],
                         .prepare = i == 4 ? approve_prepare : work_prepare,
                         .commit = work_commit,
                         .abort = work_commit,
                         .data = &counters[i]};
    if (i == 0 && pause_first) p.prepare = pause_prepare;
    if (iso_flow_add(f, &p) != 0) abort();
  }
  if (iso_flow_start(f) != 0) abort();
  return f;
}

static void fill_request(iso_msg *m) {
  iso_msg_set_mti(m, "0100");
  iso_msg_set_str(m, 2, "4242424242424242");
  iso_msg_set_str(m, 3, "000000");
  iso_msg_set_str(m, 4, "000000001000");
  iso_msg_set_str(m, 7, "1123131415");
  iso_msg_set_str(m, 11, "000000");
  iso_msg_set_str(m, 12, "131415");
  iso_msg_set_str(m, 13, "1123");
  iso_msg_set_str(m, 32, "123456");
  iso_msg_set_str(m, 37, "000000000001");
  iso_msg_set_str(m, 41, "TERM0001");
  iso_msg_set_str(m, 42, "MERCHANT0000001");
  iso_msg_set_str(m, 49, "840");
}

/* Writes n as 6 digits (the STAN) into s. */
static void stan_of(unsigned long n, char s[7]) {
  for (int i = 5; i >= 0; i--) {
    s[i] = (char)('0' + n % 10);
    n /= 10;
  }
  s[6] = '\0';
}

static unsigned long serial;
static double last_allocs_per_tx;
static double last_cpu_rate; /* the last run's transactions per CPU second */

/* Transactions a second (wall clock) over n submissions. */
static double run_tx(bool profiler, bool idempotency, unsigned long n) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  iso_flow *f = make_flow(profiler, idempotency, false, 10000);
  iso_flow_loop *fl;
  if (iso_flow_loop_new(f, &loop, &fl) != 0) abort();
  iso_msg req;
  iso_msg_init(&req, iso_spec_builtin("iso87a"));
  fill_request(&req);
  char stan[7], dt[11];
  completed = 0;
  unsigned long allocs0 = 0;
  double t0 = bench_now_s(), c0 = bench_cpu_s();
  for (unsigned long i = 0; i < n; i++) {
    /* Allocations are counted over the second half, once the store is
     * full and recycles its entries: the steady state. */
    if (i == n / 2) allocs0 = bench_allocs();
    unsigned long s = serial++;
    stan_of(s % 1000000, stan);
    iso_msg_set(&req, 11, stan, 6);
    if (s % 1000000 == 0) { /* a new transmission time every 1M STANs */
      snprintf(dt, sizeof dt, "11%08lu", (s / 1000000) % 100000000);
      iso_msg_set(&req, 7, dt, 10);
    }
    if (iso_flow_submit(fl, &req, ISO_SUBMIT_BORROW, on_done, NULL) != 0)
      abort();
  }
  double secs = bench_now_s() - t0;
  last_cpu_rate = (double)n / (bench_cpu_s() - c0);
  last_allocs_per_tx = (double)(bench_allocs() - allocs0) / (double)(n - n / 2);
  if (completed != n) {
    fprintf(stderr, "bench_flow: %lu of %lu committed\n", completed, n);
    exit(1);
  }
  iso_flow_loop_close(fl, NULL, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  iso_flow_free(f);
  iso_msg_cleanup(&req);
  return (double)n / secs;
}

/* Heap bytes per paused transaction (request copied into the record). */
static double mem_per_tx(size_t n) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  iso_flow *f = make_flow(true, true, true, (uint32_t)n + 10);
  iso_flow_loop *fl;
  if (iso_flow_loop_new(f, &loop, &fl) != 0) abort();
  iso_msg req;
  iso_msg_init(&req, iso_spec_builtin("iso87a"));
  fill_request(&req);
  char stan[7];
  /* Warm the profiler's histograms and the loop's first allocations. */
  npaused = 0;
  struct mallinfo2 m0 = mallinfo2();
  size_t before = m0.uordblks + m0.hblkhd; /* heap and mmapped blocks */
  for (size_t i = 0; i < n; i++) {
    stan_of(i, stan);
    iso_msg_set_copy(&req, 11, stan, 6);
    if (iso_flow_submit(fl, &req, 0, on_done, NULL) != 0) abort();
  }
  struct mallinfo2 m1 = mallinfo2();
  size_t after = m1.uordblks + m1.hblkhd;
  for (size_t i = 0; i < npaused; i++) iso_tx_resume(paused[i], ISO_PREPARED);
  completed = 0;
  while (completed < npaused) uv_run(&loop, UV_RUN_ONCE);
  iso_flow_loop_close(fl, NULL, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  iso_flow_free(f);
  iso_msg_cleanup(&req);
  return (double)(after - before) / (double)n;
}

/* Prints NAME (the median rate of `runs` runs, wall clock) and NAME.cpu
 * (the median rate per CPU second of this thread). */
static void report_tx(const char *name, bool profiler, bool idempotency,
                      unsigned long n, int runs) {
  double wall[9], cpu[9];
  for (int i = 0; i < runs; i++) {
    wall[i] = run_tx(profiler, idempotency, n);
    cpu[i] = last_cpu_rate;
  }
  printf("bench: %s %.0f tx/s\n", name, bench_median(wall, (size_t)runs));
  printf("bench: %s.cpu %.0f tx/cpu-s\n", name, bench_median(cpu, (size_t)runs));
}

/* ns per operation over n operations, the median of 5 runs each. */
static void clock_cost(unsigned long n) {
  double rd[5], work[5], both[5], gt[5];
  volatile uint64_t sink = 0;
  for (int r = 0; r < 5; r++) {
    uint64_t acc = 0, x = 1;
    double t0 = bench_now_s();
#if defined(__x86_64__)
    for (unsigned long i = 0; i < n; i++) acc += __rdtsc();
#endif
    double t1 = bench_now_s();
    /* Ten dependent multiply-adds (~40 cycles) per step, with and without
     * a clock read beside them: what a read costs amid other work. */
    for (unsigned long i = 0; i < n; i++) {
      for (int k = 0; k < 10; k++) x = x * 2862933555777941757ull + 3037000493u;
      __asm__ volatile("" : "+r"(x));
    }
    double t2 = bench_now_s();
#if defined(__x86_64__)
    for (unsigned long i = 0; i < n; i++) {
      for (int k = 0; k < 10; k++) x = x * 2862933555777941757ull + 3037000493u;
      __asm__ volatile("" : "+r"(x));
      acc += __rdtsc();
    }
#endif
    double t3 = bench_now_s();
    for (unsigned long i = 0; i < n / 4; i++) {
      struct timespec ts;
      clock_gettime(CLOCK_MONOTONIC, &ts);
      acc += (uint64_t)ts.tv_nsec;
    }
    double t4 = bench_now_s();
    sink = acc + x;
    rd[r] = (t1 - t0) / (double)n * 1e9;
    work[r] = (t2 - t1) / (double)n * 1e9;
    both[r] = (t3 - t2) / (double)n * 1e9;
    gt[r] = (t4 - t3) / (double)(n / 4) * 1e9;
  }
  (void)sink;
#if defined(__x86_64__)
  printf("bench: flow.clock.rdtsc %.2f ns\n", bench_median(rd, 5));
  double extra[5];
  for (int r = 0; r < 5; r++) extra[r] = both[r] - work[r];
  printf("bench: flow.clock.rdtsc.in_work %.2f ns\n", bench_median(extra, 5));
#else
  (void)rd;
  (void)work;
  (void)both;
#endif
  printf("bench: flow.clock.gettime %.2f ns\n", bench_median(gt, 5));
}

int main(int argc, char **argv) {
  bool quick = false;
  const char *only = NULL; /* --only NAME: one tx figure, one run, no warm-up
                              (for profilers: instructions per transaction) */
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0)
      quick = true;
    else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
      only = argv[++i];
  }
  unsigned long n = quick ? 200000 : 2000000;
  int runs = quick ? 1 : 5;
  if (only) {
    bool prof = strstr(only, "profiler_off") == NULL;
    bool idem = strstr(only, "no_idempotency") == NULL;
    report_tx(only, prof, idem, n, 1);
    return 0;
  }
  run_tx(true, true, n / 4); /* warm up */
  report_tx("flow.tx", true, true, n, runs);
  printf("bench: flow.allocs_per_tx %.3f calls\n", last_allocs_per_tx);
  report_tx("flow.tx.profiler_off", false, true, n, runs);
  report_tx("flow.tx.no_idempotency", true, false, n, runs);
  report_tx("flow.tx.no_idempotency.profiler_off", false, false, n, runs);
  size_t inflight = quick ? 20000 : 200000;
  printf("bench: flow.mem_per_tx %.0f bytes\n", mem_per_tx(inflight));
  clock_cost(quick ? 1000000 : 10000000);
  return 0;
}
