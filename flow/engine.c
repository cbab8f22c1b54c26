/*
 * flow/engine.c -- runs one transaction: the prepare walk over participants
 * and selected groups, the decision and its journal write, commit or abort
 * over the joined participants, and the hand-over of the response.
 *
 * A transaction is a small state machine (ISO__ST_*) driven by
 * iso__tx_run on its loop thread.  It stops when it must wait -- a paused
 * participant, a blocking call on the thread pool, the journal making the
 * decision durable, the journal lookup -- and the matching event
 * (iso__tx_event, or a pool completion) drives it on.  The clock is read once
 * per stage boundary: the end of one call is the start of the next.
 */
#include <stdlib.h>
#include <string.h>

#include "flow/flow_internal.h"

enum { WORK_PREPARE = 1, WORK_SECOND, WORK_LOOKUP };

static void set_aborting(iso_tx *tx, int reason) {
  if (tx->flags & ISO__TX_ABORTING) return;
  tx->flags |= ISO__TX_ABORTING;
  tx->abort_reason = reason;
}

static void report_journal_failure(iso_tx *tx, int status) {
  iso_flow *f = tx->flow;
  ISO__STAT_ADD(tx->fl->stats->journal_failures, 1);
  if (f->cfg.journal_failed)
    f->cfg.journal_failed(f, tx->id, status, f->cfg.journal_failed_data);
}

/* ---- blocking calls on the thread pool ---------------------------------- */

static void work_run(uv_work_t *req);
static void work_done(uv_work_t *req, int status);

static bool queue_work(iso_tx *tx, int kind) {
  iso_flow_loop *fl = tx->fl;
  iso__work *w = fl->free_work;
  if (w) {
    fl->free_work = w->next_free;
  } else if (!(w = malloc(sizeof *w))) {
    return false;
  }
  w->tx = tx;
  w->kind = kind;
  w->result = 0;
  w->selected = NULL;
  w->found = false;
  tx->flags |= ISO__TX_BLOCKED;
  if (uv_queue_work(fl->loop, &w->req, work_run, work_done) != 0) {
    tx->flags &= ~ISO__TX_BLOCKED;
    w->next_free = fl->free_work;
    fl->free_work = w;
    return false;
  }
  return true;
}

static int call_prepare(iso_tx *tx, const iso_participant *pt,
                        const char **selected) {
  bool aborting = (tx->flags & ISO__TX_ABORTING) != 0;
  int (*fn)(iso_tx *, void *) = aborting ? pt->prepare_for_abort : pt->prepare;
  int r = fn ? fn(tx, pt->data) : (ISO_PREPARED | ISO_NO_JOIN | ISO_READONLY);
  if (selected && r != ISO_PAUSE && !aborting && pt->select && r >= 0 &&
      (r & ISO_PREPARED) && !(r & ISO_ABORTED))
    *selected = pt->select(tx, pt->data);
  return r;
}

static void call_second(iso_tx *tx, const iso_participant *pt) {
  if (tx->decision == ISO_DECISION_COMMIT)
    pt->commit(tx, pt->data);
  else
    pt->abort(tx, pt->data);
}

static void work_run(uv_work_t *req) {
  iso__work *w = (iso__work *)req;
  iso_tx *tx = w->tx;
  const iso_participant *pt = &tx->flow->parts[tx->cur_part];
  switch (w->kind) {
  case WORK_PREPARE:
    w->result = call_prepare(tx, pt, &w->selected);
    break;
  case WORK_SECOND:
    call_second(tx, pt);
    break;
  case WORK_LOOKUP:
    w->result = iso__idem_lookup(tx, &w->found);
    break;
  }
}

static int prepare_result(iso_tx *tx, int r, const char *selected,
                          bool select_done);
static void lookup_done(iso_tx *tx, int rc);

