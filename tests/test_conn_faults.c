/*
 * tests/test_conn_faults.c -- peers that misbehave and accepts that fail:
 * oversized lengths, garbage, a close in the middle of a frame, a peer that
 * sends one byte at a time, keep-alives, the connection limit, failed
 * accepts (injected, and real EMFILE) after which accepting goes on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cmocka.h>

#include "conn/conn_internal.h"
#include "support/conn_harness.h"
#include "support/conn_link.h"

/* Opens l (default client options) and runs its loop until the client's
 * link went down (or 3 s). */
static void against_raw(th_raw_link *l) {
  th_raw_link_open(l, NULL);
  for (int i = 0; i < 3000 && l->tc.closed + l->tc.failed == 0; i++) {
    uv_run(&l->loop, UV_RUN_NOWAIT);
    usleep(1000);
  }
}

static void oversized_length_fails_link(void **state) {
  (void)state;
  th_raw_link l;
  th_raw_link_init(&l, "\xFF\xFF", 2); /* 65535 > the 8192 maximum */
  l.raw.wait_for_request = true;
  th_raw_link_open(&l, NULL);
  th_result r;
  assert_int_equal(th_request(l.tc.conn, "000001", 0, &r), 0);
  assert_true(th_run_count(&l.loop, &l.tc.failed, 1, 3000));
  assert_int_equal(l.tc.down_status, ISO_E_FRAME_TOO_LARGE);
  assert_true(r.done);
  assert_int_equal(r.status, ISO_E_CLOSED);
  iso_conn_stats st;
  iso_conn_stats_read(l.tc.conn, &st);
  assert_int_equal(st.failed, 1);
  th_raw_link_close(&l);
}

static void garbage_fails_link(void **state) {
  (void)state;
  iso_conn_opts o = th_conn_opts();
  o.framing.kind = ISO_FRAME_ASCII4;
  th_raw_link l;
  th_raw_link_init(&l, "GET / HTTP/1.0\r\n\r\n", 18);
  th_raw_link_open(&l, &o);
  assert_true(th_run_count(&l.loop, &l.tc.failed, 1, 3000));
  assert_int_equal(l.tc.down_status, ISO_E_BAD_FRAME);
  th_raw_link_close(&l);
}

static void close_mid_frame_is_a_failure(void **state) {
  (void)state;
  th_raw_link l;
  th_raw_link_init(&l, "\x00\x30" "0110", 6); /* says 48, sends 4, closes */
  l.raw.close_after = true;
  against_raw(&l);
  assert_int_equal(l.tc.failed, 1);
  assert_int_equal(l.tc.down_status, ISO_E_CLOSED);
  th_raw_link_close(&l);
}

static void close_between_frames_is_orderly(void **state) {
  (void)state;
  th_raw_link l;
  th_raw_link_init(&l, "\x00\x00\x00\x00", 4); /* two keep-alives, then EOF */
  l.raw.close_after = true;
  against_raw(&l);
  assert_int_equal(l.tc.closed, 1);
  assert_int_equal(l.tc.failed, 0);
  assert_int_equal(l.tc.down_status, ISO_E_CLOSED);
  iso_conn_stats st;
  iso_conn_stats_read(l.tc.conn, &st);
  assert_int_equal(st.keepalives, 2);
  th_raw_link_close(&l);
}

/* One byte at a time: a whole response gets through and matches; then a
 * frame over the maximum, also dribbled, still ends the link. */
static void one_byte_at_a_time(void **state) {
  (void)state;
  uint8_t bytes[256];
  size_t n = th_pack(bytes + 2, sizeof bytes - 4, "0110", "000001", "TERM0001", "00");
  bytes[0] = (uint8_t)(n >> 8);
  bytes[1] = (uint8_t)n;
  memcpy(bytes + 2 + n, "\x7F\xFF", 2);
  th_raw_link l;
  th_raw_link_init(&l, bytes, n + 4);
  l.raw.one_at_a_time = true;
  th_raw_link_open(&l, NULL);
  th_result r = th_request_answered(&l.loop, l.tc.conn, "000001", 5000);
  assert_string_equal(r.stan, "000001");
  assert_true(th_run_count(&l.loop, &l.tc.failed, 1, 5000));
  assert_int_equal(l.tc.down_status, ISO_E_FRAME_TOO_LARGE);
  th_raw_link_close(&l);
}

