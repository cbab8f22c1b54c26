/*
 * bench/bench_conn.c -- round trips per second over loopback, client and
 * server in one process.  Two topologies: the server on its own worker loop
 * (its own thread) and the clients on the main loop, so both cores work; or,
 * for one request in flight, one loop serving both ends (the server started
 * on the clients' loop): with a single request in flight the two ends never
 * run at the same time, and a second thread only adds two cross-thread
 * wake-ups per round trip (see docs/PERFORMANCE.md).
 *
 * The workload of moov-io's Go connection benchmark: a 20-byte frame (2-byte
 * length, ASCII MTI 0800, 8-byte binary bitmap, DE 11 as six ASCII digits);
 * the server answers 0810; requests and responses are matched by DE 11,
 * read off the wire by iso_peek_fields (spec iso87a-bbitmap).
 *
 *   conn.rt.w1                one connection, 1 request in flight, client and
 *                             server on one loop (one thread)
 *   conn.rt.w1.xthread        the same with the server on its own thread
 *   conn.rt.w16 / w256        one connection, 16, 256 requests in flight
 *   conn.rt.c1000w16          1,000 connections, 16 in flight each
 *   conn.raw.w256             the server echoes frames without decoding
 *                             (flips the MTI's function digit in place)
 *   conn.mem_per_request      heap bytes per request in flight (mallinfo2
 *                             delta with 65,536 requests outstanding)
 *   conn.rt.w1.busypoll       w1.xthread with both loops polling without blocking
 *                             while traffic flows (iso_server_opts.busy_poll_us
 *                             on the server, UV_RUN_NOWAIT on the client):
 *                             what a kernel wake-up costs on this machine
 *
 * --quick: short runs (figures rough).  --spin: every figure busy-polls.
 * --only NAME: just that figure (for profiling).
 */
#include <malloc.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <uv.h>

#include "isoflow/conn.h"

static double run_seconds = 2.0;
static bool spin; /* busy-poll both loops */


/* ---- the wire message ------------------------------------------------- */

static void make_payload(uint8_t p[18], uint32_t stan) {
  memcpy(p, "0800", 4);
  memset(p + 4, 0, 8);
  p[5] = 0x20; /* bit 11 */
  for (int i = 17; i >= 12; i--, stan /= 10) p[i] = (uint8_t)('0' + stan % 10);
}

/* ---- servers ------------------------------------------------------------ */

/* Decoding server: answers through the connection's normal path (its key
 * function read the MTI and DE 11 with iso_peek_fields). */
static void answer_inbound(iso_conn *conn, iso_inbound_kind kind, const iso_frame *f) {
  if (kind != ISO_INBOUND_REQUEST || f->len > 64) return;
  uint8_t out[64];
  memcpy(out, f->payload, f->len);
  out[2] = '1'; /* 0800 -> 0810 */
  iso_frame r = {NULL, 0, out, f->len};
  iso_conn_send(conn, &r);
}

/* Raw server: its "key function" only looks at the MTI bytes; no codec. */
static int raw_key(void *data, const uint8_t *p, size_t len, iso_match_key *key) {
  (void)data;
  if (len < 4) return ISO_E_MALFORMED;
  memcpy(key->mti, p, 4);
  key->len = 0;
  return 0;
}

enum { DECODE = 0, RAW, SILENT };

/* On `on_loop` (the clients' loop) or, with NULL, on a worker thread. */
static iso_server *start_server(int mode, uv_loop_t *on_loop, int *port) {
  iso_server_opts so;
  memset(&so, 0, sizeof so);
  so.conn.spec = iso_spec_builtin("iso87a-bbitmap");
  so.conn.match.no_mti_class = true;
  so.conn.match.nfields = 1;
  so.conn.match.fields[0] = 11;
  if (mode != DECODE) so.conn.match.fn = raw_key;
  so.conn.on_inbound = mode == SILENT ? NULL : answer_inbound;
  so.loop = on_loop;
  so.workers = 1;
  so.busy_poll_us = spin && !on_loop ? 50 : 0;
  so.max_connections = 5000;
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", 0, &a);
  iso_server *s;
  if (iso_server_start(&so, (struct sockaddr *)&a, &s) < 0) {
    fprintf(stderr, "bench: server start failed\n");
    exit(1);
  }
  *port = iso_server_port(s);
  return s;
}

