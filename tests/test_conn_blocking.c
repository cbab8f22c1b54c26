/*
 * tests/test_conn_blocking.c -- the blocking client: requests from several
 * threads at once, each getting its own response; timeouts; connect errors;
 * a response larger than the caller's buffer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "support/conn_harness.h"

static void echo_inbound(iso_conn *conn, iso_inbound_kind kind, const iso_frame *f) {
  if (kind != ISO_INBOUND_REQUEST) return;
  char mti[5], stan[7];
  th_read(f->payload, f->len, mti, stan);
  if (!strcmp(stan, "999999")) return; /* never answered */
  uint8_t out[256];
  size_t n = th_answer_payload(f->payload, f->len, out, sizeof out);
  iso_frame r = {NULL, 0, out, (uint32_t)n};
  iso_conn_send(conn, &r);
}

static iso_server *start_server(void) {
  iso_server_opts so = {0};
  so.conn = th_conn_opts();
  so.conn.on_inbound = echo_inbound;
  so.workers = 1;
  struct sockaddr_in a = th_addr(0);
  iso_server *s;
  assert_int_equal(iso_server_start(&so, (struct sockaddr *)&a, &s), 0);
  return s;
}

typedef struct worker_arg {
  iso_blocking *client;
  int base;
  int ok;
} worker_arg;

static void worker(void *p) {
  worker_arg *w = p;
  for (int i = 0; i < 50; i++) {
    char stan[7];
    snprintf(stan, sizeof stan, "%06d", w->base + i);
    uint8_t req[128], resp[256];
    size_t n = th_pack(req, sizeof req, "0100", stan, "TERM0001", NULL), rlen = 0;
    if (iso_blocking_request(w->client, req, n, 0, resp, sizeof resp, &rlen) != 0) continue;
    char mti[5], got[7];
    th_read(resp, rlen, mti, got);
    if (!strcmp(mti, "0110") && !strcmp(got, stan)) w->ok++;
  }
}

static void many_threads_each_get_their_answer(void **state) {
  (void)state;
  iso_server *s = start_server();
  iso_conn_opts o = th_conn_opts();
  struct sockaddr_in a = th_addr(iso_server_port(s));
  iso_blocking *client;
  assert_int_equal(iso_blocking_open(&o, (struct sockaddr *)&a, &client), 0);
  assert_true(iso_blocking_is_up(client));
  uv_thread_t t[4];
  worker_arg w[4];
  for (int i = 0; i < 4; i++) {
    w[i] = (worker_arg){client, i * 1000, 0};
    uv_thread_create(&t[i], worker, &w[i]);
  }
  for (int i = 0; i < 4; i++) {
    uv_thread_join(&t[i]);
    assert_int_equal(w[i].ok, 50);
  }
  /* a request nobody answers times out */
  uint8_t req[128], resp[256];
  size_t n = th_pack(req, sizeof req, "0100", "999999", "TERM0001", NULL), rlen;
  assert_int_equal(iso_blocking_request(client, req, n, 50, resp, sizeof resp, &rlen),
                   ISO_E_TIMEDOUT);
  /* a buffer too small for the response */
  n = th_pack(req, sizeof req, "0100", "000001", "TERM0001", NULL);
  assert_int_equal(iso_blocking_request(client, req, n, 0, resp, 10, &rlen), ISO_E_NOSPC);
  assert_true(rlen > 10);
  iso_blocking_close(client);
  iso_server_close(s, NULL);
}

static void connect_error_returned(void **state) {
  (void)state;
  iso_server *s = start_server();
  int port = iso_server_port(s);
  iso_server_close(s, NULL); /* nobody listens there now */
  iso_conn_opts o = th_conn_opts();
  struct sockaddr_in a = th_addr(port);
  iso_blocking *client = NULL;
  assert_int_equal(iso_blocking_open(&o, (struct sockaddr *)&a, &client), ISO_E_CONNECT);
  assert_null(client);
}

static void link_down_fails_requests(void **state) {
  (void)state;
  iso_server *s = start_server();
  iso_conn_opts o = th_conn_opts();
  struct sockaddr_in a = th_addr(iso_server_port(s));
  iso_blocking *client;
  assert_int_equal(iso_blocking_open(&o, (struct sockaddr *)&a, &client), 0);
  iso_server_close(s, NULL);
  for (int i = 0; i < 200 && iso_blocking_is_up(client); i++) uv_sleep(5);
  assert_false(iso_blocking_is_up(client));
  uint8_t req[128], resp[256];
  size_t n = th_pack(req, sizeof req, "0100", "000001", "TERM0001", NULL), rlen;
  assert_int_equal(iso_blocking_request(client, req, n, 0, resp, sizeof resp, &rlen),
                   ISO_E_CLOSED);
  iso_blocking_close(client);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(many_threads_each_get_their_answer),
      cmocka_unit_test(connect_error_returned),
      cmocka_unit_test(link_down_fails_requests),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
