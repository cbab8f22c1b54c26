/*
 * tests/test_conn_tls.c -- TLS over loopback with certificates made at test
 * time: TLS and mutual TLS work; a wrong CA, a wrong name, a missing client
 * certificate and an expired certificate are refused; graceful close over
 * TLS completes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "support/conn_harness.h"
#include "support/conn_link.h"
#include "support/tls_certs.h"


static iso_tls *server_tls(const char *cert, const char *key, bool mutual) {
  iso_tls_opts o = {.server = true, .cert_file = cert, .key_file = key,
                    .ca_file = mutual ? th_group_certs.ca : NULL, .require_peer_cert = mutual};
  iso_tls *t;
  assert_int_equal(iso_tls_new(&o, &t), 0);
  return t;
}

static iso_tls *client_tls(const char *ca, bool with_cert) {
  iso_tls_opts o = {.ca_file = ca};
  if (with_cert) {
    o.cert_file = th_group_certs.client_cert;
    o.key_file = th_group_certs.client_key;
  }
  iso_tls *t;
  assert_int_equal(iso_tls_new(&o, &t), 0);
  return t;
}

/* Runs one exchange over TLS; returns the client's connect status. */
static int exchange(iso_tls *stls, iso_tls *ctls, const char *peer_name,
                    int *server_connections) {
  uv_loop_t loop;
  uv_loop_init(&loop);
  iso_conn_opts so = th_conn_opts();
  so.tls = stls;
  th_server ts;
  th_server_start(&ts, &loop, &so, TH_ECHO);
  iso_conn_opts co = th_conn_opts();
  co.tls = ctls;
  co.tls_peer_name = peer_name;
  th_client tc;
  int rc = th_client_connect(&tc, &loop, &co, ts.port);
  if (rc == 0) {
    th_result r;
    assert_int_equal(th_request(tc.conn, "000001", 0, &r), 0);
    /* with TLS 1.3 the server may refuse the client's certificate after the
     * client considers the handshake done: the link then fails */
    bool ok = th_run_until(&loop, &r.done, 2000) && r.status == 0;
    if (!ok) rc = ISO_E_TLS;
    else assert_string_equal(r.mti, "0110");
    if (ok) {
      /* graceful close over TLS: close_notify, then the socket */
      th_client_close(&tc, &loop, ISO_CLOSE_GRACEFUL);
      assert_int_equal(tc.closed, 1);
      assert_true(th_run_count(&loop, &ts.closed, 1, 2000));
    } else {
      th_client_close(&tc, &loop, ISO_CLOSE_NOW);
    }
  } else {
    th_client_close(&tc, &loop, ISO_CLOSE_NOW);
  }
  th_run_for(&loop, 20);
  *server_connections = ts.connections;
  th_server_close(&ts, &loop);
  th_loop_close(&loop);
  return rc;
}

static void tls_works(void **state) {
  (void)state;
  iso_tls *s = server_tls(th_group_certs.server_cert, th_group_certs.server_key, false);
  iso_tls *c = client_tls(th_group_certs.ca, false);
  int conns;
  assert_int_equal(exchange(s, c, "localhost", &conns), 0);
  assert_int_equal(conns, 1);
  /* an address is checked against the certificate's IP entries */
  assert_int_equal(exchange(s, c, "127.0.0.1", &conns), 0);
  assert_int_equal(exchange(s, c, "127.0.0.2", &conns), ISO_E_TLS);
  iso_tls_free(s);
  iso_tls_free(c);
}

static void mutual_tls_works(void **state) {
  (void)state;
  iso_tls *s = server_tls(th_group_certs.server_cert, th_group_certs.server_key, true);
  iso_tls *c = client_tls(th_group_certs.ca, true);
  int conns;
  assert_int_equal(exchange(s, c, "localhost", &conns), 0);
  assert_int_equal(conns, 1);
  iso_tls_free(s);
  iso_tls_free(c);
}

static void wrong_ca_refused(void **state) {
  (void)state;
  iso_tls *s = server_tls(th_group_certs.server_cert, th_group_certs.server_key, false);
  iso_tls *c = client_tls(th_group_certs.other_ca, false);
  int conns;
  assert_int_equal(exchange(s, c, "localhost", &conns), ISO_E_TLS);
  assert_int_equal(conns, 0);
  iso_tls_free(s);
  iso_tls_free(c);
}

static void wrong_name_refused(void **state) {
  (void)state;
  iso_tls *s = server_tls(th_group_certs.server_cert, th_group_certs.server_key, false);
  iso_tls *c = client_tls(th_group_certs.ca, false);
  int conns;
  assert_int_equal(exchange(s, c, "acquirer.example", &conns), ISO_E_TLS);
  assert_int_equal(conns, 0);
  iso_tls_free(s);
  iso_tls_free(c);
}

static void missing_client_cert_refused(void **state) {
  (void)state;
  iso_tls *s = server_tls(th_group_certs.server_cert, th_group_certs.server_key, true);
  iso_tls *c = client_tls(th_group_certs.ca, false);
  int conns;
  assert_int_equal(exchange(s, c, "localhost", &conns), ISO_E_TLS);
  assert_int_equal(conns, 0); /* never established on the server */
  iso_tls_free(s);
  iso_tls_free(c);
}