static void work_done(uv_work_t *req, int status) {
  (void)status;
  iso__work *w = (iso__work *)req;
  iso_tx *tx = w->tx;
  iso_flow_loop *fl = tx->fl;
  int kind = w->kind, result = w->result;
  const char *selected = w->selected;
  w->next_free = fl->free_work;
  fl->free_work = w;
  tx->flags &= ~ISO__TX_BLOCKED;
  if (kind == WORK_PREPARE) {
    if (prepare_result(tx, result, selected, true)) iso__tx_run(tx);
  } else if (kind == WORK_SECOND) {
    uint64_t now = iso__tx_now(tx);
    iso__profile_stage(tx, tx->cur_part, tx->cur_phase, tx->t_mark, now);
    tx->t_mark = now;
    iso__tx_run(tx);
  } else {
    lookup_done(tx, result);
  }
}

/* ---- prepare ------------------------------------------------------------ */

static bool next_participant(iso_tx *tx, unsigned *part) {
  const iso_flow *f = tx->flow;
  while (tx->nframes) {
    iso__frame *fr = &tx->frames[tx->nframes - 1];
    const iso__group *g = &f->groups[fr->group];
    if (fr->pos < g->count) {
      *part = g->members[fr->pos++];
      return true;
    }
    tx->nframes--;
  }
  return false;
}

/* Pushes the groups a selector named ("a b", "a,b") so that they run next,
 * in the order named. */
static void push_groups(iso_tx *tx, const char *names) {
  const iso_flow *f = tx->flow;
  uint8_t found[ISO__MAX_SELECT];
  unsigned n = 0;
  const char *p = names;
  while (*p) {
    while (*p == ' ' || *p == ',') p++;
    const char *start = p;
    while (*p && *p != ' ' && *p != ',') p++;
    if (p == start) break;
    int gi = iso__flow_find_group(f, start, (size_t)(p - start));
    if (gi < 0) {
      set_aborting(tx, ISO_E_UNKNOWN_GROUP);
      return;
    }
    if (n == ISO__MAX_SELECT) {
      set_aborting(tx, ISO_E_GROUP_LOOP);
      return;
    }
    found[n++] = (uint8_t)gi;
  }
  if (n == 0) return;
  uint8_t level = tx->nframes ? tx->frames[tx->nframes - 1].level + 1 : 1;
  if (level > ISO_FLOW_MAX_DEPTH || tx->nframes + n > ISO__MAX_FRAMES) {
    set_aborting(tx, ISO_E_GROUP_LOOP);
    return;
  }
  for (unsigned i = n; i-- > 0;) {
    iso__frame *fr = &tx->frames[tx->nframes++];
    fr->group = found[i];
    fr->pos = 0;
    fr->level = level;
  }
}

static void join(iso_tx *tx, unsigned part, int r) {
  if (tx->njoined == ISO_FLOW_MAX_JOINED) {
    set_aborting(tx, ISO_E_NOSPC);
    return;
  }
  tx->joined[tx->njoined++] = (uint8_t)part;
  if (!(r & ISO_READONLY)) tx->flags |= ISO__TX_WRITES;
}

/* Handles what a prepare (or prepare_for_abort) returned.  Returns 1 to go
 * on, 0 when the transaction waits (paused). */
static int prepare_result(iso_tx *tx, int r, const char *selected,
                          bool select_done) {
  iso_flow_loop *fl = tx->fl;
  const iso_participant *pt = &tx->flow->parts[tx->cur_part];
  if (r == ISO_PAUSE) {
    tx->flags |= ISO__TX_PAUSED;
    fl->paused++;
    ISO__STAT_ADD(fl->stats->paused, 1);
    iso__loop_arm_timer(fl);
    return 0;
  }
  if (r < 0 || !(r & (ISO_PREPARED | ISO_ABORTED)) || (r & ISO_PAUSE))
    r = ISO_ABORTED;
  bool ok = (r & ISO_PREPARED) && !(r & ISO_ABORTED);
  if (ok && !select_done && pt->select && !(tx->flags & ISO__TX_ABORTING))
    selected = pt->select(tx, pt->data);
  uint64_t now = iso__tx_now(tx);
  uint64_t took = now - tx->t_mark;
  iso__profile_stage(tx, tx->cur_part, tx->cur_phase, tx->t_mark, now);
  tx->t_mark = now;
  if (!(r & ISO_NO_JOIN)) join(tx, tx->cur_part, r);
  if (!ok) set_aborting(tx, 0);
  if (pt->timeout_ms && took > (uint64_t)pt->timeout_ms * 1000000u) {
    ISO__STAT_ADD(fl->stats->participant_timeouts, 1);
    set_aborting(tx, ISO_E_PARTICIPANT_TIMEOUT);
  }
  if (ok && selected && !(tx->flags & ISO__TX_ABORTING))
    push_groups(tx, selected);
  return 1;
}

