/*
 * conn/pool.c -- connections to one or more addresses, kept up.
 *
 * One slot per address (an address may repeat, for several links to one
 * host).  Each slot owns at most one connection; when it fails to connect or
 * its link ends, the slot waits and tries again, with exponential backoff and
 * jitter up to a cap, reset by a success.  Requests through the pool go to
 * the healthy connections (established, and passing the filter, e.g.
 * "signed on") in turn.  The pool's state is UP with at least min_up healthy
 * connections, DEGRADED with fewer, DOWN with none; on_state hears changes.
 *
 * The pool learns that a link ended through the connection's owner hook (the
 * same one a server uses), so the user's own on_closed / on_failed still run.
 */
#include <stdlib.h>
#include <string.h>

#include "conn/conn_internal.h"

typedef struct iso__slot_conn {
  iso_pool *pool;
  struct sockaddr_storage addr;
  iso_conn *conn;     /* NULL while waiting to retry */
  uv_timer_t retry;
  uint32_t attempt;   /* failures since the last success */
  bool up;            /* established */
  bool ever_up;
} iso__slot_conn;

struct iso_pool {
  uv_loop_t *loop;
  iso_pool_opts opts;
  iso__slot_conn *slots;
  size_t nslots;
  size_t next;        /* round-robin position */
  bool closing;
  unsigned open;      /* timers and connections not yet closed */
  iso_pool_state state;
  uint32_t rng;
  iso_conn_stats stats;
  void (*close_cb)(iso_pool *pool);
};

/* The delay before retry number `attempt` (0-based): initial * 2^attempt,
 * capped, then drawn from its upper half with `rnd`. */
uint32_t iso__pool_backoff(uint32_t initial, uint32_t cap, uint32_t attempt,
                           uint32_t rnd) {
  uint64_t d = initial;
  for (uint32_t i = 0; i < attempt && d < cap; i++) d *= 2;
  if (d > cap) d = cap;
  uint64_t half = d / 2;
  return (uint32_t)(d - half + (half ? rnd % (half + 1) : 0));
}

static uint32_t next_random(iso_pool *p) {
  p->rng ^= p->rng << 13; /* xorshift32 */
  p->rng ^= p->rng >> 17;
  p->rng ^= p->rng << 5;
  return p->rng;
}

static bool healthy(const iso_pool *p, const iso__slot_conn *s) {
  if (!s->up || s->conn == NULL || !iso_conn_is_up(s->conn)) return false;
  return p->opts.filter == NULL || p->opts.filter(s->conn, p->opts.filter_data);
}

unsigned iso_pool_healthy(const iso_pool *p) {
  unsigned n = 0;
  for (size_t i = 0; i < p->nslots; i++) n += healthy(p, &p->slots[i]);
  return n;
}

iso_pool_state iso_pool_state_get(const iso_pool *p) {
  unsigned n = iso_pool_healthy(p);
  if (n == 0) return ISO_POOL_DOWN;
  return n >= p->opts.min_up ? ISO_POOL_UP : ISO_POOL_DEGRADED;
}

static void update_state(iso_pool *p) {
  __atomic_store_n(&p->stats.connections, iso_pool_healthy(p), __ATOMIC_RELAXED);
  iso_pool_state s = iso_pool_state_get(p);
  if (s == p->state || p->closing) return;
  p->state = s;
  if (p->opts.on_state) p->opts.on_state(p, s);
}

static void pool_release(iso_pool *p) {
  if (--p->open > 0) return;
  void (*cb)(iso_pool *) = p->close_cb;
  free(p->slots);
  free(p);
  if (cb) cb(NULL);
}

static void on_conn_closed(iso_conn *conn, int status) {
  (void)status;
  iso__slot_conn *s = conn->owner;
  pool_release(s->pool);
}

static void slot_connect(iso__slot_conn *s);

static void on_retry(uv_timer_t *t) { slot_connect(t->data); }

static void schedule_retry(iso__slot_conn *s) {
  iso_pool *p = s->pool;
  if (p->closing) return;
  uint32_t d = iso__pool_backoff(p->opts.backoff_initial_ms, p->opts.backoff_max_ms,
                                 s->attempt++, next_random(p));
  uv_timer_start(&s->retry, on_retry, d, 0);
}

/* The connection's link ended (or never came up): close it, retry later. */
static void slot_down(iso_conn *conn, int status) {
  (void)status;
  iso__slot_conn *s = conn->owner;
  s->up = false;
  s->conn = NULL;
  iso__conn_close(conn, ISO_CLOSE_NOW, on_conn_closed);
  update_state(s->pool);
  schedule_retry(s);
}

