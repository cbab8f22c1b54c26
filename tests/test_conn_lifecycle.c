/*
 * tests/test_conn_lifecycle.c -- a connection's life: connect failures, the
 * sign-on hook, idle ping, read timeout, graceful and immediate close, a peer
 * that closes, references that outlive the link.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "support/conn_harness.h"
#include "support/conn_link.h"

static void connect_refused_reports_connect_error(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  th_client tc;
  assert_int_equal(th_client_connect(&tc, &loop, NULL, th_unused_port()), ISO_E_CONNECT);
  assert_int_equal(tc.closed + tc.failed, 0); /* never established */
  th_result r;
  assert_int_equal(th_request(tc.conn, "000001", 0, &r), ISO_E_CLOSED);
  th_client_close(&tc, &loop, ISO_CLOSE_GRACEFUL);
  th_loop_close(&loop);
}

/* ---- sign-on ----------------------------------------------------------- */
static th_result signon_result;
static void signon_answered(iso_conn *conn, int status, const iso_frame *f, void *data) {
  th_on_response(conn, status, f, data);
  iso_conn_signon_done(conn, status);
}
static void signon_ok(iso_conn *conn) {
  assert_false(iso_conn_is_up(conn));
  uint8_t buf[128];
  size_t n = th_pack(buf, sizeof buf, "0800", "000900", NULL, NULL);
  iso_frame f = {NULL, 0, buf, (uint32_t)n};
  memset(&signon_result, 0, sizeof signon_result);
  assert_int_equal(iso_conn_request(conn, &f, 0, signon_answered, &signon_result), 0);
}
static void signon_refused(iso_conn *conn) { iso_conn_signon_done(conn, ISO_E_NOT_FOUND); }

static void signon_runs_before_established(void **state) {
  (void)state;
  iso_conn_opts o = th_conn_opts();
  o.signon = signon_ok;
  th_link l;
  th_link_open(&l, TH_ECHO, NULL, &o);
  assert_true(signon_result.done);
  assert_string_equal(signon_result.mti, "0810");
  assert_true(iso_conn_is_up(l.tc.conn));
  assert_true(iso_conn_signed_on(l.tc.conn));
  th_client_close(&l.tc, &l.loop, ISO_CLOSE_GRACEFUL);
  assert_int_equal(l.tc.closed, 1);
  assert_int_equal(l.tc.down_status, 0);

  o.signon = signon_refused;
  assert_int_equal(th_client_connect(&l.tc, &l.loop, &o, l.ts.port), ISO_E_SIGNON);
  assert_false(iso_conn_is_up(l.tc.conn));
  assert_int_equal(l.tc.closed + l.tc.failed, 0);
  th_link_close(&l, ISO_CLOSE_NOW);
}

/* ---- idle ping and read timeout --------------------------------------- */
static void idle_ping_sent_and_answered(void **state) {
  (void)state;
  uint8_t ping[128];
  size_t n = th_pack(ping, sizeof ping, "0800", "000000", NULL, NULL);
  iso_conn_opts o = th_conn_opts();
  o.idle_ping_ms = 40;
  o.ping = ping;
  o.ping_len = n;
  th_link l;
  th_link_open(&l, TH_ECHO, NULL, &o);
  memset(ping, 0, sizeof ping); /* copied at creation */
  assert_true(th_run_count(&l.loop, &l.ts.requests, 2, 2000));
  th_run_for(&l.loop, 10);
  iso_conn_stats st;
  iso_conn_stats_read(l.tc.conn, &st);
  assert_true(st.pings >= 2);
  assert_true(st.received >= 1); /* the 0810s were matched, not inbound */
  assert_int_equal(l.tc.inbound_unmatched + l.tc.inbound_late, 0);
  th_link_close(&l, ISO_CLOSE_NOW);
}

static int idle_calls;
static void on_idle(iso_conn *conn, int status) {
  (void)conn;
  assert_int_equal(status, 0);
  idle_calls++;
}

