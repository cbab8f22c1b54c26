/*
 * flow/server.c -- a flow attached to a conn server: every request that
 * arrives on any connection, on any of the server's loops, becomes a
 * transaction of the flow, and its response goes back on the connection the
 * request came on.
 *
 * Each server loop gets its own iso_flow_loop, made when the loop's first
 * connection arrives and closed when its last one goes: the server's worker
 * threads end when their loops run out of handles, so the flow must not keep
 * a loop alive once its connections are gone.  A loop that gets a new
 * connection while its old flow loop still drains gets a fresh one.
 *
 * Close drains: from then on new connections are shut at once and new
 * requests dropped (counted), while the transactions in flight -- counted
 * across every loop -- finish and their responses go out on connections that
 * are still up.  Only then, or when the drain timeout passes, is the conn
 * server closed.  With worker threads the closing thread waits for that; on
 * the caller's loop a timer watches the count, so the loop keeps running.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "flow/flow_internal.h"
#include "isoflow/conn.h"

/* Once drained, how long the connections stay up so that the responses
 * just handed to them are written: a connection writes once per loop
 * iteration, and the server's close shuts the connections at once. */
#define DRAIN_LINGER_MS 100

typedef struct fs_loop {
  struct iso_flow_server *fs;
  uv_loop_t *loop;
  iso_flow_loop *fl; /* NULL between connections */
  unsigned conns;
} fs_loop;

struct iso_flow_server {
  iso_flow *flow;
  iso_server *server;
  iso_server_conn_cb user_on_connection;
  iso_conn_cb user_on_closed, user_on_failed;
  uv_mutex_t lock; /* guards loops[] membership and the counts below */
  fs_loop loops[64]; /* one per server loop; a 65th loop's connections are
                        refused (closed at once) */
  unsigned nloops;
  unsigned open_loops; /* flow loops not yet closed */
  bool server_closed;
  void (*close_cb)(void *data);
  void *close_data;
  uv_loop_t *caller_loop; /* opts->loop: the server runs on the caller's */
  uv_timer_t drain_timer; /* ... where this watches the drain */
  uint64_t drain_until;   /* uv_now of caller_loop when the drain gives up */
  uint32_t drain_timeout_ms;
  bool lingering;
  iso_flow_response_cb on_response;
  void *response_data;
  _Atomic bool draining;
  _Atomic uint64_t in_flight; /* submitted, response not yet handed back */
  _Atomic uint64_t unreadable, send_failures, dropped;
};

static void maybe_free(iso_flow_server *fs) {
  uv_mutex_lock(&fs->lock);
  bool done = fs->server_closed && fs->open_loops == 0;
  uv_mutex_unlock(&fs->lock);
  if (!done) return;
  void (*cb)(void *) = fs->close_cb;
  void *data = fs->close_data;
  uv_mutex_destroy(&fs->lock);
  free(fs);
  if (cb) cb(data);
}

static fs_loop *loop_entry(iso_flow_server *fs, uv_loop_t *loop) {
  fs_loop *e = NULL;
  uv_mutex_lock(&fs->lock);
  for (unsigned i = 0; i < fs->nloops && !e; i++)
    if (fs->loops[i].loop == loop) e = &fs->loops[i];
  if (!e && fs->nloops < sizeof fs->loops / sizeof fs->loops[0]) {
    e = &fs->loops[fs->nloops++];
    e->loop = loop;
    e->fs = fs;
  }
  uv_mutex_unlock(&fs->lock);
  return e;
}

static void on_flow_loop_closed(iso_flow_loop *fl, void *data) {
  (void)fl;
  iso_flow_server *fs = data;
  uv_mutex_lock(&fs->lock);
  fs->open_loops--;
  uv_mutex_unlock(&fs->lock);
  maybe_free(fs);
}

