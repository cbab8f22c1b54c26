/*
 * cli/send.c -- `isoflow send`: sends JSON messages (one a line, as `isoflow
 * decode` prints them) as requests to a host, and prints each matched
 * response as JSON (masked unless --unmasked).
 *
 * It uses the blocking client (conn/blocking.c): one request at a time, each
 * matched by the default key (MTI class, DE 11, DE 41).  Exit status: 0 when
 * every request got its response, 1 on a timeout, a connection that could not
 * be made or was closed, 2 on a usage error or bad input (the line, field and
 * offset on stderr, never the contents).
 */
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cli/cli.h"
#include "isoflow/conn.h"

static const char help[] =
    "usage: isoflow send --to HOST:PORT --spec NAME|FILE [--frame FRAME]\n"
    "                    [--timeout MS] [--tls-ca FILE] [--tls-cert FILE --tls-key FILE]\n"
    "                    [--unmasked] [FILE|-]\n"
    "\n"
    "Sends each JSON message (one a line, keyed by field number, \"0\" the MTI)\n"
    "as a request and prints the matched response as one JSON line.\n"
    "\n"
    "  --to HOST:PORT    where to connect ([::1]:PORT for IPv6)\n"
    "  --spec NAME|FILE  a built-in spec (isoflow spec list) or a JSON spec file\n"
    "  --frame FRAME     len2 (default), len4, ascii4 or bcd2\n"
    "  --timeout MS      per request, and for connecting (default 10000)\n"
    "  --tls-ca FILE     use TLS; verify the server against these CAs and HOST\n"
    "  --tls-cert FILE   client certificate (mutual TLS), with --tls-key\n"
    "  --tls-key FILE\n"
    "  --unmasked        print card data in clear (default: masked)\n"
    "\n"
    "Exit status 1 on a timeout or a closed connection, 2 on bad input.\n";

typedef struct send_opts {
  const char *to, *spec, *frame, *ca, *cert, *key, *input;
  unsigned long timeout_ms;
  bool unmasked;
} send_opts;

static int usage_error(const char *what, const char *arg) {
  return cli_usage_error("isoflow", "send", what, arg);
}

/* -1 to go on, or the exit status. */
static int parse(int argc, char **argv, send_opts *o) {
  static const struct {
    const char *name;
    size_t field;
  } valued[] = {
      {"--to", offsetof(send_opts, to)},         {"--spec", offsetof(send_opts, spec)},
      {"--frame", offsetof(send_opts, frame)},   {"--tls-ca", offsetof(send_opts, ca)},
      {"--tls-cert", offsetof(send_opts, cert)}, {"--tls-key", offsetof(send_opts, key)},
  };
  const char *timeout = NULL;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      fputs(help, stdout);
      return CLI_OK;
    }
    if (!strcmp(a, "--unmasked")) {
      o->unmasked = true;
      continue;
    }
    bool matched = false;
    for (size_t k = 0; k < sizeof valued / sizeof *valued && !matched; k++) {
      size_t n = strlen(valued[k].name);
      const char **slot = (const char **)((char *)o + valued[k].field);
      if (!strcmp(a, valued[k].name)) {
        if (i + 1 >= argc) return usage_error("missing value", a);
        *slot = argv[++i];
        matched = true;
      } else if (!strncmp(a, valued[k].name, n) && a[n] == '=') {
        *slot = a + n + 1;
        matched = true;
      }
    }
    if (matched) continue;
    if (!strcmp(a, "--timeout") || !strncmp(a, "--timeout=", 10)) {
      if (a[9] == '=') timeout = a + 10;
      else if (i + 1 < argc) timeout = argv[++i];
      else return usage_error("missing value", a);
      continue;
    }
    if (a[0] == '-' && a[1] != '\0') return usage_error("unknown option", a);
    if (o->input) return usage_error("more than one input", a);
    o->input = a;
  }
  if (!o->to) return usage_error("--to HOST:PORT is required", NULL);
  if (!o->spec) return usage_error("--spec is required", NULL);
  if ((o->cert == NULL) != (o->key == NULL))
    return usage_error("--tls-cert and --tls-key go together", NULL);
  o->timeout_ms = 10000;
  if (timeout) {
    char *end;
    o->timeout_ms = strtoul(timeout, &end, 10);
    if (*end || o->timeout_ms == 0 || o->timeout_ms > 3600000)
      return usage_error("--timeout wants milliseconds (1..3600000)", timeout);
  }
  return -1;
}

typedef struct sender {
  const iso_spec *spec;
  iso_blocking *client;
  send_opts o;
  iso_msg req, resp;
  uint8_t *wire, *answer;
  size_t wire_cap;
  char *json;
  size_t json_cap;
} sender;

