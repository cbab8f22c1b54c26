/*
 * cli/journal_replay.c -- `isoflow journal replay`: sends journaled requests
 * to a live host over conn's blocking client, --concurrency threads at once
 * and at most --rate a second, with a progress bar on a terminal, and reports
 * how many answers carried the journaled response code and which did not.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/journal_cli.h"
#include "isoflow/conn.h"

static const char help[] =
    "usage: isoflow journal replay DB --to HOST:PORT [--frame FRAME]\n"
    "                              [--rate N] [--concurrency N] [--timeout MS]\n"
    "                              [--key-file F] [--spec NAME|FILE] [selection]\n"
    "\n"
    "Sends each selected journaled request to the host and compares the\n"
    "answer's response code (DE 39) with the journaled one.  Prints a\n"
    "summary and every transaction whose answer differed; exit 1 when any did.\n"
    "Card data is never sent made up: when selected requests hold card data\n"
    "sealed with the journal's key, the replay needs --key-file and sends\n"
    "nothing without it; a request whose PAN was journaled masked (the\n"
    "journal had no key file) is not sent and is listed as not replayable.\n"
    "\n"
    "  --to HOST:PORT    the host ([::1]:PORT for IPv6)\n"
    "  --frame FRAME     len2 (default), len4, ascii4 or bcd2\n"
    "  --rate N          at most N requests a second (default: no limit)\n"
    "  --concurrency N   requests in flight at once (default 1, max 256)\n"
    "  --timeout MS      per request and for connecting (default 10000)\n"
    "\n" JCLI_SELECTION_HELP;

typedef struct item {
  uint64_t id;
  char journaled[3];
  char got[3];
  int status;
  bool sealed; /* its card data needs the key file */
  bool masked; /* its PAN was journaled masked: not sent */
} item;

typedef struct replay {
  iso_journal_db *db;
  iso_blocking *client;
  const iso_spec *spec;
  item *items;
  size_t count, sealed;
  _Atomic size_t next, done;
  double rate;
  uint32_t timeout_ms;
  struct timespec start;
} replay;

static int collect(const iso_journal_row *row, void *data) {
  replay *r = data;
  if (!row->request) return 0;
  if (r->count % 1024 == 0) {
    item *v = realloc(r->items, (r->count + 1024) * sizeof *v);
    if (!v) return ISO_E_NOMEM;
    r->items = v;
  }
  item *it = &r->items[r->count++];
  memset(it, 0, sizeof *it);
  it->id = row->id;
  snprintf(it->journaled, sizeof it->journaled, "%s", row->response_code);
  it->sealed = row->request_sealed;
  r->sealed += it->sealed;
  return 0;
}

/* A PAN with hidden digits ('*'): what the journal keeps without a key. */
static double since_start(const replay *r) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (double)(now.tv_sec - r->start.tv_sec) +
         (double)(now.tv_nsec - r->start.tv_nsec) / 1e9;
}

/* One request: rebuild, pack, send, read DE 39 of the answer. */
static void replay_one(replay *r, item *it) {
  iso_msg m;
  iso_msg_init(&m, r->spec);
  uint8_t req[8192], resp[8192];
  size_t len = 0, rlen = 0;
  bool restored = false;
  int rc = iso_journal_load_request(r->db, it->id, &m, &restored);
  if (!rc && !restored && iso_journal_card_data_hidden(&m)) {
    /* the hidden digits are gone: sending a made-up PAN would compare
     * nothing (a sealed one never gets here: the replay needs the key) */
    it->masked = true;
    rc = ISO_E_KEY_FILE;
  }
  if (!rc) rc = iso_msg_pack(&m, req, sizeof req, &len, NULL);
  iso_msg_cleanup(&m);
  if (!rc) rc = iso_blocking_request(r->client, req, len, r->timeout_ms, resp, sizeof resp, &rlen);
  memset(req, 0, sizeof req); /* may have held card data */
  if (!rc) {
    iso_msg a;
    iso_msg_init(&a, r->spec);
    size_t n = 0;
    rc = iso_msg_unpack(&a, resp, rlen, NULL);
    if (!rc && (iso_msg_get(&a, 39, it->got, sizeof it->got, &n) || n != 2)) it->got[0] = 0;
    iso_msg_cleanup(&a);
  }
  it->status = rc;
}

static void *worker(void *arg) {
  replay *r = arg;
  for (;;) {
    size_t i = atomic_fetch_add(&r->next, 1);
    if (i >= r->count) break;
    if (r->rate > 0) { /* the i-th request leaves no earlier than i / rate */
      double wait = (double)i / r->rate - since_start(r);
      if (wait > 0) {
        struct timespec ts = {(time_t)wait, (long)((wait - (double)(time_t)wait) * 1e9)};
        nanosleep(&ts, NULL);
      }
    }
    replay_one(r, &r->items[i]);
    atomic_fetch_add(&r->done, 1);
  }
  return NULL;
}

static void progress(const replay *r, size_t done) {
  int width = 40, fill = r->count ? (int)((double)done * width / (double)r->count) : width;
  fprintf(stderr, "\r[%.*s%*s] %zu/%zu", fill,
          "########################################", width - fill, "", done, r->count);
  fflush(stderr);
}

typedef struct replay_opts {
  jcli_opts j;
  const char *to, *frame;
  unsigned long rate, concurrency, timeout_ms;
} replay_opts;

