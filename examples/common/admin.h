/*
 * examples/common/admin.h -- the admin HTTP endpoint of the issuer and the
 * simulator (--admin HOST:PORT):
 *
 *   GET /healthz   200 "ok": the process is up and answering
 *   GET /readyz    200 "ready" once the program takes traffic (and until it
 *                  starts shutting down), 503 "not ready" otherwise
 *   GET /metrics   200, Prometheus text exposition format (version 0.0.4)
 *   GET /profile   200, the stage-latency table, text
 *
 * Anything else: 404, or 405 for a method other than GET/HEAD.
 *
 * HTTP is handled by libmicrohttpd with its own internal thread, apart from
 * the libuv loops that carry transactions: the endpoint answers even when
 * every loop is saturated, and a slow scraper never stalls a transaction.
 * The render callbacks therefore run on that thread and may only read what
 * is safe to read from any thread (iso_flow_stats_get, iso_server_stats_read,
 * atomics).
 */
#ifndef ISOFLOW_EXAMPLES_ADMIN_H
#define ISOFLOW_EXAMPLES_ADMIN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "examples/common/text.h"
#include "isoflow/conn.h"

typedef struct iso__admin iso__admin;

/** What the endpoint serves; any callback may be NULL (then /metrics and
 *  /profile answer with an empty body, /readyz with "ready"). */
typedef struct iso__admin_ops {
  bool (*ready)(void *data);
  void (*metrics)(void *data, iso__text *out);
  void (*profile)(void *data, iso__text *out);
  void *data;
} iso__admin_ops;

/** iso__admin_start -- listens on addr (port 0 picks one) and serves on its
 *  own thread.  ops is copied.  0, ISO_E_IO when the address cannot be
 *  bound, ISO_E_NOMEM. */
int iso__admin_start(const struct sockaddr *addr, const iso__admin_ops *ops,
                     iso__admin **out);

/** iso__admin_port -- the bound port. */
int iso__admin_port(const iso__admin *admin);

/** iso__admin_stop -- stops the thread, closes every connection, frees.
 *  NULL is ignored. */
void iso__admin_stop(iso__admin *admin);

/** iso__metric -- appends one Prometheus sample line: `name{labels} value`
 *  (labels may be NULL or "").  A helper for the metrics callbacks. */
void iso__metric(iso__text *out, const char *name, const char *labels,
                 double value);

/** iso__metric_server -- appends a conn server's counters (connections,
 *  connection events, frames, bytes) under the names every program's
 *  /metrics uses (examples/common/server_metrics.c). */
void iso__metric_server(iso__text *out, const iso_conn_stats *s);

/** iso__metric_help -- appends the # HELP and # TYPE lines of a metric. */
void iso__metric_help(iso__text *out, const char *name, const char *type,
                      const char *help);

#endif
