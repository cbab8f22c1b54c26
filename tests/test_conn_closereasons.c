/*
 * tests/test_conn_closereasons.c -- every way a link ends is counted under
 * exactly one reason (iso_conn_stats.closed[], iso_conn_close_reason), on
 * the connection and merged into its server, over real loopback sockets:
 * peer closed between frames or inside one, a reset, a bad length, a length
 * over the maximum, a read timeout (also for a peer trickling a frame), a
 * failed TLS handshake (a TLS 1.1 client, plain text to a TLS port), a TLS
 * error after the handshake, a failed connect, a connect (sign-on) timeout,
 * a failed sign-on, a local close and a server shutdown.  The reason that
 * has no test here is no_memory (a failed allocation of a read buffer).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <fcntl.h>

#include <cmocka.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "support/conn_harness.h"
#include "support/conn_link.h"
#include "support/tls_certs.h"


static uint64_t closed_sum(const iso_conn_stats *s) {
  uint64_t n = 0;
  for (int r = 0; r < ISO_CLOSED__COUNT; r++) n += s->closed[r];
  return n;
}

/* The one reason a connection's link ended: its own counters hold exactly
 * that one, and iso_conn_close_reason agrees. */
static void assert_closed_as(const iso_conn *conn, iso_close_reason want) {
  iso_conn_stats st;
  iso_conn_stats_read(conn, &st);
  assert_int_equal(closed_sum(&st), 1);
  assert_int_equal(st.closed[want], 1);
  iso_close_reason got;
  assert_int_equal(iso_conn_close_reason(conn, &got), 0);
  assert_string_equal(iso_close_reason_name(got), iso_close_reason_name(want));
}

/* Runs the loop until the server counted `n` closes (3 s at most). */
static iso_conn_stats server_after_closes(th_server *ts, uv_loop_t *loop, uint64_t n) {
  iso_conn_stats st;
  for (int i = 0; i < 300; i++) {
    iso_server_stats_read(ts->server, &st);
    if (closed_sum(&st) >= n && st.connections == 0) break;
    th_run_for(loop, 10);
  }
  iso_server_stats_read(ts->server, &st);
  assert_int_equal(closed_sum(&st), n);
  /* every accepted connection is either open or counted closed */
  assert_int_equal(st.accepted, closed_sum(&st) + st.connections);
  return st;
}

static void names_are_stable(void **state) {
  (void)state;
  assert_string_equal(iso_close_reason_name(ISO_CLOSED_PEER), "peer_closed");
  assert_string_equal(iso_close_reason_name(ISO_CLOSED_FRAME_TOO_LARGE), "frame_too_large");
  assert_string_equal(iso_close_reason_name(ISO_CLOSED_TLS_HANDSHAKE), "tls_handshake");
  assert_string_equal(iso_close_reason_name(ISO_CLOSED_SHUTDOWN), "shutdown");
  assert_string_equal(iso_close_reason_name(ISO_CLOSED__COUNT), "unknown");
  for (int r = 0; r < ISO_CLOSED__COUNT; r++)
    for (int q = r + 1; q < ISO_CLOSED__COUNT; q++)
      assert_string_not_equal(iso_close_reason_name(r), iso_close_reason_name(q));
}

/* The client closes: "local" on its side, "peer_closed" on the server's. */
static void local_close_and_peer_closed(void **state) {
  (void)state;
  th_link l;
  th_link_open(&l, TH_ECHO, NULL, NULL);
  th_result r;
  assert_int_equal(th_request(l.tc.conn, "000001", 0, &r), 0);
  assert_true(th_run_until(&l.loop, &r.done, 2000));
  iso_close_reason reason;
  assert_int_equal(iso_conn_close_reason(l.tc.conn, &reason), ISO_E_STATE);
  iso_conn *c = l.tc.conn;
  iso_conn_ref(c);
  th_client_close(&l.tc, &l.loop, ISO_CLOSE_GRACEFUL);
  assert_closed_as(c, ISO_CLOSED_LOCAL);
  iso_conn_unref(c);
  iso_conn_stats st = server_after_closes(&l.ts, &l.loop, 1);
  assert_int_equal(st.closed[ISO_CLOSED_PEER], 1);
  assert_int_equal(st.failed, 0);
  th_server_close(&l.ts, &l.loop);
  th_loop_close(&l.loop);
}

/* A client against a raw peer that writes `bytes` (after the client's first
 * request when `ask`), closing after when `close_after`: the client's link
 * must end for `want`. */
