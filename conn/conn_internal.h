/*
 * conn/conn_internal.h -- what the files of conn/ share about a connection.
 *
 *   connection.c  lifecycle (connect, accept, sign-on, close), the read path
 *                 (framer over the read buffer) and the coalesced write path
 *   requests.c    requests in flight: pooled records, the match table, the
 *                 deadline list behind one timer, late-response memory
 *   matcher.c     match keys read off the wire
 *   server.c      listeners and worker loops
 *   tls.c         OpenSSL over memory BIOs, between the socket and the framer
 */
#ifndef ISOFLOW_CONN_INTERNAL_H
#define ISOFLOW_CONN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "isoflow/conn.h"

#define ISO__NONE UINT32_MAX

/* Counter updates: one writer (the loop thread), readers on any thread. */
#define ISO__STAT_ADD(s, field, n)                                     \
  __atomic_store_n(&(s)->field, __atomic_load_n(&(s)->field, __ATOMIC_RELAXED) + (n), \
                   __ATOMIC_RELAXED)
#define ISO__STAT_SUB(s, field, n)                                     \
  __atomic_store_n(&(s)->field, __atomic_load_n(&(s)->field, __ATOMIC_RELAXED) - (n), \
                   __ATOMIC_RELAXED)
/* Both the connection's own counters and its owner's (server worker, pool). */
#define ISO__COUNT(c, field, n)                        \
  do {                                                 \
    ISO__STAT_ADD(&(c)->stats, field, n);              \
    if ((c)->agg) ISO__STAT_ADD((c)->agg, field, n);   \
  } while (0)
#define ISO__UNCOUNT(c, field, n)                      \
  do {                                                 \
    ISO__STAT_SUB(&(c)->stats, field, n);              \
    if ((c)->agg) ISO__STAT_SUB((c)->agg, field, n);   \
  } while (0)

/** A growable byte buffer (read buffer, output buffers). */
typedef struct iso__buf {
  uint8_t *data;
  size_t len;
  size_t cap;
} iso__buf;

int iso__buf_reserve(iso__buf *b, size_t more);
void iso__buf_free(iso__buf *b);

/** One request in flight (or a free record). */
typedef struct iso__req {
  iso_response_cb cb; /* NULL for an internal ping */
  void *data;
  uint64_t deadline;  /* loop time, ms */
  uint32_t prev, next; /* deadline list; `next` also links the free list */
  uint32_t hash;
  uint8_t key_len;
  uint8_t key[ISO_MATCH_KEY_MAX];
} iso__req;

/** Keys of requests that timed out recently: a response to one is "late". */
#define ISO__LATE_RING 64
typedef struct iso__late {
  uint32_t hash;
  uint8_t key_len; /* 0 = empty slot */
  uint8_t key[ISO_MATCH_KEY_MAX];
} iso__late;

/** The request table of a connection (requests.c). */
typedef struct iso__reqtab {
  iso__req *recs;
  uint32_t nrecs, cap_recs, max; /* records made, allocated, allowed */
  uint32_t free_head;
  uint32_t in_flight;
  uint32_t *slots; /* open addressing: record index + 1, 0 = empty */
  uint32_t mask;
  uint32_t dl_head, dl_tail; /* by deadline, earliest first */
  iso__late late[ISO__LATE_RING];
  uint32_t late_next;
} iso__reqtab;

typedef enum iso__state {
  ISO__NEW = 0,
  ISO__CONNECTING, /* TCP connect, then TLS handshake */
  ISO__SIGNON,
  ISO__UP,
  ISO__DRAINING,   /* graceful close: waiting for requests in flight */
  ISO__DOWN,       /* the link is gone; handles closing or closed */
} iso__state;

struct iso__tls_session;

struct iso_conn {
  uv_loop_t *loop;
  iso_conn_opts opts;
  uint8_t *header;  /* default outgoing header (header_len bytes) */
  uint8_t *ping;    /* copy of opts.ping */
  size_t psize;     /* length prefix size */
  uint32_t max_body;

  uv_tcp_t tcp;
  uv_timer_t req_timer;  /* earliest request deadline */
  uv_timer_t idle_timer; /* idle ping and read timeout */
  uv_timer_t life_timer; /* connect and close bounds; closed last */
  uv_prepare_t flusher;  /* writes the output buffer once per iteration */
  uv_connect_t connect_req;
  uv_write_t write_req;
  uv_shutdown_t shutdown_req;

