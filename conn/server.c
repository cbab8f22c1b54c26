/*
 * conn/server.c -- accepting connections on one loop or on N worker loops.
 *
 * Each worker owns a loop, a listening socket and the connections it
 * accepted; it never touches another worker's.  With several workers, every
 * listening socket is bound to the same port with SO_REUSEPORT and the kernel
 * spreads incoming connections over them.  That was chosen over one
 * accepting loop handing sockets to the others because it needs no hand-off
 * between threads (no queue, no async wake-up per connection), an accept
 * costs the same on every worker, and a stalled worker cannot hold up the
 * others' accepts.  The price: the spread is by hash, not by load.
 *
 * Accepted connections go through the same code as client connections
 * (conn/connection.c), with the server as their owner: it counts them, limits
 * them (one atomic counter shared by the workers), and closes them when their
 * link ends.  A failed accept is counted and accepting goes on.
 */
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include "conn/conn_internal.h"

typedef struct iso__worker {
  iso_server *server;
  uv_loop_t own_loop;
  uv_loop_t *loop;
  uv_thread_t thread;
  uv_tcp_t listener;
  uv_async_t stop;
  int fd;
  bool stopping;
  unsigned open; /* handles and connections not yet closed */
  iso_conn *conns;
  iso_conn_stats stats;
} iso__worker;

struct iso_server {
  iso_server_opts opts;
  int port;
  unsigned nworkers;
  bool threaded;
  iso__worker *workers;
  uint32_t nconns; /* atomic: connections open over all workers */
  int inject_accept_failures; /* atomic: tests */
  unsigned workers_open;
  void (*close_cb)(iso_server *server);
};

void iso__server_inject_accept_failures(iso_server *server, int n) {
  __atomic_store_n(&server->inject_accept_failures, n, __ATOMIC_RELAXED);
}

static void worker_done(iso__worker *w);

static void worker_release(iso__worker *w) {
  if (--w->open == 0) worker_done(w);
}

static void on_conn_closed(iso_conn *conn, int status) {
  iso__worker *w = conn->owner;
  (void)status;
  __atomic_sub_fetch(&w->server->nconns, 1, __ATOMIC_RELAXED);
  ISO__STAT_SUB(&w->stats, connections, 1);
  worker_release(w);
}

static void unlink_conn(iso__worker *w, iso_conn *conn) {
  if (conn->owner_prev) conn->owner_prev->owner_next = conn->owner_next;
  else if (w->conns == conn) w->conns = conn->owner_next;
  if (conn->owner_next) conn->owner_next->owner_prev = conn->owner_prev;
  conn->owner_prev = conn->owner_next = NULL;
}

static void conn_down(iso_conn *conn, int status) {
  (void)status;
  unlink_conn(conn->owner, conn);
  iso__conn_close(conn, ISO_CLOSE_NOW, on_conn_closed);
}

static void conn_up(iso_conn *conn) {
  iso__worker *w = conn->owner;
  if (w->server->opts.on_connection) w->server->opts.on_connection(w->server, conn);
}

static void on_throwaway_closed(uv_handle_t *h) { free(h); }

/* Accepts the pending socket into a handle that is closed at once: libuv
 * stops watching a listener whose pending socket was not accepted. */
static void drop_pending(iso__worker *w) {
  uv_tcp_t *t = malloc(sizeof *t);
  if (t == NULL) return;
  uv_tcp_init(w->loop, t);
  uv_accept((uv_stream_t *)&w->listener, (uv_stream_t *)t);
  uv_close((uv_handle_t *)t, on_throwaway_closed);
}