static int prepare_step(iso_tx *tx) {
  const iso_flow *f = tx->flow;
  if (tx->deadline && tx->t_mark >= tx->deadline &&
      !(tx->flags & ISO__TX_ABORTING)) {
    ISO__STAT_ADD(tx->fl->stats->deadline_expired, 1);
    set_aborting(tx, ISO_E_DEADLINE);
  }
  unsigned part;
  if (!next_participant(tx, &part)) {
    tx->state = ISO__ST_DECIDE;
    return 1;
  }
  const iso_participant *pt = &f->parts[part];
  bool aborting = (tx->flags & ISO__TX_ABORTING) != 0;
  if (aborting && !pt->prepare_for_abort) return 1; /* skipped */
  if (++tx->steps > ISO_FLOW_MAX_STEPS) {
    set_aborting(tx, ISO_E_GROUP_LOOP);
    tx->nframes = 0;
    return 1;
  }
  tx->cur_part = (uint8_t)part;
  tx->cur_phase = aborting ? ISO_PHASE_PREPARE_FOR_ABORT : ISO_PHASE_PREPARE;
  if ((pt->flags & ISO_PARTICIPANT_BLOCKING) && queue_work(tx, WORK_PREPARE))
    return 0;
  const char *selected = NULL;
  int r = call_prepare(tx, pt, &selected);
  return prepare_result(tx, r, selected, true);
}

/* ---- decision and second phase ------------------------------------------ */

static bool journal_on(const iso_tx *tx) {
  return (tx->flags & ISO__TX_JOURNAL) != 0;
}

static int write_decision(iso_tx *tx) {
  iso_flow *f = tx->flow;
  const char *names[ISO_FLOW_MAX_JOINED];
  for (unsigned i = 0; i < tx->njoined; i++)
    names[i] = f->parts[tx->joined[i]].name;
  iso_tx_value values[ISO__CTX_INLINE + 250];
  size_t nvalues = 0;
  for (unsigned i = 0; i < ISO__CTX_INLINE + (unsigned)tx->nctx_extra; i++) {
    const iso__ctx_value *v =
        i < ISO__CTX_INLINE ? &tx->ctx[i] : &tx->ctx_extra[i - ISO__CTX_INLINE];
    if (!v->name || !iso__ctx_is_persistent(v)) continue;
    const iso__persistent *pv = v->value;
    values[nvalues].name = v->name;
    values[nvalues].data = pv->bytes;
    values[nvalues].len = pv->len;
    nvalues++;
  }
  iso_journal_decision ev = {
      .tx_id = tx->id,
      .decision = (iso_decision)tx->decision,
      .reason = tx->abort_reason,
      .readonly = !(tx->flags & ISO__TX_WRITES) && nvalues == 0,
      .recovery = (tx->flags & ISO__TX_RECOVERY) != 0,
      .participants = names,
      .participant_count = tx->njoined,
      .values = values,
      .value_count = nvalues,
  };
  tx->ev.tx = tx;
  tx->ev.kind = 0;
  return f->journal.decision(f->journal.self, &ev, &tx->ev);
}

/* The decision write failed before the second phase: never commit. */
static void fail_before_second(iso_tx *tx, int status) {
  report_journal_failure(tx, status);
  tx->decision = ISO_DECISION_ABORT;
  tx->flags &= ~ISO__TX_ABORTING;
  set_aborting(tx, ISO_E_JOURNAL);
  tx->flags |= ISO__TX_DURABLE; /* nothing more to wait for */
  iso_msg_set_copy(&tx->response, 39, tx->flow->cfg.journal_fail_code, 2);
  tx->state = ISO__ST_SECOND;
}