/* ---- clients ------------------------------------------------------------ */

typedef struct bconn {
  iso_conn *conn;
  uint32_t stan;
  bool up;
} bconn;

static uv_loop_t *loop;
static bool running;
static uint64_t completed, errors;
static int connected, failed_connects;

static void submit(bconn *b);

static void on_response(iso_conn *conn, int status, const iso_frame *resp, void *data) {
  (void)conn;
  (void)resp;
  if (status == 0) completed++;
  else if (status != ISO_E_CANCELED) errors++; /* canceled: the final close */
  if (running) submit(data);
}

static void submit(bconn *b) {
  uint8_t p[18];
  make_payload(p, b->stan);
  b->stan = (b->stan + 1) % 1000000;
  iso_frame f = {NULL, 0, p, sizeof p};
  if (iso_conn_request(b->conn, &f, 0, on_response, b) < 0) errors++;
}

static void on_connected(iso_conn *conn, int status) {
  bconn *b = iso_conn_data(conn);
  if (status == 0) {
    b->up = true;
    connected++;
  } else {
    failed_connects++;
  }
}

static void on_stop(uv_timer_t *t) {
  (void)t;
  running = false;
}

static bconn *connect_clients(int n, int window, int port) {
  bconn *c = calloc((size_t)n, sizeof *c);
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", port, &a);
  iso_conn_opts o;
  memset(&o, 0, sizeof o);
  o.spec = iso_spec_builtin("iso87a-bbitmap");
  o.match.no_mti_class = true;
  o.match.nfields = 1;
  o.match.fields[0] = 11;
  o.max_in_flight = window > 0 ? (uint32_t)window : 65536;
  connected = failed_connects = 0;
  for (int i = 0; i < n; i++) {
    o.data = &c[i];
    c[i].stan = (uint32_t)i * 997 % 1000000;
    if (iso_conn_new(loop, &o, &c[i].conn) < 0 ||
        iso_conn_connect(c[i].conn, (struct sockaddr *)&a, on_connected) < 0) {
      fprintf(stderr, "bench: connect failed\n");
      exit(1);
    }
    /* connect in batches so the listen backlog never overflows */
    if (i % 200 == 199)
      while (connected + failed_connects < i + 1) uv_run(loop, UV_RUN_ONCE);
  }
  while (connected + failed_connects < n) uv_run(loop, UV_RUN_ONCE);
  if (failed_connects) {
    fprintf(stderr, "bench: %d connects failed\n", failed_connects);
    exit(1);
  }
  return c;
}

static void close_clients(bconn *c, int n) {
  for (int i = 0; i < n; i++) iso_conn_close(c[i].conn, ISO_CLOSE_NOW, NULL);
  uv_run(loop, UV_RUN_DEFAULT);
  free(c);
}

/* Round trips per second with n connections, `window` in flight on each;
 * the server on the clients' loop when `one_loop`. */