static int print_response(sender *s, const uint8_t *buf, size_t len, size_t n) {
  iso_error err = {0};
  int rc = iso_msg_unpack(&s->resp, buf, len, &err);
  if (rc) {
    char why[160];
    err.code = rc;
    fprintf(stderr, "isoflow send: line %zu: response: %s\n", n,
            iso_error_format(&err, why, sizeof why));
    return CLI_FAIL;
  }
  size_t need = 0;
  unsigned flags = s->o.unmasked ? ISO_SHOW_UNMASKED : ISO_SHOW_MASKED;
  while ((rc = iso_msg_to_json(&s->resp, flags, s->json, s->json_cap, &need)) == ISO_E_NOSPC) {
    char *bigger = realloc(s->json, need + 1);
    if (!bigger) return CLI_FAIL;
    s->json = bigger;
    s->json_cap = need + 1;
  }
  if (rc) return CLI_FAIL;
  puts(s->json);
  fflush(stdout);
  return CLI_OK;
}

static int send_one(sender *s, size_t n) {
  size_t len = 0;
  iso_error err = {0};
  int rc;
  while ((rc = iso_msg_pack(&s->req, s->wire, s->wire_cap, &len, &err)) == ISO_E_NOSPC) {
    uint8_t *bigger = realloc(s->wire, len);
    if (!bigger) return CLI_FAIL;
    s->wire = bigger;
    s->wire_cap = len;
  }
  if (rc) {
    err.code = rc;
    return cli_bad_input("send", "line", n, &err);
  }
  size_t got = 0;
  rc = iso_blocking_request(s->client, s->wire, len, (uint32_t)s->o.timeout_ms,
                            s->answer, 65536, &got);
  if (rc == ISO_E_NOT_REQUEST || rc == ISO_E_FRAME_TOO_LARGE) {
    iso_error e = {.code = rc, .field = rc == ISO_E_NOT_REQUEST ? 0 : -1};
    return cli_bad_input("send", "line", n, &e);
  }
  if (rc) {
    fprintf(stderr, "isoflow send: line %zu: %s\n", n, iso_strerror(rc));
    return CLI_FAIL;
  }
  return print_response(s, s->answer, got, n);
}

static int send_lines(sender *s, FILE *in) {
  char *line = NULL;
  size_t cap = 0, n = 0;
  ssize_t got;
  int status = CLI_OK;
  while (status == CLI_OK && (got = getline(&line, &cap, in)) >= 0) {
    n++;
    size_t start = 0;
    while (start < (size_t)got && strchr(" \t\r\n", line[start])) start++;
    if (start == (size_t)got) continue;
    iso_error err = {0};
    int rc = iso_msg_from_json(&s->req, line, (size_t)got, &err);
    if (rc) {
      err.code = rc;
      status = cli_bad_input("send", "line", n, &err);
      break;
    }
    status = send_one(s, n);
  }
  free(line);
  return status;
}

static int open_client(sender *s, iso_tls **tls) {
  char host[256];
  struct sockaddr_storage addr;
  int status = cli_resolve("send", s->o.to, &addr, host, sizeof host);
  if (status) return status;
  iso_conn_opts co = {0};
  co.spec = s->spec;
  co.request_timeout_ms = (uint32_t)s->o.timeout_ms;
  co.connect_timeout_ms = (uint32_t)s->o.timeout_ms;
  co.max_in_flight = 4;
  if (s->o.frame) {
    iso_frame_kind k;
    if (iso_frame_kind_parse(s->o.frame, &k) < 0)
      return usage_error("--frame wants len2, len4, ascii4 or bcd2", s->o.frame);
    co.framing.kind = (uint8_t)k;
  }
  co.framing.max_frame = CLI_MAX_FRAME;
  if (s->o.ca || s->o.cert) {
    iso_tls_opts to = {.ca_file = s->o.ca, .cert_file = s->o.cert, .key_file = s->o.key,
                       .no_verify = s->o.ca == NULL};
    if (iso_tls_new(&to, tls) < 0) {
      fprintf(stderr, "isoflow send: cannot load the TLS files\n");
      return CLI_FAIL;
    }
    co.tls = *tls;
    co.tls_peer_name = host;
  }
  int rc = iso_blocking_open(&co, (struct sockaddr *)&addr, &s->client);
  if (rc) {
    fprintf(stderr, "isoflow send: %s: %s\n", s->o.to, iso_strerror(rc));
    return CLI_FAIL;
  }
  return CLI_OK;
}

int cli_send(int argc, char **argv) {
  sender s = {0};
  int status = parse(argc, argv, &s.o);
  if (status >= 0) return status;
  if ((status = cli_open_spec("send", s.o.spec, &s.spec))) return status;
  FILE *in = cli_open_input("send", s.o.input);
  iso_tls *tls = NULL;
  s.answer = malloc(65536);
  if (!in || !s.answer) status = CLI_FAIL;
  if (status == CLI_OK) status = open_client(&s, &tls);
  if (status == CLI_OK) {
    iso_msg_init(&s.req, s.spec);
    iso_msg_init(&s.resp, s.spec);
    status = send_lines(&s, in);
    iso_msg_cleanup(&s.req);
    iso_msg_cleanup(&s.resp);
    iso_blocking_close(s.client);
  }
  iso_tls_free(tls);
  if (in && in != stdin) fclose(in);
  free(s.wire);
  free(s.answer);
  free(s.json);
  iso_spec_free(s.spec);
  return status;
}
