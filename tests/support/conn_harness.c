/*
 * tests/support/conn_harness.c -- shared pieces of the conn test suites (see
 * conn_harness.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/conn_harness.h"

struct sockaddr_in th_addr(int port) {
  struct sockaddr_in a;
  uv_ip4_addr("127.0.0.1", port, &a);
  return a;
}

int th_unused_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  struct sockaddr_in a = th_addr(0);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t len = sizeof a;
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  close(fd);
  return ntohs(a.sin_port);
}

static void on_bound(uv_timer_t *t) { *(bool *)t->data = true; }

static bool run_bounded(uv_loop_t *loop, bool (*done)(const void *), const void *arg,
                        unsigned ms) {
  uv_timer_t timer;
  bool expired = false;
  uv_timer_init(loop, &timer);
  timer.data = &expired;
  uv_timer_start(&timer, on_bound, ms, 0);
  while (!done(arg) && !expired) uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&timer, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  return done(arg);
}

static bool flag_set(const void *arg) { return *(const bool *)arg; }

/* Waits for something that must happen end as soon as it does; their bounds
 * only decide how long a broken test takes to fail.  They are stretched so
 * that a loaded machine (CI running suites in parallel, sanitizers on) never
 * turns a slow success into a failure.  th_run_for is not stretched: there
 * the duration is the point. */
#define TH_WAIT_SLACK 5

bool th_run_until(uv_loop_t *loop, const bool *flag, unsigned ms) {
  return run_bounded(loop, flag_set, flag, ms * TH_WAIT_SLACK);
}

struct count_arg {
  const int *count;
  int want;
};
static bool count_reached(const void *arg) {
  const struct count_arg *c = arg;
  return *c->count >= c->want;
}

bool th_run_count(uv_loop_t *loop, const int *count, int want, unsigned ms) {
  struct count_arg c = {count, want};
  return run_bounded(loop, count_reached, &c, ms * TH_WAIT_SLACK);
}

static bool never(const void *arg) {
  (void)arg;
  return false;
}

void th_run_for(uv_loop_t *loop, unsigned ms) { run_bounded(loop, never, NULL, ms); }

static void count_handle(uv_handle_t *h, void *arg) {
  if (!uv_is_closing(h)) {
    fprintf(stderr, "handle left open: type %d\n", (int)h->type);
    (*(int *)arg)++;
  }
}

void th_loop_close(uv_loop_t *loop) {
  for (int i = 0; i < 10; i++) uv_run(loop, UV_RUN_NOWAIT);
  int open = 0;
  uv_walk(loop, count_handle, &open);
  assert_int_equal(open, 0);
  assert_int_equal(uv_loop_close(loop), 0);
}

size_t th_pack(uint8_t *buf, size_t cap, const char *mti, const char *stan,
               const char *tid, const char *rc) {
  iso_msg m;
  iso_msg_init(&m, iso_spec_builtin("iso87a"));
  assert_int_equal(iso_msg_set_mti(&m, mti), 0);
  assert_int_equal(iso_msg_set_str(&m, 11, stan), 0);
  if (tid) assert_int_equal(iso_msg_set_str(&m, 41, tid), 0);
  if (rc) assert_int_equal(iso_msg_set_str(&m, 39, rc), 0);
  size_t len = 0;
  assert_int_equal(iso_msg_pack(&m, buf, cap, &len, NULL), 0);
  iso_msg_cleanup(&m);
  return len;
}

void th_read(const uint8_t *payload, size_t len, char mti[5], char stan[7]) {
  int fields[1] = {11};
  iso_field_ref ref;
  assert_int_equal(iso_peek_fields(iso_spec_builtin("iso87a"), payload, len, mti,
                                   fields, 1, &ref, NULL), 0);
  mti[4] = 0;
  assert_non_null(ref.data);
  assert_int_equal(ref.wire_len, 6);
  memcpy(stan, ref.data, 6);
  stan[6] = 0;
}