static double round_trips(int n, int window, int mode, bool one_loop) {
  int port;
  iso_server *server = start_server(mode, one_loop ? loop : NULL, &port);
  bconn *c = connect_clients(n, window, port);
  completed = errors = 0;
  running = true;
  uv_timer_t stop;
  uv_timer_init(loop, &stop);
  uv_timer_start(&stop, on_stop, (uint64_t)(run_seconds * 1000), 0);
  uint64_t t0 = uv_hrtime();
  for (int i = 0; i < n; i++)
    for (int w = 0; w < window; w++) submit(&c[i]);
  while (running) {
    uv_run(loop, spin ? UV_RUN_NOWAIT : UV_RUN_ONCE);
    if (spin) sched_yield();
  }
  double secs = (double)(uv_hrtime() - t0) / 1e9;
  uint64_t done = completed;
  uv_close((uv_handle_t *)&stop, NULL);
  /* let what is in flight come back, then close */
  for (int i = 0; i < 200; i++) uv_run(loop, UV_RUN_NOWAIT);
  /* sanity: every completion was a matched response the server answered */
  iso_conn_stats cs = {0}, ss;
  for (int i = 0; i < n; i++) {
    iso_conn_stats one;
    iso_conn_stats_read(c[i].conn, &one);
    cs.received += one.received;
    cs.unmatched += one.unmatched + one.late;
  }
  iso_server_stats_read(server, &ss);
  if (cs.received < done || ss.inbound < done || cs.unmatched) {
    fprintf(stderr, "bench: inconsistent counters\n");
    exit(1);
  }
  if (one_loop) iso_server_close(server, NULL); /* finishes in close_clients' run */
  close_clients(c, n);
  if (!one_loop) iso_server_close(server, NULL);
  if (errors) fprintf(stderr, "bench: %llu errors\n", (unsigned long long)errors);
  return (double)done / secs;
}

/* Heap bytes per request in flight on the client (main arena). */
static double mem_per_request(void) {
  enum { N = 65536 };
  int port;
  iso_server *server = start_server(SILENT, NULL, &port);
  /* everything the client allocates counts: the connection, its buffers, its
   * request records and match table (sized for N), the output written */
  struct mallinfo2 before = mallinfo2();
  bconn *c = connect_clients(1, N, port);
  running = false; /* no response comes; nothing resubmits */
  for (int i = 0; i < N; i++) submit(&c[0]);
  for (int i = 0; i < 10; i++) uv_run(loop, UV_RUN_NOWAIT); /* output written */
  struct mallinfo2 after = mallinfo2();
  iso_conn_stats st;
  iso_conn_stats_read(c[0].conn, &st);
  double per = ((double)after.uordblks + (double)after.hblkhd -
                (double)before.uordblks - (double)before.hblkhd) / (double)st.in_flight;
  close_clients(c, 1);
  iso_server_close(server, NULL);
  return per;
}

static const char *only;
static bool want(const char *name) { return only == NULL || !strcmp(only, name); }

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quick")) run_seconds = 0.3;
    else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
    else if (!strcmp(argv[i], "--spin")) spin = true;
    else {
      fprintf(stderr, "usage: isoflow-bench-conn [--quick]\n");
      return 2;
    }
  }
  struct rlimit rl;
  getrlimit(RLIMIT_NOFILE, &rl);
  rl.rlim_cur = rl.rlim_max;
  setrlimit(RLIMIT_NOFILE, &rl);
  uv_loop_t l;
  uv_loop_init(&l);
  loop = &l;

  static const struct {
    const char *name;
    int conns, window, mode;
    bool one_loop;
  } runs[] = {{"conn.rt.w1", 1, 1, DECODE, true},
              {"conn.rt.w1.xthread", 1, 1, DECODE, false},
              {"conn.rt.w16", 1, 16, DECODE, false},
              {"conn.rt.w256", 1, 256, DECODE, false},
              {"conn.rt.c1000w16", 1000, 16, DECODE, false},
              {"conn.raw.w256", 1, 256, RAW, false}};
  for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++)
    if (want(runs[i].name)) {
      printf("bench: %s %.0f rt/s\n", runs[i].name,
             round_trips(runs[i].conns, runs[i].window, runs[i].mode, runs[i].one_loop));
      fflush(stdout);
    }
  if (want("conn.mem_per_request"))
    printf("bench: conn.mem_per_request %.0f B\n", mem_per_request());
  if (want("conn.rt.w1.busypoll")) {
    bool was = spin;
    spin = true;
    printf("bench: conn.rt.w1.busypoll %.0f rt/s\n", round_trips(1, 1, DECODE, false));
    spin = was;
  }
  fflush(stdout);
  uv_loop_close(&l);
  return 0;
}
