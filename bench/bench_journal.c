/*
 * bench/bench_journal.c -- a flow with the SQLite journal, in process, with
 * durable sync (WAL, synchronous=FULL) and group commit:
 *
 *   journal.tx         transactions a second: submit -> decision durable ->
 *                      commit -> response, all journaled (begin, decision,
 *                      completion), card data protected (no key file: PAN
 *                      masked + keyed hash)
 *   journal.tx.key     the same with a key file: protected fields sealed
 *                      with AES-256-GCM
 *   journal.wait.p99   p99 of the wait for durability, microseconds
 *   journal.group      mean transactions per group commit
 *   journal.writer.cpu CPU time of the writer thread per transaction, us
 *                      (what bounds journal.tx; steadier than the rate on
 *                      a shared machine)
 *   journal.loop.cpu   CPU time of the loop thread per transaction, us (the
 *                      flow plus serializing and protecting the events)
 *   journal.writer.cpu.key, journal.loop.cpu.key
 *                      the same with the key file (AES-256-GCM on the loop)
 *
 * One loop thread submits, keeping up to `window` transactions in flight
 * (ISO_SUBMIT_BORROW, two trivial participants); the journal's writer thread
 * runs on the other core.  Figures are the median of 5 runs (--quick: 1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "isoflow/journal.h"
#include "support/bench.h"

static int approve(iso_tx *tx, void *data) {
  (void)data;
  iso_tx_set_response_code(tx, "00");
  return ISO_PREPARED;
}

static void commit(iso_tx *tx, void *data) {
  (void)tx;
  (*(unsigned long *)data)++;
}

static unsigned long in_flight, done_count;

static void on_done(iso_tx *tx, int status, const iso_msg *response, void *data) {
  (void)tx;
  (void)response;
  (void)data;
  if (status) {
    fprintf(stderr, "bench: transaction failed: %s\n", iso_err_name(status));
    exit(1);
  }
  in_flight--;
  done_count++;
}

typedef struct result {
  double tps, wait_p99_us, group, writer_us, loop_us;
} result;

static result run(unsigned long n, bool key, const char *dir) {
  char path[512], keypath[512];
  snprintf(path, sizeof path, "%s/bench.db", dir);
  unlink(path);
  char wal[600];
  snprintf(wal, sizeof wal, "%s-wal", path);
  unlink(wal);
  snprintf(keypath, sizeof keypath, "%s/bench.key", dir);
  if (key) {
    FILE *f = fopen(keypath, "wb");
    for (int i = 0; i < 32; i++) fputc(i * 13 + 7, f);
    fclose(f);
  }
  const iso_spec *spec = iso_spec_builtin("iso87a");
  iso_journal_config jc;
  iso_journal_config_init(&jc);
  jc.path = path;
  jc.spec = spec;
  jc.key_file = key ? keypath : NULL;
  jc.sync = getenv("BENCH_SYNC_OFF") ? ISO_JOURNAL_SYNC_OFF : ISO_JOURNAL_SYNC_FULL;
  jc.queue_capacity = 1u << 20;
  iso_journal_db *db;
  if (iso_journal_open(&jc, &db)) {
    fprintf(stderr, "bench: %s\n", iso_journal_open_error());
    exit(1);
  }
  iso_flow_config cfg;
  iso_flow_config_init(&cfg);
  cfg.spec = spec;
  cfg.max_in_flight = 65536;
  iso_flow *flow;
  unsigned long commits = 0;
  iso_flow_new(&cfg, &flow);
  iso_participant a = {.name = "authorize", .prepare = approve};
  iso_participant l = {.name = "ledger", .prepare = approve, .commit = commit,
                       .data = &commits};
  iso_flow_add(flow, &a);
  iso_flow_add(flow, &l);
  iso_journal j;
  iso_journal_interface(db, &j);
  iso_flow_set_journal(flow, &j);
  iso_flow_start(flow);
  uv_loop_t loop;
  uv_loop_init(&loop);
  iso_flow_loop *fl;
  iso_flow_loop_new(flow, &loop, &fl);

  /* requests prepared up front: the measured part is flow + journal */
  enum { NREQ = 4096 };
  static iso_msg reqs[NREQ];
  static char stans[NREQ][7];
  for (int i = 0; i < NREQ; i++) {
    iso_msg *m = &reqs[i];
    iso_msg_init(m, spec);
    iso_msg_set_mti(m, "0200");
    iso_msg_set_str(m, 2, "4111111111111111");
    iso_msg_set_str(m, 3, "000000");
    iso_msg_set_str(m, 4, "000000012345");
    iso_msg_set_str(m, 7, "1123101500");
    snprintf(stans[i], sizeof stans[i], "%06d", i);
    iso_msg_set(m, 11, stans[i], 6);
    iso_msg_set_str(m, 41, "TERM0001");
    iso_msg_set_str(m, 49, "840");
  }
  unsigned long window = getenv("BENCH_WINDOW") ? strtoul(getenv("BENCH_WINDOW"), NULL, 10) : 8192, submitted = 0;
  in_flight = done_count = 0;
  struct timespec c0, c1;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
  double t0 = bench_now_s();
  while (done_count < n) {
    while (submitted < n && in_flight < window) {
      /* a unique key per transaction: vary DE 7 through the STAN table and
       * the round */
      iso_msg *m = &reqs[submitted % NREQ];
      char *st = stans[submitted % NREQ];
      snprintf(st, 7, "%06lu", submitted % 1000000);
      int rc = iso_flow_submit(fl, m, ISO_SUBMIT_BORROW, on_done, NULL);
      if (rc) {
        fprintf(stderr, "bench: submit: %s\n", iso_err_name(rc));
        exit(1);
      }
      in_flight++;
      submitted++;
    }
    uv_run(&loop, UV_RUN_ONCE);
  }
  double secs = bench_now_s() - t0;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
  result r = {.tps = (double)n / secs};
  r.loop_us = ((double)(c1.tv_sec - c0.tv_sec) * 1e6 +
               (double)(c1.tv_nsec - c0.tv_nsec) / 1e3) / (double)n;
  iso_latency lat;
  if (iso_flow_latency(flow, NULL, ISO_PHASE_JOURNAL_WAIT, &lat) == 0)
    r.wait_p99_us = (double)lat.p99 / 1000.0;
  iso_journal_stats js;
  iso_journal_stats_get(db, &js);
  r.group = js.groups ? (double)n / (double)js.groups : 0;
  r.writer_us = (double)js.writer_cpu_ns / 1000.0 / (double)n;
  iso_flow_loop_close(fl, NULL, NULL);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  iso_flow_free(flow);
  iso_journal_close(db);
  for (int i = 0; i < NREQ; i++) iso_msg_cleanup(&reqs[i]);
  if (getenv("BENCH_KEEP")) return r; /* to look at the rows */
  unlink(path);
  unlink(wal);
  return r;
}