static void server_fails_bad_client_and_keeps_serving(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  th_server ts;
  th_server_start(&ts, &loop, NULL, TH_ECHO);
  /* a raw client sending garbage to the server */
  uv_tcp_t raw;
  uv_connect_t creq;
  uv_tcp_init(&loop, &raw);
  struct sockaddr_in a = th_addr(ts.port);
  assert_int_equal(uv_tcp_connect(&creq, &raw, (struct sockaddr *)&a, NULL), 0);
  assert_true(th_run_count(&loop, &ts.connections, 1, 2000));
  uv_buf_t b = uv_buf_init("\xFF\xFF\xFF\xFF", 4);
  assert_int_equal(uv_try_write((uv_stream_t *)&raw, &b, 1), 4);
  assert_true(th_run_count(&loop, &ts.failed, 1, 2000));
  assert_int_equal(ts.last_status, ISO_E_FRAME_TOO_LARGE);
  uv_close((uv_handle_t *)&raw, NULL);
  th_client tc;
  assert_int_equal(th_client_connect(&tc, &loop, NULL, ts.port), 0);
  th_request_answered(&loop, tc.conn, "000001", 2000);
  iso_conn_stats st;
  iso_server_stats_read(ts.server, &st);
  assert_int_equal(st.accepted, 2);
  assert_int_equal(st.failed, 1);
  th_client_close(&tc, &loop, ISO_CLOSE_NOW);
  th_server_close(&ts, &loop);
  th_loop_close(&loop);
}

static void connection_limit_refuses_past_it(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  th_server ts;
  memset(&ts, 0, sizeof ts);
  iso_server_opts so = {0};
  so.conn = th_conn_opts();
  so.loop = &loop;
  so.max_connections = 2;
  struct sockaddr_in a = th_addr(0);
  assert_int_equal(iso_server_start(&so, (struct sockaddr *)&a, &ts.server), 0);
  int port = iso_server_port(ts.server);
  th_client c[3];
  for (int i = 0; i < 3; i++) assert_int_equal(th_client_connect(&c[i], &loop, NULL, port), 0);
  /* the third was accepted by TCP and closed by the server at once */
  assert_true(th_run_count(&loop, &c[2].closed, 1, 2000));
  assert_int_equal(c[0].closed + c[1].closed, 0);
  iso_conn_stats st;
  iso_server_stats_read(ts.server, &st);
  assert_int_equal(st.refused, 1);
  assert_int_equal(st.connections, 2);
  /* one leaves: room for another */
  th_client_close(&c[0], &loop, ISO_CLOSE_NOW);
  th_run_for(&loop, 20);
  th_client_close(&c[2], &loop, ISO_CLOSE_NOW);
  assert_int_equal(th_client_connect(&c[0], &loop, NULL, port), 0);
  th_result r;
  assert_int_equal(th_request(c[0].conn, "000001", 100, &r), 0);
  th_run_for(&loop, 30);
  assert_int_equal(c[0].closed, 0);
  th_client_close(&c[0], &loop, ISO_CLOSE_NOW);
  th_client_close(&c[1], &loop, ISO_CLOSE_NOW);
  th_server_close(&ts, &loop);
  th_loop_close(&loop);
}

static void injected_accept_failure_does_not_stop_accepting(void **state) {
  (void)state;
  th_link l;
  th_link_serve(&l, TH_ECHO, NULL);
  iso__server_inject_accept_failures(l.ts.server, 2);
  th_client bad[2], good;
  for (int i = 0; i < 2; i++) {
    assert_int_equal(th_client_connect(&bad[i], &l.loop, NULL, l.ts.port), 0);
    assert_true(th_run_count(&l.loop, &bad[i].closed, 1, 2000));
  }
  assert_int_equal(th_client_connect(&good, &l.loop, NULL, l.ts.port), 0);
  th_request_answered(&l.loop, good.conn, "000001", 2000);
  iso_conn_stats st;
  iso_server_stats_read(l.ts.server, &st);
  assert_int_equal(st.accept_errors, 2);
  assert_int_equal(st.accepted, 1);
  for (int i = 0; i < 2; i++) th_client_close(&bad[i], &l.loop, ISO_CLOSE_NOW);
  th_client_close(&good, &l.loop, ISO_CLOSE_NOW);
  th_link_close(&l, ISO_CLOSE_NOW);
}

