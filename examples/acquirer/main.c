/*
 * examples/acquirer/main.c -- isoflow-acquirer: options and connections.
 *
 *   isoflow-acquirer --connect HOST:PORT[,HOST:PORT...] [options]
 *
 * See usage() for the options; acquirer.h for how the files divide the work.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "examples/acquirer/acquirer.h"
#include "examples/common/args.h"
#include "examples/common/requests.h"

static void usage(FILE *out) {
  fputs(
      "usage: isoflow-acquirer --connect HOST:PORT[,HOST:PORT...] [options]\n"
      "\n"
      "Sends authorizations to an issuer (or any ISO 8583 host) and reports\n"
      "what came back.\n"
      "\n"
      "  --connections K     connections, spread over the addresses (default 4)\n"
      "  -n N                authorizations to send (default 1000)\n"
      "  --rate R            per second (default 0: as fast as the window allows)\n"
      "  --concurrency W     requests in flight at most (default 64)\n"
      "  --repeat-share F    fraction also sent again as a repeat (0101/0201)\n"
      "                      with the same key, once answered (default 0)\n"
      "  --reverse-share F   fraction of approvals then reversed with 0400\n"
      "  --mti 0100|0200     authorization or financial request (default 0100)\n"
      "  --amount MIN-MAX    amounts in minor units, drawn uniformly (default\n"
      "                      100-10000: 1.00 to 100.00)\n"
      "  --timeout MS        per request (default 5000)\n"
      "  --spec NAME|FILE    (default iso87a-bbitmap)\n"
      "  --frame KIND        len2, len4, ascii4, bcd2 (default len2)\n"
      "  --cards FILE        card book (default: the built-in one)\n"
      "  --seed N            for the card and amount draws (default: time)\n"
      "  --no-signon         skip the 0800 sign-on on each connection\n"
      "  --json              print the summary as JSON\n"
      "  --log FILE          append one line per answer of a load run:\n"
      "                      STEP MTI STAN RRN TERMINAL RC LATENCY_US, STEP\n"
      "                      one of original, repeat, reversal; RC '-' when\n"
      "                      the request failed (timeout, connection lost)\n"
      "  --send-json         read JSON messages from stdin, one a line, send\n"
      "                      each and print its answer as JSON (masked unless\n"
      "                      --unmasked)\n"
      "  --tls-ca FILE       TLS: trust this CA (enables TLS)\n"
      "  --tls-cert FILE --tls-key FILE   TLS client certificate (mutual TLS)\n"
      "  --tls-name NAME     expected server name\n"
      "  --tls-insecure      TLS without verifying the server (tests only)\n"
      "\n"
      "Exit status: 0 when every request was answered, 1 otherwise, 2 for bad\n"
      "usage or when the connections cannot be established.\n",
      out);
}

/* ---- connections -------------------------------------------------------- */

static void on_link_failed(iso_conn *conn, int status) {
  (void)status;
  acq_links *l = iso_conn_data(conn);
  if (l) l->stats->disconnects++;
}

static void on_signon_answer(iso_conn *conn, int status, const iso_frame *rsp, void *data) {
  acq_links *l = data;
  int rc = ISO_E_SIGNON;
  if (status == 0) {
    iso_msg m;
    char code[3];
    size_t len;
    iso_msg_init(&m, l->spec);
    if (iso_msg_unpack(&m, rsp->payload, rsp->len, NULL) == 0 &&
        iso_msg_get(&m, 39, code, sizeof code, &len) == 0 && !strcmp(code, "00"))
      rc = 0;
    iso_msg_cleanup(&m);
  }
  iso_conn_signon_done(conn, rc);
}

static void signon(iso_conn *conn) {
  acq_links *l = iso_conn_data(conn);
  static atomic_uint stan = 900000;
  iso_msg m;
  iso_msg_init(&m, l->spec);
  int rc = iso__build_network(&m, "001", atomic_fetch_add(&stan, 1));
  if (rc == 0) rc = iso_conn_request_msg(conn, &m, 0, on_signon_answer, l);
  iso_msg_cleanup(&m);
  if (rc < 0) iso_conn_signon_done(conn, rc);
}

static bool signed_on(iso_conn *conn, void *data) {
  (void)data;
  return iso_conn_signed_on(conn);
}

static void on_tick(uv_timer_t *t) { (void)t; }