iso_conn_opts th_conn_opts(void) {
  iso_conn_opts o;
  memset(&o, 0, sizeof o);
  o.spec = iso_spec_builtin("iso87a");
  o.request_timeout_ms = 2000;
  o.connect_timeout_ms = 2000;
  o.close_timeout_ms = 1000;
  return o;
}

/* ---- server ----------------------------------------------------------- */

size_t th_answer_payload(const uint8_t *req, size_t len, uint8_t *out, size_t cap) {
  iso_msg m;
  const iso_spec *spec = iso_spec_builtin("iso87a");
  iso_msg_init(&m, spec);
  assert_int_equal(iso_msg_unpack(&m, req, len, NULL), 0);
  char mti[5] = {0};
  assert_int_equal(iso_mti_response(iso_msg_mti(&m), mti), 0);
  char stan[7] = {0}, tid[9] = {0};
  size_t n;
  assert_int_equal(iso_msg_get(&m, 11, stan, sizeof stan, &n), 0);
  bool has_tid = iso_msg_get(&m, 41, tid, sizeof tid, &n) == 0;
  iso_msg_cleanup(&m);
  return th_pack(out, cap, mti, stan, has_tid ? tid : NULL, "00");
}

static th_server *server_of(iso_conn *conn) { return iso_conn_data(conn); }

static void ts_inbound(iso_conn *conn, iso_inbound_kind kind, const iso_frame *f) {
  th_server *ts = server_of(conn);
  if (kind != ISO_INBOUND_REQUEST) {
    ts->inbound_other++;
    return;
  }
  ts->requests++;
  if (ts->mode == TH_ECHO) {
    uint8_t out[256];
    size_t n = th_answer_payload(f->payload, f->len, out, sizeof out);
    iso_frame r = {NULL, 0, out, (uint32_t)n};
    assert_int_equal(iso_conn_send(conn, &r), 0);
  } else if (ts->mode == TH_HOLD) {
    assert_true(ts->nheld < TH_HELD_MAX);
    th_held *h = &ts->held[ts->nheld++];
    iso_conn_ref(conn); /* reply later: keep the handle */
    h->conn = conn;
    assert_true(f->len <= sizeof h->payload);
    memcpy(h->payload, f->payload, f->len);
    h->len = f->len;
  }
}

static void ts_closed(iso_conn *conn, int status) {
  th_server *ts = server_of(conn);
  ts->closed++;
  ts->last_status = status;
}

static void ts_failed(iso_conn *conn, int status) {
  th_server *ts = server_of(conn);
  ts->failed++;
  ts->last_status = status;
}

static void ts_connection(iso_server *server, iso_conn *conn) {
  th_server *ts = iso_server_data(server);
  iso_conn_set_data(conn, ts);
  ts->connections++;
  ts->last_conn = conn;
}

void th_server_start(th_server *ts, uv_loop_t *loop, const iso_conn_opts *opts,
                     th_mode mode) {
  memset(ts, 0, sizeof *ts);
  ts->mode = mode;
  iso_server_opts so;
  memset(&so, 0, sizeof so);
  so.conn = opts ? *opts : th_conn_opts();
  if (so.conn.on_inbound == NULL) so.conn.on_inbound = ts_inbound;
  so.conn.on_closed = ts_closed;
  so.conn.on_failed = ts_failed;
  so.conn.data = ts;
  so.loop = loop;
  so.on_connection = ts_connection;
  so.data = ts;
  struct sockaddr_in a = th_addr(0);
  assert_int_equal(iso_server_start(&so, (struct sockaddr *)&a, &ts->server), 0);
  ts->port = iso_server_port(ts->server);
  assert_true(ts->port > 0);
}

void th_server_answer(th_server *ts, int i) {
  th_held *h = &ts->held[i];
  uint8_t out[256];
  size_t n = th_answer_payload(h->payload, h->len, out, sizeof out);
  iso_frame r = {NULL, 0, out, (uint32_t)n};
  (void)iso_conn_send(h->conn, &r);
  iso_conn_unref(h->conn);
  h->conn = NULL;
}

