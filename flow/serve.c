/*
 * flow/serve.c -- a flow serving on one libuv loop (iso_flow_loop): submit
 * with its overload and idempotency checks, the inbox through which other
 * threads hand events to the loop (resume, journal durability, a duplicate's
 * original finishing elsewhere), the deadline timer for paused
 * transactions, and a graceful close.
 *
 * The inbox is a lock-free stack (push with compare-and-swap, drain with one
 * exchange) woken by a uv_async_t; the loop reverses it to keep events in
 * the order they were pushed, and asks for the memory the next events will
 * touch while it handles the current one.
 */
#include <stdlib.h>
#include <string.h>

#include "flow/flow_internal.h"

/* ---- inbox -------------------------------------------------------------- */

void iso__loop_push(iso_flow_loop *fl, struct iso_journal_ticket *ev) {
  struct iso_journal_ticket *head =
      atomic_load_explicit(&fl->inbox, memory_order_relaxed);
  do {
    ev->next = head;
  } while (!atomic_compare_exchange_weak_explicit(
      &fl->inbox, &head, ev, memory_order_release, memory_order_relaxed));
  uv_async_send(&fl->async);
}

/* Inlined by force: gcc counts a prefetch as no side effect, finds the
 * functions below pure and drops their calls. */
static inline __attribute__((always_inline)) void prefetch(const void *p,
                                                           size_t bytes) {
  for (size_t off = 0; off < bytes; off += 64)
    __builtin_prefetch((const char *)p + off);
}

/* With a journal, a durable event arrives for a record last touched a
 * group commit ago (thousands of transactions in flight, ~3 KB each): the
 * record, its response, its stage list, its request and its idempotency
 * entry are all cold, and the loop used to wait for each line in turn.
 * The lines of the event after next are asked for now, and what the next
 * one's record points to (its own lines asked for one event ago); the
 * journal bench's loop thread spent ~12% less CPU a transaction. */
static inline __attribute__((always_inline)) void
prefetch_ahead(const iso_flow_loop *fl, const struct iso_journal_ticket *next) {
  if (!next) return;
  const iso_tx *tx = next->tx;
  if (tx->idem) prefetch(tx->idem, 128);
  if (tx->req) prefetch(tx->req, sizeof *tx->req);
  const struct iso_journal_ticket *after = next->next;
  if (!after) return;
  const iso_tx *t = after->tx;
  prefetch((const char *)t + 64, 192); /* the ticket's line is in already */
  prefetch(&t->response, sizeof t->response);
  if (fl->flow->keep_stages) prefetch(t + 1, 4 * 64);
}

static void on_async(uv_async_t *h) {
  iso_flow_loop *fl = h->data;
  struct iso_journal_ticket *list =
      atomic_exchange_explicit(&fl->inbox, NULL, memory_order_acquire);
  struct iso_journal_ticket *ordered = NULL;
  while (list) {
    struct iso_journal_ticket *next = list->next;
    list->next = ordered;
    ordered = list;
    list = next;
  }
  while (ordered) {
    struct iso_journal_ticket *ev = ordered;
    ordered = ev->next;
    prefetch_ahead(fl, ordered);
    iso__tx_event(ev->tx, ev->kind, ev->result, ev->write_ns);
  }
}

/* ---- the running list and deadlines ------------------------------------- */

void iso__loop_list_add(iso_flow_loop *fl, iso_tx *tx) {
  if (!tx->deadline) return;
  tx->flags |= ISO__TX_ON_LIST;
  tx->next = NULL;
  tx->prev = fl->tail;
  if (fl->tail)
    fl->tail->next = tx;
  else
    fl->head = tx;
  fl->tail = tx;
}

void iso__loop_list_remove(iso_flow_loop *fl, iso_tx *tx) {
  if (!(tx->flags & ISO__TX_ON_LIST)) return;
  tx->flags &= ~ISO__TX_ON_LIST;
  if (tx->prev)
    tx->prev->next = tx->next;
  else
    fl->head = tx->next;
  if (tx->next)
    tx->next->prev = tx->prev;
  else
    fl->tail = tx->prev;
  tx->prev = tx->next = NULL;
}

static void on_timer(uv_timer_t *h);