static void on_connection(iso_server *server, iso_conn *conn) {
  iso_flow_server *fs = iso_server_data(server);
  fs_loop *e = loop_entry(fs, iso_conn_loop(conn));
  if (e && !e->fl) {
    if (iso_flow_loop_new(fs->flow, e->loop, &e->fl) == 0) {
      e->fl->owner = e;
      uv_mutex_lock(&fs->lock);
      fs->open_loops++;
      uv_mutex_unlock(&fs->lock);
    } else {
      e->fl = NULL;
    }
  }
  if (!e || !e->fl || atomic_load(&fs->draining)) { /* cannot serve it */
    iso_conn_close(conn, ISO_CLOSE_NOW, NULL);
    return;
  }
  e->conns++;
  iso_conn_set_data(conn, e);
  if (fs->user_on_connection) fs->user_on_connection(server, conn);
}

static void conn_gone(iso_conn *conn) {
  fs_loop *e = iso_conn_data(conn);
  if (!e || !e->fl) return;
  iso_conn_set_data(conn, NULL);
  if (--e->conns > 0) return;
  iso_flow_loop *fl = e->fl;
  e->fl = NULL;
  iso_flow_loop_close(fl, on_flow_loop_closed, e->fs);
}

static void on_closed(iso_conn *conn, int status) {
  fs_loop *e = iso_conn_data(conn);
  iso_flow_server *fs = e ? e->fs : NULL;
  conn_gone(conn);
  if (fs && fs->user_on_closed) fs->user_on_closed(conn, status);
}

static void on_failed(iso_conn *conn, int status) {
  fs_loop *e = iso_conn_data(conn);
  iso_flow_server *fs = e ? e->fs : NULL;
  conn_gone(conn);
  if (fs && fs->user_on_failed) fs->user_on_failed(conn, status);
}

/* The transaction ended: answer on the connection it came from, if that is
 * still up. */
static void on_tx_done(iso_tx *tx, int status, const iso_msg *response,
                       void *data) {
  (void)status;
  iso_conn *conn = data;
  iso_flow_server *fs = ((fs_loop *)tx->fl->owner)->fs;
  if (response && iso_conn_is_up(conn) && iso_conn_send_msg(conn, response) < 0)
    ISO__STAT_ADD(fs->send_failures, 1);
  if (fs->on_response) {
    char rc[3] = "";
    size_t len;
    if (!response || iso_msg_get(response, 39, rc, sizeof rc, &len) != 0 ||
        len != 2)
      rc[0] = '\0';
    fs->on_response(iso_msg_mti(iso_tx_request(tx)), response, rc,
                    fs->response_data);
  }
  iso_conn_unref(conn);
  atomic_fetch_sub(&fs->in_flight, 1);
}

static void on_inbound(iso_conn *conn, iso_inbound_kind kind,
                       const iso_frame *frame) {
  fs_loop *e = iso_conn_data(conn);
  if (kind != ISO_INBOUND_REQUEST || !e || !e->fl || !frame->payload) return;
  iso_flow_server *fs = e->fs;
  /* Counted before the check: a closing thread that sets draining and then
   * reads the count either sees this request or is seen by it. */
  atomic_fetch_add(&fs->in_flight, 1);
  if (atomic_load(&fs->draining)) {
    atomic_fetch_sub(&fs->in_flight, 1);
    ISO__STAT_ADD(fs->dropped, 1);
    return;
  }
  iso_msg req;
  iso_msg_init(&req, e->fl->flow->cfg.spec);
  int rc = iso_msg_unpack(&req, frame->payload, frame->len, NULL);
  if (rc < 0) {
    atomic_fetch_sub(&fs->in_flight, 1);
    ISO__STAT_ADD(fs->unreadable, 1);
  } else {
    iso_conn_ref(conn);
    rc = iso_flow_submit(e->fl, &req, 0, on_tx_done, conn);
    if (rc < 0) {
      atomic_fetch_sub(&fs->in_flight, 1);
      iso_conn_unref(conn);
      ISO__STAT_ADD(fs->dropped, 1);
    }
  }
  iso_msg_cleanup(&req);
}

