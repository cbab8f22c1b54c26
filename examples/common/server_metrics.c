/*
 * examples/common/server_metrics.c -- a conn server's counters in
 * Prometheus text, the same names in the issuer's and the simulator's
 * /metrics (declared in admin.h).
 */
#include <stdio.h>

#include "examples/common/admin.h"

void iso__metric_server(iso__text *out, const iso_conn_stats *s) {
  iso__metric_help(out, "isoflow_connections", "gauge", "Client connections open now.");
  iso__metric(out, "isoflow_connections", NULL, (double)s->connections);
  iso__metric_help(out, "isoflow_connections_total", "counter", "Connections by event.");
  iso__metric(out, "isoflow_connections_total", "event=\"accepted\"", (double)s->accepted);
  iso__metric(out, "isoflow_connections_total", "event=\"refused\"", (double)s->refused);
  iso__metric(out, "isoflow_connections_total", "event=\"accept_error\"",
              (double)s->accept_errors);
  iso__metric(out, "isoflow_connections_total", "event=\"failed\"", (double)s->failed);
  iso__metric_help(out, "isoflow_connections_closed_total", "counter",
                   "Connections closed, by reason (each close counted once).");
  for (int r = 0; r < ISO_CLOSED__COUNT; r++) {
    char labels[48];
    snprintf(labels, sizeof labels, "reason=\"%s\"", iso_close_reason_name(r));
    iso__metric(out, "isoflow_connections_closed_total", labels, (double)s->closed[r]);
  }
  iso__metric_help(out, "isoflow_frames_total", "counter", "Frames by kind.");
  iso__metric(out, "isoflow_frames_total", "kind=\"request_in\"", (double)s->inbound);
  iso__metric(out, "isoflow_frames_total", "kind=\"reply_out\"", (double)s->replies);
  iso__metric(out, "isoflow_frames_total", "kind=\"keepalive\"", (double)s->keepalives);
  iso__metric(out, "isoflow_frames_total", "kind=\"unmatched\"", (double)s->unmatched);
  iso__metric_help(out, "isoflow_bytes_total", "counter", "Bytes on the wire.");
  iso__metric(out, "isoflow_bytes_total", "dir=\"in\"", (double)s->bytes_in);
  iso__metric(out, "isoflow_bytes_total", "dir=\"out\"", (double)s->bytes_out);
}
