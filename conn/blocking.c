/*
 * conn/blocking.c -- a blocking client over an event-driven connection.
 *
 * The connection lives on a private loop run by a private thread.  A caller
 * (any thread) puts a call record (on its own stack) on a mutex-protected
 * queue, wakes the loop with uv_async_send and waits on a condition variable;
 * the loop thread submits the request, and its response callback copies the
 * payload into the caller's buffer and wakes the caller.  The connection is
 * only ever touched from its loop's thread.
 */
#include <stdlib.h>
#include <string.h>

#include "conn/conn_internal.h"

typedef struct iso__call {
  const uint8_t *payload;
  size_t len;
  uint32_t timeout_ms;
  uint8_t *resp;
  size_t cap;
  size_t *resp_len;
  int status;
  bool done;
  struct iso__call *next;
} iso__call;

struct iso_blocking {
  uv_loop_t loop;
  uv_thread_t thread;
  uv_async_t wake;
  uv_mutex_t lock;
  uv_cond_t cond;
  iso_conn *conn;
  iso__call *head, *tail; /* queued, under lock */
  bool closing;           /* under lock */
  bool up;                /* under lock */
  bool connect_done;      /* under lock */
  int connect_status;
  struct sockaddr_storage addr;
};

static void complete(iso_blocking *b, iso__call *c, int status) {
  uv_mutex_lock(&b->lock);
  c->status = status;
  c->done = true;
  uv_cond_broadcast(&b->cond);
  uv_mutex_unlock(&b->lock);
}

static void on_response(iso_conn *conn, int status, const iso_frame *resp, void *data) {
  iso_blocking *b = conn->opts.data;
  iso__call *c = data;
  if (status == 0) {
    *c->resp_len = resp->len;
    if (resp->len > c->cap) status = ISO_E_NOSPC;
    else memcpy(c->resp, resp->payload, resp->len);
  }
  complete(b, c, status);
}

static void on_closed(iso_conn *conn, int status) {
  (void)status;
  iso_blocking *b = conn->opts.data;
  uv_mutex_lock(&b->lock);
  b->up = false;
  uv_mutex_unlock(&b->lock);
}

static void on_wake(uv_async_t *a) {
  iso_blocking *b = a->data;
  uv_mutex_lock(&b->lock);
  iso__call *list = b->head;
  b->head = b->tail = NULL;
  bool closing = b->closing;
  uv_mutex_unlock(&b->lock);
  while (list) {
    iso__call *c = list;
    list = c->next;
    iso_frame f = {NULL, 0, c->payload, (uint32_t)c->len};
    int rc = closing ? ISO_E_CLOSED
                     : iso_conn_request(b->conn, &f, c->timeout_ms, on_response, c);
    if (rc < 0) complete(b, c, rc);
  }
  if (closing && !uv_is_closing((uv_handle_t *)&b->wake)) {
    iso_conn_close(b->conn, ISO_CLOSE_NOW, NULL);
    uv_close((uv_handle_t *)&b->wake, NULL);
  }
}

static void on_connected(iso_conn *conn, int status) {
  iso_blocking *b = conn->opts.data;
  uv_mutex_lock(&b->lock);
  b->connect_status = status;
  b->connect_done = true;
  b->up = status == 0;
  uv_cond_broadcast(&b->cond);
  uv_mutex_unlock(&b->lock);
}

static void thread_main(void *arg) {
  iso_blocking *b = arg;
  if (iso_conn_connect(b->conn, (struct sockaddr *)&b->addr, on_connected) < 0)
    on_connected(b->conn, ISO_E_CONNECT);
  uv_run(&b->loop, UV_RUN_DEFAULT);
}

int iso_blocking_open(const iso_conn_opts *opts, const struct sockaddr *addr,
                      iso_blocking **out) {
  if (opts == NULL || addr == NULL || out == NULL) return ISO_E_INVAL;
  iso_blocking *b = calloc(1, sizeof *b);
  if (b == NULL) return ISO_E_NOMEM;
  memcpy(&b->addr, addr, addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                      : sizeof(struct sockaddr_in));
  if (uv_loop_init(&b->loop) < 0) {
    free(b);
    return ISO_E_NOMEM;
  }
  iso_conn_opts o = *opts;
  o.data = b;
  if (o.on_closed == NULL) o.on_closed = on_closed;
  if (o.on_failed == NULL) o.on_failed = on_closed;
  int rc = iso_conn_new(&b->loop, &o, &b->conn);
  if (rc < 0) {
    uv_loop_close(&b->loop);
    free(b);
    return rc;
  }
  uv_mutex_init(&b->lock);
  uv_cond_init(&b->cond);
  uv_async_init(&b->loop, &b->wake, on_wake);
  b->wake.data = b;
  uv_thread_create(&b->thread, thread_main, b);
  uv_mutex_lock(&b->lock);
  while (!b->connect_done) uv_cond_wait(&b->cond, &b->lock);
  rc = b->connect_status;
  uv_mutex_unlock(&b->lock);
  if (rc < 0) {
    iso_blocking_close(b);
    return rc;
  }
  *out = b;
  return 0;
}

int iso_blocking_request(iso_blocking *b, const uint8_t *payload, size_t len,
                         uint32_t timeout_ms, uint8_t *resp, size_t cap,
                         size_t *resp_len) {
  iso__call c = {payload, len, timeout_ms, resp, cap, resp_len, 0, false, NULL};
  uv_mutex_lock(&b->lock);
  if (b->closing || !b->up) {
    uv_mutex_unlock(&b->lock);
    return ISO_E_CLOSED;
  }
  if (b->tail) b->tail->next = &c;
  else b->head = &c;
  b->tail = &c;
  uv_async_send(&b->wake);
  while (!c.done) uv_cond_wait(&b->cond, &b->lock);
  uv_mutex_unlock(&b->lock);
  return c.status;
}

bool iso_blocking_is_up(iso_blocking *b) {
  uv_mutex_lock(&b->lock);
  bool up = b->up;
  uv_mutex_unlock(&b->lock);
  return up;
}

void iso_blocking_close(iso_blocking *b) {
  uv_mutex_lock(&b->lock);
  b->closing = true;
  uv_mutex_unlock(&b->lock);
  uv_async_send(&b->wake);
  uv_thread_join(&b->thread);
  uv_loop_close(&b->loop);
  uv_cond_destroy(&b->cond);
  uv_mutex_destroy(&b->lock);
  free(b);
}