static void on_connection(uv_stream_t *listener, int status) {
  iso__worker *w = listener->data;
  iso_server *s = w->server;
  if (status < 0 || w->stopping) {
    if (status < 0) ISO__STAT_ADD(&w->stats, accept_errors, 1);
    else drop_pending(w);
    return;
  }
  if (__atomic_load_n(&s->inject_accept_failures, __ATOMIC_RELAXED) > 0) {
    __atomic_sub_fetch(&s->inject_accept_failures, 1, __ATOMIC_RELAXED);
    ISO__STAT_ADD(&w->stats, accept_errors, 1);
    drop_pending(w);
    return;
  }
  if (__atomic_add_fetch(&s->nconns, 1, __ATOMIC_RELAXED) > s->opts.max_connections) {
    __atomic_sub_fetch(&s->nconns, 1, __ATOMIC_RELAXED);
    ISO__STAT_ADD(&w->stats, refused, 1);
    drop_pending(w);
    return;
  }
  iso_conn *conn;
  if (iso__conn_create(w->loop, &s->opts.conn, &conn) < 0) {
    __atomic_sub_fetch(&s->nconns, 1, __ATOMIC_RELAXED);
    ISO__STAT_ADD(&w->stats, accept_errors, 1);
    drop_pending(w);
    return;
  }
  conn->owner = w;
  conn->agg = &w->stats;
  conn->owner_up = conn_up;
  conn->owner_down = conn_down;
  conn->owner_next = w->conns;
  if (w->conns) w->conns->owner_prev = conn;
  w->conns = conn;
  w->open++;
  ISO__STAT_ADD(&w->stats, connections, 1);
  ISO__STAT_ADD(&w->stats, accepted, 1);
  if (iso__conn_accept(conn, listener) < 0) {
    ISO__STAT_ADD(&w->stats, accept_errors, 1);
    iso__conn_down(conn, ISO_E_IO, true);
  }
}

static void on_worker_handle_closed(uv_handle_t *h) {
  worker_release(h->data);
}

/* On the worker's loop: stop accepting, close every connection. */
static void worker_stop(iso__worker *w) {
  if (w->stopping) return;
  w->stopping = true;
  uv_close((uv_handle_t *)&w->listener, on_worker_handle_closed);
  uv_close((uv_handle_t *)&w->stop, on_worker_handle_closed);
  while (w->conns) iso__conn_shutdown(w->conns);
}

static void on_stop(uv_async_t *a) { worker_stop(a->data); }

static void worker_done(iso__worker *w) {
  iso_server *s = w->server;
  if (s->threaded) return; /* the thread's loop ends; close joins it */
  if (--s->workers_open > 0) return;
  void (*cb)(iso_server *) = s->close_cb;
  free(s->workers);
  free(s);
  if (cb) cb(NULL);
}

/* A worker's thread.  With busy polling, the loop runs without blocking as
 * long as bytes came in within the last busy_poll_us; a wake-up from the
 * kernel costs tens of microseconds on a VM, more than a round trip. */
static void worker_main(void *arg) {
  iso__worker *w = arg;
  uint64_t spin_ns = (uint64_t)w->server->opts.busy_poll_us * 1000;
  if (spin_ns == 0) {
    uv_run(w->loop, UV_RUN_DEFAULT);
    return;
  }
  uint64_t last_in = 0, until = uv_hrtime() + spin_ns;
  for (;;) {
    uint64_t in = __atomic_load_n(&w->stats.bytes_in, __ATOMIC_RELAXED);
    uint64_t now = uv_hrtime();
    if (in != last_in) {
      last_in = in;
      until = now + spin_ns;
    }
    if (now >= until) {
      if (!uv_run(w->loop, UV_RUN_ONCE)) break;
      continue;
    }
    if (!uv_run(w->loop, UV_RUN_NOWAIT)) break;
    sched_yield(); /* polite spinning: others runnable get the CPU */
  }
}

/* A listening socket on addr (port taken from *port when non-zero). */
static int make_listener(const struct sockaddr *addr, int *port, bool reuseport,
                         int backlog) {
  struct sockaddr_storage ss;
  socklen_t alen = addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                               : sizeof(struct sockaddr_in);
  memcpy(&ss, addr, alen);
  if (*port) {
    if (ss.ss_family == AF_INET6) ((struct sockaddr_in6 *)&ss)->sin6_port = htons((uint16_t)*port);
    else ((struct sockaddr_in *)&ss)->sin_port = htons((uint16_t)*port);
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return ISO_E_IO;
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0)
    goto fail;
  if (bind(fd, (struct sockaddr *)&ss, alen) < 0 || listen(fd, backlog) < 0) goto fail;
  alen = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &alen) < 0) goto fail;
  *port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
                                         : ((struct sockaddr_in *)&ss)->sin_port);
  return fd;
fail:
  close(fd);
  return ISO_E_IO;
}

