/*
 * tests/support/issuer_world.h -- the example issuer run in process: the
 * built-in card book, an issuer on it, and its flow (the issuer's
 * participants) started on a private loop, with or without a journal.  The
 * suites of the issuer's participants and of its authorization log submit
 * requests to it and read the answers; no network.
 */
#ifndef ISOFLOW_TESTS_ISSUER_WORLD_H
#define ISOFLOW_TESTS_ISSUER_WORLD_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "examples/common/cards.h"
#include "examples/issuer/participants/issuer.h"
#include "isoflow/flow.h"
#include "isoflow/journal.h"

typedef struct iw_world {
  uv_loop_t loop;
  iso__card_book book;
  iso__issuer issuer; /* issuer.log.limit may be changed before the first request */
  iso_flow *flow;     /* named "issuer", spec iso87a-bbitmap */
  iso_flow_loop *fl;
  const iso_spec *spec;
  iso_journal_db *db; /* NULL without a journal */
} iw_world;

/* What came back for one request. */
typedef struct iw_answer {
  int done;
  int status;        /* the flow's status: 0 or an ISO_E_* code */
  char mti[5];       /* the response MTI ("" without a response) */
  char rc[3];        /* DE 39 ("" when absent) */
  char auth_code[8]; /* DE 38 ("" when absent) */
} iw_answer;

/* Creates a world.  With journal_path, a journal is opened there (spec
 * iso87a-bbitmap, sync off) and given to both the issuer (to look up older
 * originals) and the flow.  Asserts every step; free with iw_world_free. */
iw_world *iw_world_new(const char *journal_path);

/* iw_world_new with one more participant at the end of the flow's main
 * list (after decline), or none when last is NULL. */
iw_world *iw_world_new_with(const char *journal_path, const iso_participant *last);

/* iw_world_new_with, its flow's idempotency on or off (off: the flow keys
 * no transaction, so the journal holds no idempotency keys). */
iw_world *iw_world_new_keyed(const char *journal_path, const iso_participant *last,
                             bool idempotency);

/* Closes the flow's loop, frees the flow, closes the journal, frees the
 * issuer, the card book and w. */
void iw_world_free(iw_world *w);

/* Submits req (copied) to the world's flow and runs its loop until the
 * answer (5 s at most), stored in a; asserts the submission and the bound. */
void iw_submit(iw_world *w, const iso_msg *req, iw_answer *a);

/* Fills m (initialised with w->spec) as an authorization request for the
 * built-in card `card`: expiry 3012, amount in minor units, STAN stan,
 * transmission time 1123101010. */
void iw_auth_request(iso_msg *m, unsigned card, int64_t amount, uint32_t stan);

#endif
