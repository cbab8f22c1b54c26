/*
 * examples/issuer/main.c -- isoflow-issuer: an example card issuer.
 *
 *   isoflow-issuer --listen HOST:PORT [options]
 *
 * Start-up: the card book, the journal, the flow (participants/issuer.h)
 * with the journal attached, balances rebuilt from the journal and in-doubt
 * transactions recovered (history.c), then the server and the admin
 * endpoint; it prints "listening on HOST:PORT" once it takes traffic.
 * SIGINT or SIGTERM: not ready any more, stop taking requests, let those in
 * flight finish and their responses go out, close the server, flush and
 * close the journal, exit 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "examples/common/admin.h"
#include "examples/common/args.h"
#include "examples/common/lifecycle.h"
#include "examples/issuer/issuer_app.h"

static void usage(FILE *out) {
  fputs(
      "usage: isoflow-issuer --listen HOST:PORT [options]\n"
      "\n"
      "An example issuer: authorizations (0100/0200 and repeats), reversals\n"
      "(0400/0420 and repeats) and network management (0800) against a card\n"
      "book, every transaction journaled.  docs/issuer.md explains the flow.\n"
      "\n"
      "  --listen HOST:PORT    where to listen (port 0: any free port)\n"
      "  --threads N           worker loops (default: one per core less one,\n"
      "                        left to the journal's writer; at least 1)\n"
      "  --spec NAME|FILE      (default iso87a-bbitmap)\n"
      "  --frame KIND          len2, len4, ascii4, bcd2 (default len2)\n"
      "  --journal FILE        SQLite journal (default ./isoflow-issuer.db);\n"
      "                        'none' runs in memory\n"
      "  --sync full|normal|off  journal durability (default full)\n"
      "  --key-file FILE       journal encryption key (32 bytes or 64 hex)\n"
      "  --cards FILE          card book (\"PAN YYMM BALANCE\" lines; default:\n"
      "                        the built-in test cards)\n"
      "  --max-in-flight N     per worker; past it requests are declined 91\n"
      "  --authlog-size N      authorizations kept in memory for reversals\n"
      "                        (default 1000000; older ones: from the journal)\n"
      "  --admin HOST:PORT     HTTP: /healthz /readyz /metrics /profile\n"
      "  --read-timeout MS     close a connection silent this long (default\n"
      "                        60000; 0 never); acquirers echo (0800) within it\n"
      "  --tls-cert FILE --tls-key FILE   serve TLS\n"
      "  --tls-ca FILE         with TLS: require client certificates from it\n",
      out);
}

static int bad(const char *what, const char *value) {
  return iso__bad_arg("isoflow-issuer", what, value);
}

typedef struct options {
  struct sockaddr_storage listen, admin;
  bool have_listen, have_admin;
  unsigned threads;
  const char *spec, *frame, *journal, *sync, *key_file, *cards;
  const char *tls_cert, *tls_key, *tls_ca;
  uint32_t max_in_flight;
  uint64_t authlog_size;
  uint32_t read_timeout_ms;
} options;

static int parse(int argc, char **argv, options *o) {
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    uint64_t n;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      usage(stdout);
      exit(0);
    }
    if (!v) return bad("option (a value is missing after)", a);
    i++;
    if (!strcmp(a, "--listen")) {
      if (iso__parse_hostport(v, &o->listen) < 0) return bad(a, v);
      o->have_listen = true;
    } else if (!strcmp(a, "--admin")) {
      if (iso__parse_hostport(v, &o->admin) < 0) return bad(a, v);
      o->have_admin = true;
    } else if (!strcmp(a, "--threads")) {
      if (iso__parse_u64(v, 1, 64, &n) < 0) return bad(a, v);
      o->threads = (unsigned)n;
    } else if (!strcmp(a, "--max-in-flight")) {
      if (iso__parse_u64(v, 1, 1000000, &n) < 0) return bad(a, v);
      o->max_in_flight = (uint32_t)n;
    } else if (!strcmp(a, "--authlog-size")) {
      if (iso__parse_u64(v, 1, 100000000, &o->authlog_size) < 0) return bad(a, v);
    } else if (!strcmp(a, "--read-timeout")) {
      if (iso__parse_u64(v, 0, 86400000, &n) < 0) return bad(a, v);
      o->read_timeout_ms = (uint32_t)n;
    } else if (!strcmp(a, "--spec")) {
      o->spec = v;
    } else if (!strcmp(a, "--frame")) {
      o->frame = v;
    } else if (!strcmp(a, "--journal")) {
      o->journal = v;
    } else if (!strcmp(a, "--sync")) {
      o->sync = v;
    } else if (!strcmp(a, "--key-file")) {
      o->key_file = v;
    } else if (!strcmp(a, "--cards")) {
      o->cards = v;
    } else if (!strcmp(a, "--tls-cert")) {
      o->tls_cert = v;
    } else if (!strcmp(a, "--tls-key")) {
      o->tls_key = v;
    } else if (!strcmp(a, "--tls-ca")) {
      o->tls_ca = v;
    } else {
      return bad("option", a);
    }
  }
  if (!o->have_listen) return bad("usage: --listen is required", "");
  return 0;
}

static int open_journal(iss_app *app, const options *o, iso_flow *flow) {
  if (!strcmp(o->journal, "none")) return 0;
#ifdef ISOFLOW_HAVE_JOURNAL
  iso_journal_config jc;
  iso_journal_config_init(&jc);
  jc.path = o->journal;
  jc.spec = app->spec;
  jc.key_file = o->key_file;
  if (!strcmp(o->sync, "full")) jc.sync = ISO_JOURNAL_SYNC_FULL;
  else if (!strcmp(o->sync, "normal")) jc.sync = ISO_JOURNAL_SYNC_NORMAL;
  else if (!strcmp(o->sync, "off")) jc.sync = ISO_JOURNAL_SYNC_OFF;
  else return bad("--sync", o->sync);
  int rc = iso_journal_open(&jc, &app->journal);
  if (rc < 0) {
    fprintf(stderr, "isoflow-issuer: journal %s: %s (%s)\n", o->journal, iso_strerror(rc),
            iso_journal_open_error());
    return 1;
  }
  iso_journal j;
  rc = iso_journal_interface(app->journal, &j);
  if (rc == 0) rc = iso_flow_set_journal(flow, &j);
  if (rc < 0) {
    fprintf(stderr, "isoflow-issuer: journal: %s\n", iso_strerror(rc));
    return 1;
  }
  return 0;
#else
  (void)app;
  (void)flow;
  fprintf(stderr, "isoflow-issuer: built without the journal module: running in memory\n");
  return 0;
#endif
}

static int build(iss_app *app, const options *o) {
  if (iso_spec_open(o->spec, &app->spec, NULL) < 0) return bad("--spec", o->spec);
  if (o->cards) {
    int line = 0;
    if (iso__card_book_load(o->cards, &app->book, &line) < 0) {
      fprintf(stderr, "isoflow-issuer: cannot use card file %s (line %d)\n", o->cards, line);
      return 2;
    }
  } else if (iso__card_book_builtin(&app->book) < 0) {
    return bad("card book", "(out of memory)");
  }
  if (iso__issuer_init(&app->issuer, &app->book) < 0) return bad("issuer", "(out of memory)");
  if (iso__tally_init(&app->answers, ISS_MTI_SLOTS * ISS_RC_SLOTS) < 0)
    return bad("issuer", "(out of memory)");
  if (o->authlog_size) app->issuer.log.limit = (size_t)o->authlog_size;
  iso_flow_config fc;
  iso_flow_config_init(&fc);
  fc.spec = app->spec;
  fc.name = "issuer";
  if (o->max_in_flight) fc.max_in_flight = o->max_in_flight;
  int rc = iso_flow_new(&fc, &app->flow);
  if (rc == 0) rc = iso__issuer_flow_build(app->flow, &app->issuer);
  if (rc < 0) {
    fprintf(stderr, "isoflow-issuer: flow: %s\n", iso_strerror(rc));
    return 1;
  }
  if ((rc = open_journal(app, o, app->flow)) != 0) return rc;
  if ((rc = iso_flow_start(app->flow)) < 0) {
    fprintf(stderr, "isoflow-issuer: flow: %s\n", iso_strerror(rc));
    return 1;
  }
  if ((rc = iss_history_restore(app)) < 0) {
    fprintf(stderr, "isoflow-issuer: restoring from the journal: %s\n", iso_strerror(rc));
    return 1;
  }
  return 0;
}

/* Releases whatever build() and main() got so far, in reverse order (each
 * step copes with what was never made).  The server must be closed. */
