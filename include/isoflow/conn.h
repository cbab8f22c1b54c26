/*
 * isoflow/conn.h -- connections: framing, request/response matching, server.
 *
 * The pieces, bottom up:
 *
 *   framer      turns a byte stream into frames (length prefix, optional fixed
 *               header such as a TPDU, payload).  Pure functions over caller
 *               buffers: never allocate, never read past the length, tell
 *               "need more bytes" (ISO_E_NEED_MORE) from "the peer broke the
 *               framing" (ISO_E_BAD_FRAME, ISO_E_FRAME_TOO_LARGE).
 *   iso_conn    one TCP connection on a libuv loop.  Requests are matched to
 *               responses by a key read off the wire (iso_peek_fields, no full
 *               unpack); each has a timeout counted from submission; the
 *               number in flight is bounded; requests from the peer and late
 *               responses go to an inbound handler that may reply, at once or
 *               later.  Idle ping, read timeout, sign-on hook, graceful and
 *               immediate close.
 *   iso_server  listens on one loop, or on N worker loops (one thread each),
 *               and hands every accepted connection to the same machinery.
 *   iso_pool    connections to one or more addresses, kept up (backoff with
 *               jitter), round-robin over the healthy ones.
 *   iso_tls     TLS 1.2+ (and mutual TLS) through OpenSSL memory BIOs.
 *   iso_blocking  a client with its own loop thread, callable from any thread.
 *
 * Replying later (e.g. after a transaction completes): in on_inbound take
 * iso_conn_ref(conn), copy what the reply needs (the frame is only valid
 * during the call), and later, on the same loop, iso_conn_send then
 * iso_conn_unref.  If the link died meanwhile the send fails with
 * ISO_E_CLOSED and the memory stays valid until the unref.
 *
 * Handles are opaque and allocated by the library.  Rules, as in libuv:
 *   - a handle is used only from the thread running its loop (the blocking
 *     facade, when present, is the exception and says so);
 *   - callbacks take the handle first, then the status;
 *   - when a function that takes a callback returns an error, that callback
 *     is never called;
 *   - a handle is closed before it is released: iso_conn_close reports, through
 *     its callback, when it is finished; references taken with iso_conn_ref
 *     keep the memory (not the link) alive beyond that.
 *
 * Ownership of data sent: request and send functions copy the frame (or pack
 * the message) into the connection's output buffer during the call.  On
 * success the connection owns that copy and the caller's buffer or message is
 * free again at once; on failure nothing was taken or queued.
 */
#ifndef ISOFLOW_CONN_H
#define ISOFLOW_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "isoflow/error.h"
#include "isoflow/iso8583.h"