static int parse(int argc, char **argv, replay_opts *o) {
  memset(o, 0, sizeof *o);
  o->concurrency = 1;
  o->timeout_ms = 10000;
  for (int i = 1; i < argc; i++) {
    int t = jcli_take_option("replay", argc, argv, &i, &o->j);
    if (t < 0) return CLI_USAGE;
    if (t) continue;
    bool missing = false;
    const char *v;
    unsigned long *num = NULL;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(help, stdout);
      return CLI_OK;
    } else if ((v = cli_option_value(argc, argv, &i, "--to", &missing))) {
      o->to = v;
    } else if ((v = cli_option_value(argc, argv, &i, "--frame", &missing))) {
      o->frame = v;
    } else if ((v = cli_option_value(argc, argv, &i, "--rate", &missing))) {
      num = &o->rate;
    } else if ((v = cli_option_value(argc, argv, &i, "--concurrency", &missing))) {
      num = &o->concurrency;
    } else if ((v = cli_option_value(argc, argv, &i, "--timeout", &missing))) {
      num = &o->timeout_ms;
    } else if (missing) {
      return jcli_usage("replay", "option needs a value", argv[i]);
    } else if (argv[i][0] == '-') {
      return jcli_usage("replay", "unknown option", argv[i]);
    } else if (o->j.db) {
      return jcli_usage("replay", "only one journal", argv[i]);
    } else {
      o->j.db = argv[i];
    }
    if (num) {
      char *end;
      *num = strtoul(v, &end, 10);
      if (!*v || *end) return jcli_usage("replay", "not a number", v);
    }
  }
  if (!o->to) return jcli_usage("replay", "--to HOST:PORT is required", NULL);
  if (o->concurrency < 1 || o->concurrency > 256)
    return jcli_usage("replay", "--concurrency wants 1..256", NULL);
  if (o->timeout_ms < 1 || o->timeout_ms > 3600000)
    return jcli_usage("replay", "--timeout wants 1..3600000 ms", NULL);
  return -1;
}

static int connect_host(const replay_opts *o, replay *r) {
  char host[256];
  struct sockaddr_storage addr;
  int status = cli_resolve("journal replay", o->to, &addr, host, sizeof host);
  if (status) return status;
  iso_conn_opts co = {0};
  co.spec = r->spec;
  co.request_timeout_ms = co.connect_timeout_ms = (uint32_t)o->timeout_ms;
  co.max_in_flight = (uint32_t)o->concurrency;
  co.framing.max_frame = 65535;
  if (o->frame) {
    iso_frame_kind k;
    if (iso_frame_kind_parse(o->frame, &k) < 0)
      return jcli_usage("replay", "--frame wants len2, len4, ascii4 or bcd2", o->frame);
    co.framing.kind = (uint8_t)k;
  }
  int rc = iso_blocking_open(&co, (struct sockaddr *)&addr, &r->client);
  if (rc) {
    fprintf(stderr, "isoflow journal replay: %s: %s\n", o->to, iso_strerror(rc));
    return CLI_FAIL;
  }
  return CLI_OK;
}

static int summary(const replay *r) {
  size_t matched = 0, differed = 0;
  for (size_t i = 0; i < r->count; i++) {
    const item *it = &r->items[i];
    if (!it->status && !strcmp(it->got, it->journaled)) {
      matched++;
      continue;
    }
    if (differed++ == 0) printf("differed:\n");
    if (it->masked)
      printf("  transaction %llu: journaled rc '%s', not sent: its PAN was "
             "journaled masked (no key file when written)\n",
             (unsigned long long)it->id, it->journaled);
    else if (it->status)
      printf("  transaction %llu: journaled rc '%s', %s\n", (unsigned long long)it->id,
             it->journaled, iso_err_name(it->status));
    else
      printf("  transaction %llu: journaled rc '%s', got '%s'\n",
             (unsigned long long)it->id, it->journaled, it->got);
  }
  printf("replayed %zu: %zu matched the journaled response code, %zu differed\n",
         r->count, matched, differed);
  return differed ? 1 : CLI_OK;
}

int jcli_replay(int argc, char **argv) {
  replay_opts o;
  int status = parse(argc, argv, &o);
  if (status >= 0) return status;
  replay r;
  memset(&r, 0, sizeof r);
  if ((status = jcli_open("replay", &o.j, true, &r.db))) return status;
  r.spec = iso_journal_spec(r.db);
  r.rate = (double)o.rate;
  r.timeout_ms = (uint32_t)o.timeout_ms;
  int rc = iso_journal_query(r.db, &o.j.sel, collect, &r);
  if (!rc && r.sealed && !iso_journal_has_key(r.db)) {
    /* without the key their card data would go out masked: refuse all */
    fprintf(stderr,
            "isoflow journal replay: %zu of the %zu selected requests hold card "
            "data sealed with the journal's key; give --key-file to replay "
            "them (nothing sent)\n",
            r.sealed, r.count);
    iso_journal_close(r.db);
    free(r.items);
    return CLI_USAGE;
  }
  if (!rc) status = connect_host(&o, &r);
  if (rc || status) {
    if (rc) fprintf(stderr, "isoflow journal replay: %s\n", iso_strerror(rc));
    iso_journal_close(r.db);
    free(r.items);
    return rc ? CLI_FAIL : status;
  }
  clock_gettime(CLOCK_MONOTONIC, &r.start);
  pthread_t threads[256];
  size_t started = 0;
  for (; started < o.concurrency; started++)
    if (pthread_create(&threads[started], NULL, worker, &r)) break;
  if (started == 0) worker(&r); /* no thread to be had: do it here */
  bool tty = isatty(STDERR_FILENO);
  while (tty && atomic_load(&r.done) < r.count && started) {
    progress(&r, atomic_load(&r.done));
    usleep(100000);
  }
  for (size_t i = 0; i < started; i++) pthread_join(threads[i], NULL);
  if (tty) {
    progress(&r, r.count);
    fputc('\n', stderr);
  }
  iso_blocking_close(r.client);
  status = summary(&r);
  iso_journal_close(r.db);
  free(r.items);
  return status;
}