static void client_against_raw(const char *bytes, size_t len, bool close_after, bool ask,
                               uint8_t frame_kind, iso_close_reason want) {
  th_raw_link l;
  th_raw_link_init(&l, bytes, len);
  l.raw.close_after = close_after;
  l.raw.wait_for_request = ask;
  iso_conn_opts o = th_conn_opts();
  o.framing.kind = frame_kind;
  th_raw_link_open(&l, &o);
  th_result r;
  if (ask) assert_int_equal(th_request(l.tc.conn, "000001", 0, &r), 0);
  for (int i = 0; i < 300 && l.tc.closed + l.tc.failed == 0; i++) th_run_for(&l.loop, 10);
  assert_int_equal(l.tc.closed + l.tc.failed, 1);
  assert_closed_as(l.tc.conn, want);
  th_raw_link_close(&l);
}

static void framing_reasons(void **state) {
  (void)state;
  client_against_raw("\x00\x00\x00\x00", 4, true, false, ISO_FRAME_LEN2, ISO_CLOSED_PEER);
  client_against_raw("\x00\x30" "0110", 6, true, false, ISO_FRAME_LEN2,
                     ISO_CLOSED_PEER_MID_FRAME);
  client_against_raw("GET / HTTP/1.0\r\n\r\n", 18, false, false, ISO_FRAME_ASCII4,
                     ISO_CLOSED_BAD_FRAME);
  client_against_raw("\xFF\xFF", 2, false, true, ISO_FRAME_LEN2, ISO_CLOSED_FRAME_TOO_LARGE);
}

/* A server with a read timeout closes a silent client: "read_timeout" on
 * the server, "peer_closed" on the client. */
static void read_timeout(void **state) {
  (void)state;
  iso_conn_opts so = th_conn_opts();
  so.read_timeout_ms = 100;
  th_link l;
  th_link_open(&l, TH_ECHO, &so, NULL);
  assert_true(th_run_count(&l.loop, &l.tc.closed, 1, 3000));
  iso_conn_stats st = server_after_closes(&l.ts, &l.loop, 1);
  assert_int_equal(st.closed[ISO_CLOSED_READ_TIMEOUT], 1);
  assert_int_equal(st.failed, 1);
  assert_closed_as(l.tc.conn, ISO_CLOSED_PEER);
  th_link_close(&l, ISO_CLOSE_NOW);
}

/* A blocking-connected, then non-blocking, socket to 127.0.0.1:port (the
 * kernel completes the connect from the listen backlog, the loop need not
 * run). */
static int raw_socket(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a = th_addr(port);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
  assert_int_equal(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK), 0);
  return fd;
}

/* A peer that resets the connection: "io_error". */
static void reset_by_peer(void **state) {
  (void)state;
  th_link l;
  th_link_serve(&l, TH_ECHO, NULL);
  int fd = raw_socket(l.ts.port);
  assert_true(th_run_count(&l.loop, &l.ts.connections, 1, 2000));
  struct linger lg = {1, 0}; /* close sends RST */
  assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg), 0);
  close(fd);
  iso_conn_stats st = server_after_closes(&l.ts, &l.loop, 1);
  assert_int_equal(st.closed[ISO_CLOSED_IO_ERROR], 1);
  th_link_close(&l, ISO_CLOSE_NOW);
}

/* A peer that trickles a frame, a byte every 20 ms, never finishing it, is
 * closed by the read timeout all the same; whole frames (keep-alives, every
 * 20 ms: far inside the timeout even on a loaded machine) keep a link open. */
static void trickling_peer_times_out(void **state) {
  (void)state;
  iso_conn_opts so = th_conn_opts();
  so.read_timeout_ms = 400;
  th_link l;
  th_link_serve(&l, TH_ECHO, &so);
  int keep = raw_socket(l.ts.port), slow = raw_socket(l.ts.port);
  iso_conn_stats st;
  for (int i = 0; i < 150; i++) {
    uint8_t prefix[2] = {0x00, 0x40}, keepalive[2] = {0, 0};
    (void)send(slow, &prefix[i % 2], 1, 0); /* length 64, then its body */
    assert_int_equal(send(keep, keepalive, 2, 0), 2);
    th_run_for(&l.loop, 20);
    iso_server_stats_read(l.ts.server, &st);
    if (st.closed[ISO_CLOSED_READ_TIMEOUT]) break;
  }
  iso_server_stats_read(l.ts.server, &st);
  assert_int_equal(st.closed[ISO_CLOSED_READ_TIMEOUT], 1);
  assert_int_equal(closed_sum(&st), 1); /* the one sending keep-alives is up */
  assert_true(st.keepalives >= 2);
  close(slow);
  close(keep);
  server_after_closes(&l.ts, &l.loop, 2);
  th_link_close(&l, ISO_CLOSE_NOW);
}

/* Starts l's server over TLS with the server certificate; returns the TLS
 * context, freed by tls_link_close. */
