/*
 * conn/connection.c -- one connection: lifecycle, reading, coalesced writing.
 *
 * Lifecycle: NEW -> CONNECTING (TCP, then TLS) -> SIGNON (optional hook) ->
 * UP -> DRAINING (graceful close) -> DOWN.  Whatever ends the link goes
 * through down(): pending requests fail, exactly one of connect's callback,
 * on_closed or on_failed is told, and the link's handles close.  The handle
 * itself is released once the user closed it too (iso_conn_close), its last
 * handle (life_timer) is closed and the last reference is dropped.
 *
 * Reading: bytes land at the tail of one read buffer (sized for a maximal
 * frame plus 16 KiB, so a read can always bring many frames); the framer runs
 * over it as long as whole frames are there; the partial tail is moved to the
 * front.  Writing: frames are appended to an output buffer and written once
 * per loop iteration (a uv_prepare handle, armed only when there is output),
 * first with uv_try_write; whatever the kernel does not take goes out through
 * one uv_write while new frames collect in the other buffer.
 */
#include <stdlib.h>
#include <string.h>

#include "conn/conn_internal.h"

#define ISO__READ_SLACK 16384u

int iso__buf_reserve(iso__buf *b, size_t more) {
  if (b->cap - b->len >= more) return 0;
  size_t cap = b->cap ? b->cap : 4096;
  while (cap - b->len < more) cap *= 2;
  uint8_t *p = realloc(b->data, cap);
  if (p == NULL) return ISO_E_NOMEM;
  b->data = p;
  b->cap = cap;
  return 0;
}

void iso__buf_free(iso__buf *b) {
  free(b->data);
  memset(b, 0, sizeof *b);
}