void th_server_drop_held(th_server *ts) {
  for (int i = 0; i < ts->nheld; i++)
    if (ts->held[i].conn) {
      iso_conn_unref(ts->held[i].conn);
      ts->held[i].conn = NULL;
    }
}

static bool server_gone;
static void on_server_closed(iso_server *s) {
  assert_null(s);
  server_gone = true;
}

void th_server_close(th_server *ts, uv_loop_t *loop) {
  th_server_drop_held(ts);
  server_gone = false;
  iso_server_close(ts->server, on_server_closed);
  ts->server = NULL;
  assert_true(th_run_until(loop, &server_gone, 5000));
}

/* ---- client ----------------------------------------------------------- */

static void tc_connected(iso_conn *conn, int status) {
  th_client *tc = iso_conn_data(conn);
  tc->connect_status = status;
  tc->connected = true;
}

static void tc_inbound(iso_conn *conn, iso_inbound_kind kind, const iso_frame *f) {
  th_client *tc = iso_conn_data(conn);
  (void)f;
  if (kind == ISO_INBOUND_REQUEST) tc->inbound++;
  else if (kind == ISO_INBOUND_LATE) tc->inbound_late++;
  else tc->inbound_unmatched++;
}

static void tc_closed(iso_conn *conn, int status) {
  th_client *tc = iso_conn_data(conn);
  tc->closed++;
  tc->down_status = status;
}

static void tc_failed(iso_conn *conn, int status) {
  th_client *tc = iso_conn_data(conn);
  tc->failed++;
  tc->down_status = status;
}

int th_client_connect(th_client *tc, uv_loop_t *loop, iso_conn_opts *opts, int port) {
  memset(tc, 0, sizeof *tc);
  iso_conn_opts o = opts ? *opts : th_conn_opts();
  o.data = tc;
  if (!o.on_inbound) o.on_inbound = tc_inbound;
  if (!o.on_closed) o.on_closed = tc_closed;
  if (!o.on_failed) o.on_failed = tc_failed;
  assert_int_equal(iso_conn_new(loop, &o, &tc->conn), 0);
  struct sockaddr_in a = th_addr(port);
  assert_int_equal(iso_conn_connect(tc->conn, (struct sockaddr *)&a, tc_connected), 0);
  assert_true(th_run_until(loop, &tc->connected, 5000));
  return tc->connect_status;
}

static void tc_close_done(iso_conn *conn, int status) {
  th_client *tc = iso_conn_data(conn);
  assert_int_equal(status, 0);
  tc->close_done = true;
}

void th_client_close(th_client *tc, uv_loop_t *loop, iso_close_how how) {
  iso_conn_close(tc->conn, how, tc_close_done);
  assert_true(th_run_until(loop, &tc->close_done, 5000));
  tc->conn = NULL;
}

/* ---- responses -------------------------------------------------------- */

void th_on_response(iso_conn *conn, int status, const iso_frame *resp, void *data) {
  th_result *r = data;
  (void)conn;
  assert_false(r->done);
  r->status = status;
  r->done = true;
  if (status == 0) th_read(resp->payload, resp->len, r->mti, r->stan);
  else assert_null(resp);
}

int th_request(iso_conn *conn, const char *stan, uint32_t timeout_ms, th_result *r) {
  uint8_t buf[256];
  memset(r, 0, sizeof *r);
  size_t n = th_pack(buf, sizeof buf, "0100", stan, "TERM0001", NULL);
  iso_frame f = {NULL, 0, buf, (uint32_t)n};
  return iso_conn_request(conn, &f, timeout_ms, th_on_response, r);
}

th_result th_request_answered(uv_loop_t *loop, iso_conn *conn, const char *stan,
                              unsigned wait_ms) {
  th_result r;
  assert_int_equal(th_request(conn, stan, 0, &r), 0);
  assert_true(th_run_until(loop, &r.done, wait_ms));
  assert_int_equal(r.status, 0);
  return r;
}

/* ---- raw peer --------------------------------------------------------- */

