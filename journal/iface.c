/*
 * journal/iface.c -- the journal as the flow sees it: the iso_journal
 * function table (isoflow/flow.h) over iso_journal_log_*.  Kept apart so that
 * programs using only the journal's queries do not link the flow.
 */
#include "journal/journal_internal.h"

static int j_begin(void *self, const iso_journal_begin *ev) {
  return iso_journal_log_begin(self, ev);
}

/* The writer reports a decision through the flow's ticket. */
static void ticket_durable(void *arg, int status, uint64_t write_ns) {
  iso_journal_ticket_done(arg, status, write_ns);
}

static int j_decision(void *self, const iso_journal_decision *ev,
                      iso_journal_ticket *ticket) {
  return iso_journal_log_decision(self, ev, ticket_durable, ticket);
}

static int j_completion(void *self, const iso_journal_completion *ev) {
  return iso_journal_log_completion(self, ev);
}

static int j_lookup(void *self, const uint8_t *key, size_t key_len,
                    iso_journal_stored *out) {
  return iso_journal_lookup(self, key, key_len, out);
}

int iso_journal_interface(iso_journal_db *db, iso_journal *out) {
  if (!db || !out) return ISO_E_INVAL;
  if (db->cfg.read_only) return ISO_E_STATE;
  *out = (iso_journal){.self = db,
                       .first_tx_id = db->first_tx_id,
                       .begin = j_begin,
                       .decision = j_decision,
                       .completion = j_completion,
                       .lookup = j_lookup};
  return 0;
}