static void idle_callback_when_no_ping_message(void **state) {
  (void)state;
  iso_conn_opts o = th_conn_opts();
  o.idle_ping_ms = 30;
  o.on_idle = on_idle;
  idle_calls = 0;
  th_link l;
  th_link_open(&l, TH_ECHO, NULL, &o);
  assert_true(th_run_count(&l.loop, &idle_calls, 2, 2000));
  th_link_close(&l, ISO_CLOSE_NOW);
}

static void read_timeout_closes_link(void **state) {
  (void)state;
  iso_conn_opts o = th_conn_opts();
  o.read_timeout_ms = 60;
  th_link l;
  th_link_open(&l, TH_SILENT, NULL, &o);
  th_result r;
  assert_int_equal(th_request(l.tc.conn, "000001", 5000, &r), 0);
  assert_true(th_run_count(&l.loop, &l.tc.failed, 1, 2000));
  assert_int_equal(l.tc.down_status, ISO_E_READ_TIMEOUT);
  assert_true(r.done);
  assert_int_equal(r.status, ISO_E_CLOSED);
  assert_int_equal(th_request(l.tc.conn, "000002", 0, &r), ISO_E_CLOSED);
  assert_true(th_run_count(&l.loop, &l.ts.closed, 1, 2000)); /* server saw EOF */
  assert_int_equal(l.ts.last_status, ISO_E_CLOSED);
  th_link_close(&l, ISO_CLOSE_GRACEFUL);
}

/* ---- closing ----------------------------------------------------------- */
static void graceful_close_lets_in_flight_finish(void **state) {
  (void)state;
  th_link l;
  th_link_open(&l, TH_HOLD, NULL, NULL);
  th_result r1, r2, r3;
  assert_int_equal(th_request(l.tc.conn, "000001", 0, &r1), 0);
  assert_int_equal(th_request(l.tc.conn, "000002", 0, &r2), 0);
  assert_true(th_run_count(&l.loop, &l.ts.nheld, 2, 2000));
  iso_conn_close(l.tc.conn, ISO_CLOSE_GRACEFUL, NULL);
  assert_int_equal(th_request(l.tc.conn, "000003", 0, &r3), ISO_E_CLOSED);
  th_run_for(&l.loop, 20);
  assert_int_equal(l.tc.closed, 0); /* still waiting for the two */
  th_server_answer(&l.ts, 1);
  th_server_answer(&l.ts, 0);
  assert_true(th_run_count(&l.loop, &l.tc.closed, 1, 2000));
  assert_int_equal(r1.status, 0);
  assert_int_equal(r2.status, 0);
  assert_int_equal(l.tc.down_status, 0);
  assert_int_equal(l.tc.failed, 0);
  th_server_close(&l.ts, &l.loop);
  th_loop_close(&l.loop);
}

static bool bounded_close_done;
static void on_bounded_close(iso_conn *conn, int status) {
  (void)conn;
  (void)status;
  bounded_close_done = true;
}

static void graceful_close_is_bounded(void **state) {
  (void)state;
  iso_conn_opts o = th_conn_opts();
  o.close_timeout_ms = 80;
  th_link l;
  th_link_open(&l, TH_SILENT, NULL, &o);
  th_result r;
  assert_int_equal(th_request(l.tc.conn, "000001", 10000, &r), 0);
  uint64_t t0 = uv_now(&l.loop);
  bounded_close_done = false;
  iso_conn_close(l.tc.conn, ISO_CLOSE_GRACEFUL, on_bounded_close);
  assert_true(th_run_until(&l.loop, &bounded_close_done, 3000));
  assert_true(uv_now(&l.loop) - t0 >= 80 && uv_now(&l.loop) - t0 < 2000);
  assert_int_equal(r.status, ISO_E_CANCELED);
  th_server_close(&l.ts, &l.loop);
  th_loop_close(&l.loop);
}