static int decide(iso_tx *tx) {
  const iso_flow_config *cfg = &tx->flow->cfg;
  if (!(tx->flags & ISO__TX_DECIDED))
    tx->decision = (tx->flags & ISO__TX_ABORTING) ? ISO_DECISION_ABORT
                                                  : ISO_DECISION_COMMIT;
  tx->second_pos = 0;
  if (!journal_on(tx) || (tx->flags & ISO__TX_DECIDED)) {
    tx->flags |= ISO__TX_DURABLE;
    tx->state = ISO__ST_SECOND;
    return 1;
  }
  tx->t_decision = tx->t_mark;
  int rc = write_decision(tx);
  if (rc < 0) {
    fail_before_second(tx, rc);
    return 1;
  }
  tx->flags |= ISO__TX_TICKET_OWED;
  if (cfg->commit_before_durable || cfg->respond_before_durable) {
    tx->state = ISO__ST_SECOND;
    return 1;
  }
  tx->state = ISO__ST_DURABLE;
  return 0;
}

static int second_step(iso_tx *tx) {
  if (tx->second_pos >= tx->njoined) {
    tx->flags |= ISO__TX_SECOND_DONE;
    tx->state = ISO__ST_RESPOND;
    return 1;
  }
  bool commit = tx->decision == ISO_DECISION_COMMIT;
  unsigned i = commit ? tx->second_pos : tx->njoined - 1u - tx->second_pos;
  tx->second_pos++;
  unsigned part = tx->joined[i];
  const iso_participant *pt = &tx->flow->parts[part];
  if (!(commit ? pt->commit != NULL : pt->abort != NULL)) return 1;
  tx->cur_part = (uint8_t)part;
  tx->cur_phase = commit ? ISO_PHASE_COMMIT : ISO_PHASE_ABORT;
  if ((pt->flags & ISO_PARTICIPANT_BLOCKING) && queue_work(tx, WORK_SECOND))
    return 0;
  call_second(tx, pt);
  uint64_t now = iso__tx_now(tx);
  iso__profile_stage(tx, part, tx->cur_phase, tx->t_mark, now);
  tx->t_mark = now;
  return 1;
}

/* ---- the end ------------------------------------------------------------ */

static void write_completion(iso_tx *tx) {
  iso_flow *f = tx->flow;
  char rc[3] = "";
  size_t len;
  if (iso_msg_get(&tx->response, 39, rc, sizeof rc, &len) != 0 || len != 2)
    rc[0] = '\0';
  iso_stage_timing stages[ISO__MAX_STAGES];
  iso_tx_stages(tx, stages, ISO__MAX_STAGES);
  iso_journal_completion ev = {
      .tx_id = tx->id,
      .decision = (iso_decision)tx->decision,
      .response = ((tx->flags & ISO__TX_HOLD) || !iso_msg_mti(&tx->response)[0])
                      ? NULL
                      : &tx->response,
      .stages = stages,
      .stage_count = tx->nstages,
      .finished_at = iso__wall_ns(),
  };
  memcpy(ev.response_code, rc, 3);
  if (f->journal.completion(f->journal.self, &ev) < 0)
    report_journal_failure(tx, ISO_E_JOURNAL);
}

static int tx_status(const iso_tx *tx) {
  if (tx->flags & ISO__TX_HOLD) return ISO_E_JOURNAL;
  if (tx->decision == ISO_DECISION_COMMIT) return 0;
  return tx->abort_reason == ISO_E_JOURNAL ? ISO_E_JOURNAL : ISO_E_ABORTED;
}

