/*
 * tests/test_flow_server.c -- a flow served by a conn server over loopback:
 * requests from clients run as transactions and the responses come back on
 * the same connections, on the caller's loop and on worker threads; a
 * retransmission over the wire is answered from the original; close drains
 * the transactions in flight (their responses still reach the client) and
 * the response hook sees every answer.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <pthread.h>

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

/* A started flow named `name` with one participant, "auth": prepare (given
 * data), then a commit that approves. */
static iso_flow *one_participant_flow(const char *name,
                                      int (*prepare)(iso_tx *, void *),
                                      void *data) {
  iso_flow_config cfg;
  fx_config(&cfg);
  cfg.name = name;
  iso_flow *f;
  assert_int_equal(iso_flow_new(&cfg, &f), 0);
  iso_participant p = {.name = "auth", .prepare = prepare, .commit = approve,
                       .data = data};
  assert_int_equal(iso_flow_add(f, &p), 0);
  assert_int_equal(iso_flow_start(f), 0);
  return f;
}

static iso_flow *make_flow(int *prepares) {
  return one_participant_flow("served", count_prepare, prepares);
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
  iso_flow_serve_opts so = fx_serve_opts(&loop);
  iso_flow_server *fs = fx_serve(flow, &so), *again;
  struct sockaddr_in a = th_addr(0);
  assert_int_equal(iso_flow_serve(flow, &so, (struct sockaddr *)&a, &again),
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
  fx_server_close(&loop, fs);
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
  iso_flow_serve_opts so = fx_serve_opts(NULL);
  so.server.workers = 2;
  iso_flow_server *fs = fx_serve(flow, &so);
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

/* ---- draining close ------------------------------------------------------ */

enum { PAUSED = 6 };

/* Transactions paused in flight, resumed from another thread. */
typedef struct held_txs {
  iso_tx *tx[PAUSED];
  int count;
  unsigned resume_after_ms;
} held_txs;

static int pause_prepare(iso_tx *tx, void *data) {
  held_txs *h = data;
  int i = __atomic_fetch_add(&h->count, 1, __ATOMIC_SEQ_CST);
  assert_true(i < PAUSED);
  h->tx[i] = tx;
  return ISO_PAUSE;
}

static void *resume_later(void *arg) {
  held_txs *h = arg;
  /* Only once the close has begun (it waits meanwhile). */
  uv_sleep(h->resume_after_ms);
  for (int i = 0; i < PAUSED; i++) iso_tx_resume(h->tx[i], ISO_PREPARED);
  return NULL;
}

/* What the response hook saw. */
typedef struct hook_seen {
  int calls, approved_0210, with_response;
} hook_seen;

static void count_answer(const char *request_mti, const iso_msg *response,
                         const char *response_code, void *data) {
  hook_seen *h = data;
  __atomic_add_fetch(&h->calls, 1, __ATOMIC_SEQ_CST);
  if (response) __atomic_add_fetch(&h->with_response, 1, __ATOMIC_SEQ_CST);
  if (!strcmp(request_mti, "0200") && !strcmp(response_code, "00"))
    __atomic_add_fetch(&h->approved_0210, 1, __ATOMIC_SEQ_CST);
}

/* Serves flow with count_answer as the hook, on `loop` or on `workers`
 * worker threads; on a loop, c is connected to it too. */
static iso_flow_server *serve_counted(iso_flow *flow, uv_loop_t *loop,
                                      unsigned workers, hook_seen *seen,
                                      th_client *c) {
  iso_flow_serve_opts so = fx_serve_opts(loop);
  so.server.workers = workers;
  so.on_response = count_answer;
  so.response_data = seen;
  iso_flow_server *fs = fx_serve(flow, &so);
  if (loop) {
    iso_conn_opts co = th_conn_opts();
    assert_int_equal(th_client_connect(c, loop, &co, iso_flow_server_port(fs)),
                     0);
  }
  return fs;
}

static iso_flow *pausing_flow(held_txs *h) {
  return one_participant_flow("paused", pause_prepare, h);
}

static bool all_paused(uv_loop_t *loop, held_txs *h) {
  for (int i = 0; i < 3000; i++) {
    if (__atomic_load_n(&h->count, __ATOMIC_SEQ_CST) == PAUSED) return true;
    uv_run(loop, UV_RUN_NOWAIT);
    uv_sleep(1);
  }
  return false;
}

static void close_drains_worker_threads(void **state) {
  (void)state;
  held_txs h = {.resume_after_ms = 150};
  hook_seen seen = {0};
  iso_flow *flow = pausing_flow(&h);
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  th_client c;
  iso_flow_server *fs = serve_counted(flow, NULL, 2, &seen, &c);
  iso_conn_opts co = th_conn_opts();
  assert_int_equal(th_client_connect(&c, &loop, &co,
                                     iso_flow_server_port(fs)), 0);
  reply r[PAUSED];
  for (int i = 0; i < PAUSED; i++) {
    char stan[7];
    snprintf(stan, sizeof stan, "%06d", 300 + i);
    assert_int_equal(send_request(c.conn, "0200", stan, &r[i]), 0);
  }
  assert_true(all_paused(&loop, &h));
  assert_int_equal(seen.calls, 0);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, resume_later, &h), 0);
  closed_flag = false;
  iso_flow_server_close(fs, on_fs_closed, NULL); /* drains, then joins */
  assert_true(closed_flag);
  pthread_join(th, NULL);
  /* Every response went out before the connection closed. */
  for (int i = 0; i < PAUSED; i++) {
    assert_true(th_run_until(&loop, &r[i].done, 3000));
    assert_int_equal(r[i].status, 0);
    assert_string_equal(r[i].mti, "0210");
    assert_string_equal(r[i].rc, "00");
  }
  assert_int_equal(seen.calls, PAUSED);
  assert_int_equal(seen.with_response, PAUSED);
  assert_int_equal(seen.approved_0210, PAUSED);
  th_client_close(&c, &loop, ISO_CLOSE_NOW);
  iso_flow_stats st;
  iso_flow_stats_get(flow, &st);
  assert_int_equal(st.committed, PAUSED);
  iso_flow_free(flow);
  th_loop_close(&loop);
}

