/*
 * tests/test_flow_server.c -- a flow served by a conn server over loopback:
 * requests from clients run as transactions and the responses come back on
 * the same connections, on the caller's loop and on worker threads; a
 * retransmission over the wire is answered from the original.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "isoflow/flow.h"
#include "support/conn_harness.h"
#include "support/flow_fixture.h"

static void approve(iso_tx *tx, void *data) {
  (void)data;
  iso_tx_set_response_code(tx, "00");
}

static int count_prepare(iso_tx *tx, void *data) {
  (void)tx;
  __atomic_add_fetch((int *)data, 1, __ATOMIC_RELAXED);
  return ISO_PREPARED;
}

static iso_flow *make_flow(int *prepares) {
  iso_flow_config cfg;
  fx_config(&cfg);
  cfg.name = "served";
  iso_flow *f;
  assert_int_equal(iso_flow_new(&cfg, &f), 0);
  iso_participant p = {.name = "auth", .prepare = count_prepare,
                       .commit = approve, .data = prepares};
  assert_int_equal(iso_flow_add(f, &p), 0);
  assert_int_equal(iso_flow_start(f), 0);
  return f;
}

typedef struct reply {
  int status;
  char mti[5];
  char rc[3];
  bool done;
} reply;

static void on_reply(iso_conn *conn, int status, const iso_frame *resp,
                     void *data) {
  (void)conn;
  reply *r = data;
  r->status = status;
  r->done = true;
  if (status != 0) return;
  iso_msg m;
  iso_msg_init(&m, iso_spec_builtin("iso87a"));
  assert_int_equal(iso_msg_unpack(&m, resp->payload, resp->len, NULL), 0);
  strcpy(r->mti, iso_msg_mti(&m));
  size_t len;
  if (iso_msg_get(&m, 39, r->rc, sizeof r->rc, &len) != 0) r->rc[0] = '\0';
  iso_msg_cleanup(&m);
}

static int send_request(iso_conn *conn, const char *mti, const char *stan,
                        reply *r) {
  iso_msg m;
  iso_msg_init(&m, iso_spec_builtin("iso87a"));
  fx_request(&m, mti, stan, "000000001500");
  memset(r, 0, sizeof *r);
  int rc = iso_conn_request_msg(conn, &m, 2000, on_reply, r);
  iso_msg_cleanup(&m);
  return rc;
}

static bool closed_flag;
static void on_fs_closed(void *data) {
  (void)data;
  closed_flag = true;
}

static void served_on_the_callers_loop(void **state) {
  (void)state;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  int prepares = 0;
  iso_flow *flow = make_flow(&prepares);
  iso_server_opts so;
  memset(&so, 0, sizeof so);
  so.conn = th_conn_opts();
  so.loop = &loop;
  struct sockaddr_in a = th_addr(0);
  iso_flow_server *fs;
  assert_int_equal(iso_flow_serve(flow, &so, (struct sockaddr *)&a, &fs), 0);
  assert_int_equal(iso_flow_serve(flow, &so, (struct sockaddr *)&a, &fs),
                   ISO_E_STATE);
  th_client c;
  iso_conn_opts co = th_conn_opts();
  assert_int_equal(th_client_connect(&c, &loop, &co,
                                     iso_flow_server_port(fs)), 0);
  reply r1, r2;
  assert_int_equal(send_request(c.conn, "0100", "000101", &r1), 0);
  assert_true(th_run_until(&loop, &r1.done, 3000));
  assert_int_equal(r1.status, 0);
  assert_string_equal(r1.mti, "0110");
  assert_string_equal(r1.rc, "00");
  /* A repeat over the wire: answered from the original, not run again. */
  assert_int_equal(send_request(c.conn, "0101", "000101", &r2), 0);
  assert_true(th_run_until(&loop, &r2.done, 3000));
  assert_int_equal(r2.status, 0);
  assert_string_equal(r2.mti, "0110");
  assert_string_equal(r2.rc, "00");
  assert_int_equal(prepares, 1);
  th_client_close(&c, &loop, ISO_CLOSE_NOW);
  closed_flag = false;
  iso_flow_server_close(fs, on_fs_closed, NULL);
  assert_true(th_run_until(&loop, &closed_flag, 3000));
  iso_flow_stats st;
  iso_flow_stats_get(flow, &st);
  assert_int_equal(st.committed, 1);
  assert_int_equal(st.dup_completed, 1);
  iso_flow_free(flow);
  th_loop_close(&loop);
}

static void served_on_worker_threads(void **state) {
  (void)state;
  int prepares = 0;
  iso_flow *flow = make_flow(&prepares);
  iso_server_opts so;
  memset(&so, 0, sizeof so);
  so.conn = th_conn_opts();
  so.workers = 2;
  struct sockaddr_in a = th_addr(0);
  iso_flow_server *fs;
  assert_int_equal(iso_flow_serve(flow, &so, (struct sockaddr *)&a, &fs), 0);
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  enum { CLIENTS = 4, EACH = 10 };
  th_client c[CLIENTS];
  reply r[CLIENTS][EACH];
  for (int i = 0; i < CLIENTS; i++) {
    iso_conn_opts co = th_conn_opts();
    assert_int_equal(th_client_connect(&c[i], &loop, &co,
                                       iso_flow_server_port(fs)), 0);
  }
  for (int i = 0; i < CLIENTS; i++)
    for (int j = 0; j < EACH; j++) {
      char stan[7];
      snprintf(stan, sizeof stan, "%06d", i * 100 + j);
      assert_int_equal(send_request(c[i].conn, "0200", stan, &r[i][j]), 0);
    }
  for (int i = 0; i < CLIENTS; i++)
    for (int j = 0; j < EACH; j++) {
      assert_true(th_run_until(&loop, &r[i][j].done, 3000));
      assert_int_equal(r[i][j].status, 0);
      assert_string_equal(r[i][j].mti, "0210");
      assert_string_equal(r[i][j].rc, "00");
    }
  for (int i = 0; i < CLIENTS; i++) th_client_close(&c[i], &loop, ISO_CLOSE_NOW);
  closed_flag = false;
  iso_flow_server_close(fs, on_fs_closed, NULL); /* joins the workers */
  assert_true(closed_flag);
  iso_flow_stats st;
  iso_flow_stats_get(flow, &st); /* merged over the worker loops */
  assert_int_equal(st.committed, CLIENTS * EACH);
  assert_int_equal(prepares, CLIENTS * EACH);
  iso_flow_free(flow);
  th_loop_close(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(served_on_the_callers_loop),
      cmocka_unit_test(served_on_worker_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
