/*
 * tests/test_conn_pool.c -- pools: the minimum, round robin, the filter,
 * degraded state, reconnecting after the server restarts, backoff growth.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "conn/conn_internal.h"
#include "support/conn_harness.h"
#include "support/conn_link.h"

static int state_changes;
static iso_pool_state last_state;
static void on_state(iso_pool *pool, iso_pool_state s) {
  (void)pool;
  state_changes++;
  last_state = s;
}

static bool pool_closed;
static void on_pool_closed(iso_pool *pool) {
  assert_null(pool);
  pool_closed = true;
}

static void close_pool(iso_pool *p, uv_loop_t *loop) {
  pool_closed = false;
  iso_pool_close(p, on_pool_closed);
  assert_true(th_run_until(loop, &pool_closed, 3000));
}

/* Runs until the pool reaches `want` or 3 s. */
static bool wait_state(uv_loop_t *loop, iso_pool *p, iso_pool_state want) {
  for (int i = 0; i < 300; i++) {
    if (iso_pool_state_get(p) == want) return true;
    th_run_for(loop, 10);
  }
  return iso_pool_state_get(p) == want;
}

static iso_pool *start_pool(uv_loop_t *loop, struct sockaddr_in *addrs, size_t n,
                            unsigned min_up, iso_pool_filter_fn filter) {
  const struct sockaddr *list[8];
  for (size_t i = 0; i < n; i++) list[i] = (const struct sockaddr *)&addrs[i];
  iso_pool_opts o;
  memset(&o, 0, sizeof o);
  o.conn = th_conn_opts();
  o.addrs = list;
  o.naddrs = n;
  o.min_up = min_up;
  o.backoff_initial_ms = 10;
  o.backoff_max_ms = 40;
  o.filter = filter;
  o.on_state = on_state;
  iso_pool *p;
  assert_int_equal(iso_pool_start(loop, &o, &p), 0);
  return p;
}

/* Which server-side connection answered: the server echoes, and we note the
 * connection a request arrived on through its held copy. */
static void minimum_and_round_robin(void **state) {
  (void)state;
  th_link l;
  th_link_serve(&l, TH_HOLD, NULL);
  struct sockaddr_in a[3] = {th_addr(l.ts.port), th_addr(l.ts.port), th_addr(l.ts.port)};
  state_changes = 0;
  iso_pool *p = start_pool(&l.loop, a, 3, 2, NULL);
  assert_int_equal(iso_pool_state_get(p), ISO_POOL_DOWN);
  assert_true(wait_state(&l.loop, p, ISO_POOL_UP));
  assert_int_equal(last_state, ISO_POOL_UP); /* told, via DEGRADED or not */
  assert_true(state_changes >= 1);
  th_run_for(&l.loop, 20);
  assert_int_equal(iso_pool_healthy(p), 3);
  assert_int_equal(l.ts.connections, 3);
  /* six requests: two on each connection, in turn */
  th_result r[6];
  for (int i = 0; i < 6; i++) {
    uint8_t buf[128];
    char stan[7] = "00000";
    stan[5] = (char)('0' + i);
    stan[6] = 0;
    size_t n = th_pack(buf, sizeof buf, "0100", stan, "TERM0001", NULL);
    iso_frame f = {NULL, 0, buf, (uint32_t)n};
    memset(&r[i], 0, sizeof r[i]);
    assert_int_equal(iso_pool_request(p, &f, 0, th_on_response, &r[i]), 0);
  }
  assert_true(th_run_count(&l.loop, &l.ts.nheld, 6, 2000));
  /* every server-side connection got exactly two */
  for (int i = 0; i < 6; i++) {
    int same = 0;
    for (int j = 0; j < 6; j++) same += l.ts.held[j].conn == l.ts.held[i].conn;
    assert_int_equal(same, 2);
  }
  for (int i = 0; i < 6; i++) th_server_answer(&l.ts, i);
  for (int i = 0; i < 6; i++) {
    assert_true(th_run_until(&l.loop, &r[i].done, 2000));
    assert_int_equal(r[i].status, 0);
  }
  iso_conn_stats st;
  iso_pool_stats_read(p, &st);
  assert_int_equal(st.sent, 6);
  assert_int_equal(st.received, 6);
  assert_int_equal(st.connections, 3);
  close_pool(p, &l.loop);
  th_link_close(&l, ISO_CLOSE_NOW);
}

static void degraded_when_below_minimum(void **state) {
  (void)state;
  th_link l;
  th_link_serve(&l, TH_ECHO, NULL);
  struct sockaddr_in a[2] = {th_addr(l.ts.port), th_addr(th_unused_port())};
  iso_pool *p = start_pool(&l.loop, a, 2, 2, NULL);
  assert_true(wait_state(&l.loop, p, ISO_POOL_DEGRADED));
  th_run_for(&l.loop, 100);
  assert_int_equal(iso_pool_state_get(p), ISO_POOL_DEGRADED);
  assert_int_equal(iso_pool_healthy(p), 1);
  /* requests still go through the healthy one */
  th_result r = {0};
  uint8_t buf[128];
  size_t n = th_pack(buf, sizeof buf, "0100", "000001", "TERM0001", NULL);
  iso_frame f = {NULL, 0, buf, (uint32_t)n};
  assert_int_equal(iso_pool_request(p, &f, 0, th_on_response, &r), 0);
  assert_true(th_run_until(&l.loop, &r.done, 2000));
  assert_int_equal(r.status, 0);
  close_pool(p, &l.loop);
  th_link_close(&l, ISO_CLOSE_NOW);
}