static iso_tls *tls_link_serve(th_link *l) {
  iso_tls_opts o = {.server = true, .cert_file = th_group_certs.server_cert,
                    .key_file = th_group_certs.server_key};
  iso_tls *t;
  assert_int_equal(iso_tls_new(&o, &t), 0);
  iso_conn_opts so = th_conn_opts();
  so.tls = t;
  th_link_serve(l, TH_ECHO, &so);
  return t;
}

static void tls_link_close(th_link *l, iso_tls *stls) {
  th_link_close(l, ISO_CLOSE_NOW);
  iso_tls_free(stls);
}

/* An OpenSSL client of ctx on a raw socket to port (*fd), not yet
 * connected; tls_peer_free frees it, ctx and the socket. */
static SSL *tls_peer(SSL_CTX *ctx, int port, int *fd) {
  SSL *ssl = SSL_new(ctx);
  assert_non_null(ssl);
  *fd = raw_socket(port);
  SSL_set_fd(ssl, *fd);
  return ssl;
}

static void tls_peer_free(SSL *ssl, int fd) {
  SSL_CTX *ctx = SSL_get_SSL_CTX(ssl);
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  close(fd);
}

/* Drives a non-blocking SSL_connect while the loop runs the server, until
 * it succeeds (1) or fails (0); 3 s at most. */
static int tls_connect(uv_loop_t *loop, SSL *ssl) {
  for (int i = 0; i < 300; i++) {
    int rc = SSL_connect(ssl);
    if (rc == 1) return 1;
    int err = SSL_get_error(ssl, rc);
    if (err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE) {
      ERR_clear_error();
      return 0;
    }
    th_run_for(loop, 10);
  }
  fail_msg("TLS handshake neither done nor failed in 3 s");
  return 0;
}

/* A TLS 1.1 client (offered at security level 0, as old terminals do) gets
 * no session: "tls_handshake" on the server, which also counts it failed. */
static void tls11_client_refused(void **state) {
  (void)state;
  th_link l;
  iso_tls *stls = tls_link_serve(&l);
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  assert_non_null(ctx);
  SSL_CTX_set_security_level(ctx, 0);
  SSL_CTX_set_min_proto_version(ctx, TLS1_1_VERSION);
  SSL_CTX_set_max_proto_version(ctx, TLS1_1_VERSION);
  assert_int_equal(SSL_CTX_set_cipher_list(ctx, "DEFAULT@SECLEVEL=0"), 1);
  int fd;
  SSL *ssl = tls_peer(ctx, l.ts.port, &fd);
  assert_int_equal(tls_connect(&l.loop, ssl), 0);
  iso_conn_stats st = server_after_closes(&l.ts, &l.loop, 1);
  assert_int_equal(st.closed[ISO_CLOSED_TLS_HANDSHAKE], 1);
  assert_int_equal(st.failed, 1);
  assert_int_equal(l.ts.connections, 0); /* never handed to the application */
  tls_peer_free(ssl, fd);
  tls_link_close(&l, stls);
}

/* Plain text to a TLS port: "tls_handshake".  A peer that connects and
 * leaves without a byte is "peer_closed" (a port probe, not a handshake). */
static void plain_text_to_tls_port(void **state) {
  (void)state;
  th_link l;
  iso_tls *stls = tls_link_serve(&l);
  int fd = raw_socket(l.ts.port);
  const char text[] = "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n";
  assert_int_equal(send(fd, text, sizeof text - 1, 0), (ssize_t)(sizeof text - 1));
  iso_conn_stats st = server_after_closes(&l.ts, &l.loop, 1);
  assert_int_equal(st.closed[ISO_CLOSED_TLS_HANDSHAKE], 1);
  close(fd);
  fd = raw_socket(l.ts.port);
  th_run_for(&l.loop, 20);
  close(fd);
  st = server_after_closes(&l.ts, &l.loop, 2);
  assert_int_equal(st.closed[ISO_CLOSED_TLS_HANDSHAKE], 1);
  assert_int_equal(st.closed[ISO_CLOSED_PEER], 1);
  tls_link_close(&l, stls);
}

/* After the handshake, bytes that are not a valid TLS record: "tls_error". */
static void tls_error_after_handshake(void **state) {
  (void)state;
  th_link l;
  iso_tls *stls = tls_link_serve(&l);
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  assert_non_null(ctx);
  int fd;
  SSL *ssl = tls_peer(ctx, l.ts.port, &fd);
  assert_int_equal(tls_connect(&l.loop, ssl), 1);
  assert_true(th_run_count(&l.loop, &l.ts.connections, 1, 2000));
  /* an application-data record whose contents do not decrypt */
  uint8_t rec[5 + 64] = {0x17, 0x03, 0x03, 0x00, 64};
  memset(rec + 5, 0xA5, 64);
  assert_int_equal(send(fd, rec, sizeof rec, 0), (ssize_t)sizeof rec);
  iso_conn_stats st = server_after_closes(&l.ts, &l.loop, 1);
  assert_int_equal(st.closed[ISO_CLOSED_TLS_ERROR], 1);
  assert_int_equal(l.ts.failed, 1);
  assert_int_equal(l.ts.last_status, ISO_E_TLS);
  tls_peer_free(ssl, fd);
  tls_link_close(&l, stls);
}