int iso_flow_serve(iso_flow *flow, const iso_flow_serve_opts *serve,
                   const struct sockaddr *addr, iso_flow_server **out) {
  if (!flow || !serve || !addr || !out) return ISO_E_INVAL;
  const iso_server_opts *opts = &serve->server;
  if (!flow->started || flow->serving) return ISO_E_STATE;
  iso_flow_server *fs = calloc(1, sizeof *fs);
  if (!fs) return ISO_E_NOMEM;
  if (uv_mutex_init(&fs->lock) != 0) {
    free(fs);
    return ISO_E_NOMEM;
  }
  fs->flow = flow;
  fs->caller_loop = opts->loop;
  fs->drain_timeout_ms =
      serve->drain_timeout_ms ? serve->drain_timeout_ms : 5000;
  fs->on_response = serve->on_response;
  fs->response_data = serve->response_data;
  iso_server_opts o = *opts;
  if (!o.conn.spec) o.conn.spec = flow->cfg.spec;
  fs->user_on_connection = o.on_connection;
  fs->user_on_closed = o.conn.on_closed;
  fs->user_on_failed = o.conn.on_failed;
  o.on_connection = on_connection;
  o.conn.on_inbound = on_inbound;
  o.conn.on_closed = on_closed;
  o.conn.on_failed = on_failed;
  o.data = fs;
  flow->serving = fs;
  int rc = iso_server_start(&o, addr, &fs->server);
  if (rc < 0) {
    flow->serving = NULL;
    uv_mutex_destroy(&fs->lock);
    free(fs);
    return rc;
  }
  *out = fs;
  return 0;
}

int iso_flow_server_port(const iso_flow_server *fs) {
  return iso_server_port(fs->server);
}

iso_server *iso_flow_server_handle(iso_flow_server *fs) { return fs->server; }

uint64_t iso_flow_server_unreadable(const iso_flow_server *fs) {
  return ISO__STAT_GET(((iso_flow_server *)fs)->unreadable);
}

uint64_t iso_flow_server_send_failures(const iso_flow_server *fs) {
  return ISO__STAT_GET(((iso_flow_server *)fs)->send_failures);
}

uint64_t iso_flow_server_dropped(const iso_flow_server *fs) {
  return ISO__STAT_GET(((iso_flow_server *)fs)->dropped);
}

static void on_server_closed(iso_server *server) {
  (void)server;
}

/* The drain is over (or gave up): close the conn server and its
 * connections; the flow loops close with their last connection. */
static void close_server(iso_flow_server *fs) {
  iso_server_close(fs->server, on_server_closed);
  uv_mutex_lock(&fs->lock);
  fs->server_closed = true;
  uv_mutex_unlock(&fs->lock);
  maybe_free(fs);
}

static void on_drain_timer_closed(uv_handle_t *h) {
  close_server(h->data);
}

static void on_drain_tick(uv_timer_t *t) {
  iso_flow_server *fs = t->data;
  uint64_t now = uv_now(t->loop);
  if (now < fs->drain_until) {
    if (atomic_load(&fs->in_flight) > 0) return;
    if (!fs->lingering) { /* drained: let the last responses be written */
      fs->lingering = true;
      if (now + DRAIN_LINGER_MS < fs->drain_until)
        fs->drain_until = now + DRAIN_LINGER_MS;
    }
    return;
  }
  uv_timer_stop(t);
  uv_close((uv_handle_t *)t, on_drain_timer_closed);
}

void iso_flow_server_close(iso_flow_server *fs, void (*cb)(void *data),
                           void *data) {
  if (!fs) return;
  fs->close_cb = cb;
  fs->close_data = data;
  fs->flow->serving = NULL;
  atomic_store(&fs->draining, true);
  if (fs->caller_loop) {
    /* The transactions run on this very loop: watch them from a timer. */
    uv_timer_init(fs->caller_loop, &fs->drain_timer);
    fs->drain_timer.data = fs;
    fs->drain_until = uv_now(fs->caller_loop) + fs->drain_timeout_ms;
    uv_timer_start(&fs->drain_timer, on_drain_tick, 0, 1);
    return;
  }
  /* Worker threads finish them; a transaction's response is handed back
   * before it leaves the count. */
  uint64_t until = uv_hrtime() + (uint64_t)fs->drain_timeout_ms * 1000000u;
  while (atomic_load(&fs->in_flight) > 0 && uv_hrtime() < until) uv_sleep(1);
  uv_sleep(DRAIN_LINGER_MS);
  close_server(fs);
}