int acq_links_open(acq_links *l, uv_loop_t *loop, const acq_options *o, acq_stats *stats) {
  memset(l, 0, sizeof *l);
  l->loop = loop;
  l->stats = stats;
  l->spec = o->spec;
  l->count = o->connections;
  const struct sockaddr **addrs = calloc(o->connections, sizeof *addrs);
  if (!addrs) return ISO_E_NOMEM;
  for (unsigned i = 0; i < o->connections; i++)
    addrs[i] = (const struct sockaddr *)&o->addrs[i % o->naddrs];
  iso_pool_opts po = {
      .conn = {.spec = o->spec,
               .framing = o->framing,
               .max_in_flight = o->concurrency + 16,
               .request_timeout_ms = o->timeout_ms,
               .signon = o->signon ? signon : NULL,
               .on_failed = on_link_failed,
               .tls = o->tls,
               .tls_peer_name = o->tls_peer_name,
               .data = l},
      .addrs = addrs,
      .naddrs = o->connections,
      .backoff_initial_ms = 100,
      .backoff_max_ms = 2000,
      .filter = signed_on,
      .data = l,
  };
  int rc = iso_pool_start(loop, &po, &l->pool);
  free(addrs);
  if (rc < 0) return rc;
  /* Wait for the connections, waking every 50 ms to look at the clock. */
  uv_timer_t tick;
  uv_timer_init(loop, &tick);
  uv_timer_start(&tick, on_tick, 50, 50);
  uint64_t deadline = uv_hrtime() + 10000000000ull;
  while (iso_pool_healthy(l->pool) < l->count && uv_hrtime() < deadline)
    uv_run(loop, UV_RUN_ONCE);
  uv_close((uv_handle_t *)&tick, NULL);
  uv_run(loop, UV_RUN_NOWAIT);
  unsigned up = iso_pool_healthy(l->pool);
  if (up == 0) {
    acq_links_close(l);
    return ISO_E_CONNECT;
  }
  if (up < l->count)
    fprintf(stderr, "isoflow-acquirer: %u of %u connections up; going on with those\n", up,
            l->count);
  return 0;
}

static void on_pool_closed(iso_pool *pool) {
  (void)pool;
}

void acq_links_close(acq_links *l) {
  if (!l->pool) return;
  iso_pool_close(l->pool, on_pool_closed);
  l->pool = NULL;
  uv_run(l->loop, UV_RUN_DEFAULT);
}

int acq_links_request(acq_links *l, const iso_msg *msg, uint32_t timeout_ms,
                      iso_response_cb cb, void *data) {
  int rc = ISO_E_NO_CONNECTION;
  for (unsigned tries = 0; tries < l->count; tries++) {
    iso_conn *c = iso_pool_pick(l->pool);
    if (!c) return ISO_E_NO_CONNECTION;
    rc = iso_conn_request_msg(c, msg, timeout_ms, cb, data);
    if (rc != ISO_E_BUSY && rc != ISO_E_CLOSED) return rc;
  }
  return rc;
}

/* ---- options ------------------------------------------------------------ */

static int bad(const char *what, const char *value) {
  return iso__bad_arg("isoflow-acquirer", what, value);
}

typedef struct tls_args {
  const char *ca, *cert, *key;
  bool insecure;
} tls_args;

