/*
 * tests/test_conn_server.c -- a server on worker threads (SO_REUSEPORT
 * listeners, one loop each): many clients, answers from every worker,
 * counters merged over the loops, a blocking close that joins the workers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "support/conn_harness.h"
#include "support/conn_link.h"
#include "support/worker_server.h"

static void workers_serve_many_clients(void **state) {
  (void)state;
  iso_server *server = th_worker_server_start(2, NULL);
  int port = iso_server_port(server);

  uv_loop_t loop;
  uv_loop_init(&loop);
  enum { CLIENTS = 8, EACH = 20 };
  th_client tc[CLIENTS];
  th_result r[CLIENTS][EACH];
  for (int c = 0; c < CLIENTS; c++)
    assert_int_equal(th_client_connect(&tc[c], &loop, NULL, port), 0);
  for (int c = 0; c < CLIENTS; c++)
    for (int i = 0; i < EACH; i++) {
      char stan[7];
      snprintf(stan, sizeof stan, "%06d", c * 100 + i);
      assert_int_equal(th_request(tc[c].conn, stan, 0, &r[c][i]), 0);
    }
  for (int c = 0; c < CLIENTS; c++)
    for (int i = 0; i < EACH; i++) {
      assert_true(th_run_until(&loop, &r[c][i].done, 5000));
      assert_int_equal(r[c][i].status, 0);
      char stan[7];
      snprintf(stan, sizeof stan, "%06d", c * 100 + i);
      assert_string_equal(r[c][i].stan, stan);
    }
  iso_conn_stats st;
  iso_server_stats_read(server, &st);
  assert_int_equal(st.accepted, CLIENTS);
  assert_int_equal(st.connections, CLIENTS);
  assert_int_equal(st.inbound, CLIENTS * EACH);
  assert_int_equal(st.replies, CLIENTS * EACH);
  for (int c = 0; c < CLIENTS; c++) th_client_close(&tc[c], &loop, ISO_CLOSE_GRACEFUL);
  iso_server_close(server, NULL);
  th_loop_close(&loop);
}

/* Closing the server with clients still connected: they see the end. */
static void close_with_clients_connected(void **state) {
  (void)state;
  iso_server *server = th_worker_server_start(2, NULL);
  uv_loop_t loop;
  uv_loop_init(&loop);
  th_client tc[4];
  for (int c = 0; c < 4; c++)
    assert_int_equal(th_client_connect(&tc[c], &loop, NULL, iso_server_port(server)), 0);
  th_run_for(&loop, 20);
  iso_server_close(server, NULL);
  for (int c = 0; c < 4; c++) {
    assert_true(th_run_count(&loop, &tc[c].closed, 1, 2000));
    assert_int_equal(tc[c].down_status, ISO_E_CLOSED);
    th_client_close(&tc[c], &loop, ISO_CLOSE_NOW);
  }
  th_loop_close(&loop);
}

static void bind_conflict_fails(void **state) {
  (void)state;
  th_link l;
  th_link_serve(&l, TH_ECHO, NULL);
  iso_server_opts so = {0};
  so.conn = th_conn_opts();
  so.loop = &l.loop;
  struct sockaddr_in a = th_addr(l.ts.port);
  iso_server *second;
  assert_int_equal(iso_server_start(&so, (struct sockaddr *)&a, &second), ISO_E_IO);
  so.loop = NULL;
  so.workers = 2;
  assert_int_equal(iso_server_start(&so, (struct sockaddr *)&a, &second), ISO_E_IO);
  so.conn.spec = NULL;
  assert_int_equal(iso_server_start(&so, (struct sockaddr *)&a, &second), ISO_E_INVAL);
  th_link_close(&l, ISO_CLOSE_NOW);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(workers_serve_many_clients),
      cmocka_unit_test(close_with_clients_connected),
      cmocka_unit_test(bind_conflict_fails),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
