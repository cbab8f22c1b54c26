/*
 * examples/issuer/host.c -- serving the issuer's flow on the conn server.
 *
 * The server runs N worker loops, one thread each.  The first time a worker
 * sees a connection it gets its own flow loop (iso_flow_loop_new on that
 * loop) and an async handle through which the main thread asks it to stop;
 * a thread-local pointer finds it again with no lock.  A request is unpacked
 * from the frame, submitted (the flow copies it), and the connection is
 * referenced until the response is handed back, so a client that hangs up
 * meanwhile costs nothing worse than a send that fails with ISO_E_CLOSED.
 *
 * Shutdown: each worker closes its flow loop, which lets the transactions in
 * flight finish and their responses go out; requests arriving meanwhile are
 * dropped (counted): the acquirer's timeout covers them, as it would for any
 * issuer going away.
 *
 * Why not iso_flow_serve (flow/server.c, which landed after this file): its
 * close shuts the connections before the transactions in flight finish, so
 * their responses are lost, and it has no hook on each response, which the
 * answer counters by MTI and response code need.  With a draining close
 * and a response hook there, this file would shrink to a call to it.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "examples/issuer/issuer_app.h"

const char *const iss_mti_names[ISS_MTI_SLOTS] = {"0110", "0210", "0410", "0430", "0810",
                                                  "other"};

static __thread iss_worker *tl_worker;

static void on_stop(uv_async_t *h);

static iss_worker *worker_get(iss_app *app, uv_loop_t *loop) {
  if (tl_worker) return tl_worker;
  pthread_mutex_lock(&app->lock);
  iss_worker *w = NULL;
  if (!app->stopping && (w = calloc(1, sizeof *w))) {
    w->app = app;
    w->loop = loop;
    if (iso_flow_loop_new(app->flow, loop, &w->fl) < 0) {
      free(w);
      w = NULL;
    } else {
      uv_async_init(loop, &w->stop, on_stop);
      w->stop.data = w;
      w->next = app->workers;
      app->workers = w;
      tl_worker = w;
    }
  }
  pthread_mutex_unlock(&app->lock);
  return w;
}

static int mti_slot(const char *mti) {
  for (int i = 0; i < ISS_MTI_SLOTS - 1; i++)
    if (!strcmp(mti, iss_mti_names[i])) return i;
  return ISS_MTI_SLOTS - 1;
}

static int rc_slot(const iso_msg *rsp) {
  char rc[4];
  size_t len;
  if (iso_msg_get(rsp, 39, rc, sizeof rc, &len) < 0 || len != 2 || rc[0] < '0' ||
      rc[0] > '9' || rc[1] < '0' || rc[1] > '9')
    return ISS_RC_SLOTS - 1;
  return (rc[0] - '0') * 10 + (rc[1] - '0');
}

static void on_done(iso_tx *tx, int status, const iso_msg *rsp, void *data) {
  (void)tx;
  (void)status;
  iso_conn *conn = data;
  iss_worker *w = tl_worker;
  if (rsp) {
    int rc = iso_conn_send_msg(conn, rsp);
    if (w && rc < 0 && rc != ISO_E_CLOSED)
      atomic_fetch_add_explicit(&w->unsendable, 1, memory_order_relaxed);
    if (w)
      atomic_fetch_add_explicit(&w->answers[mti_slot(iso_msg_mti(rsp))][rc_slot(rsp)], 1,
                                memory_order_relaxed);
  }
  iso_conn_unref(conn);
}

static void on_inbound(iso_conn *conn, iso_inbound_kind kind, const iso_frame *f) {
  if (kind != ISO_INBOUND_REQUEST || !f->payload) return;
  iss_app *app = iso_conn_data(conn);
  iss_worker *w = worker_get(app, iso_conn_loop(conn));
  if (!w) return;
  if (w->stopping || !w->fl) {
    atomic_fetch_add_explicit(&w->dropped, 1, memory_order_relaxed);
    return;
  }
  iso_msg m;
  iso_msg_init(&m, app->spec);
  if (iso_msg_unpack(&m, f->payload, f->len, NULL) < 0) {
    atomic_fetch_add_explicit(&w->malformed, 1, memory_order_relaxed);
    iso_msg_cleanup(&m);
    return;
  }
  iso_conn_ref(conn);
  if (iso_flow_submit(w->fl, &m, 0, on_done, conn) < 0) {
    iso_conn_unref(conn);
    atomic_fetch_add_explicit(&w->dropped, 1, memory_order_relaxed);
  }
  iso_msg_cleanup(&m);
}

static void on_connection(iso_server *server, iso_conn *conn) {
  iss_app *app = iso_server_data(server);
  iso_conn_set_data(conn, app);
  worker_get(app, iso_conn_loop(conn));
}

void iss_host_options(iss_app *app, iso_server_opts *o) {
  o->conn.spec = app->spec;
  o->conn.on_inbound = on_inbound;
  o->conn.data = app;
  o->on_connection = on_connection;
  o->data = app;
}

static void on_async_closed(uv_handle_t *h) {
  iss_worker *w = h->data;
  iss_app *app = w->app;
  pthread_mutex_lock(&app->lock);
  app->workers_closed++;
  pthread_cond_broadcast(&app->cond);
  pthread_mutex_unlock(&app->lock);
}

static void on_flow_loop_closed(iso_flow_loop *fl, void *data) {
  (void)fl;
  iss_worker *w = data;
  w->fl = NULL;
  uv_close((uv_handle_t *)&w->stop, on_async_closed);
}

static void on_stop(uv_async_t *h) {
  iss_worker *w = h->data;
  if (w->stopping) return;
  w->stopping = true;
  if (iso_flow_loop_close(w->fl, on_flow_loop_closed, w) < 0) on_flow_loop_closed(w->fl, w);
}

bool iss_host_stop(iss_app *app, unsigned timeout_ms) {
  pthread_mutex_lock(&app->lock);
  app->stopping = true;
  unsigned n = 0;
  for (iss_worker *w = app->workers; w; w = w->next, n++) uv_async_send(&w->stop);
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_sec += timeout_ms / 1000;
  until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
  if (until.tv_nsec >= 1000000000L) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000L;
  }
  int rc = 0;
  while (app->workers_closed < n && rc == 0)
    rc = pthread_cond_timedwait(&app->cond, &app->lock, &until);
  bool all = app->workers_closed == n;
  pthread_mutex_unlock(&app->lock);
  return all;
}

void iss_host_free(iss_app *app) {
  while (app->workers) {
    iss_worker *w = app->workers;
    app->workers = w->next;
    free(w);
  }
}