  iso__state state;
  bool established;  /* connect_cb(0) / on_connection happened */
  bool reading;
  bool writing;      /* write_req in flight (from wout) */
  bool flush_armed;
  bool shutdown_after_write;
  bool tcp_open;
  bool close_called;
  bool down_reported;
  bool is_server;
  bool finishing;    /* graceful close: flushing, then shutdown */
  bool link_closed;  /* tcp, req_timer, idle_timer, flusher closed */
  bool owner_closing; /* the owning server or pool is closing it */
  uint8_t close_reason; /* iso_close_reason, once DOWN */
  uint8_t handles_closing;
  int refs;
  int down_status;
  iso_conn_cb connect_cb;
  iso_conn_cb close_cb;
  iso_conn_cb link_close_cb; /* user close of an owned connection */

  iso__buf rbuf;  /* plaintext bytes received, not yet framed */
  iso__buf out;   /* frames queued for the next flush */
  iso__buf wout;  /* frames being written by write_req */
  size_t rbuf_cap;

  iso__reqtab reqs;
  uint64_t last_rx, last_tx;
  uint64_t last_frame; /* a whole frame (or keep-alive) last arrived */

  iso_conn_stats stats;
  iso_conn_stats *agg; /* owner's counters, or NULL */

  struct iso__tls_session *tls;

  /* owner (server worker, pool): told when the link is down */
  void *owner;
  void (*owner_up)(iso_conn *conn);
  void (*owner_down)(iso_conn *conn, int status);
  iso_conn *owner_prev, *owner_next;
};

/* connection.c */
int iso__conn_create(uv_loop_t *loop, const iso_conn_opts *opts,
                     iso_conn **out);
int iso__conn_accept(iso_conn *conn, uv_stream_t *server);
void iso__conn_schedule_flush(iso_conn *conn);
void iso__conn_frames(iso_conn *conn);
void iso__conn_ready(iso_conn *conn);
void iso__conn_check_drained(iso_conn *conn);
void iso__conn_down(iso_conn *conn, int status, bool failed);
void iso__conn_shutdown(iso_conn *conn); /* the owner closes: "shutdown" */
int iso__conn_close(iso_conn *conn, iso_close_how how, iso_conn_cb cb);
void iso__conn_noop_cb(iso_conn *conn, int status);
int iso__conn_enqueue(iso_conn *conn, const iso_frame *frame);
int iso__conn_rbuf_ready(iso_conn *conn);
int iso__conn_write_wire(iso_conn *conn, iso__buf *wire);
void iso__stats_merge(iso_conn_stats *dst, const iso_conn_stats *src);

/* requests.c */
int iso__reqtab_init(iso__reqtab *t, uint32_t max);
void iso__reqtab_free(iso__reqtab *t);
int iso__req_submit(iso_conn *conn, const iso_frame *frame,
                    uint32_t timeout_ms, iso_response_cb cb, void *data);
void iso__req_response(iso_conn *conn, const iso_match_key *key,
                       const iso_frame *frame);
void iso__req_fail_all(iso_conn *conn, int status);
void iso__req_expire(uv_timer_t *timer);

/* server.c: the next n accepts fail (tests) */
void iso__server_inject_accept_failures(iso_server *server, int n);

/* pool.c: the delay before retry `attempt` (tests) */
uint32_t iso__pool_backoff(uint32_t initial, uint32_t cap, uint32_t attempt,
                           uint32_t rnd);

/* tls.c */
int iso__tls_attach(iso_conn *conn, bool server);
void iso__tls_detach(iso_conn *conn);
void iso__tls_cipher_buf(iso_conn *conn, uv_buf_t *buf);
void iso__tls_on_cipher(iso_conn *conn, const uint8_t *data, size_t len);
int iso__tls_flush(iso_conn *conn);
int iso__tls_handshake(iso_conn *conn);
int iso__tls_shutdown(iso_conn *conn);
size_t iso__tls_backlog(const iso_conn *conn); /* ciphertext not yet written */

#endif /* ISOFLOW_CONN_INTERNAL_H */
