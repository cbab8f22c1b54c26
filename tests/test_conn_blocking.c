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
#include "support/worker_server.h"

/* A blocking client connected to s. */
static iso_blocking *open_client(iso_server *s) {
  iso_conn_opts o = th_conn_opts();
  struct sockaddr_in a = th_addr(iso_server_port(s));
  iso_blocking *client;
  assert_int_equal(iso_blocking_open(&o, (struct sockaddr *)&a, &client), 0);
  return client;
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
  iso_server *s = th_worker_server_start(1, NULL);
  iso_blocking *client = open_client(s);
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
  size_t n = th_pack(req, sizeof req, "0100", TH_UNANSWERED_STAN, "TERM0001", NULL), rlen;
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
  iso_conn_opts o = th_conn_opts();
  struct sockaddr_in a = th_addr(th_unused_port());
  iso_blocking *client = NULL;
  assert_int_equal(iso_blocking_open(&o, (struct sockaddr *)&a, &client), ISO_E_CONNECT);
  assert_null(client);
}

static void link_down_fails_requests(void **state) {
  (void)state;
  iso_server *s = th_worker_server_start(1, NULL);
  iso_blocking *client = open_client(s);
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