static void immediate_close_cancels_pending(void **state) {
  (void)state;
  th_link l;
  th_link_open(&l, TH_SILENT, NULL, NULL);
  th_result r[3];
  assert_int_equal(th_request(l.tc.conn, "000001", 0, &r[0]), 0);
  assert_int_equal(th_request(l.tc.conn, "000002", 0, &r[1]), 0);
  assert_int_equal(th_request(l.tc.conn, "000003", 0, &r[2]), 0);
  iso_conn_close(l.tc.conn, ISO_CLOSE_NOW, NULL);
  /* canceled synchronously, before close returns */
  for (int i = 0; i < 3; i++) {
    assert_true(r[i].done);
    assert_int_equal(r[i].status, ISO_E_CANCELED);
  }
  assert_int_equal(l.tc.closed, 1);
  assert_int_equal(l.tc.down_status, 0);
  th_run_for(&l.loop, 20);
  th_server_close(&l.ts, &l.loop);
  th_loop_close(&l.loop);
}

/* ---- the peer closes; a reference outlives the link --------------------- */
static void peer_close_is_reported_and_refs_hold(void **state) {
  (void)state;
  th_link l;
  th_link_open(&l, TH_HOLD, NULL, NULL);
  th_result r;
  assert_int_equal(th_request(l.tc.conn, "000001", 0, &r), 0);
  assert_true(th_run_count(&l.loop, &l.ts.nheld, 1, 2000));
  /* the client goes away while the server holds a reference to reply */
  th_client_close(&l.tc, &l.loop, ISO_CLOSE_NOW);
  assert_true(th_run_count(&l.loop, &l.ts.closed, 1, 2000));
  assert_int_equal(l.ts.last_status, ISO_E_CLOSED);
  uint8_t buf[64];
  size_t n = th_pack(buf, sizeof buf, "0110", "000001", NULL, "00");
  iso_frame f = {NULL, 0, buf, (uint32_t)n};
  assert_int_equal(iso_conn_send(l.ts.held[0].conn, &f), ISO_E_CLOSED);
  assert_false(iso_conn_is_up(l.ts.held[0].conn));
  th_link_close(&l, ISO_CLOSE_NOW); /* the server drops its reference */
}

/* The server side ends one client's link; the server keeps the handle. */
static int kicked;
static void on_kicked(iso_conn *conn, int status) {
  (void)conn;
  assert_int_equal(status, 0);
  kicked++;
}

static void server_ends_one_link(void **state) {
  (void)state;
  th_link l;
  th_link_open(&l, TH_ECHO, NULL, NULL);
  assert_true(th_run_count(&l.loop, &l.ts.connections, 1, 2000));
  kicked = 0;
  assert_int_equal(iso_conn_close(l.ts.last_conn, ISO_CLOSE_GRACEFUL, on_kicked), 0);
  assert_int_equal(iso_conn_close(l.ts.last_conn, ISO_CLOSE_GRACEFUL, on_kicked), ISO_E_STATE);
  assert_true(th_run_count(&l.loop, &l.tc.closed, 1, 2000));
  assert_int_equal(l.tc.down_status, ISO_E_CLOSED);
  assert_int_equal(kicked, 1);
  assert_int_equal(l.ts.closed, 1);
  assert_int_equal(l.ts.last_status, 0);
  iso_conn_stats st;
  th_run_for(&l.loop, 10);
  iso_server_stats_read(l.ts.server, &st);
  assert_int_equal(st.connections, 0);
  th_link_close(&l, ISO_CLOSE_NOW);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(connect_refused_reports_connect_error),
      cmocka_unit_test(signon_runs_before_established),
      cmocka_unit_test(idle_ping_sent_and_answered),
      cmocka_unit_test(idle_callback_when_no_ping_message),
      cmocka_unit_test(read_timeout_closes_link),
      cmocka_unit_test(graceful_close_lets_in_flight_finish),
      cmocka_unit_test(graceful_close_is_bounded),
      cmocka_unit_test(immediate_close_cancels_pending),
      cmocka_unit_test(peer_close_is_reported_and_refs_hold),
      cmocka_unit_test(server_ends_one_link),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