static void finish(iso_tx *tx) {
  iso_flow_loop *fl = tx->fl;
  iso_flow *f = tx->flow;
  int status = tx_status(tx);
  if (tx->decision == ISO_DECISION_ABORT && !iso_msg_has(&tx->response, 39))
    iso_msg_set_copy(&tx->response, 39, f->cfg.abort_code, 2);
  /* The end of the last stage is the end of the transaction. */
  if (tx->flags & ISO__TX_PROFILE)
    iso__profile_flow_stage(fl->stats, f, ISO_PHASE_TOTAL,
                            tx->t_mark - tx->t_submit);
  if (journal_on(tx)) write_completion(tx);
  if (tx->idem) iso__idem_complete(tx);
  ISO__STAT_ADD(*(tx->decision == ISO_DECISION_COMMIT ? &fl->stats->committed
                                                      : &fl->stats->aborted),
                1);
  ISO__STAT_ADD(fl->stats->in_flight, (uint64_t)-1);
  iso__loop_list_remove(fl, tx);
  tx->state = ISO__ST_DONE;
  if (tx->flags & ISO__TX_RECOVERY) {
    ISO__STAT_ADD(fl->stats->recovered, 1);
    if (tx->cb.recovered) tx->cb.recovered(fl, tx->id, status, tx->cb_data);
  } else if (tx->cb.done) {
    bool none = tx->flags & (ISO__TX_NO_RESPONSE | ISO__TX_HOLD);
    tx->cb.done(tx, status, none ? NULL : &tx->response, tx->cb_data);
  }
  if (!(tx->flags & (ISO__TX_RESUME_OWED | ISO__TX_TICKET_OWED)))
    iso__tx_release(tx);
}

static int respond(iso_tx *tx) {
  if (journal_on(tx) && !tx->flow->cfg.respond_before_durable &&
      !(tx->flags & (ISO__TX_DURABLE | ISO__TX_HOLD)))
    return 0; /* the durable event finishes it */
  finish(tx);
  return 0;
}

void iso__tx_run(iso_tx *tx) {
  for (;;) {
    int go;
    switch (tx->state) {
    case ISO__ST_PREPARE: go = prepare_step(tx); break;
    case ISO__ST_DECIDE: go = decide(tx); break;
    case ISO__ST_SECOND: go = second_step(tx); break;
    case ISO__ST_RESPOND: go = respond(tx); break;
    default: go = 0; break;
    }
    if (!go) return;
  }
}

/* ---- starting ----------------------------------------------------------- */

static void decline_journal(iso_tx *tx, int status) {
  report_journal_failure(tx, status);
  tx->decision = ISO_DECISION_ABORT;
  set_aborting(tx, ISO_E_JOURNAL);
  iso_msg_set_copy(&tx->response, 39, tx->flow->cfg.journal_fail_code, 2);
  tx->state = ISO__ST_RESPOND;
  tx->flags |= ISO__TX_DURABLE;
  iso__tx_run(tx);
}

void iso__tx_begin(iso_tx *tx) {
  iso_flow_loop *fl = tx->fl;
  iso_flow *f = tx->flow;
  iso__tx_number(tx); /* unless the store's check did */
  tx->state = ISO__ST_PREPARE;
  tx->nframes = 1;
  tx->frames[0] = (iso__frame){.group = 0, .pos = 0, .level = 0};
  tx->t_mark = tx->t_submit;
  if (f->cfg.deadline_ms)
    tx->deadline = tx->t_submit + (uint64_t)f->cfg.deadline_ms * 1000000u;
  iso__loop_list_add(fl, tx);
  ISO__STAT_ADD(fl->stats->started, 1);
  ISO__STAT_ADD(fl->stats->in_flight, 1);
  if (f->has_journal) {
    iso_journal_begin ev = {
        .tx_id = tx->id,
        .fingerprint = tx->fingerprint,
        .request = tx->req,
        .started_at = iso__wall_ns(),
    };
    if (tx->idem) iso__idem_key(tx, &ev.idempotency_key,
                                &ev.idempotency_key_len);
    int rc = f->journal.begin(f->journal.self, &ev);
    if (rc < 0) {
      decline_journal(tx, rc);
      return;
    }
    tx->flags |= ISO__TX_JOURNAL;
  }
  iso__tx_run(tx);
}

void iso__tx_start_lookup(iso_tx *tx) {
  tx->state = ISO__ST_LOOKUP;
  if (!queue_work(tx, WORK_LOOKUP)) {
    bool found = false;
    int rc = iso__idem_lookup(tx, &found);
    lookup_done(tx, rc);
  }
}

static void lookup_done(iso_tx *tx, int rc) {
  if (rc == ISO_E_NOT_FOUND) {
    iso__idem_lookup_missed(tx);
    iso__tx_begin(tx);
  } else if (rc < 0) {
    tx->id = 0;
    report_journal_failure(tx, rc);
    iso__idem_lookup_failed(tx);
  } else {
    iso__idem_lookup_found(tx);
  }
}