static void arm_at(iso_flow_loop *fl, uint64_t deadline) {
  uint64_t now = iso__now_ns();
  uint64_t ms = deadline > now ? (deadline - now + 999999u) / 1000000u : 1;
  uv_timer_start(&fl->timer, on_timer, ms, 0);
  fl->timer_armed = true;
}

/* Running transactions are listed in submit order, which is also deadline
 * order (every deadline is submit + the same duration); the timer only needs
 * to run while something is paused. */
void iso__loop_arm_timer(iso_flow_loop *fl) {
  if (fl->timer_armed || fl->paused == 0 || !fl->head) return;
  arm_at(fl, fl->head->deadline);
}

static void on_timer(uv_timer_t *h) {
  iso_flow_loop *fl = h->data;
  fl->timer_armed = false;
  uint64_t precise = iso__now_ns(), coarse = iso__coarse_ns();
  iso_tx *tx = fl->head;
  /* Coarse time lags precise time by at most a tick, so a list in submit
   * order stays (nearly) in deadline order whichever clock each uses. */
  while (tx && tx->deadline <= precise) {
    iso_tx *next = tx->next;
    uint64_t now = (tx->flags & ISO__TX_PRECISE) ? precise : coarse;
    if ((tx->flags & ISO__TX_PAUSED) && tx->deadline <= now)
      iso__tx_expire(tx);
    tx = next;
  }
  if (fl->paused && tx) arm_at(fl, tx->deadline);
}

/* ---- open and close ----------------------------------------------------- */

int iso_flow_loop_new(iso_flow *flow, uv_loop_t *loop, iso_flow_loop **out) {
  if (!flow || !loop || !out) return ISO_E_INVAL;
  if (!flow->started) return ISO_E_STATE;
  iso_flow_loop *fl = calloc(1, sizeof *fl);
  if (!fl) return ISO_E_NOMEM;
  fl->flow = flow;
  fl->loop = loop;
  if (!(fl->stats = iso__flow_stats_new(flow))) {
    free(fl);
    return ISO_E_NOMEM;
  }
  if (uv_async_init(loop, &fl->async, on_async) != 0) {
    iso__flow_stats_release(flow, fl->stats);
    free(fl);
    return ISO_E_NOMEM;
  }
  uv_timer_init(loop, &fl->timer);
  fl->async.data = fl;
  fl->timer.data = fl;
  atomic_init(&fl->inbox, NULL);
  *out = fl;
  return 0;
}

static void on_handle_closed(uv_handle_t *h) {
  iso_flow_loop *fl = h->data;
  if (++fl->closed_handles < 2) return;
  while (fl->free_list) {
    iso_tx *tx = fl->free_list;
    fl->free_list = tx->next;
    free(tx);
  }
  while (fl->free_work) {
    iso__work *w = fl->free_work;
    fl->free_work = w->next_free;
    free(w);
  }
  /* Every transaction of this loop is released: nothing writes its stats
   * any more. */
  iso__flow_stats_release(fl->flow, fl->stats);
  if (fl->close_cb) fl->close_cb(fl, fl->close_data);
  free(fl);
}

static void close_handles(iso_flow_loop *fl) {
  uv_close((uv_handle_t *)&fl->async, on_handle_closed);
  uv_close((uv_handle_t *)&fl->timer, on_handle_closed);
}

int iso_flow_loop_close(iso_flow_loop *fl, iso_flow_loop_close_cb cb,
                        void *data) {
  if (!fl) return ISO_E_INVAL;
  if (fl->closing) return ISO_E_STATE;
  fl->closing = true;
  fl->close_cb = cb;
  fl->close_data = data;
  if (fl->records == 0) close_handles(fl);
  return 0;
}

void iso__loop_record_done(iso_flow_loop *fl) {
  fl->records--;
  if (fl->closing && fl->records == 0) close_handles(fl);
}

/* ---- submit ------------------------------------------------------------- */

/* Answers at once (overload, 94, a failed journal lookup): no participant
 * runs and nothing is journaled. */
void iso__tx_decline(iso_tx *tx, int status, const char *code) {
  iso_msg_set_copy(&tx->response, 39, code, 2);
  iso__tx_finish_dup(tx, status);
}

/* Hands a transaction that ran no participant its answer: a decline, or the
 * original's response (already in tx->response). */