static void expired_cert_refused(void **state) {
  (void)state;
  iso_tls *s = server_tls(th_group_certs.expired_cert, th_group_certs.expired_key, false);
  iso_tls *c = client_tls(th_group_certs.ca, false);
  int conns;
  assert_int_equal(exchange(s, c, "localhost", &conns), ISO_E_TLS);
  assert_int_equal(conns, 0);
  iso_tls_free(s);
  iso_tls_free(c);
}

static void bad_files_refused(void **state) {
  (void)state;
  iso_tls *t;
  iso_tls_opts o = {.server = true, .cert_file = "/nonexistent.pem", .key_file = th_group_certs.server_key};
  assert_int_equal(iso_tls_new(&o, &t), ISO_E_TLS);
  iso_tls_opts mismatch = {.server = true, .cert_file = th_group_certs.server_cert,
                           .key_file = th_group_certs.client_key};
  assert_int_equal(iso_tls_new(&mismatch, &t), ISO_E_TLS);
  iso_tls_opts nocert = {.server = true};
  assert_int_equal(iso_tls_new(&nocert, &t), ISO_E_INVAL);
}

/* Graceful close over TLS with a request the peer never answers: bounded by
 * close_timeout_ms, the request canceled. */
static void tls_graceful_close_bounded(void **state) {
  (void)state;
  iso_tls *s = server_tls(th_group_certs.server_cert, th_group_certs.server_key, false);
  iso_tls *c = client_tls(th_group_certs.ca, false);
  iso_conn_opts so = th_conn_opts();
  so.tls = s;
  iso_conn_opts co = th_conn_opts();
  co.tls = c;
  co.tls_peer_name = "localhost";
  co.close_timeout_ms = 80;
  th_link l;
  th_link_open(&l, TH_SILENT, &so, &co);
  th_result r;
  assert_int_equal(th_request(l.tc.conn, "000001", 10000, &r), 0);
  assert_true(th_run_count(&l.loop, &l.ts.requests, 1, 2000));
  uint64_t t0 = uv_now(&l.loop);
  th_client_close(&l.tc, &l.loop, ISO_CLOSE_GRACEFUL);
  assert_true(uv_now(&l.loop) - t0 >= 80 && uv_now(&l.loop) - t0 < 2000);
  assert_int_equal(r.status, ISO_E_CANCELED);
  th_link_close(&l, ISO_CLOSE_NOW);
  iso_tls_free(s);
  iso_tls_free(c);
}

static void on_connect_status(iso_conn *conn, int status) {
  th_client *tc = iso_conn_data(conn);
  tc->connected = true;
  tc->connect_status = status;
}

/* A peer that accepts TCP and never speaks TLS: connect is bounded, and a
 * close during the handshake does not wait for it either. */
static void hanging_tls_peer_bounded(void **state) {
  (void)state;
  uv_loop_t loop;
  uv_loop_init(&loop);
  th_raw raw = {0};
  raw.wait_for_request = true; /* reads the ClientHello, says nothing */
  th_raw_start(&raw, &loop);
  iso_tls *c = client_tls(th_group_certs.ca, false);
  iso_conn_opts co = th_conn_opts();
  co.tls = c;
  co.tls_peer_name = "localhost";
  co.connect_timeout_ms = 100;
  th_client tc;
  uint64_t t0 = uv_now(&loop);
  assert_int_equal(th_client_connect(&tc, &loop, &co, raw.port), ISO_E_TIMEDOUT);
  assert_true(uv_now(&loop) - t0 < 2000);
  assert_true(raw.nreceived > 0);
  th_client_close(&tc, &loop, ISO_CLOSE_GRACEFUL);

  /* closing while the handshake hangs ends at once with ISO_E_CANCELED */
  co.connect_timeout_ms = 10000;
  th_raw_close(&raw, &loop);
  memset(&raw, 0, sizeof raw);
  raw.wait_for_request = true;
  th_raw_start(&raw, &loop);
  iso_conn *conn;
  assert_int_equal(iso_conn_new(&loop, &co, &conn), 0);
  iso_conn_set_data(conn, &tc);
  memset(&tc, 0, sizeof tc);
  struct sockaddr_in a = th_addr(raw.port);
  assert_int_equal(iso_conn_connect(conn, (struct sockaddr *)&a, NULL), ISO_E_INVAL);
  assert_int_equal(iso_conn_connect(conn, (struct sockaddr *)&a, on_connect_status), 0);
  for (int i = 0; i < 2000 && raw.nreceived == 0; i++) uv_run(&loop, UV_RUN_ONCE);
  assert_true(raw.nreceived > 0);
  iso_conn_close(conn, ISO_CLOSE_GRACEFUL, NULL);
  assert_true(tc.connected);
  assert_int_equal(tc.connect_status, ISO_E_CANCELED);
  th_run_for(&loop, 10);
  th_raw_close(&raw, &loop);
  iso_tls_free(c);
  th_loop_close(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(tls_works),
      cmocka_unit_test(mutual_tls_works),
      cmocka_unit_test(wrong_ca_refused),
      cmocka_unit_test(wrong_name_refused),
      cmocka_unit_test(missing_client_cert_refused),
      cmocka_unit_test(expired_cert_refused),
      cmocka_unit_test(bad_files_refused),
      cmocka_unit_test(hanging_tls_peer_bounded),
      cmocka_unit_test(tls_graceful_close_bounded),
  };
  return cmocka_run_group_tests(tests, th_certs_group_setup, th_certs_group_teardown);
}
