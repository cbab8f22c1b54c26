/*
 * examples/issuer/issuer_app.h -- isoflow-issuer, the program around the
 * participants (participants/issuer.h): the state its files share.
 *
 *   main.c      options, start-up (journal, balances, recovery), the admin
 *               endpoint, signals and the clean shutdown
 *   host.c      the flow served on the conn server: one flow loop per
 *               worker loop, requests in, responses out, answer counters
 *   history.c   with the journal: balances rebuilt from its completed
 *               transactions, then in-doubt ones finished by recovery
 *   metrics.c   what /metrics, /profile and /readyz show
 */
#ifndef ISOFLOW_EXAMPLES_ISSUER_APP_H
#define ISOFLOW_EXAMPLES_ISSUER_APP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "examples/common/text.h"
#include "examples/issuer/participants/issuer.h"
#include "isoflow/conn.h"
#include "isoflow/flow.h"
#ifdef ISOFLOW_HAVE_JOURNAL
#include "isoflow/journal.h"
#endif

/* Answers are counted by response MTI and response code. */
#define ISS_MTI_SLOTS 6 /* 0110 0210 0410 0430 0810, other */
#define ISS_RC_SLOTS 101 /* "00".."99", other */
extern const char *const iss_mti_names[ISS_MTI_SLOTS];

typedef struct iss_app iss_app;

/** One worker loop of the server, with its flow loop. */
typedef struct iss_worker {
  struct iss_worker *next;
  iss_app *app;
  uv_loop_t *loop;
  iso_flow_loop *fl;  /* NULL once closed */
  uv_async_t stop;
  bool stopping;
  _Atomic uint64_t answers[ISS_MTI_SLOTS][ISS_RC_SLOTS];
  _Atomic uint64_t malformed; /* requests that did not unpack */
  _Atomic uint64_t dropped;   /* requests not taken (shutting down) */
  _Atomic uint64_t unsendable; /* responses that could not be packed */
} iss_worker;

struct iss_app {
  const iso_spec *spec;
  iso__card_book book;
  iso__issuer issuer;
  iso_flow *flow;
  iso_server *server;
#ifdef ISOFLOW_HAVE_JOURNAL
  iso_journal_db *journal;
#endif
  pthread_mutex_t lock; /* workers list, stopping */
  pthread_cond_t cond;
  iss_worker *workers;
  unsigned workers_closed;
  bool stopping;
  atomic_bool ready;
  uint64_t rebuilt, recovered; /* start-up: history applied, tx finished */
};

/** iss_host_serve -- server options that serve app->flow on every
 *  connection (fills everything but framing, TLS, workers). */
void iss_host_options(iss_app *app, iso_server_opts *opts);

/** iss_host_stop -- stops taking requests on every worker, lets those in
 *  flight finish (their responses sent), closes the flow loops; returns
 *  when all are closed or timeout_ms passed (false then). */
bool iss_host_stop(iss_app *app, unsigned timeout_ms);

/** iss_host_free -- frees the workers (after iso_server_close). */
void iss_host_free(iss_app *app);

/** iss_history_restore -- with a journal: rebuilds balances and the
 *  authorization log from completed transactions, then finishes in-doubt
 *  ones through recovery on a loop of this thread.  0 or an error. */
int iss_history_restore(iss_app *app);

/** iss_metrics / iss_profile / iss_ready -- the admin endpoint's views
 *  (any thread). */
void iss_metrics(void *app, iso__text *out);
void iss_profile(void *app, iso__text *out);
bool iss_ready(void *app);

#endif
