/*
 * examples/common/admin.c -- the admin HTTP endpoint on libmicrohttpd (see
 * admin.h for the routes and why it runs on its own thread).
 */
#include "examples/common/admin.h"

#include <microhttpd.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isoflow/error.h"

struct iso__admin {
  struct MHD_Daemon *daemon;
  iso__admin_ops ops;
  int port;
};

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status,
                             const char *type, iso__text *body) {
  if (body->failed) {
    status = MHD_HTTP_INTERNAL_SERVER_ERROR;
    iso__text_free(body);
    iso__text_printf(body, "out of memory\n");
  }
  struct MHD_Response *r = MHD_create_response_from_buffer(
      body->len, (void *)iso__text_str(body), MHD_RESPMEM_MUST_COPY);
  if (!r) return MHD_NO;
  MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
  enum MHD_Result ret = MHD_queue_response(c, status, r);
  MHD_destroy_response(r);
  return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **state) {
  (void)version;
  (void)upload;
  iso__admin *a = cls;
  /* The first call for a request only announces its headers. */
  if (*state == NULL) {
    *state = a;
    return MHD_YES;
  }
  if (*upload_size) { /* a GET with a body: ignore the body */
    *upload_size = 0;
    return MHD_YES;
  }
  iso__text body;
  iso__text_init(&body);
  unsigned status = MHD_HTTP_OK;
  const char *type = "text/plain; charset=utf-8";
  if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
    status = MHD_HTTP_METHOD_NOT_ALLOWED;
    iso__text_printf(&body, "method not allowed\n");
  } else if (!strcmp(url, "/healthz")) {
    iso__text_printf(&body, "ok\n");
  } else if (!strcmp(url, "/readyz")) {
    bool ready = a->ops.ready ? a->ops.ready(a->ops.data) : true;
    status = ready ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE;
    iso__text_printf(&body, ready ? "ready\n" : "not ready\n");
  } else if (!strcmp(url, "/metrics")) {
    type = "text/plain; version=0.0.4; charset=utf-8";
    if (a->ops.metrics) a->ops.metrics(a->ops.data, &body);
  } else if (!strcmp(url, "/profile")) {
    if (a->ops.profile) a->ops.profile(a->ops.data, &body);
  } else {
    status = MHD_HTTP_NOT_FOUND;
    iso__text_printf(&body, "not found\n");
  }
  enum MHD_Result ret = reply(c, status, type, &body);
  iso__text_free(&body);
  return ret;
}

int iso__admin_start(const struct sockaddr *addr, const iso__admin_ops *ops,
                     iso__admin **out) {
  iso__admin *a = calloc(1, sizeof *a);
  if (!a) return ISO_E_NOMEM;
  a->ops = *ops;
  unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL_INTERNAL_THREAD;
  if (addr->sa_family == AF_INET6) flags |= MHD_USE_IPv6;
  a->daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_request, a,
                               MHD_OPTION_SOCK_ADDR, addr,
                               MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
                               MHD_OPTION_CONNECTION_LIMIT, (unsigned)64,
                               MHD_OPTION_END);
  if (!a->daemon) {
    free(a);
    return ISO_E_IO;
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(a->daemon, MHD_DAEMON_INFO_BIND_PORT);
  a->port = info ? info->port : 0;
  *out = a;
  return 0;
}

int iso__admin_port(const iso__admin *admin) { return admin->port; }

void iso__admin_stop(iso__admin *admin) {
  if (!admin) return;
  MHD_stop_daemon(admin->daemon);
  free(admin);
}

void iso__metric(iso__text *out, const char *name, const char *labels, double value) {
  /* Counters print as whole numbers; fractions (means, seconds) with nine
   * significant digits: enough for any reader, and no long digit runs in a
   * scrape (a 17-digit fraction can look like a card number to a scanner). */
  const char *fmt = value == (double)(int64_t)value ? "%.0f" : "%.9g";
  char number[40];
  snprintf(number, sizeof number, fmt, value);
  if (labels && *labels)
    iso__text_printf(out, "%s{%s} %s\n", name, labels, number);
  else
    iso__text_printf(out, "%s %s\n", name, number);
}

void iso__metric_help(iso__text *out, const char *name, const char *type,
                      const char *help) {
  iso__text_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}