/* ---- events from other threads ------------------------------------------ */

void iso__tx_expire(iso_tx *tx) {
  iso_flow_loop *fl = tx->fl;
  tx->flags &= ~ISO__TX_PAUSED;
  tx->flags |= ISO__TX_RESUME_OWED;
  fl->paused--;
  ISO__STAT_ADD(fl->stats->paused, (uint64_t)-1);
  ISO__STAT_ADD(fl->stats->deadline_expired, 1);
  uint64_t now = iso__tx_now(tx);
  iso__profile_stage(tx, tx->cur_part, tx->cur_phase, tx->t_mark, now);
  tx->t_mark = now;
  set_aborting(tx, ISO_E_DEADLINE);
  iso__tx_run(tx);
}

static void durable(iso_tx *tx, int status, uint64_t write_ns) {
  uint64_t now = iso__tx_now(tx);
  tx->flags &= ~ISO__TX_TICKET_OWED;
  iso__profile_stage(tx, ISO__NO_PART, ISO_PHASE_JOURNAL_WAIT, tx->t_decision,
                     now);
  if (write_ns && write_ns <= now - tx->t_decision)
    iso__profile_stage(tx, ISO__NO_PART, ISO_PHASE_JOURNAL_WRITE,
                       now - write_ns, now);
  if (tx->state == ISO__ST_DONE) {
    /* Responded before durability (respond_before_durable). */
    if (status < 0) report_journal_failure(tx, status);
    if (!(tx->flags & ISO__TX_RESUME_OWED)) iso__tx_release(tx);
    return;
  }
  if (status < 0) {
    if (tx->state == ISO__ST_DURABLE) {
      tx->t_mark = now;
      fail_before_second(tx, status);
      iso__tx_run(tx);
      return;
    }
    /* The second phase already ran (commit_before_durable): hold the
     * response back; recovery finishes the job at the next start. */
    report_journal_failure(tx, status);
    tx->flags |= ISO__TX_HOLD;
  } else {
    tx->flags |= ISO__TX_DURABLE;
  }
  if (tx->state == ISO__ST_DURABLE) {
    tx->t_mark = now;
    tx->state = ISO__ST_SECOND;
  }
  if (tx->state == ISO__ST_SECOND || tx->state == ISO__ST_RESPOND)
    if (!(tx->flags & ISO__TX_BLOCKED)) iso__tx_run(tx);
}

void iso__tx_event(iso_tx *tx, int kind, int result, uint64_t write_ns) {
  switch (kind) {
  case ISO__EV_RESUME:
    if (tx->flags & ISO__TX_RESUME_OWED) {
      tx->flags &= ~ISO__TX_RESUME_OWED;
      if (tx->state == ISO__ST_DONE && !(tx->flags & ISO__TX_TICKET_OWED))
        iso__tx_release(tx);
      return;
    }
    if (!(tx->flags & ISO__TX_PAUSED)) return; /* a resume nobody asked for */
    tx->flags &= ~ISO__TX_PAUSED;
    tx->fl->paused--;
    ISO__STAT_ADD(tx->fl->stats->paused, (uint64_t)-1);
    if (prepare_result(tx, result, NULL, false)) iso__tx_run(tx);
    return;
  case ISO__EV_DURABLE:
    durable(tx, result, write_ns);
    return;
  case ISO__EV_DUP_DONE:
    iso__tx_finish_dup(tx, result);
    return;
  }
}

void iso_tx_resume(iso_tx *tx, int result) {
  if (!tx) return;
  tx->resume_ev.tx = tx;
  tx->resume_ev.kind = ISO__EV_RESUME;
  tx->resume_ev.result = result;
  iso__loop_push(tx->fl, &tx->resume_ev);
}

void iso_journal_ticket_done(iso_journal_ticket *ticket, int status,
                             uint64_t write_ns) {
  iso_tx *tx = ticket->tx;
  ticket->kind = ISO__EV_DURABLE;
  ticket->result = status;
  ticket->write_ns = write_ns;
  iso__loop_push(tx->fl, ticket);
}