void iso__tx_finish_dup(iso_tx *tx, int status) {
  iso__loop_stats *st = tx->fl->stats;
  if (status == ISO_E_DUPLICATE) {
    if (tx->flags & ISO__TX_DUP)
      ISO__STAT_ADD(st->dup_from_journal, 1);
    ISO__STAT_ADD(*(tx->state == ISO__ST_DUP_WAIT ? &st->dup_in_flight
                                                  : &st->dup_completed),
                  1);
  } else if (status == ISO_E_FINGERPRINT) {
    ISO__STAT_ADD(st->fingerprint_mismatch, 1);
  }
  tx->state = ISO__ST_DONE;
  if (tx->cb.done) {
    bool none = (tx->flags & ISO__TX_NO_RESPONSE) ||
                (status == ISO_E_JOURNAL && !iso_msg_mti(&tx->response)[0]);
    tx->cb.done(tx, status, none ? NULL : &tx->response, tx->cb_data);
  }
  iso__tx_release(tx);
}

/* A lent request is used where it is (the caller keeps it valid until the
 * callback); otherwise it is copied into the record. */
static int load_request(iso_tx *tx, const iso_msg *request, bool borrow) {
  if (!borrow) return iso__tx_copy_request(tx, request);
  tx->req = request;
  return 0;
}

int iso_flow_submit(iso_flow_loop *fl, const iso_msg *request, unsigned flags,
                    iso_tx_done_cb cb, void *data) {
  if (!fl || !request || !cb) return ISO_E_INVAL;
  if (fl->closing) return ISO_E_STATE;
  const char *mti = iso_msg_mti(request);
  char resp[5];
  if (iso_mti_response(mti, resp) < 0)
    return iso_mti_is_response(mti) ? ISO_E_NOT_REQUEST : ISO_E_BAD_MTI;
  iso_flow *f = fl->flow;
  iso_tx *tx = iso__tx_alloc(fl);
  if (!tx) return ISO_E_NOMEM;
  tx->cb.done = cb;
  tx->cb_data = data;
  if (flags & ISO_SUBMIT_NO_RESPONSE) tx->flags |= ISO__TX_NO_RESPONSE;
  if (atomic_load_explicit(&f->profiler_on, ISO__RELAXED))
    tx->flags |= ISO__TX_PROFILE | ISO__TX_PRECISE;
  if (f->keep_stages) tx->flags |= ISO__TX_PRECISE;
  tx->t_submit = iso__tx_now(tx);
  int rc = load_request(tx, request, (flags & ISO_SUBMIT_BORROW) != 0);
  /* The store's bucket for this key is likely a cache miss: hash the key
   * first, so that the line loads while the response is prepared. */
  iso__idem_probe probe;
  if (rc == 0 && f->store) iso__idem_probe_make(tx, &probe);
  if (rc == 0) rc = iso__tx_prepare_response(tx, resp);
  if (rc < 0) {
    tx->cb.done = NULL;
    iso__tx_release(tx);
    return rc;
  }
  ISO__STAT_ADD(fl->stats->submitted, 1);
  if (fl->records > f->cfg.max_in_flight) {
    ISO__STAT_ADD(fl->stats->overload_declined, 1);
    iso__tx_decline(tx, ISO_E_OVERLOAD, f->cfg.overload_code);
    return 0;
  }
  if (f->store) {
    switch (iso__idem_check(tx, &probe)) {
    case ISO__IDEM_WAIT:
      tx->state = ISO__ST_DUP_WAIT;
      return 0;
    case ISO__IDEM_REPLAYED:
      iso__tx_finish_dup(tx, ISO_E_DUPLICATE);
      return 0;
    case ISO__IDEM_MISMATCH:
      iso__tx_decline(tx, ISO_E_FINGERPRINT, "94");
      return 0;
    case ISO__IDEM_HELD:
      iso__tx_finish_dup(tx, ISO_E_JOURNAL);
      return 0;
    case ISO__IDEM_LOOKUP:
      iso__tx_start_lookup(tx);
      return 0;
    case ISO__IDEM_NEW:
      if (probe.repeat) ISO__STAT_ADD(fl->stats->repeat_as_original, 1);
      break;
    }
  }
  iso__tx_begin(tx);
  return 0;
}