int main(int argc, char **argv) {
  bool quick = argc > 1 && !strcmp(argv[1], "--quick");
  unsigned long n = quick ? 100000 : 1000000;
  int runs = quick ? 1 : 5;
  /* for profiling: BENCH_N transactions, BENCH_RUNS runs, BENCH_NO_KEY
   * (no run with the key), BENCH_KEY_ONLY (no run without it); BENCH_KEEP
   * leaves the journal in ISOFLOW_BENCH_DIR */
  if (getenv("BENCH_N")) n = strtoul(getenv("BENCH_N"), NULL, 10);
  if (getenv("BENCH_RUNS")) runs = atoi(getenv("BENCH_RUNS"));
  if (runs < 1 || runs > 5) runs = 1;
  bool with_key = !getenv("BENCH_NO_KEY"), without_key = !getenv("BENCH_KEY_ONLY");
  const char *dir = getenv("ISOFLOW_BENCH_DIR");
  char tmp[] = "/tmp/isoflow-bench-journal-XXXXXX";
  if (!dir) dir = mkdtemp(tmp);
  double tps[5], tpsk[5], wait[5], group[5], wus[5], lus[5], wusk[5], lusk[5];
  for (int i = 0; i < runs; i++) {
    result r = without_key ? run(n, false, dir) : (result){0};
    tps[i] = r.tps;
    wait[i] = r.wait_p99_us;
    group[i] = r.group;
    wus[i] = r.writer_us;
    lus[i] = r.loop_us;
    result k = with_key ? run(n, true, dir) : (result){0};
    tpsk[i] = k.tps;
    wusk[i] = k.writer_us;
    lusk[i] = k.loop_us;
  }
  printf("bench: journal.tx %.0f tx/s\n", bench_median(tps, (size_t)runs));
  printf("bench: journal.tx.key %.0f tx/s\n", bench_median(tpsk, (size_t)runs));
  printf("bench: journal.wait.p99 %.0f us\n", bench_median(wait, (size_t)runs));
  printf("bench: journal.group %.0f tx\n", bench_median(group, (size_t)runs));
  printf("bench: journal.writer.cpu %.2f us/tx\n", bench_median(wus, (size_t)runs));
  printf("bench: journal.loop.cpu %.2f us/tx\n", bench_median(lus, (size_t)runs));
  printf("bench: journal.writer.cpu.key %.2f us/tx\n", bench_median(wusk, (size_t)runs));
  printf("bench: journal.loop.cpu.key %.2f us/tx\n", bench_median(lusk, (size_t)runs));
  if (dir == tmp) rmdir(tmp);
  return 0;
}