#ifdef __cplusplus
extern "C" {
#endif

struct sockaddr;

/* ------------------------------------------------------------------------ */
/* Framing                                                                   */
/* ------------------------------------------------------------------------ */

/** How the length of a frame is carried in front of it. */
typedef enum iso_frame_kind {
  ISO_FRAME_LEN2 = 0, /* 2-byte binary, big-endian (the default) */
  ISO_FRAME_LEN4,     /* 4-byte binary, big-endian */
  ISO_FRAME_ASCII4,   /* 4 ASCII digits, "0123" */
  ISO_FRAME_BCD2      /* 2 bytes of packed decimal, 0x01 0x23 (max 9999) */
} iso_frame_kind;

/**
 * Framing rules of a link.  Zero-initialised means: 2-byte binary length that
 * does not count itself, no header, frames up to 8192 bytes.
 *
 * The length counts the header and the payload (and the prefix itself when
 * length_includes_self).  A length of zero (or of just the prefix, when it
 * counts itself) is a keep-alive: skipped by connections and counted.
 */
typedef struct iso_framing {
  uint8_t kind;              /* iso_frame_kind */
  bool length_includes_self; /* the length counts its own bytes */
  uint16_t header_len;       /* fixed header after the length (e.g. 5, TPDU) */
  uint32_t max_frame;        /* most header + payload bytes; 0 = 8192 */
} iso_framing;

/** One frame: pointers into the buffer it was split from. */
typedef struct iso_frame {
  const uint8_t *header; /* header_len bytes, or NULL when there is none */
  uint32_t header_len;
  const uint8_t *payload; /* the message; NULL for a keep-alive */
  uint32_t len;           /* payload bytes; 0 for a keep-alive */
} iso_frame;

/** iso_frame_kind_parse -- "len2", "len4", "ascii4", "bcd2" to a kind;
 *  ISO_E_INVAL for anything else. */
int iso_frame_kind_parse(const char *name, iso_frame_kind *out);

/** iso_framing_check -- ISO_E_INVAL when the rules cannot work (unknown kind,
 *  a maximum the prefix cannot express, a header over the maximum). */
int iso_framing_check(const iso_framing *f);

/** iso_frame_prefix_size -- bytes of the length prefix (2 or 4). */
size_t iso_frame_prefix_size(const iso_framing *f);

/** iso_frame_max_body -- the most header + payload bytes a frame may carry:
 *  max_frame, lowered to what the prefix can express. */
uint32_t iso_frame_max_body(const iso_framing *f);

/**
 * iso_frame_split -- reads one frame at the start of buf[0..len).
 * Returns the bytes the frame occupies (> 0) and fills *out (pointers into
 * buf; out->len == 0 for a keep-alive), ISO_E_NEED_MORE when buf ends inside
 * the frame, ISO_E_FRAME_TOO_LARGE when the length is over the maximum, or
 * ISO_E_BAD_FRAME when the prefix is not a valid length (non-digit, BCD
 * nibble over 9, shorter than the header or than itself).  Never allocates,
 * never reads past len.  A prefix that is already invalid is reported as
 * such even before the whole frame has arrived.
 */
int iso_frame_split(const iso_framing *f, const uint8_t *buf, size_t len,
                    iso_frame *out);

/**
 * iso_frame_read_prefix -- the length announced by a prefix alone, for a
 * reader that takes the prefix first and then the rest (a blocking stream).
 * `prefix` holds iso_frame_prefix_size(f) bytes; on success *body_len is the
 * header + payload bytes that follow it (0 for a keep-alive; the prefix's own
 * bytes already taken off when length_includes_self).  Returns 0,
 * ISO_E_FRAME_TOO_LARGE when the length is over iso_frame_max_body, or
 * ISO_E_BAD_FRAME when the prefix is not a valid length (as iso_frame_split);
 * *body_len is untouched on error.  The same rules as iso_frame_split, which
 * is built on it.
 */
int iso_frame_read_prefix(const iso_framing *f, const uint8_t *prefix,
                          uint32_t *body_len);

/**
 * iso_frame_put_prefix -- writes the length prefix for `body_len` bytes of
 * header + payload into out (iso_frame_prefix_size bytes).  Returns the
 * prefix size, or ISO_E_FRAME_TOO_LARGE when body_len is over the maximum.
 */
int iso_frame_put_prefix(const iso_framing *f, size_t body_len, uint8_t *out);

/* ------------------------------------------------------------------------ */
/* Matching                                                                  */
/* ------------------------------------------------------------------------ */

#define ISO_MATCH_KEY_MAX 48
#define ISO_MATCH_MAX_FIELDS 8

/** A match key, computed from a message on the wire. */
typedef struct iso_match_key {
  char mti[4];   /* the message's MTI: says whether it is a response */
  uint8_t len;   /* bytes used in `bytes` */
  uint8_t bytes[ISO_MATCH_KEY_MAX];
} iso_match_key;

/**
 * A user key function: fills key->mti and key->bytes/len from a payload.
 * Returns 0, or a negative ISO_E_* code when the payload is not a message it
 * can read (the frame is then counted as unmatched and handed to the inbound
 * handler as such).
 */
typedef int (*iso_match_fn)(void *data, const uint8_t *payload, size_t len,
                            iso_match_key *key);

/**
 * How requests and responses are paired.  Zero-initialised means the
 * default: MTI class (the first two MTI digits, so 0100 and 0110 agree) plus
 * DE 11 and DE 41.  With `fn` set, fn decides alone.  Otherwise the key is
 * the MTI class (unless no_mti_class) followed by the wire bytes of each of
 * `fields` (those absent count as empty).
 */
typedef struct iso_match {
  iso_match_fn fn;
  void *fn_data;
  bool no_mti_class;
  uint8_t nfields;                    /* 0 with fn NULL: {11, 41} */
  uint16_t fields[ISO_MATCH_MAX_FIELDS];
} iso_match;

/**
 * iso_match_compute -- the key of `payload` under rules m with spec (the
 * function a connection uses).  Returns 0, ISO_E_INVAL when the rules are
 * bad, ISO_E_NOSPC when the key would exceed ISO_MATCH_KEY_MAX, or the
 * codec's error when the message cannot be read.
 */
int iso_match_compute(const iso_match *m, const iso_spec *spec,
                      const uint8_t *payload, size_t len, iso_match_key *key);

/* ------------------------------------------------------------------------ */
/* Counters                                                                  */
/* ------------------------------------------------------------------------ */

/**
 * Why a link ended.  Every connection that got past iso_conn_new (a client
 * once iso_conn_connect started, every connection a server accepted) is
 * counted under exactly one reason when its link goes down, in
 * iso_conn_stats.closed[reason]; so for a server, accepted == the sum of
 * closed[] + connections (open now), once the close callbacks have run.
 */
typedef enum iso_close_reason {
  ISO_CLOSED_PEER = 0,        /* "peer_closed": the peer ended the stream
                                 (EOF, TLS close_notify) between frames */
  ISO_CLOSED_PEER_MID_FRAME,  /* "eof_mid_frame": ... inside a frame */
  ISO_CLOSED_IO_ERROR,        /* "io_error": the socket failed reading or
                                 writing (typically the peer reset it) */
  ISO_CLOSED_BAD_FRAME,       /* "bad_frame": a length prefix that is not a
                                 valid length (ISO_E_BAD_FRAME) */
  ISO_CLOSED_FRAME_TOO_LARGE, /* "frame_too_large": a length over the
                                 maximum frame (ISO_E_FRAME_TOO_LARGE) */
  ISO_CLOSED_READ_TIMEOUT,    /* "read_timeout": nothing received within
                                 read_timeout_ms */
  ISO_CLOSED_TLS_HANDSHAKE,   /* "tls_handshake": the TLS handshake failed:
                                 a protocol version refused (TLS 1.0/1.1),
                                 bytes that are not TLS, a certificate not
                                 accepted, the peer leaving during it */
  ISO_CLOSED_TLS_ERROR,       /* "tls_error": TLS failed after the
                                 handshake (a bad record, a fatal alert) */
  ISO_CLOSED_CONNECT_FAILED,  /* "connect_failed": client, the TCP connect
                                 failed (refused, unreachable) */
  ISO_CLOSED_CONNECT_TIMEOUT, /* "connect_timeout": TCP connect, TLS
                                 handshake or sign-on not done within
                                 connect_timeout_ms (either side) */
  ISO_CLOSED_SIGNON,          /* "signon_failed": the sign-on hook failed */
  ISO_CLOSED_LOCAL,           /* "local": iso_conn_close (graceful, immediate,
                                 or a graceful close that ran out of time) */
  ISO_CLOSED_SHUTDOWN,        /* "shutdown": the owning server or pool was
                                 closed (iso_server_close, iso_pool_close) */
  ISO_CLOSED_NO_MEMORY,       /* "no_memory": a buffer could not be had */
  ISO_CLOSED__COUNT
} iso_close_reason;

/** iso_close_reason_name -- the reason's name as quoted above (stable: used
 *  as a metric label), or "unknown" for a value out of range. */
const char *iso_close_reason_name(iso_close_reason reason);

/**
 * Counters of a connection, of a server (all its connections, merged over
 * its loops), or of a pool.  Each is written by one loop thread and may be
 * read from any thread through the read functions below.
 */
typedef struct iso_conn_stats {
  uint64_t in_flight;   /* requests awaiting a response now */
  uint64_t sent;        /* requests sent */
  uint64_t received;    /* responses matched to a request */
  uint64_t timed_out;   /* requests that timed out */
  uint64_t late;        /* responses that came after their request timed out */
  uint64_t unmatched;   /* responses that matched no request */
  uint64_t inbound;     /* requests received from the peer */
  uint64_t replies;     /* frames sent with iso_conn_send (no response expected) */
  uint64_t refused;     /* requests refused (busy, duplicate key, closed);
                           for servers also connections refused */
  uint64_t canceled;    /* requests canceled by an immediate close */
  uint64_t keepalives;  /* zero-length frames received */
  uint64_t pings;       /* idle pings sent */
  uint64_t reconnects;  /* pools: connections re-established */
  uint64_t connections; /* servers and pools: connections open now */
  uint64_t accepted;    /* servers: connections accepted */
  uint64_t accept_errors; /* servers: failed accepts */
  uint64_t failed;      /* links that ended on an error: established ones,
                           and on a server also those whose TLS handshake
                           failed (a client's count as connect_errors) */
  uint64_t connect_errors; /* connects that failed (refused, timed out, TLS,
                              sign-on) */
  uint64_t bytes_in;
  uint64_t bytes_out;
  uint64_t closed[ISO_CLOSED__COUNT]; /* links ended, by iso_close_reason */
} iso_conn_stats;

/* ------------------------------------------------------------------------ */
/* TLS                                                                       */
/* ------------------------------------------------------------------------ */

typedef struct iso_tls iso_tls;

/** TLS settings for a client or a server.  Paths are PEM files. */
typedef struct iso_tls_opts {
  bool server;            /* server side (else client) */
  const char *ca_file;    /* trusted CAs: peers are verified against them */
  const char *cert_file;  /* own certificate (server: required) */
  const char *key_file;   /* own private key */
  bool require_peer_cert; /* server: mutual TLS, a client certificate is
                             required and verified against ca_file */
  bool no_verify;         /* client: skip server verification (tests only) */
} iso_tls_opts;

/**
 * iso_tls_new -- a TLS context (TLS 1.2 and later only) shared by any number
 * of connections on any loops; release with iso_tls_free once they are
 * closed.  Returns 0, ISO_E_TLS (a file could not be loaded, the key does not
 * match the certificate) or ISO_E_INVAL.
 */
int iso_tls_new(const iso_tls_opts *opts, iso_tls **out);

/** iso_tls_free -- releases a context; NULL is ignored. */
void iso_tls_free(iso_tls *tls);

/* ------------------------------------------------------------------------ */
/* Connections                                                               */
/* ------------------------------------------------------------------------ */

typedef struct iso_conn iso_conn;

/** What reached the inbound handler. */
typedef enum iso_inbound_kind {
  ISO_INBOUND_REQUEST = 0, /* a request from the peer: it may be answered */
  ISO_INBOUND_LATE,        /* a response whose request had timed out */
  ISO_INBOUND_UNMATCHED    /* a response that matches no request, or a
                              payload the key function could not read */
} iso_inbound_kind;

/** How iso_conn_close ends the link. */
typedef enum iso_close_how {
  ISO_CLOSE_GRACEFUL = 0, /* refuse new requests, let those in flight finish
                             within close_timeout_ms, then close */
  ISO_CLOSE_NOW           /* fail every pending request with ISO_E_CANCELED */
} iso_close_how;

/** connect / close / closed / failed callbacks. */
typedef void (*iso_conn_cb)(iso_conn *conn, int status);

/**
 * Response callback.  status 0: `response` is the matched frame (valid only
 * during the call).  Otherwise response is NULL and status says why:
 * ISO_E_TIMEDOUT, ISO_E_CANCELED (immediate close), ISO_E_CLOSED (the link
 * went down).
 */
typedef void (*iso_response_cb)(iso_conn *conn, int status,
                                const iso_frame *response, void *data);

/** Inbound handler: a frame that is not the answer to a pending request.
 *  The frame is valid only during the call. */
typedef void (*iso_inbound_cb)(iso_conn *conn, iso_inbound_kind kind,
                               const iso_frame *frame);

/** Sign-on hook: runs once the link is up and before it counts as
 *  established; it may send requests and must end with
 *  iso_conn_signon_done. */
typedef void (*iso_signon_cb)(iso_conn *conn);

/** Options of a connection (client, or accepted by a server). */
typedef struct iso_conn_opts {
  const iso_spec *spec;    /* for matching and iso_conn_*_msg; may be NULL
                              when match.fn is set and no msg is sent */
  iso_framing framing;
  iso_match match;
  const uint8_t *header;   /* default outgoing header (framing.header_len
                              bytes; NULL = zeros); copied at creation */
  uint32_t max_in_flight;  /* requests awaiting a response; 0 = 1024 */
  uint32_t max_output;     /* bytes queued for a peer that does not read,
                              past which sends and requests fail with
                              ISO_E_BUSY; 0 = 8 MiB */
  uint32_t request_timeout_ms; /* default per request; 0 = 30000 */
  uint32_t connect_timeout_ms; /* 0 = 10000 (includes TLS and sign-on) */
  uint32_t close_timeout_ms;   /* graceful close and TLS shutdown bound;
                                  0 = 5000 */
  uint32_t idle_ping_ms;   /* nothing sent or received for this long: ping
                              (0 = never) */
  const uint8_t *ping;     /* payload of the ping request (an 0800), copied;
                              NULL: on_idle is called instead */
  size_t ping_len;
  iso_conn_cb on_idle;     /* status 0; used when ping is NULL */
  uint32_t read_timeout_ms; /* no whole frame (a keep-alive counts) received
                               for this long: the link is closed with
                               ISO_E_READ_TIMEOUT (0 = never).  Bytes of an
                               unfinished frame do not count, so a peer
                               that trickles a frame a byte at a time is
                               closed like a silent one */
  iso_signon_cb signon;    /* client only; NULL = established at once */
  iso_inbound_cb on_inbound; /* NULL: requests dropped (counted) */
  iso_conn_cb on_closed;   /* the link ended cleanly: local close (0) or the
                              peer closed at a frame boundary (ISO_E_CLOSED) */
  iso_conn_cb on_failed;   /* the link ended on an error (ISO_E_BAD_FRAME,
                              ISO_E_FRAME_TOO_LARGE, ISO_E_READ_TIMEOUT,
                              ISO_E_IO, ISO_E_TLS, ISO_E_CLOSED mid-frame) */
  iso_tls *tls;            /* NULL = plain TCP */
  const char *tls_peer_name; /* client: expected server name (SSL_set1_host) */
  void *data;              /* user data, iso_conn_data */
} iso_conn_opts;

/**
 * iso_conn_new -- a client connection on `loop`, not yet connected.  Returns
 * 0 and *out, ISO_E_INVAL for bad options, ISO_E_NOMEM.  The handle must be
 * closed with iso_conn_close, whatever happens to the link.
 */
int iso_conn_new(uv_loop_t *loop, const iso_conn_opts *opts, iso_conn **out);

/**
 * iso_conn_connect -- connects to addr (IPv4 or IPv6), then runs the TLS
 * handshake and the sign-on hook when configured.  cb(conn, 0) once the
 * connection is established; cb(conn, error) otherwise: ISO_E_CONNECT,
 * ISO_E_TIMEDOUT (connect_timeout_ms passed), ISO_E_TLS, ISO_E_SIGNON,
 * ISO_E_CANCELED (closed meanwhile).  on_closed / on_failed are called only
 * for a connection that was established.  Returns ISO_E_INVAL (addr or cb
 * NULL), ISO_E_STATE when already connecting, connected or closed,
 * ISO_E_CONNECT when the connect cannot even start.
 */
int iso_conn_connect(iso_conn *conn, const struct sockaddr *addr,
                     iso_conn_cb cb);

/** iso_conn_signon_done -- ends the sign-on hook: 0 establishes the link;
 *  an error closes it and connect's callback gets ISO_E_SIGNON. */
void iso_conn_signon_done(iso_conn *conn, int status);

/**
 * iso_conn_request -- sends `frame` (header NULL: the default header) as a
 * request and waits for the response whose key matches.  timeout_ms counts
 * from now (0: the connection's default).  The frame is copied.  Returns 0
 * (cb will be called exactly once), or, with cb never called:
 * ISO_E_BUSY (max_in_flight reached), ISO_E_DUPLICATE_KEY (a request with the
 * same key is in flight), ISO_E_NOT_REQUEST (the MTI is a response),
 * ISO_E_CLOSED (not established, closing or closed), ISO_E_FRAME_TOO_LARGE,
 * ISO_E_BUSY also when max_output bytes wait for a peer that does not read,
 * or the codec's error when the key cannot be read.
 */
int iso_conn_request(iso_conn *conn, const iso_frame *frame,
                     uint32_t timeout_ms, iso_response_cb cb, void *data);

/** iso_conn_request_msg -- iso_conn_request with msg packed (with its own
 *  spec) at the call; pack errors are returned as they are.  The message is
 *  not kept: the caller may change or free it at once. */
int iso_conn_request_msg(iso_conn *conn, const iso_msg *msg,
                         uint32_t timeout_ms, iso_response_cb cb, void *data);

/**
 * iso_conn_send -- sends a frame that expects no response (a reply to an
 * inbound request, an advice).  Copied.  Returns 0, ISO_E_CLOSED when the
 * link is not up (or already failed), ISO_E_FRAME_TOO_LARGE, ISO_E_BUSY when
 * max_output bytes are already waiting for the peer to read.
 */
int iso_conn_send(iso_conn *conn, const iso_frame *frame);

/** iso_conn_send_msg -- iso_conn_send with msg packed (with its own spec)
 *  at the call. */
int iso_conn_send_msg(iso_conn *conn, const iso_msg *msg);

/**
 * iso_conn_close -- ends the link (see iso_close_how) and releases the
 * handle.  cb(conn, 0) (cb may be NULL) once everything is closed and every
 * pending callback has run; the handle must not be used after that unless a
 * reference is held (then only iso_conn_data, iso_conn_stats_read,
 * iso_conn_is_up and send/request, which fail with ISO_E_CLOSED).  A second
 * close returns ISO_E_STATE and its cb is never called, but ISO_CLOSE_NOW
 * still turns a graceful close into an immediate one.
 *
 * A connection accepted by a server or made by a pool is owned by it: there
 * iso_conn_close only ends the link (the owner releases the handle) and cb
 * runs as soon as the link is down.  ISO_E_STATE when the link is already
 * down or closing.
 */
int iso_conn_close(iso_conn *conn, iso_close_how how, iso_conn_cb cb);

/** iso_conn_ref / iso_conn_unref -- keep the handle's memory alive (e.g. to
 *  reply later to an inbound request).  Loop thread only. */
void iso_conn_ref(iso_conn *conn);
void iso_conn_unref(iso_conn *conn);

/** iso_conn_is_up -- established and neither closing nor down. */
bool iso_conn_is_up(const iso_conn *conn);

/** iso_conn_signed_on -- established (the sign-on hook, if any, succeeded) */
bool iso_conn_signed_on(const iso_conn *conn);

/** iso_conn_data / iso_conn_set_data -- the user pointer. */
void *iso_conn_data(const iso_conn *conn);
void iso_conn_set_data(iso_conn *conn, void *data);

/** iso_conn_spec -- the spec of the connection's options (may be NULL). */
const iso_spec *iso_conn_spec(const iso_conn *conn);

/** iso_conn_loop -- the loop the connection runs on. */
uv_loop_t *iso_conn_loop(const iso_conn *conn);

/** iso_conn_stats_read -- a copy of the connection's counters (its loop's
 *  thread, or any thread for a rough reading). */
void iso_conn_stats_read(const iso_conn *conn, iso_conn_stats *out);

/** iso_conn_close_reason -- why the link ended, once it has (from on_closed
 *  and on_failed on); ISO_E_STATE while it is still up or never started. */
int iso_conn_close_reason(const iso_conn *conn, iso_close_reason *out);

/** iso_conn_peer -- the peer's address into out; ISO_E_STATE when not
 *  connected. */
int iso_conn_peer(const iso_conn *conn, struct sockaddr_storage *out);

/* ------------------------------------------------------------------------ */
/* Server                                                                    */
/* ------------------------------------------------------------------------ */

typedef struct iso_server iso_server;

/** Called on the worker loop for each accepted (and TLS-established)
 *  connection; conn stays valid until on_closed/on_failed of conn_opts
 *  returns, or longer with iso_conn_ref.  The server owns the handle (see
 *  iso_conn_close for what closing it does). */
typedef void (*iso_server_conn_cb)(iso_server *server, iso_conn *conn);

/** Options of a server. */
typedef struct iso_server_opts {
  iso_conn_opts conn;      /* applied to each accepted connection */
  uv_loop_t *loop;         /* run on this loop (the caller's thread; with
                              clients of the same process on it, a round trip
                              needs no cross-thread wake-up) ... */
  unsigned workers;        /* ... or, with loop NULL, on this many worker
                              loops, one thread each (0 = 1) */
  uint32_t max_connections; /* 0 = 10000; past it connections are closed at
                               once and counted (refused) */
  int backlog;             /* 0 = 511 */
  uint32_t busy_poll_us;   /* worker threads only: after any traffic, poll
                              without blocking for this long before sleeping
                              in the kernel again (trades CPU for latency when
                              few requests are in flight; 0 = off) */
  iso_server_conn_cb on_connection;
  void *data;
} iso_server_opts;

/**
 * iso_server_start -- binds addr (port 0 picks one: iso_server_port) and
 * starts accepting.  With opts->workers > 1 every worker owns a listening
 * socket bound to the same port with SO_REUSEPORT, so the kernel spreads
 * connections over the loops with no hand-off between threads.  Returns 0,
 * ISO_E_IO (bind or listen failed), ISO_E_INVAL, ISO_E_NOMEM.
 */
int iso_server_start(const iso_server_opts *opts, const struct sockaddr *addr,
                     iso_server **out);

/** iso_server_port -- the bound port. */
int iso_server_port(const iso_server *server);

/** iso_server_data -- opts->data. */
void *iso_server_data(const iso_server *server);

/**
 * iso_server_close -- stops accepting, closes every connection (immediately:
 * their pending requests fail with ISO_E_CANCELED) and releases the server.
 * On a caller's loop: cb(NULL) runs on that loop when done (the loop must
 * keep running; the server is gone by then, hence NULL).  With worker
 * threads: blocks until they are joined, then calls cb(NULL) (cb may be
 * NULL) before returning; call it from a thread that is not a worker.
 */
void iso_server_close(iso_server *server, void (*cb)(iso_server *server));

/** iso_server_stats_read -- counters merged over every worker loop (any
 *  thread). */
void iso_server_stats_read(const iso_server *server, iso_conn_stats *out);

/* ------------------------------------------------------------------------ */
/* Pool                                                                      */
/* ------------------------------------------------------------------------ */

typedef struct iso_pool iso_pool;

/** Health of a pool. */
typedef enum iso_pool_state {
  ISO_POOL_DOWN = 0,  /* no healthy connection */
  ISO_POOL_DEGRADED,  /* some, but fewer than min_up */
  ISO_POOL_UP         /* at least min_up healthy connections */
} iso_pool_state;

/** Whether an established connection may be used (e.g. "signed on"). */
typedef bool (*iso_pool_filter_fn)(iso_conn *conn, void *data);

/** Options of a pool. */
typedef struct iso_pool_opts {
  iso_conn_opts conn;        /* every connection's options (its on_closed /
                                on_failed are called as usual) */
  const struct sockaddr *const *addrs; /* one connection per entry; the same
                                address may repeat; copied */
  size_t naddrs;
  unsigned min_up;           /* healthy connections for ISO_POOL_UP; 0 = all */
  uint32_t backoff_initial_ms; /* first retry delay; 0 = 100 */
  uint32_t backoff_max_ms;     /* cap; 0 = 30000 */
  iso_pool_filter_fn filter; /* NULL: every established connection */
  void *filter_data;
  void (*on_state)(iso_pool *pool, iso_pool_state state); /* on change */
  void *data;
} iso_pool_opts;

/**
 * iso_pool_start -- creates the pool on loop and starts connecting every
 * address.  A connection that fails or ends is retried after a delay that
 * doubles from backoff_initial_ms up to backoff_max_ms, each delay drawn at
 * random from its upper half (jitter), and reset by a success.  Returns 0,
 * ISO_E_INVAL (no address, bad connection options), ISO_E_NOMEM.
 */
int iso_pool_start(uv_loop_t *loop, const iso_pool_opts *opts, iso_pool **out);

/** iso_pool_state_get -- the pool's health now. */
iso_pool_state iso_pool_state_get(const iso_pool *pool);

/** iso_pool_healthy -- how many connections are established and pass the
 *  filter. */
unsigned iso_pool_healthy(const iso_pool *pool);

/**
 * iso_pool_pick -- the next healthy connection, round-robin, or NULL.  The
 * handle is valid until control returns to the loop (take iso_conn_ref to
 * keep it).
 */
iso_conn *iso_pool_pick(iso_pool *pool);

/**
 * iso_pool_request -- iso_conn_request on the next healthy connection; when
 * that one refuses (busy, duplicate key) the following ones are tried.
 * Returns 0 (cb will be called once), ISO_E_NO_CONNECTION when none is
 * healthy, or the last refusal.
 */
int iso_pool_request(iso_pool *pool, const iso_frame *frame, uint32_t timeout_ms,
                     iso_response_cb cb, void *data);

/** iso_pool_data -- opts->data. */
void *iso_pool_data(const iso_pool *pool);

/** iso_pool_stats_read -- counters of all the pool's connections, past and
 *  present, with reconnects and connections (healthy now). */
void iso_pool_stats_read(const iso_pool *pool, iso_conn_stats *out);

/**
 * iso_pool_close -- stops reconnecting and closes every connection
 * (ISO_CLOSE_NOW: pending requests fail with ISO_E_CANCELED).  cb(NULL) once
 * everything is closed and the pool is released; cb may be NULL.
 */
void iso_pool_close(iso_pool *pool, void (*cb)(iso_pool *pool));

/* ------------------------------------------------------------------------ */
/* Blocking client                                                           */
/* ------------------------------------------------------------------------ */

typedef struct iso_blocking iso_blocking;

/**
 * iso_blocking_open -- a client connection with its own loop on its own
 * thread, for programs that are not event-driven.  Connects (TLS and sign-on
 * included, per opts) and returns once the link is established: 0, or the
 * connect error (ISO_E_CONNECT, ISO_E_TIMEDOUT, ISO_E_TLS, ISO_E_SIGNON),
 * ISO_E_INVAL, ISO_E_NOMEM.  opts->on_inbound and the other callbacks, when
 * set, run on the client's thread.
 */
int iso_blocking_open(const iso_conn_opts *opts, const struct sockaddr *addr,
                      iso_blocking **out);

/**
 * iso_blocking_request -- sends payload as a request and waits for its
 * response; safe from any thread, any number at once.  The response payload
 * is copied into resp[0..cap) and *resp_len set.  Returns 0, ISO_E_NOSPC
 * (*resp_len then says how much is needed; the response is lost),
 * ISO_E_TIMEDOUT, ISO_E_CLOSED (the link is down or the client closed), or
 * any refusal of iso_conn_request (ISO_E_BUSY, ISO_E_DUPLICATE_KEY ...).
 */
int iso_blocking_request(iso_blocking *client, const uint8_t *payload,
                         size_t len, uint32_t timeout_ms, uint8_t *resp,
                         size_t cap, size_t *resp_len);

/** iso_blocking_is_up -- whether the link is still established. */
bool iso_blocking_is_up(iso_blocking *client);

/**
 * iso_blocking_close -- closes the link (requests still waiting fail with
 * ISO_E_CANCELED), stops the thread and releases the client.  Must not be
 * called while another thread may still call iso_blocking_request on it.
 */
void iso_blocking_close(iso_blocking *client);

#ifdef __cplusplus
}
#endif

#endif /* ISOFLOW_CONN_H */