static void slot_connected(iso_conn *conn, int status) {
  iso__slot_conn *s = conn->owner;
  if (status < 0) return; /* slot_down follows and retries */
  s->up = true;
  s->attempt = 0;
  if (s->ever_up) ISO__STAT_ADD(&s->pool->stats, reconnects, 1);
  s->ever_up = true;
  update_state(s->pool);
}

static void slot_connect(iso__slot_conn *s) {
  iso_pool *p = s->pool;
  iso_conn *conn;
  if (p->closing) return;
  if (iso__conn_create(p->loop, &p->opts.conn, &conn) < 0) {
    schedule_retry(s);
    return;
  }
  conn->owner = s;
  conn->agg = &p->stats;
  conn->owner_down = slot_down;
  p->open++;
  s->conn = conn;
  if (iso_conn_connect(conn, (struct sockaddr *)&s->addr, slot_connected) < 0) {
    s->conn = NULL;
    iso__conn_close(conn, ISO_CLOSE_NOW, on_conn_closed);
    schedule_retry(s);
  }
}

int iso_pool_start(uv_loop_t *loop, const iso_pool_opts *opts, iso_pool **out) {
  if (loop == NULL || opts == NULL || opts->naddrs == 0 || opts->addrs == NULL ||
      iso_framing_check(&opts->conn.framing) < 0 ||
      (opts->conn.spec == NULL && opts->conn.match.fn == NULL))
    return ISO_E_INVAL;
  iso_pool *p = calloc(1, sizeof *p);
  if (p == NULL) return ISO_E_NOMEM;
  p->slots = calloc(opts->naddrs, sizeof *p->slots);
  if (p->slots == NULL) {
    free(p);
    return ISO_E_NOMEM;
  }
  p->loop = loop;
  p->opts = *opts;
  p->opts.addrs = NULL; /* copied into the slots */
  p->nslots = opts->naddrs;
  if (!p->opts.min_up || p->opts.min_up > p->nslots) p->opts.min_up = (unsigned)p->nslots;
  if (!p->opts.backoff_initial_ms) p->opts.backoff_initial_ms = 100;
  if (!p->opts.backoff_max_ms) p->opts.backoff_max_ms = 30000;
  p->rng = (uint32_t)uv_hrtime() | 1u;
  for (size_t i = 0; i < p->nslots; i++) {
    const struct sockaddr *a = opts->addrs[i];
    size_t len = a->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                          : sizeof(struct sockaddr_in);
    memcpy(&p->slots[i].addr, a, len);
    p->slots[i].pool = p;
    uv_timer_init(loop, &p->slots[i].retry);
    p->slots[i].retry.data = &p->slots[i];
    p->open++;
  }
  for (size_t i = 0; i < p->nslots; i++) slot_connect(&p->slots[i]);
  *out = p;
  return 0;
}

iso_conn *iso_pool_pick(iso_pool *p) {
  for (size_t k = 0; k < p->nslots; k++) {
    iso__slot_conn *s = &p->slots[(p->next + k) % p->nslots];
    if (healthy(p, s)) {
      p->next = (p->next + k + 1) % p->nslots;
      return s->conn;
    }
  }
  return NULL;
}

int iso_pool_request(iso_pool *p, const iso_frame *frame, uint32_t timeout_ms,
                     iso_response_cb cb, void *data) {
  int rc = ISO_E_NO_CONNECTION;
  for (size_t k = 0; k < p->nslots; k++) {
    iso_conn *conn = iso_pool_pick(p);
    if (conn == NULL) break;
    rc = iso_conn_request(conn, frame, timeout_ms, cb, data);
    if (rc == 0 || (rc != ISO_E_BUSY && rc != ISO_E_DUPLICATE_KEY)) return rc;
  }
  if (rc == ISO_E_NO_CONNECTION) ISO__STAT_ADD(&p->stats, refused, 1);
  return rc;
}

void *iso_pool_data(const iso_pool *p) { return p->opts.data; }

void iso_pool_stats_read(const iso_pool *p, iso_conn_stats *out) {
  memset(out, 0, sizeof *out);
  iso__stats_merge(out, &p->stats);
}

static void on_timer_closed(uv_handle_t *h) {
  iso__slot_conn *s = h->data;
  pool_release(s->pool);
}

void iso_pool_close(iso_pool *p, void (*cb)(iso_pool *pool)) {
  p->closing = true;
  p->close_cb = cb;
  for (size_t i = 0; i < p->nslots; i++) {
    iso__slot_conn *s = &p->slots[i];
    uv_close((uv_handle_t *)&s->retry, on_timer_closed);
    if (s->conn) iso__conn_shutdown(s->conn); /* -> slot_down */
  }
}
