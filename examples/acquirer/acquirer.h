/*
 * examples/acquirer/acquirer.h -- isoflow-acquirer: a load generator that
 * sends authorizations over K connections, with a share of them repeated
 * (0101/0201, same idempotency key) and a share reversed (0400), and
 * reports what came back.  Shared between its files: main.c (options,
 * connections), load.c (the generator and the response handling), report.c
 * (summary, text and JSON, and the progress bar), send_json.c (one request
 * per JSON line, for scripts and tests).
 */
#ifndef ISOFLOW_EXAMPLES_ACQUIRER_H
#define ISOFLOW_EXAMPLES_ACQUIRER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include <uv.h>

#include "examples/common/cards.h"
#include "examples/common/latency.h"
#include "isoflow/conn.h"

#define ACQ_MAX_ADDRS 16
#define ACQ_RC_SLOTS 100 /* response codes "00".."99" */

typedef struct acq_options {
  struct sockaddr_storage addrs[ACQ_MAX_ADDRS];
  size_t naddrs;
  unsigned connections;   /* K */
  uint64_t count;         /* -n N authorizations */
  uint64_t rate;          /* per second; 0 = as fast as possible */
  unsigned concurrency;   /* W in flight */
  double repeat_share;    /* of authorizations, retransmitted as a repeat */
  double reverse_share;   /* of approved authorizations, then reversed */
  uint32_t timeout_ms;    /* per request */
  const iso_spec *spec;
  iso_framing framing;
  const char *mti;        /* "0100" or "0200" */
  int64_t amount_min, amount_max; /* minor units, drawn uniformly */
  bool json;              /* JSON summary */
  bool progress;          /* progress bar (stderr is a terminal) */
  bool send_json;         /* --send-json: JSON lines from stdin */
  bool unmasked;          /* --send-json: print responses unmasked */
  bool signon;            /* 0800 sign-on on each connection */
  FILE *log;              /* --log FILE: one line per answer (load runs) */
  iso__card_book book;
  uint64_t seed;
  iso_tls *tls;
  const char *tls_peer_name;
} acq_options;

/** What a run counted. */
typedef struct acq_stats {
  uint64_t sent, answered, timeouts, errors, refused;
  uint64_t approved;
  uint64_t by_rc[ACQ_RC_SLOTS]; /* answers to authorizations, by code */
  uint64_t other_rc;            /* a code that is not two digits */
  uint64_t repeats_sent, repeats_identical, repeats_different;
  uint64_t reversals_sent, reversals_answered, reversals_approved;
  uint64_t disconnects;
  iso__latencies latencies; /* every answered request */
  double elapsed_s;
} acq_stats;

/** The connections, on one loop: a conn pool (reconnection with backoff,
 *  round robin over the healthy ones; with sign-on, healthy means signed
 *  on). */
typedef struct acq_links {
  uv_loop_t *loop;
  iso_pool *pool;
  unsigned count; /* connections wanted */
  acq_stats *stats;
  const iso_spec *spec;
  bool closed;
} acq_links;

/** acq_links_open -- starts the pool (opts->connections connections over
 *  the addresses, round robin) and runs the loop until all are healthy, or
 *  10 s have passed (then it goes on with those that are, or fails with
 *  ISO_E_CONNECT when none is). */
int acq_links_open(acq_links *links, uv_loop_t *loop, const acq_options *opts,
                   acq_stats *stats);

/** acq_links_close -- closes the pool (every request has been answered by
 *  then) and runs the loop until it is released. */
void acq_links_close(acq_links *links);

/** acq_links_request -- sends msg on the next connection that takes it
 *  (round robin; a busy one is skipped).  0 or the last error. */
int acq_links_request(acq_links *links, const iso_msg *msg, uint32_t timeout_ms,
                      iso_response_cb cb, void *data);

/** acq_run_load -- the load run.  0 when every request was answered, 1
 *  otherwise. */
int acq_run_load(const acq_options *opts, acq_links *links, acq_stats *stats);

/** acq_run_send_json -- sends each JSON message read from `in`, one at a
 *  time, and prints each answer as a JSON line (masked unless
 *  opts->unmasked), or {"error":"..."}.  0 when all were answered. */
int acq_run_send_json(const acq_options *opts, acq_links *links, FILE *in);

/** acq_report -- prints the summary (text, or JSON with opts->json). */
void acq_report(const acq_options *opts, acq_stats *stats, FILE *out);

/** acq_progress -- redraws the progress bar on stderr. */
void acq_progress(uint64_t done, uint64_t total, double elapsed_s);

#endif