void iso__stats_merge(iso_conn_stats *dst, const iso_conn_stats *src) {
  uint64_t *d = (uint64_t *)dst;
  const uint64_t *s = (const uint64_t *)src;
  for (size_t i = 0; i < sizeof *dst / sizeof(uint64_t); i++)
    d[i] += __atomic_load_n(&s[i], __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------------ */
/* Creation and release                                                      */
/* ------------------------------------------------------------------------ */

static void release(iso_conn *conn) {
  iso__tls_detach(conn);
  iso__buf_free(&conn->rbuf);
  iso__buf_free(&conn->out);
  iso__buf_free(&conn->wout);
  iso__reqtab_free(&conn->reqs);
  free(conn->header);
  free(conn->ping);
  free(conn);
}

int iso__conn_create(uv_loop_t *loop, const iso_conn_opts *opts,
                     iso_conn **out) {
  if (loop == NULL || opts == NULL || iso_framing_check(&opts->framing) < 0)
    return ISO_E_INVAL;
  if (opts->match.fn == NULL && opts->spec == NULL) return ISO_E_INVAL;
  iso_conn *conn = calloc(1, sizeof *conn);
  if (conn == NULL) return ISO_E_NOMEM;
  conn->loop = loop;
  conn->opts = *opts;
  iso_conn_opts *o = &conn->opts;
  if (!o->max_in_flight) o->max_in_flight = 1024;
  if (!o->request_timeout_ms) o->request_timeout_ms = 30000;
  if (!o->connect_timeout_ms) o->connect_timeout_ms = 10000;
  if (!o->close_timeout_ms) o->close_timeout_ms = 5000;
  if (!o->max_output) o->max_output = 8u << 20;
  conn->psize = iso_frame_prefix_size(&o->framing);
  conn->max_body = iso_frame_max_body(&o->framing);
  conn->rbuf_cap = conn->psize + conn->max_body + ISO__READ_SLACK;
  conn->refs = 1;
  conn->header = calloc(1, o->framing.header_len + 1u);
  if (conn->header && opts->header)
    memcpy(conn->header, opts->header, o->framing.header_len);
  if (opts->ping) {
    conn->ping = malloc(opts->ping_len ? opts->ping_len : 1);
    if (conn->ping) memcpy(conn->ping, opts->ping, opts->ping_len);
    o->ping = conn->ping;
  }
  if (conn->header == NULL || (opts->ping && conn->ping == NULL) ||
      iso__reqtab_init(&conn->reqs, o->max_in_flight) < 0) {
    release(conn);
    return ISO_E_NOMEM;
  }
  uv_tcp_init(loop, &conn->tcp);
  uv_timer_init(loop, &conn->req_timer);
  uv_timer_init(loop, &conn->idle_timer);
  uv_timer_init(loop, &conn->life_timer);
  uv_prepare_init(loop, &conn->flusher);
  conn->tcp.data = conn->req_timer.data = conn->idle_timer.data = conn;
  conn->life_timer.data = conn->flusher.data = conn;
  conn->connect_req.data = conn->write_req.data = conn->shutdown_req.data = conn;
  *out = conn;
  return 0;
}

int iso_conn_new(uv_loop_t *loop, const iso_conn_opts *opts, iso_conn **out) {
  return iso__conn_create(loop, opts, out);
}

void iso_conn_ref(iso_conn *conn) { conn->refs++; }

void iso_conn_unref(iso_conn *conn) {
  if (--conn->refs == 0) release(conn);
}

/* ------------------------------------------------------------------------ */
/* Going down and closing                                                    */
/* ------------------------------------------------------------------------ */

static void on_life_closed(uv_handle_t *h) {
  iso_conn *conn = h->data;
  iso_conn_cb cb = conn->close_cb;
  conn->close_cb = NULL;
  if (cb) cb(conn, 0);
  iso_conn_unref(conn);
}

static void on_link_handle_closed(uv_handle_t *h) {
  iso_conn *conn = h->data;
  if (--conn->handles_closing > 0) return;
  conn->link_closed = true;
  if (conn->close_called) uv_close((uv_handle_t *)&conn->life_timer, on_life_closed);
}

static const char *const close_reason_names[ISO_CLOSED__COUNT] = {
    [ISO_CLOSED_PEER] = "peer_closed",
    [ISO_CLOSED_PEER_MID_FRAME] = "eof_mid_frame",
    [ISO_CLOSED_IO_ERROR] = "io_error",
    [ISO_CLOSED_BAD_FRAME] = "bad_frame",
    [ISO_CLOSED_FRAME_TOO_LARGE] = "frame_too_large",
    [ISO_CLOSED_READ_TIMEOUT] = "read_timeout",
    [ISO_CLOSED_TLS_HANDSHAKE] = "tls_handshake",
    [ISO_CLOSED_TLS_ERROR] = "tls_error",
    [ISO_CLOSED_CONNECT_FAILED] = "connect_failed",
    [ISO_CLOSED_CONNECT_TIMEOUT] = "connect_timeout",
    [ISO_CLOSED_SIGNON] = "signon_failed",
    [ISO_CLOSED_LOCAL] = "local",
    [ISO_CLOSED_SHUTDOWN] = "shutdown",
    [ISO_CLOSED_NO_MEMORY] = "no_memory",
};

const char *iso_close_reason_name(iso_close_reason reason) {
  if ((unsigned)reason >= ISO_CLOSED__COUNT) return "unknown";
  return close_reason_names[reason];
}

/* Why the link is going down, from the status down() was given and where the
 * link was: the status alone cannot tell an end inside a TLS handshake from
 * one after it, nor a user's close from the owner's. */
static iso_close_reason close_reason(const iso_conn *conn, int status, bool failed) {
  /* reading has started (TCP is up) but the TLS handshake has not finished */
  bool handshaking = conn->opts.tls && conn->state == ISO__CONNECTING && conn->reading;
  switch (status) {
  case 0:
    return ISO_CLOSED_LOCAL; /* a graceful close finished */
  case ISO_E_CANCELED:
    return conn->owner_closing ? ISO_CLOSED_SHUTDOWN : ISO_CLOSED_LOCAL;
  case ISO_E_CLOSED:
    /* a peer that connects to a TLS port and leaves without a byte is not a
     * failed handshake (a port probe, a health check) */
    if (handshaking && conn->stats.bytes_in > 0) return ISO_CLOSED_TLS_HANDSHAKE;
    return failed ? ISO_CLOSED_PEER_MID_FRAME : ISO_CLOSED_PEER;
  case ISO_E_BAD_FRAME:
    return ISO_CLOSED_BAD_FRAME;
  case ISO_E_FRAME_TOO_LARGE:
    return ISO_CLOSED_FRAME_TOO_LARGE;
  case ISO_E_READ_TIMEOUT:
    return ISO_CLOSED_READ_TIMEOUT;
  case ISO_E_TLS:
    return handshaking || !conn->established ? ISO_CLOSED_TLS_HANDSHAKE
                                             : ISO_CLOSED_TLS_ERROR;
  case ISO_E_CONNECT:
    return ISO_CLOSED_CONNECT_FAILED;
  case ISO_E_TIMEDOUT:
    return ISO_CLOSED_CONNECT_TIMEOUT;
  case ISO_E_SIGNON:
    return ISO_CLOSED_SIGNON;
  case ISO_E_NOMEM:
    return ISO_CLOSED_NO_MEMORY;
  default:
    return ISO_CLOSED_IO_ERROR; /* ISO_E_IO: a read, write or accept failed */
  }
}

/* The one way a link ends.  `failed` says whether on_failed (an error) or
 * on_closed (an orderly end) is told. */
static void down(iso_conn *conn, int status, bool failed) {
  if (conn->state == ISO__DOWN) return;
  bool was_up = conn->established;
  /* a client closed before it ever connected had no link to count */
  bool counted = conn->state != ISO__NEW || conn->is_server;
  iso_close_reason reason = close_reason(conn, status, failed);
  conn->close_reason = (uint8_t)reason;
  conn->state = ISO__DOWN;
  conn->down_status = status;
  if (conn->reading) uv_read_stop((uv_stream_t *)&conn->tcp);
  conn->reading = false;
  uv_timer_stop(&conn->life_timer);
  uv_timer_stop(&conn->idle_timer);
  conn->handles_closing = 4;
  uv_close((uv_handle_t *)&conn->tcp, on_link_handle_closed);
  uv_close((uv_handle_t *)&conn->req_timer, on_link_handle_closed);
  uv_close((uv_handle_t *)&conn->idle_timer, on_link_handle_closed);
  uv_close((uv_handle_t *)&conn->flusher, on_link_handle_closed);
  conn->flush_armed = false;

  iso__req_fail_all(conn, status == ISO_E_CANCELED ? ISO_E_CANCELED : ISO_E_CLOSED);
  if (counted) ISO__COUNT(conn, closed[reason], 1);
  if (!was_up && failed && conn->is_server) ISO__COUNT(conn, failed, 1);
  if (was_up) {
    if (failed) {
      ISO__COUNT(conn, failed, 1);
      if (conn->opts.on_failed) conn->opts.on_failed(conn, status);
    } else if (conn->opts.on_closed) {
      conn->opts.on_closed(conn, status == ISO_E_CANCELED ? 0 : status);
    }
  } else if (conn->connect_cb) {
    if (status != ISO_E_CANCELED) ISO__COUNT(conn, connect_errors, 1);
    iso_conn_cb cb = conn->connect_cb;
    conn->connect_cb = NULL;
    cb(conn, status);
  }
  iso_conn_cb link_cb = conn->link_close_cb;
  if (conn->owner_down) conn->owner_down(conn, status);
  if (link_cb) link_cb(conn, 0);
}

void iso__conn_down(iso_conn *conn, int status, bool failed) {
  down(conn, status, failed);
}

void iso__conn_shutdown(iso_conn *conn) {
  conn->owner_closing = true;
  down(conn, ISO_E_CANCELED, false);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  (void)status;
  down(req->data, 0, false);
}

static void start_shutdown(iso_conn *conn) {
  conn->shutdown_after_write = false;
  if (uv_shutdown(&conn->shutdown_req, (uv_stream_t *)&conn->tcp, on_shutdown) < 0)
    down(conn, 0, false);
}

static void flush(iso_conn *conn);

/* Graceful close: once nothing is in flight, write what is queued (and a TLS
 * close_notify), shut the write side, close. */
void iso__conn_check_drained(iso_conn *conn) {
  if (conn->state != ISO__DRAINING || conn->finishing || conn->reqs.in_flight)
    return;
  conn->finishing = true;
  if (conn->tls) iso__tls_shutdown(conn);
  flush(conn);
  if (conn->state != ISO__DRAINING) return;
  if (conn->writing || conn->out.len) conn->shutdown_after_write = true;
  else start_shutdown(conn);
}

static void on_close_timeout(uv_timer_t *t) {
  down(t->data, ISO_E_CANCELED, false);
}

/* Ends the link: at once, or after the requests in flight (bounded). */
static void end_link(iso_conn *conn, iso_close_how how) {
  if (how == ISO_CLOSE_NOW || conn->state != ISO__UP) {
    down(conn, ISO_E_CANCELED, false);
    return;
  }
  conn->state = ISO__DRAINING;
  uv_timer_start(&conn->life_timer, on_close_timeout, conn->opts.close_timeout_ms, 0);
  iso__conn_check_drained(conn);
}

/* Closes the link and releases the handle (the owner's way, and the user's
 * for a connection nobody else owns). */
int iso__conn_close(iso_conn *conn, iso_close_how how, iso_conn_cb cb) {
  if (conn->close_called) {
    if (how == ISO_CLOSE_NOW) down(conn, ISO_E_CANCELED, false);
    return ISO_E_STATE;
  }
  conn->close_called = true;
  conn->close_cb = cb;
  if (conn->state != ISO__DOWN) end_link(conn, how);
  else if (conn->link_closed) uv_close((uv_handle_t *)&conn->life_timer, on_life_closed);
  return 0;
}

int iso_conn_close(iso_conn *conn, iso_close_how how, iso_conn_cb cb) {
  if (conn->owner_down == NULL) return iso__conn_close(conn, how, cb);
  /* owned by a server or a pool: the user ends the link, the owner releases
   * the handle; cb runs once the link is down */
  if (conn->state == ISO__DOWN || conn->link_close_cb) {
    if (how == ISO_CLOSE_NOW) down(conn, ISO_E_CANCELED, false);
    return ISO_E_STATE;
  }
  conn->link_close_cb = cb ? cb : iso__conn_noop_cb;
  end_link(conn, how);
  return 0;
}

void iso__conn_noop_cb(iso_conn *conn, int status) {
  (void)conn;
  (void)status;
}

/* ------------------------------------------------------------------------ */
/* Writing                                                                   */
/* ------------------------------------------------------------------------ */

static void on_write(uv_write_t *req, int status) {
  iso_conn *conn = req->data;
  conn->writing = false;
  conn->wout.len = 0;
  if (conn->state == ISO__DOWN) return;
  if (status < 0) {
    down(conn, ISO_E_IO, true);
    return;
  }
  flush(conn);
  if (conn->state != ISO__DOWN && conn->shutdown_after_write && !conn->writing &&
      conn->out.len == 0)
    start_shutdown(conn);
}

/* Writes `wire` (the plaintext output, or TLS's ciphertext) to the socket:
 * as much as the kernel takes now, the rest through one uv_write. */
int iso__conn_write_wire(iso_conn *conn, iso__buf *wire) {
  if (conn->writing || wire->len == 0) return 0;
  uv_buf_t b = uv_buf_init((char *)wire->data, (unsigned)wire->len);
  int n = uv_try_write((uv_stream_t *)&conn->tcp, &b, 1);
  if (n == UV_EAGAIN || n == UV_ENOSYS) n = 0;
  if (n < 0) {
    down(conn, ISO_E_IO, true);
    return ISO_E_IO;
  }
  ISO__COUNT(conn, bytes_out, (uint64_t)n);
  if ((size_t)n == wire->len) {
    wire->len = 0;
    return 0;
  }
  iso__buf tmp = conn->wout; /* empty: swap so new frames collect there */
  conn->wout = *wire;
  *wire = tmp;
  wire->len = 0;
  b = uv_buf_init((char *)conn->wout.data + n, (unsigned)(conn->wout.len - n));
  ISO__COUNT(conn, bytes_out, b.len); /* counted now; a failure ends the link */
  if (uv_write(&conn->write_req, (uv_stream_t *)&conn->tcp, &b, 1, on_write) < 0) {
    down(conn, ISO_E_IO, true);
    return ISO_E_IO;
  }
  conn->writing = true;
  return 0;
}

static void flush(iso_conn *conn) {
  if (conn->state == ISO__DOWN || conn->state == ISO__NEW) return;
  if (conn->tls) iso__tls_flush(conn);
  else iso__conn_write_wire(conn, &conn->out);
}

static void on_prepare(uv_prepare_t *p) {
  iso_conn *conn = p->data;
  uv_prepare_stop(p);
  conn->flush_armed = false;
  flush(conn);
}

void iso__conn_schedule_flush(iso_conn *conn) {
  if (conn->flush_armed || conn->state == ISO__DOWN) return;
  conn->flush_armed = true;
  uv_prepare_start(&conn->flusher, on_prepare);
}

/* Appends one frame (prefix, header, payload) to the output buffer. */
int iso__conn_enqueue(iso_conn *conn, const iso_frame *frame) {
  uint32_t hl = conn->opts.framing.header_len;
  size_t body = frame->len ? hl + (size_t)frame->len : 0;
  if (body > conn->max_body) return ISO_E_FRAME_TOO_LARGE;
  size_t queued = conn->out.len + conn->wout.len + (conn->tls ? iso__tls_backlog(conn) : 0);
  if (queued + conn->psize + body > conn->opts.max_output)
    return ISO_E_BUSY; /* the peer does not read: push back */
  if (iso__buf_reserve(&conn->out, conn->psize + body) < 0) return ISO_E_NOMEM;
  uint8_t *p = conn->out.data + conn->out.len;
  p += iso_frame_put_prefix(&conn->opts.framing, body, p);
  if (body) {
    memcpy(p, frame->header && frame->header_len == hl ? frame->header : conn->header, hl);
    memcpy(p + hl, frame->payload, frame->len);
  }
  conn->out.len += conn->psize + body;
  conn->last_tx = uv_now(conn->loop);
  iso__conn_schedule_flush(conn);
  return 0;
}

int iso_conn_send(iso_conn *conn, const iso_frame *frame) {
  if (conn->state != ISO__UP && conn->state != ISO__SIGNON &&
      conn->state != ISO__DRAINING)
    return ISO_E_CLOSED;
  if (conn->finishing) return ISO_E_CLOSED;
  int rc = iso__conn_enqueue(conn, frame);
  if (rc == 0) ISO__COUNT(conn, replies, 1);
  return rc;
}

int iso_conn_request(iso_conn *conn, const iso_frame *frame,
                     uint32_t timeout_ms, iso_response_cb cb, void *data) {
  if (conn->state != ISO__UP && conn->state != ISO__SIGNON) {
    ISO__COUNT(conn, refused, 1);
    return ISO_E_CLOSED;
  }
  int rc = iso__req_submit(conn, frame, timeout_ms, cb, data);
  if (rc < 0) ISO__COUNT(conn, refused, 1);
  return rc;
}

/* Packs msg (on the stack when it fits) and hands the frame to `send`. */
static int with_packed(iso_conn *conn, const iso_msg *msg, uint32_t timeout_ms,
                       iso_response_cb cb, void *data, bool request) {
  uint8_t stack[2048], *buf = stack;
  size_t len;
  int rc = iso_msg_pack(msg, buf, sizeof stack, &len, NULL);
  if (rc == ISO_E_NOSPC) {
    if ((buf = malloc(len)) == NULL) return ISO_E_NOMEM;
    rc = iso_msg_pack(msg, buf, len, &len, NULL);
  }
  if (rc == 0) {
    iso_frame f = {NULL, 0, buf, (uint32_t)len};
    rc = request ? iso_conn_request(conn, &f, timeout_ms, cb, data)
                 : iso_conn_send(conn, &f);
  }
  if (buf != stack) free(buf);
  return rc;
}

int iso_conn_request_msg(iso_conn *conn, const iso_msg *msg,
                         uint32_t timeout_ms, iso_response_cb cb, void *data) {
  return with_packed(conn, msg, timeout_ms, cb, data, true);
}

int iso_conn_send_msg(iso_conn *conn, const iso_msg *msg) {
  return with_packed(conn, msg, 0, NULL, NULL, false);
}

/* ------------------------------------------------------------------------ */
/* Reading                                                                   */
/* ------------------------------------------------------------------------ */

static void handle_frame(iso_conn *conn, const iso_frame *frame) {
  iso_match_key key;
  int rc = iso_match_compute(&conn->opts.match, conn->opts.spec, frame->payload,
                             frame->len, &key);
  if (rc == 0 && iso_mti_is_response(key.mti)) {
    iso__req_response(conn, &key, frame);
    return;
  }
  if (rc < 0) ISO__COUNT(conn, unmatched, 1);
  else ISO__COUNT(conn, inbound, 1);
  if (conn->opts.on_inbound)
    conn->opts.on_inbound(conn, rc < 0 ? ISO_INBOUND_UNMATCHED : ISO_INBOUND_REQUEST,
                          frame);
}

/* Runs the framer over the read buffer and dispatches every whole frame. */
void iso__conn_frames(iso_conn *conn) {
  size_t off = 0;
  if (conn->rbuf.data == NULL) return;
  while (conn->state != ISO__DOWN) {
    iso_frame fr;
    int rc = iso_frame_split(&conn->opts.framing, conn->rbuf.data + off,
                             conn->rbuf.len - off, &fr);
    if (rc == ISO_E_NEED_MORE) break;
    if (rc < 0) {
      down(conn, rc, true);
      return;
    }
    off += (size_t)rc;
    conn->last_frame = conn->last_rx;
    if (fr.len == 0) ISO__COUNT(conn, keepalives, 1);
    else handle_frame(conn, &fr);
  }
  if (conn->state == ISO__DOWN) return;
  if (off) {
    memmove(conn->rbuf.data, conn->rbuf.data + off, conn->rbuf.len - off);
    conn->rbuf.len -= off;
  }
  iso__conn_check_drained(conn);
}

int iso__conn_rbuf_ready(iso_conn *conn) {
  if (conn->rbuf.data == NULL) {
    conn->rbuf.data = malloc(conn->rbuf_cap);
    if (conn->rbuf.data == NULL) return ISO_E_NOMEM;
    conn->rbuf.cap = conn->rbuf_cap;
  }
  return 0;
}

static void on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf) {
  iso_conn *conn = h->data;
  (void)hint;
  if (conn->tls) {
    iso__tls_cipher_buf(conn, buf);
    return;
  }
  (void)iso__conn_rbuf_ready(conn); /* failing: a zero buffer, UV_ENOBUFS */
  buf->base = (char *)conn->rbuf.data + conn->rbuf.len;
  buf->len = conn->rbuf.cap - conn->rbuf.len;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  iso_conn *conn = s->data;
  if (nread == 0 || conn->state == ISO__DOWN) return;
  if (nread == UV_ENOBUFS) {
    down(conn, ISO_E_NOMEM, true);
    return;
  }
  if (nread < 0) {
    /* an orderly end at a frame boundary is "closed"; inside a frame, or any
     * socket error, is a failure */
    if (nread == UV_EOF) down(conn, ISO_E_CLOSED, conn->rbuf.len > 0);
    else down(conn, ISO_E_IO, true);
    return;
  }
  ISO__COUNT(conn, bytes_in, (uint64_t)nread);
  conn->last_rx = uv_now(conn->loop);
  if (conn->tls) {
    iso__tls_on_cipher(conn, (const uint8_t *)buf->base, (size_t)nread);
    return;
  }
  conn->rbuf.len += (size_t)nread;
  iso__conn_frames(conn);
}

static int start_reading(iso_conn *conn) {
  conn->last_rx = conn->last_tx = conn->last_frame = uv_now(conn->loop);
  uv_tcp_nodelay(&conn->tcp, 1);
  int rc = uv_read_start((uv_stream_t *)&conn->tcp, on_alloc, on_read);
  if (rc < 0) return ISO_E_IO;
  conn->reading = true;
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Idle ping and read timeout                                                */
/* ------------------------------------------------------------------------ */
/* The read timeout counts from the last whole frame, not the last byte: a
 * peer that keeps a frame open by sending a byte now and then (a slow-loris)
 * would otherwise hold its connection for ever. */

static void on_idle_timer(uv_timer_t *t);

static void arm_idle(iso_conn *conn) {
  const iso_conn_opts *o = &conn->opts;
  if (!o->idle_ping_ms && !o->read_timeout_ms) return;
  uint64_t now = uv_now(conn->loop), next = UINT64_MAX;
  if (o->read_timeout_ms) next = conn->last_frame + o->read_timeout_ms;
  if (o->idle_ping_ms) {
    uint64_t last = conn->last_rx > conn->last_tx ? conn->last_rx : conn->last_tx;
    if (last + o->idle_ping_ms < next) next = last + o->idle_ping_ms;
  }
  uv_timer_start(&conn->idle_timer, on_idle_timer, next > now ? next - now : 1, 0);
}

static void on_idle_timer(uv_timer_t *t) {
  iso_conn *conn = t->data;
  const iso_conn_opts *o = &conn->opts;
  uint64_t now = uv_now(conn->loop);
  if (o->read_timeout_ms && now - conn->last_frame >= o->read_timeout_ms) {
    down(conn, ISO_E_READ_TIMEOUT, true);
    return;
  }
  uint64_t last = conn->last_rx > conn->last_tx ? conn->last_rx : conn->last_tx;
  if (o->idle_ping_ms && now - last >= o->idle_ping_ms && conn->state == ISO__UP) {
    ISO__COUNT(conn, pings, 1);
    conn->last_tx = now;
    if (conn->ping) {
      iso_frame f = {NULL, 0, conn->ping, (uint32_t)o->ping_len};
      (void)iso__req_submit(conn, &f, 0, NULL, NULL); /* busy or duplicate: skip */
    } else if (o->on_idle) {
      o->on_idle(conn, 0);
    }
    if (conn->state == ISO__DOWN) return;
  }
  arm_idle(conn);
}

/* ------------------------------------------------------------------------ */
/* Establishing                                                              */
/* ------------------------------------------------------------------------ */

static void mark_up(iso_conn *conn) {
  conn->state = ISO__UP;
  conn->established = true;
  uv_timer_stop(&conn->life_timer);
  arm_idle(conn);
  if (conn->owner_up) conn->owner_up(conn);
  if (conn->state != ISO__DOWN && conn->connect_cb) {
    iso_conn_cb cb = conn->connect_cb;
    conn->connect_cb = NULL;
    cb(conn, 0);
  }
}

/* TCP (and TLS) are up: sign on when asked, else the link is established. */
void iso__conn_ready(iso_conn *conn) {
  if (conn->opts.signon && !conn->is_server) {
    conn->state = ISO__SIGNON;
    conn->opts.signon(conn);
  } else {
    mark_up(conn);
  }
}

void iso_conn_signon_done(iso_conn *conn, int status) {
  if (conn->state != ISO__SIGNON) return;
  if (status < 0) down(conn, ISO_E_SIGNON, true);
  else mark_up(conn);
}

static void on_connect_timeout(uv_timer_t *t) {
  down(t->data, ISO_E_TIMEDOUT, true);
}

/* TCP is up (connected or accepted): start TLS, or go on to ready. */
static void link_up(iso_conn *conn) {
  if (conn->opts.tls && iso__tls_attach(conn, conn->is_server) < 0) {
    down(conn, ISO_E_TLS, true);
    return;
  }
  if (start_reading(conn) < 0) {
    down(conn, ISO_E_IO, true);
    return;
  }
  if (conn->tls) iso__tls_handshake(conn);
  else iso__conn_ready(conn);
}

static void on_connect(uv_connect_t *req, int status) {
  iso_conn *conn = req->data;
  if (conn->state != ISO__CONNECTING) return;
  if (status < 0) {
    down(conn, ISO_E_CONNECT, true);
    return;
  }
  link_up(conn);
}

int iso_conn_connect(iso_conn *conn, const struct sockaddr *addr,
                     iso_conn_cb cb) {
  if (addr == NULL || cb == NULL) return ISO_E_INVAL;
  if (conn->state != ISO__NEW || conn->close_called) return ISO_E_STATE;
  if (uv_tcp_connect(&conn->connect_req, &conn->tcp, addr, on_connect) < 0)
    return ISO_E_CONNECT;
  conn->state = ISO__CONNECTING;
  conn->connect_cb = cb;
  uv_timer_start(&conn->life_timer, on_connect_timeout,
                 conn->opts.connect_timeout_ms, 0);
  return 0;
}

int iso__conn_accept(iso_conn *conn, uv_stream_t *server) {
  conn->is_server = true;
  if (uv_accept(server, (uv_stream_t *)&conn->tcp) < 0) return ISO_E_IO;
  conn->state = ISO__CONNECTING;
  uv_timer_start(&conn->life_timer, on_connect_timeout,
                 conn->opts.connect_timeout_ms, 0);
  link_up(conn);
  return 0;
}

/* ------------------------------------------------------------------------ */
/* Accessors                                                                 */
/* ------------------------------------------------------------------------ */

bool iso_conn_is_up(const iso_conn *conn) { return conn->state == ISO__UP; }

bool iso_conn_signed_on(const iso_conn *conn) {
  return conn->established && conn->state != ISO__DOWN;
}

void *iso_conn_data(const iso_conn *conn) { return conn->opts.data; }

void iso_conn_set_data(iso_conn *conn, void *data) { conn->opts.data = data; }

uv_loop_t *iso_conn_loop(const iso_conn *conn) { return conn->loop; }

const iso_spec *iso_conn_spec(const iso_conn *conn) { return conn->opts.spec; }

void iso_conn_stats_read(const iso_conn *conn, iso_conn_stats *out) {
  memset(out, 0, sizeof *out);
  iso__stats_merge(out, &conn->stats);
}

int iso_conn_close_reason(const iso_conn *conn, iso_close_reason *out) {
  if (conn->state != ISO__DOWN) return ISO_E_STATE;
  *out = (iso_close_reason)conn->close_reason;
  return 0;
}

int iso_conn_peer(const iso_conn *conn, struct sockaddr_storage *out) {
  int len = sizeof *out;
  if (conn->state == ISO__DOWN || conn->state == ISO__NEW) return ISO_E_STATE;
  if (uv_tcp_getpeername(&conn->tcp, (struct sockaddr *)out, &len) < 0)
    return ISO_E_STATE;
  return 0;
}
