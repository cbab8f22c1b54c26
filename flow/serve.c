/*
 * flow/serve.c -- a flow serving on one libuv loop (iso_flow_loop): submit
 * with its overload and idempotency checks, the inbox through which other
 * threads hand events to the loop (resume, journal durability, a duplicate's
 * original finishing elsewhere), the deadline timer for paused
 * transactions, and a graceful close.
 *
 * The inbox is a lock-free FIFO woken by a uv_async_t: the loop takes
 * events in the order they were pushed and asks for the memory the next
 * event will touch while it handles the current one.
 */
#include <stdlib.h>
#include <string.h>

#include "flow/flow_internal.h"

/* ---- inbox -------------------------------------------------------------- */

/* A multi-producer, single-consumer FIFO linked through the events' `next`
 * (D. Vyukov's intrusive queue).  A push exchanges the producers' end and
 * then links the previous event to the new one; the loop takes from its
 * own end in push order.  It used to be a stack the loop reversed first:
 * a walk over events the writer's core had just written, one cache miss
 * after another (an eighth of the journal bench's loop thread), and
 * handling them in stack order instead made the writer's tx_done inserts
 * run backwards (+20% writer CPU).  A stub event keeps the queue from
 * being empty.  Between a producer's exchange and its link the loop sees
 * the queue end early; that producer's uv_async_send, after the link,
 * brings it back. */
static struct iso_journal_ticket *link_of(struct iso_journal_ticket *ev) {
  return __atomic_load_n(&ev->next, __ATOMIC_ACQUIRE);
}

static void push(iso_flow_loop *fl, struct iso_journal_ticket *ev) {
  __atomic_store_n(&ev->next, NULL, __ATOMIC_RELAXED);
  struct iso_journal_ticket *prev =
      atomic_exchange_explicit(&fl->inbox, ev, memory_order_acq_rel);
  __atomic_store_n(&prev->next, ev, __ATOMIC_RELEASE);
}

void iso__loop_push(iso_flow_loop *fl, struct iso_journal_ticket *ev) {
  push(fl, ev);
  uv_async_send(&fl->async);
}

/* The oldest event (loop thread only); NULL when there is none, or when
 * the next one is halfway pushed. */
static struct iso_journal_ticket *pop(iso_flow_loop *fl) {
  struct iso_journal_ticket *out = fl->inbox_out, *next = link_of(out);
  if (out == &fl->inbox_stub) {
    if (!next) return NULL;
    fl->inbox_out = out = next;
    next = link_of(out);
  }
  if (!next) {
    if (out != atomic_load_explicit(&fl->inbox, memory_order_acquire))
      return NULL; /* a push is halfway */
    push(fl, &fl->inbox_stub);
    next = link_of(out);
    if (!next) return NULL;
  }
  fl->inbox_out = next;
  return out;
}

static inline __attribute__((always_inline)) void prefetch(const void *p,
                                                           size_t bytes) {
  for (size_t off = 0; off < bytes; off += 64)
    __builtin_prefetch((const char *)p + off);
}

/* With a journal, a durable event arrives for a record last touched a
 * group commit ago (thousands of transactions in flight, ~3 KB each): the
 * record, its response, its stage list, its request and its idempotency
 * entry are all cold, and the loop used to wait for each line in turn.
 * While one event is handled, two are asked for: the one after next by its
 * own lines (its ticket and the record head around it: a ticket lies in
 * the record's first line), and the next one -- whose head was asked for
 * one event ago -- by what its record points to.  The journal bench's loop
 * thread spent ~10% less CPU a transaction. */
static inline __attribute__((always_inline)) void
prefetch_ahead(const iso_flow_loop *fl, const struct iso_journal_ticket *next) {
  prefetch(fl->inbox_out, 256);
  if (!next) return;
  const iso_tx *tx = next->tx;
  if (tx->idem) prefetch(tx->idem, 128);
  if (tx->req) prefetch(tx->req, sizeof *tx->req);
  prefetch(&tx->response, sizeof tx->response);
  if (fl->flow->keep_stages) prefetch(tx + 1, 4 * 64);
}

/* Events handled per wake-up at most, so that a steady stream of them
 * does not keep the loop from its connections and timers. */
enum { INBOX_BUDGET = 4096 };

static void on_async(uv_async_t *h) {
  iso_flow_loop *fl = h->data;
  struct iso_journal_ticket *ev = fl->inbox_held ? fl->inbox_held : pop(fl);
  fl->inbox_held = NULL;
  for (int n = 0; ev; n++) {
    if (n == INBOX_BUDGET) {
      fl->inbox_held = ev; /* first at the next wake-up */
      uv_async_send(&fl->async);
      return;
    }
    struct iso_journal_ticket *next = pop(fl);
    prefetch_ahead(fl, next);
    iso__tx_event(ev->tx, ev->kind, ev->result, ev->write_ns);
    ev = next;
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
  fl->inbox_stub.next = NULL;
  fl->inbox_out = &fl->inbox_stub;
  atomic_init(&fl->inbox, &fl->inbox_stub);
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