static int parse(int argc, char **argv, acq_options *o, tls_args *t) {
  const char *cards = NULL, *frame = "len2", *spec = "iso87a-bbitmap";
  bool have_connect = false;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
    uint64_t n;
#define NEEDS_VALUE()                                               \
  do {                                                              \
    if (!v) return bad("option (a value is missing after)", a);     \
    i++;                                                            \
  } while (0)
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      exit(0);
    } else if (!strcmp(a, "--connect")) {
      NEEDS_VALUE();
      if (iso__parse_hostport_list(v, o->addrs, ACQ_MAX_ADDRS, &o->naddrs) < 0)
        return bad("--connect", v);
      have_connect = true;
    } else if (!strcmp(a, "--connections")) {
      NEEDS_VALUE();
      if (iso__parse_u64(v, 1, 1024, &n) < 0) return bad(a, v);
      o->connections = (unsigned)n;
    } else if (!strcmp(a, "-n")) {
      NEEDS_VALUE();
      if (iso__parse_u64(v, 0, 100000000, &o->count) < 0) return bad(a, v);
    } else if (!strcmp(a, "--rate")) {
      NEEDS_VALUE();
      if (iso__parse_u64(v, 0, 10000000, &o->rate) < 0) return bad(a, v);
    } else if (!strcmp(a, "--concurrency")) {
      NEEDS_VALUE();
      if (iso__parse_u64(v, 1, 100000, &n) < 0) return bad(a, v);
      o->concurrency = (unsigned)n;
    } else if (!strcmp(a, "--repeat-share")) {
      NEEDS_VALUE();
      if (iso__parse_share(v, &o->repeat_share) < 0) return bad(a, v);
    } else if (!strcmp(a, "--reverse-share")) {
      NEEDS_VALUE();
      if (iso__parse_share(v, &o->reverse_share) < 0) return bad(a, v);
    } else if (!strcmp(a, "--mti")) {
      NEEDS_VALUE();
      if (strcmp(v, "0100") && strcmp(v, "0200")) return bad(a, v);
      o->mti = v;
    } else if (!strcmp(a, "--amount")) {
      NEEDS_VALUE();
      char *dash = strchr(v, '-');
      uint64_t lo, hi;
      char low[24];
      if (!dash || (size_t)(dash - v) >= sizeof low) return bad(a, v);
      memcpy(low, v, (size_t)(dash - v));
      low[dash - v] = '\0';
      if (iso__parse_u64(low, 0, 999999999999ull, &lo) < 0 ||
          iso__parse_u64(dash + 1, lo, 999999999999ull, &hi) < 0)
        return bad(a, v);
      o->amount_min = (int64_t)lo;
      o->amount_max = (int64_t)hi;
    } else if (!strcmp(a, "--timeout")) {
      NEEDS_VALUE();
      if (iso__parse_u64(v, 1, 600000, &n) < 0) return bad(a, v);
      o->timeout_ms = (uint32_t)n;
    } else if (!strcmp(a, "--spec")) {
      NEEDS_VALUE();
      spec = v;
    } else if (!strcmp(a, "--frame")) {
      NEEDS_VALUE();
      frame = v;
    } else if (!strcmp(a, "--cards")) {
      NEEDS_VALUE();
      cards = v;
    } else if (!strcmp(a, "--seed")) {
      NEEDS_VALUE();
      if (iso__parse_u64(v, 0, UINT64_MAX, &o->seed) < 0) return bad(a, v);
    } else if (!strcmp(a, "--no-signon")) {
      o->signon = false;
    } else if (!strcmp(a, "--log")) {
      NEEDS_VALUE();
      if (o->log) fclose(o->log);
      if (!(o->log = fopen(v, "a"))) return bad(a, v);
      /* Whole lines reach the file at once: a run killed midway leaves
       * every answer it logged readable. */
      setvbuf(o->log, NULL, _IOLBF, 0);
    } else if (!strcmp(a, "--json")) {
      o->json = true;
    } else if (!strcmp(a, "--send-json")) {
      o->send_json = true;
    } else if (!strcmp(a, "--unmasked")) {
      o->unmasked = true;
    } else if (!strcmp(a, "--tls-ca")) {
      NEEDS_VALUE();
      t->ca = v;
    } else if (!strcmp(a, "--tls-cert")) {
      NEEDS_VALUE();
      t->cert = v;
    } else if (!strcmp(a, "--tls-key")) {
      NEEDS_VALUE();
      t->key = v;
    } else if (!strcmp(a, "--tls-name")) {
      NEEDS_VALUE();
      o->tls_peer_name = v;
    } else if (!strcmp(a, "--tls-insecure")) {
      t->insecure = true;
    } else {
      return bad("option", a);
    }
#undef NEEDS_VALUE
  }
  if (!have_connect) return bad("usage: --connect is required", "");
  iso_frame_kind kind;
  if (iso_frame_kind_parse(frame, &kind) < 0) return bad("--frame", frame);
  o->framing.kind = (uint8_t)kind;
  if (iso_spec_open(spec, &o->spec, NULL) < 0) return bad("--spec", spec);
  if (cards) {
    int line = 0;
    if (iso__card_book_load(cards, &o->book, &line) < 0) {
      fprintf(stderr, "isoflow-acquirer: cannot use card file %s (line %d)\n", cards, line);
      return 2;
    }
  } else if (iso__card_book_builtin(&o->book) < 0) {
    return bad("card book", "(out of memory)");
  }
  return 0;
}

int main(int argc, char **argv) {
  acq_options o = {.connections = 4, .count = 1000, .concurrency = 64,
                   .timeout_ms = 5000, .mti = "0100", .signon = true,
                   .amount_min = 100, .amount_max = 10000,
                   .seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32)};
  tls_args t = {0};
  int rc = parse(argc, argv, &o, &t);
  if (rc) return rc;
  if (t.ca || t.insecure) {
    iso_tls_opts to = {.ca_file = t.ca, .cert_file = t.cert, .key_file = t.key,
                       .no_verify = t.insecure};
    if (iso_tls_new(&to, &o.tls) < 0) {
      fprintf(stderr, "isoflow-acquirer: TLS setup failed (check --tls-* files)\n");
      iso__card_book_free(&o.book);
      iso_spec_free(o.spec);
      return 2;
    }
  }
  o.progress = !o.json && !o.send_json && isatty(STDERR_FILENO);

  uv_loop_t loop;
  uv_loop_init(&loop);
  acq_stats stats;
  memset(&stats, 0, sizeof stats);
  acq_links links;
  rc = acq_links_open(&links, &loop, &o, &stats);
  if (rc < 0) {
    fprintf(stderr, "isoflow-acquirer: cannot connect: %s\n", iso_strerror(rc));
    rc = 2;
  } else {
    rc = o.send_json ? acq_run_send_json(&o, &links, stdin) : acq_run_load(&o, &links, &stats);
    acq_links_close(&links);
    if (!o.send_json) acq_report(&o, &stats, stdout);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  iso__latencies_free(&stats.latencies);
  if (o.log) fclose(o.log);
  iso__card_book_free(&o.book);
  iso_tls_free(o.tls);
  iso_spec_free(o.spec);
  return rc;
}