/* Real descriptor exhaustion: the server's accept hits EMFILE; once
 * descriptors are free again, it accepts. */
static void emfile_then_accepting_again(void **state) {
  (void)state;
  th_link l;
  th_link_open(&l, TH_ECHO, NULL, NULL);

  struct rlimit old, low;
  getrlimit(RLIMIT_NOFILE, &old);
  low = old;
  low.rlim_cur = 512;
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
  /* exhaust descriptors: keep the client's socket, fill the rest */
  int fds[4096], nfds = 0;
  int fd;
  while (nfds < 4096 && (fd = dup(0)) >= 0) fds[nfds++] = fd;
  assert_true(nfds < 4096);
  /* a connection now cannot be accepted (nor made: free one for the client) */
  close(fds[--nfds]);
  th_client lost;
  memset(&lost, 0, sizeof lost);
  iso_conn_opts o = th_conn_opts();
  /* TCP completes in the kernel's backlog; the server cannot accept it, and
   * libuv's reserve-descriptor trick drops it, so the client sees the end */
  assert_int_equal(th_client_connect(&lost, &l.loop, &o, l.ts.port), 0);
  assert_true(th_run_count(&l.loop, &lost.closed, 1, 2000));
  assert_int_equal(l.ts.connections, 1);
  while (nfds) close(fds[--nfds]);
  assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
  th_client_close(&lost, &l.loop, ISO_CLOSE_NOW);
  th_client again;
  assert_int_equal(th_client_connect(&again, &l.loop, NULL, l.ts.port), 0);
  th_request_answered(&l.loop, again.conn, "000002", 2000);
  th_client_close(&again, &l.loop, ISO_CLOSE_NOW);
  th_link_close(&l, ISO_CLOSE_NOW);
}

/* A peer that never reads: once max_output bytes wait, sends are refused at
 * once (ISO_E_BUSY) instead of piling up without bound. */
static void peer_that_never_reads_gets_backpressure(void **state) {
  (void)state;
  th_raw_link l;
  th_raw_link_init(&l, NULL, 0);
  l.raw.no_read = true;
  iso_conn_opts o = th_conn_opts();
  o.max_output = 256 * 1024;
  th_raw_link_open(&l, &o);
  static uint8_t payload[8000];
  memset(payload, 'x', sizeof payload);
  iso_frame f = {NULL, 0, payload, sizeof payload};
  int rc = 0;
  size_t sent = 0;
  /* the kernel's buffers absorb some megabytes first: bounded at 256 MiB */
  while (sent < (256u << 20)) {
    rc = iso_conn_send(l.tc.conn, &f);
    if (rc < 0) break;
    sent += sizeof payload;
    if (sent % (64 * sizeof payload) == 0) uv_run(&l.loop, UV_RUN_NOWAIT);
  }
  assert_int_equal(rc, ISO_E_BUSY);
  th_result r;
  uint8_t buf[128];
  size_t n = th_pack(buf, sizeof buf, "0100", "000001", "TERM0001", NULL);
  iso_frame req = {NULL, 0, buf, (uint32_t)n};
  /* fill the last bytes of room with small frames, then a request is refused */
  for (int i = 0; i < 10000 && iso_conn_send(l.tc.conn, &req) == 0; i++) continue;
  memset(&r, 0, sizeof r);
  assert_int_equal(iso_conn_request(l.tc.conn, &req, 0, th_on_response, &r), ISO_E_BUSY);
  assert_false(r.done);
  th_raw_link_close(&l);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(oversized_length_fails_link),
      cmocka_unit_test(garbage_fails_link),
      cmocka_unit_test(close_mid_frame_is_a_failure),
      cmocka_unit_test(close_between_frames_is_orderly),
      cmocka_unit_test(one_byte_at_a_time),
      cmocka_unit_test(server_fails_bad_client_and_keeps_serving),
      cmocka_unit_test(connection_limit_refuses_past_it),
      cmocka_unit_test(injected_accept_failure_does_not_stop_accepting),
      cmocka_unit_test(emfile_then_accepting_again),
      cmocka_unit_test(peer_that_never_reads_gets_backpressure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
