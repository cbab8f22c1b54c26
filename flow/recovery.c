/*
 * flow/recovery.c -- finishing journaled transactions after a restart.
 *
 * The journal hands over each transaction it holds without a completion.
 * Decided ones get their commit or abort again over the participants that
 * had joined, named in the journal; undecided ones have ABORT journaled and
 * then abort run on every participant that has one.  Either way the
 * transaction is an ordinary record entering the engine at its second phase,
 * with the recovery flag set and the persistent values back in its context,
 * and the journal gets its completion at the end.
 */
#include <string.h>

#include "flow/flow_internal.h"

static int restore(iso_tx *tx, const iso_flow_recovery *rec) {
  int rc = 0;
  if (rec->request) rc = iso_msg_copy(&tx->request, rec->request);
  if (rc == 0 && rec->response) rc = iso_msg_copy(&tx->response, rec->response);
  for (size_t i = 0; rc == 0 && i < rec->value_count; i++)
    rc = iso_tx_set_persistent(tx, rec->values[i].name, rec->values[i].data,
                               rec->values[i].len);
  return rc;
}

static int join_named(iso_tx *tx, const iso_flow_recovery *rec) {
  if (rec->participant_count > ISO_FLOW_MAX_JOINED) return ISO_E_INVAL;
  for (size_t i = 0; i < rec->participant_count; i++) {
    int p = rec->participants[i] ? iso__flow_find_part(tx->flow,
                                                       rec->participants[i])
                                 : -1;
    if (p < 0) return ISO_E_NOT_FOUND;
    tx->joined[tx->njoined++] = (uint8_t)p;
  }
  return 0;
}

/* Undecided: every participant that can abort, in definition order, so that
 * the second phase (which aborts in reverse) goes from last to first. */
static int join_all_aborters(iso_tx *tx) {
  const iso_flow *f = tx->flow;
  for (uint16_t p = 0; p < f->nparts; p++) {
    if (!f->parts[p].abort) continue;
    if (tx->njoined == ISO_FLOW_MAX_JOINED) return ISO_E_NOSPC;
    tx->joined[tx->njoined++] = (uint8_t)p;
  }
  return 0;
}

int iso_flow_recover(iso_flow_loop *fl, const iso_flow_recovery *rec,
                     iso_flow_recover_cb cb, void *data) {
  if (!fl || !rec || rec->tx_id == 0 ||
      (rec->participant_count && !rec->participants) ||
      (rec->value_count && !rec->values) || rec->decision < ISO_DECISION_NONE ||
      rec->decision > ISO_DECISION_ABORT)
    return ISO_E_INVAL;
  if (fl->closing) return ISO_E_STATE;
  iso_tx *tx = iso__tx_alloc(fl);
  if (!tx) return ISO_E_NOMEM;
  iso_flow *f = fl->flow;
  tx->id = rec->tx_id;
  tx->flags |= ISO__TX_RECOVERY | ISO__TX_NO_RESPONSE;
  tx->flags |= ISO__TX_PRECISE;
  if (atomic_load_explicit(&f->profiler_on, ISO__RELAXED))
    tx->flags |= ISO__TX_PROFILE;
  int rc = restore(tx, rec);
  if (rc == 0)
    rc = rec->decision == ISO_DECISION_NONE ? join_all_aborters(tx)
                                            : join_named(tx, rec);
  if (rc < 0) {
    iso__tx_release(tx);
    return rc;
  }
  tx->cb.recovered = cb;
  tx->cb_data = data;
  tx->t_submit = tx->t_mark = iso__tx_now(tx);
  ISO__STAT_ADD(fl->stats->in_flight, 1);
  if (f->has_journal) tx->flags |= ISO__TX_JOURNAL;
  if (rec->decision == ISO_DECISION_NONE) {
    /* Journal ABORT first (decide writes it), then abort everywhere. */
    tx->flags |= ISO__TX_ABORTING;
    tx->state = ISO__ST_DECIDE;
  } else {
    tx->decision = (uint8_t)rec->decision;
    if (rec->decision == ISO_DECISION_ABORT) tx->flags |= ISO__TX_ABORTING;
    tx->flags |= ISO__TX_DECIDED;
    tx->state = ISO__ST_DECIDE;
  }
  iso__tx_run(tx);
  return 0;
}