static void teardown(iss_app *app, iso_tls *tls) {
#ifdef ISOFLOW_HAVE_JOURNAL
  iso_journal_close(app->journal);
  app->journal = NULL;
#endif
  iso_flow_free(app->flow);
  app->flow = NULL;
  iso__tally_free(&app->answers);
  iso__issuer_free(&app->issuer);
  iso__card_book_free(&app->book);
  iso_spec_free(app->spec);
  app->spec = NULL;
  iso_tls_free(tls);
}

/* Worker loops by default: one per core less the one the journal's writer
 * needs (it spends about what all the loops spend on each transaction,
 * and every decision waits for it), at least one (docs/issuer.md,
 * "Threads": on 2 cores one loop is faster than two). */
static unsigned default_threads(void) {
  long cores = sysconf(_SC_NPROCESSORS_ONLN);
  if (cores <= 2) return 1;
  return cores - 1 > 64 ? 64 : (unsigned)(cores - 1);
}

int main(int argc, char **argv) {
  options o = {.threads = default_threads(), .spec = "iso87a-bbitmap", .frame = "len2",
               .journal = "./isoflow-issuer.db", .sync = "full", .read_timeout_ms = 60000};
  int rc = parse(argc, argv, &o);
  if (rc) return rc;
  iso_frame_kind kind;
  if (iso_frame_kind_parse(o.frame, &kind) < 0) return bad("--frame", o.frame);

  static iss_app app;
  if ((rc = build(&app, &o)) != 0) {
    teardown(&app, NULL);
    return rc;
  }
  if (app.rebuilt || app.recovered)
    printf("restored from the journal: %llu committed operations applied, %llu in-doubt "
           "transactions recovered\n",
           (unsigned long long)app.rebuilt, (unsigned long long)app.recovered);

  iso_tls *tls = NULL;
  if (o.tls_cert) {
    iso_tls_opts to = {.server = true, .cert_file = o.tls_cert, .key_file = o.tls_key,
                       .ca_file = o.tls_ca, .require_peer_cert = o.tls_ca != NULL};
    if (iso_tls_new(&to, &tls) < 0) {
      fprintf(stderr, "isoflow-issuer: TLS setup failed (check --tls-* files)\n");
      teardown(&app, NULL);
      return 2;
    }
  }
  iso_flow_serve_opts so;
  memset(&so, 0, sizeof so);
  iss_host_options(&app, &so);
  so.server.conn.framing.kind = (uint8_t)kind;
  so.server.conn.tls = tls;
  so.server.conn.read_timeout_ms = o.read_timeout_ms;
  so.server.workers = o.threads;
  so.drain_timeout_ms = 35000;
  rc = iso_flow_serve(app.flow, &so, (struct sockaddr *)&o.listen, &app.server);
  if (rc < 0) {
    fprintf(stderr, "isoflow-issuer: cannot listen: %s\n", iso_strerror(rc));
    teardown(&app, tls);
    return 1;
  }
  iso__admin *admin = NULL;
  if (o.have_admin) {
    iso__admin_ops ops = {iss_ready, iss_metrics, iss_profile, &app};
    if (iso__admin_start((struct sockaddr *)&o.admin, &ops, &admin) < 0) {
      fprintf(stderr, "isoflow-issuer: cannot start the admin endpoint\n");
      iso_flow_server_close(app.server, NULL, NULL);
      teardown(&app, tls);
      return 1;
    }
  }
  printf("worker loops: %u\n", o.threads);
  iso__announce_listening(&o.listen, iso_flow_server_port(app.server), admin, "");
  atomic_store(&app.ready, true);

  iso__signals signals;
  iso__signals_wait(&signals);

  /* Shutdown, in order. */
  atomic_store(&app.ready, false);
  int status = 0;
  iso__admin_stop(admin);
  /* Stops taking requests, lets those in flight finish and their responses
   * go out, then closes the connections. */
  iso_flow_server_close(app.server, NULL, NULL);
  app.server = NULL;
  iso_flow_stats fst;
  iso_flow_stats_get(app.flow, &fst);
  if (fst.in_flight) {
    fprintf(stderr, "isoflow-issuer: transactions still running at shutdown\n");
    status = 1;
  }
  teardown(&app, tls);
  iso__signals_close(&signals);
  printf("stopped\n");
  return status;
}
