/*
 * examples/issuer/issuer_app.h -- isoflow-issuer, the program around the
 * participants (participants/issuer.h): the state its files share.
 *
 *   main.c      options, start-up (journal, balances, recovery), the admin
 *               endpoint, signals and the clean shutdown
 *   host.c      the flow served on the conn server (iso_flow_serve) and
 *               the answer counters fed by its response hook
 *   history.c   with the journal: balances rebuilt from its completed
 *               transactions, then in-doubt ones finished by recovery
 *   metrics.c   what /metrics, /profile and /readyz show
 */
#ifndef ISOFLOW_EXAMPLES_ISSUER_APP_H
#define ISOFLOW_EXAMPLES_ISSUER_APP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "examples/common/tally.h"
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

struct iss_app {
  const iso_spec *spec;
  iso__card_book book;
  iso__issuer issuer;
  iso_flow *flow;
  iso_flow_server *server; /* NULL once closed */
#ifdef ISOFLOW_HAVE_JOURNAL
  iso_journal_db *journal;
#endif
  iso__tally answers; /* by response MTI and DE 39: counter
                         m * ISS_RC_SLOTS + r, per worker thread (made
                         in start-up, before serving) */
  atomic_bool ready;
  uint64_t rebuilt, recovered; /* start-up: history applied, tx finished */
};

/** iss_host_options -- serve options that serve app->flow and count its
 *  answers (fills everything but framing, TLS, workers, drain timeout). */
void iss_host_options(iss_app *app, iso_flow_serve_opts *opts);

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