/* Client side: a refused connect, a sign-on that never ends, one that
 * fails.  Each counted once, with connect_errors. */
static void signon_never_done(iso_conn *conn) { (void)conn; }
static void signon_fails(iso_conn *conn) { iso_conn_signon_done(conn, ISO_E_INVAL); }

static void client_connect_reason(int port, iso_signon_cb signon, int want_status,
                                  iso_close_reason want) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  iso_conn_opts o = th_conn_opts();
  o.signon = signon;
  o.connect_timeout_ms = 100;
  th_client tc;
  assert_int_equal(th_client_connect(&tc, &loop, &o, port), want_status);
  assert_closed_as(tc.conn, want);
  iso_conn_stats st;
  iso_conn_stats_read(tc.conn, &st);
  assert_int_equal(st.connect_errors, 1);
  th_client_close(&tc, &loop, ISO_CLOSE_NOW);
  th_loop_close(&loop);
}

static void connect_reasons(void **state) {
  (void)state;
  client_connect_reason(th_unused_port(), NULL, ISO_E_CONNECT, ISO_CLOSED_CONNECT_FAILED);

  th_link l;
  th_link_serve(&l, TH_ECHO, NULL);
  iso_conn_opts o = th_conn_opts();
  o.signon = signon_never_done;
  o.connect_timeout_ms = 100;
  assert_int_equal(th_client_connect(&l.tc, &l.loop, &o, l.ts.port), ISO_E_TIMEDOUT);
  assert_closed_as(l.tc.conn, ISO_CLOSED_CONNECT_TIMEOUT);
  th_client_close(&l.tc, &l.loop, ISO_CLOSE_NOW);
  o.signon = signon_fails;
  assert_int_equal(th_client_connect(&l.tc, &l.loop, &o, l.ts.port), ISO_E_SIGNON);
  assert_closed_as(l.tc.conn, ISO_CLOSED_SIGNON);
  th_client_close(&l.tc, &l.loop, ISO_CLOSE_NOW);
  server_after_closes(&l.ts, &l.loop, 2); /* both ended by the client: peer_closed */
  th_link_close(&l, ISO_CLOSE_NOW);

  /* a client closed before it ever connected had no link: nothing counted */
  uv_loop_t loop;
  uv_loop_init(&loop);
  iso_conn *c;
  iso_conn_opts co = th_conn_opts();
  assert_int_equal(iso_conn_new(&loop, &co, &c), 0);
  iso_conn_ref(c);
  assert_int_equal(iso_conn_close(c, ISO_CLOSE_NOW, NULL), 0);
  th_run_for(&loop, 20);
  iso_conn_stats st;
  iso_conn_stats_read(c, &st);
  assert_int_equal(closed_sum(&st), 0);
  iso_conn_unref(c);
  th_loop_close(&loop);
}

/* The server closes with connections open: "shutdown" for each, and the
 * clients see their peer close. */
static void server_shutdown(void **state) {
  (void)state;
  th_link l;
  th_link_open(&l, TH_ECHO, NULL, NULL);
  assert_true(th_run_count(&l.loop, &l.ts.connections, 1, 2000));
  iso_conn *sc = l.ts.last_conn;
  iso_conn_ref(sc);
  th_server_close(&l.ts, &l.loop);
  assert_closed_as(sc, ISO_CLOSED_SHUTDOWN);
  iso_conn_unref(sc);
  assert_true(th_run_count(&l.loop, &l.tc.closed, 1, 2000));
  assert_closed_as(l.tc.conn, ISO_CLOSED_PEER);
  th_client_close(&l.tc, &l.loop, ISO_CLOSE_NOW);
  th_loop_close(&l.loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(names_are_stable),
      cmocka_unit_test(local_close_and_peer_closed),
      cmocka_unit_test(framing_reasons),
      cmocka_unit_test(read_timeout),
      cmocka_unit_test(reset_by_peer),
      cmocka_unit_test(trickling_peer_times_out),
      cmocka_unit_test(tls11_client_refused),
      cmocka_unit_test(plain_text_to_tls_port),
      cmocka_unit_test(tls_error_after_handshake),
      cmocka_unit_test(connect_reasons),
      cmocka_unit_test(server_shutdown),
  };
  return cmocka_run_group_tests(tests, th_certs_group_setup, th_certs_group_teardown);
}