static void on_resume_timer(uv_timer_t *t) {
  held_txs *h = t->data;
  for (int i = 0; i < PAUSED; i++) iso_tx_resume(h->tx[i], ISO_PREPARED);
  uv_close((uv_handle_t *)t, NULL);
}

/* On the caller's loop: close returns at once; a request arriving during
 * the drain is dropped; the paused ones are answered, then the server
 * closes. */
static void close_drains_callers_loop(void **state) {
  (void)state;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  held_txs h = {0};
  hook_seen seen = {0};
  iso_flow *flow = pausing_flow(&h);
  th_client c;
  iso_flow_server *fs = serve_counted(flow, &loop, 0, &seen, &c);
  reply r[PAUSED], late;
  for (int i = 0; i < PAUSED; i++) {
    char stan[7];
    snprintf(stan, sizeof stan, "%06d", 400 + i);
    assert_int_equal(send_request(c.conn, "0200", stan, &r[i]), 0);
  }
  assert_true(all_paused(&loop, &h));
  closed_flag = false;
  iso_flow_server_close(fs, on_fs_closed, NULL);
  assert_false(closed_flag);
  assert_int_equal(send_request(c.conn, "0200", "000499", &late), 0);
  th_run_for(&loop, 50);
  assert_false(closed_flag); /* still draining */
  assert_int_equal(iso_flow_server_dropped(fs), 1);
  uv_timer_t resume;
  uv_timer_init(&loop, &resume);
  resume.data = &h;
  /* later than the linger after a drain: only a drain waits that long */
  uv_timer_start(&resume, on_resume_timer, 250, 0);
  for (int i = 0; i < PAUSED; i++) {
    assert_true(th_run_until(&loop, &r[i].done, 3000));
    assert_int_equal(r[i].status, 0);
    assert_string_equal(r[i].mti, "0210");
    assert_string_equal(r[i].rc, "00");
  }
  assert_true(th_run_until(&loop, &closed_flag, 3000));
  assert_true(th_run_until(&loop, &late.done, 3000));
  assert_int_not_equal(late.status, 0); /* never answered */
  assert_int_equal(seen.calls, PAUSED);
  assert_int_equal(seen.approved_0210, PAUSED);
  th_client_close(&c, &loop, ISO_CLOSE_NOW);
  assert_int_equal(h.count, PAUSED);
  iso_flow_free(flow);
  th_loop_close(&loop);
}

/* The hook sees every answer, with the request MTI it answers: a
 * retransmission answered from the store included. */
static void hook_sees_every_answer(void **state) {
  (void)state;
  uv_loop_t loop;
  assert_int_equal(uv_loop_init(&loop), 0);
  int prepares = 0;
  hook_seen seen = {0};
  iso_flow *flow = make_flow(&prepares);
  th_client c;
  iso_flow_server *fs = serve_counted(flow, &loop, 0, &seen, &c);
  reply r1, r2, r3;
  assert_int_equal(send_request(c.conn, "0200", "000501", &r1), 0);
  assert_true(th_run_until(&loop, &r1.done, 3000));
  assert_int_equal(send_request(c.conn, "0100", "000502", &r2), 0);
  assert_true(th_run_until(&loop, &r2.done, 3000));
  /* A retransmission answered from the store is an answer too. */
  assert_int_equal(send_request(c.conn, "0201", "000501", &r3), 0);
  assert_true(th_run_until(&loop, &r3.done, 3000));
  assert_string_equal(r3.mti, "0210");
  assert_int_equal(seen.calls, 3);
  assert_int_equal(seen.with_response, 3);
  assert_int_equal(seen.approved_0210, 1); /* the 0201 is not a 0200 */
  assert_int_equal(prepares, 2);
  th_client_close(&c, &loop, ISO_CLOSE_NOW);
  fx_server_close(&loop, fs);
  iso_flow_free(flow);
  th_loop_close(&loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(served_on_the_callers_loop),
      cmocka_unit_test(served_on_worker_threads),
      cmocka_unit_test(close_drains_worker_threads),
      cmocka_unit_test(close_drains_callers_loop),
      cmocka_unit_test(hook_sees_every_answer),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