static void raw_handle_closed(uv_handle_t *h) {
  th_raw *raw = h->data;
  raw->handles--;
}

static void raw_peer_closed(uv_handle_t *h) {
  th_raw *raw = h->data;
  raw->peer_closed = true;
  raw->handles--;
}

static void raw_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  th_raw *raw = h->data;
  (void)hint;
  buf->base = (char *)raw->received + raw->nreceived;
  buf->len = sizeof raw->received - raw->nreceived;
}

static void raw_write_all(th_raw *raw);

static void raw_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf) {
  th_raw *raw = s->data;
  (void)buf;
  if (n > 0) {
    raw->nreceived += (size_t)n;
    if (raw->wait_for_request && !raw->written) raw_write_all(raw);
  } else if (n < 0 && !uv_is_closing((uv_handle_t *)&raw->peer))
    uv_close((uv_handle_t *)&raw->peer, raw_peer_closed);
}

static void raw_write_one(th_raw *raw, size_t n) {
  uv_buf_t b = uv_buf_init((char *)raw->bytes + raw->sent, (unsigned)n);
  if (uv_try_write((uv_stream_t *)&raw->peer, &b, 1) == (int)n) raw->sent += n;
}

static void raw_done_writing(th_raw *raw) {
  if (raw->close_after && !uv_is_closing((uv_handle_t *)&raw->peer))
    uv_close((uv_handle_t *)&raw->peer, raw_peer_closed);
}

static void raw_drip(uv_timer_t *t) {
  th_raw *raw = t->data;
  if (uv_is_closing((uv_handle_t *)&raw->peer)) return;
  if (raw->sent < raw->len) raw_write_one(raw, 1);
  if (raw->sent >= raw->len) {
    uv_timer_stop(t);
    raw_done_writing(raw);
  }
}

static void raw_write_all(th_raw *raw) {
  raw->written = true;
  if (raw->one_at_a_time) {
    uv_timer_start(&raw->drip, raw_drip, 1, 2);
  } else {
    if (raw->len) raw_write_one(raw, raw->len);
    raw_done_writing(raw);
  }
}

static void raw_accept(uv_stream_t *l, int status) {
  th_raw *raw = l->data;
  assert_int_equal(status, 0);
  assert_false(raw->accepted);
  uv_tcp_init(l->loop, &raw->peer);
  raw->peer.data = raw;
  raw->handles++;
  assert_int_equal(uv_accept(l, (uv_stream_t *)&raw->peer), 0);
  raw->accepted = true;
  if (!raw->no_read) uv_read_start((uv_stream_t *)&raw->peer, raw_alloc, raw_read);
  if (!raw->wait_for_request) raw_write_all(raw);
}

void th_raw_start(th_raw *raw, uv_loop_t *loop) {
  uv_tcp_init(loop, &raw->listener);
  uv_timer_init(loop, &raw->drip);
  raw->listener.data = raw->drip.data = raw;
  raw->handles = 2;
  struct sockaddr_in a = th_addr(0);
  assert_int_equal(uv_tcp_bind(&raw->listener, (struct sockaddr *)&a, 0), 0);
  assert_int_equal(uv_listen((uv_stream_t *)&raw->listener, 8, raw_accept), 0);
  struct sockaddr_in bound;
  int len = sizeof bound;
  uv_tcp_getsockname(&raw->listener, (struct sockaddr *)&bound, &len);
  raw->port = ntohs(bound.sin_port);
}

void th_raw_close(th_raw *raw, uv_loop_t *loop) {
  uv_close((uv_handle_t *)&raw->listener, raw_handle_closed);
  uv_close((uv_handle_t *)&raw->drip, raw_handle_closed);
  if (raw->accepted && !uv_is_closing((uv_handle_t *)&raw->peer))
    uv_close((uv_handle_t *)&raw->peer, raw_peer_closed);
  for (int i = 0; i < 100 && raw->handles > 0; i++) uv_run(loop, UV_RUN_ONCE);
  assert_int_equal(raw->handles, 0);
}