static bool only_marked(iso_conn *conn, void *data) {
  (void)data;
  return iso_conn_data(conn) != NULL;
}

static void filter_excludes(void **state) {
  (void)state;
  th_link l;
  th_link_serve(&l, TH_ECHO, NULL);
  struct sockaddr_in a[2] = {th_addr(l.ts.port), th_addr(l.ts.port)};
  iso_pool *p = start_pool(&l.loop, a, 2, 1, only_marked);
  th_run_for(&l.loop, 100);
  assert_int_equal(l.ts.connections, 2);          /* both established ... */
  assert_int_equal(iso_pool_healthy(p), 0);     /* ... neither passes */
  assert_int_equal(iso_pool_state_get(p), ISO_POOL_DOWN);
  assert_null(iso_pool_pick(p));
  th_result r;
  uint8_t buf[128];
  size_t n = th_pack(buf, sizeof buf, "0100", "000001", "TERM0001", NULL);
  iso_frame f = {NULL, 0, buf, (uint32_t)n};
  assert_int_equal(iso_pool_request(p, &f, 0, th_on_response, &r), ISO_E_NO_CONNECTION);
  close_pool(p, &l.loop);
  th_link_close(&l, ISO_CLOSE_NOW);
}

static void reconnects_after_server_restart(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  th_server ts;
  th_server_start(&ts, &loop, NULL, TH_ECHO);
  int port = ts.port;
  struct sockaddr_in a[1] = {th_addr(port)};
  iso_pool *p = start_pool(&loop, a, 1, 1, NULL);
  assert_true(wait_state(&loop, p, ISO_POOL_UP));
  th_server_close(&ts, &loop);
  assert_true(wait_state(&loop, p, ISO_POOL_DOWN));
  th_run_for(&loop, 100); /* a few failed attempts against the closed port */
  /* the server comes back on the same port */
  iso_server_opts so = {0};
  so.conn = th_conn_opts();
  so.loop = &loop;
  struct sockaddr_in sa = th_addr(port);
  iso_server *again;
  assert_int_equal(iso_server_start(&so, (struct sockaddr *)&sa, &again), 0);
  assert_true(wait_state(&loop, p, ISO_POOL_UP));
  iso_conn_stats st;
  iso_pool_stats_read(p, &st);
  assert_int_equal(st.reconnects, 1);
  close_pool(p, &loop);
  ts.server = again;
  th_server_close(&ts, &loop);
  th_loop_close(&loop);
}

static void backoff_grows_to_cap_with_jitter(void **state) {
  (void)state;
  /* the upper half of initial * 2^n, capped */
  for (uint32_t rnd = 0; rnd < 1000; rnd += 7) {
    uint32_t d0 = iso__pool_backoff(100, 1000, 0, rnd);
    uint32_t d3 = iso__pool_backoff(100, 1000, 3, rnd);
    uint32_t d9 = iso__pool_backoff(100, 1000, 9, rnd);
    assert_true(d0 >= 50 && d0 <= 100);
    assert_true(d3 >= 400 && d3 <= 800);
    assert_true(d9 >= 500 && d9 <= 1000);
  }
  assert_true(iso__pool_backoff(100, 1000, 40, 0) <= 1000); /* no overflow */
  assert_int_not_equal(iso__pool_backoff(100, 1000, 2, 1), iso__pool_backoff(100, 1000, 2, 150));

  /* and in practice: against a dead port, attempts thin out */
  uv_loop_t loop;
  uv_loop_init(&loop);
  struct sockaddr_in a[1] = {th_addr(th_unused_port())};
  iso_pool *p = start_pool(&loop, a, 1, 1, NULL);
  th_run_for(&loop, 400);
  iso_conn_stats st;
  iso_pool_stats_read(p, &st);
  /* 10, 20, 40, 40 ... ms (halved at worst): without backoff 10 ms retries
   * would make ~40 attempts; with it, at most 400/20 + 3 */
  assert_int_equal(st.failed, 0); /* never established: not "failed links" */
  assert_true(st.connect_errors >= 4);
  assert_true(st.connect_errors <= 400 / 20 + 3);
  assert_int_equal(iso_pool_state_get(p), ISO_POOL_DOWN);
  close_pool(p, &loop);
  th_loop_close(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(minimum_and_round_robin),
      cmocka_unit_test(degraded_when_below_minimum),
      cmocka_unit_test(filter_excludes),
      cmocka_unit_test(reconnects_after_server_restart),
      cmocka_unit_test(backoff_grows_to_cap_with_jitter),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