static int worker_init(iso_server *s, iso__worker *w) {
  w->server = s;
  if (s->threaded && uv_loop_init(&w->own_loop) < 0) return ISO_E_NOMEM;
  w->loop = s->threaded ? &w->own_loop : s->opts.loop;
  uv_tcp_init(w->loop, &w->listener);
  uv_async_init(w->loop, &w->stop, on_stop);
  w->listener.data = w->stop.data = w;
  w->open = 2;
  if (uv_tcp_open(&w->listener, w->fd) < 0 ||
      uv_listen((uv_stream_t *)&w->listener, s->opts.backlog, on_connection) < 0)
    return ISO_E_IO;
  w->fd = -1; /* owned by the handle now */
  return 0;
}

/* Undoes a start that failed before any loop ran.  On the caller's loop the
 * handles' close callbacks run later, so that case frees in worker_done. */
static void start_failed(iso_server *s, unsigned made) {
  bool defer = false;
  for (unsigned i = 0; i < made; i++) {
    iso__worker *w = &s->workers[i];
    if (w->fd >= 0) close(w->fd);
    if (w->loop == NULL) continue;
    w->stopping = true;
    uv_close((uv_handle_t *)&w->listener, on_worker_handle_closed);
    uv_close((uv_handle_t *)&w->stop, on_worker_handle_closed);
    if (s->threaded) {
      uv_run(w->loop, UV_RUN_DEFAULT);
      uv_loop_close(w->loop);
    } else {
      defer = true;
    }
  }
  if (defer) {
    s->workers_open = 1;
    return;
  }
  free(s->workers);
  free(s);
}

int iso_server_start(const iso_server_opts *opts, const struct sockaddr *addr,
                     iso_server **out) {
  if (opts == NULL || addr == NULL || iso_framing_check(&opts->conn.framing) < 0 ||
      (opts->conn.spec == NULL && opts->conn.match.fn == NULL))
    return ISO_E_INVAL;
  iso_server *s = calloc(1, sizeof *s);
  if (s == NULL) return ISO_E_NOMEM;
  s->opts = *opts;
  s->threaded = opts->loop == NULL;
  s->nworkers = s->threaded ? (opts->workers ? opts->workers : 1) : 1;
  if (!s->opts.max_connections) s->opts.max_connections = 10000;
  if (!s->opts.backlog) s->opts.backlog = 511;
  s->workers = calloc(s->nworkers, sizeof *s->workers);
  if (s->workers == NULL) {
    free(s);
    return ISO_E_NOMEM;
  }
  int rc = 0;
  unsigned made = 0;
  for (unsigned i = 0; i < s->nworkers; i++) s->workers[i].fd = -1;
  for (; made < s->nworkers; made++) {
    int fd = make_listener(addr, &s->port, s->nworkers > 1, s->opts.backlog);
    if (fd < 0) {
      rc = fd;
      break;
    }
    s->workers[made].fd = fd;
  }
  /* Every worker's handles are set up here, before any loop runs; thread
   * creation orders these writes before the worker's first read. */
  for (unsigned i = 0; rc == 0 && i < s->nworkers; i++)
    rc = worker_init(s, &s->workers[i]);
  if (rc < 0) {
    start_failed(s, made);
    return rc;
  }
  s->workers_open = s->nworkers;
  if (s->threaded)
    for (unsigned i = 0; i < s->nworkers; i++)
      uv_thread_create(&s->workers[i].thread, worker_main, &s->workers[i]);
  *out = s;
  return 0;
}

int iso_server_port(const iso_server *server) { return server->port; }

void *iso_server_data(const iso_server *server) { return server->opts.data; }

void iso_server_close(iso_server *s, void (*cb)(iso_server *server)) {
  if (!s->threaded) {
    s->close_cb = cb;
    worker_stop(&s->workers[0]);
    return;
  }
  for (unsigned i = 0; i < s->nworkers; i++) uv_async_send(&s->workers[i].stop);
  for (unsigned i = 0; i < s->nworkers; i++) {
    uv_thread_join(&s->workers[i].thread);
    uv_loop_close(&s->workers[i].own_loop);
  }
  free(s->workers);
  free(s);
  if (cb) cb(NULL);
}

void iso_server_stats_read(const iso_server *s, iso_conn_stats *out) {
  memset(out, 0, sizeof *out);
  for (unsigned i = 0; i < s->nworkers; i++) iso__stats_merge(out, &s->workers[i].stats);
}
