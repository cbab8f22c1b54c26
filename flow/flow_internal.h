/*
 * flow/flow_internal.h -- the shapes shared by the flow module's files:
 * the flow definition (flow.c), the transaction record (tx.c), the engine
 * that runs prepare/commit/abort (engine.c), the per-loop server (serve.c),
 * the idempotency store (idempotency.c), the profiler (profiler.c) and
 * recovery (recovery.c).
 */
#ifndef ISOFLOW_FLOW_INTERNAL_H
#define ISOFLOW_FLOW_INTERNAL_H

#include <stdalign.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "flow/clock.h"
#include "flow/histogram.h"
#include "isoflow/flow.h"

#define ISO__RELAXED memory_order_relaxed
/* A counter written by one thread, read by any: a plain add, no lock prefix. */
#define ISO__STAT_ADD(ctr, n)                                                 \
  atomic_store_explicit(&(ctr),                                               \
                        atomic_load_explicit(&(ctr), ISO__RELAXED) + (n),     \
                        ISO__RELAXED)
#define ISO__STAT_GET(ctr) atomic_load_explicit(&(ctr), ISO__RELAXED)

#define ISO__NO_PART 0xFFu /* flow-level stage in a stage record */
#define ISO__MAX_FRAMES (ISO_FLOW_MAX_DEPTH + 2) /* group frames per tx */
#define ISO__CTX_INLINE 3  /* context values held in the record itself */
#define ISO__SPILL 64      /* the record's own arena: request bytes past
                              the message's inline storage, then
                              persistent context values */
#define ISO__MAX_STAGES 48 /* stage timings kept per transaction (journal) */
#define ISO__MAX_SELECT 8  /* group names one selector may return */

uint64_t iso__wall_ns(void);

/* ---- the definition -------------------------------------------------- */

typedef struct iso__group {
  char *name;        /* NULL for the main list (group 0) */
  uint8_t *members;  /* participant indexes */
  uint16_t count, cap;
} iso__group;

/* Per-loop counters and histograms; owned by the flow so that they outlive
 * the loop (closed loops still count in the merged figures).  A closed
 * loop's block is handed to the next loop that opens, which counts on
 * from there: a flow whose loops come and go (a server loop closes its
 * flow loop whenever its last connection goes) keeps as many blocks as it
 * ever had loops open at once, not one per loop it ever opened. */
typedef struct iso__loop_stats {
  struct iso__loop_stats *next;
  bool in_use; /* a live loop writes it; guarded by the flow's lock */
  _Atomic uint64_t submitted, started, committed, aborted, in_flight, paused,
      overload_declined, deadline_expired, participant_timeouts, dup_in_flight,
      dup_completed, dup_from_journal, repeat_as_original,
      fingerprint_mismatch, journal_failures, recovered;
  /* histograms[part * ISO_PHASE__COUNT + phase], allocated on first use;
   * flow-level stages use part = nparts. */
  _Atomic(iso__hist *) *hists;
  size_t nhists;
} iso__loop_stats;

struct iso__store;

struct iso_flow {
  iso_flow_config cfg;
  char *name;
  iso_participant *parts;
  uint16_t nparts, parts_cap;
  iso__group *groups; /* groups[0] is the main list */
  uint16_t ngroups, groups_cap;
  iso_journal journal;
  bool has_journal;
  bool keep_stages; /* a journal, or cfg.record_stages */
  bool started;
  atomic_bool profiler_on;
  _Atomic uint64_t next_id;
  size_t tx_size; /* bytes of one transaction record */
  uint64_t echo_mask[3]; /* cfg.echo_fields as a bitmap (bit n - 1: DE n) */
  uv_mutex_t lock; /* guards `stats` list */
  iso__loop_stats *stats;
  struct iso__store *store; /* NULL when idempotency is off */
  struct iso_flow_server *serving; /* attached to a conn server */
};

/* flow.c */
int iso__flow_find_group(const iso_flow *f, const char *name, size_t len);
int iso__flow_find_part(const iso_flow *f, const char *name);
/* A stats block for a loop that opens: a closed loop's, else a new one. */
iso__loop_stats *iso__flow_stats_new(iso_flow *f);
/* The loop that wrote st is closed: st goes to the next loop that opens. */
void iso__flow_stats_release(iso_flow *f, iso__loop_stats *st);

/* ---- the transaction record ------------------------------------------ */

/* Events marshalled to a transaction's loop from any thread. */
enum {
  ISO__EV_RESUME = 1,  /* iso_tx_resume */
  ISO__EV_DURABLE,     /* iso_journal_ticket_done */
  ISO__EV_DUP_DONE     /* the original of a waiting duplicate finished */
};

struct iso_journal_ticket {
  struct iso_journal_ticket *next; /* inbox link (atomic accesses) */
  struct iso_tx *tx;
  int kind;                        /* ISO__EV_* */
  int result;
  uint64_t write_ns;
};

/* Transaction states. */
enum {
  ISO__ST_PREPARE = 1, /* walking participants */
  ISO__ST_DECIDE,      /* prepare done: write the decision */
  ISO__ST_DURABLE,     /* waiting for the decision to be durable */
  ISO__ST_SECOND,      /* commit or abort over the joined */
  ISO__ST_RESPOND,     /* hand the response over */
  ISO__ST_DUP_WAIT,    /* a duplicate waiting for its original */
  ISO__ST_LOOKUP,      /* the journal lookup runs on the thread pool */
  ISO__ST_DONE         /* finished; record kept for an owed resume */
};

/* Transaction flags. */
enum {
  ISO__TX_ABORTING = 1u << 0,
  ISO__TX_PAUSED = 1u << 1,
  ISO__TX_RESUME_OWED = 1u << 2, /* expired while paused: resume to come */
  ISO__TX_RECOVERY = 1u << 3,
  ISO__TX_NO_RESPONSE = 1u << 4,
  ISO__TX_PROFILE = 1u << 5,
  ISO__TX_JOURNAL = 1u << 6,    /* begin was written */
  ISO__TX_DURABLE = 1u << 7,    /* decision durable (or no journal) */
  ISO__TX_SECOND_DONE = 1u << 8,
  ISO__TX_HOLD = 1u << 9,       /* journal failed after commit: no response */
  ISO__TX_BLOCKED = 1u << 10,   /* a blocking call runs on the pool */
  ISO__TX_ON_LIST = 1u << 11,   /* on the loop's running list */
  ISO__TX_DECIDED = 1u << 12,   /* recovery: decision given by the journal */
  ISO__TX_WRITES = 1u << 13,    /* a joined participant was not READONLY */
  ISO__TX_DUP = 1u << 14,       /* answered as a duplicate */
  ISO__TX_TICKET_OWED = 1u << 15, /* the journal holds our ticket */
  ISO__TX_PRECISE = 1u << 16,     /* timed with the precise clock */
  ISO__TX_FP_PARTIAL = 1u << 17   /* the fingerprint left fields out */
};

typedef struct iso__frame {
  uint8_t group;
  uint8_t pos;
  uint8_t level;
} iso__frame;

/* A context value.  A persistent one points at an iso__persistent block:
 * in the record's spill arena (destroy == iso__persistent_kept) or, when
 * it did not fit, allocated (destroy == iso__persistent_free). */
typedef struct iso__ctx_value {
  const char *name;
  void *value;
  void (*destroy)(void *);
} iso__ctx_value;

typedef struct iso__persistent {
  size_t len;
  uint8_t bytes[];
} iso__persistent;

void iso__persistent_free(void *p);
void iso__persistent_kept(void *p); /* does nothing: a marker */

static inline bool iso__ctx_is_persistent(const iso__ctx_value *v) {
  return v->destroy == iso__persistent_kept ||
         v->destroy == iso__persistent_free;
}

typedef struct iso__stage {
  uint8_t part; /* ISO__NO_PART for flow-level */
  uint8_t phase;
  uint64_t start_ns; /* from submit */
  uint64_t duration_ns;
} iso__stage;

typedef void (*iso__recover_done)(iso_flow_loop *, uint64_t, int, void *);

struct iso_tx {
  struct iso_journal_ticket ev;        /* journal ticket, duplicate wake-up */
  struct iso_journal_ticket resume_ev; /* iso_tx_resume */
  iso_flow_loop *fl;
  iso_flow *flow;
  union {
    iso_tx *prev;     /* running list (once begun) */
    iso_tx *dup_next; /* waiters of the same original (never begun) */
  };
  iso_tx *next;       /* running list, or free list */
  const iso_msg *req; /* the request: &request, or the caller's when lent */
  union {
    iso_tx_done_cb done;
    iso__recover_done recovered;
  } cb;
  void *cb_data;
  struct iso__store_entry *idem; /* the store entry this tx owns or waits on */
  uint64_t id;
  uint64_t fingerprint;
  uint64_t t_submit; /* ns, monotonic */
  uint64_t t_mark;   /* start of the current stage */
  uint64_t t_decision;
  uint64_t deadline; /* ns, monotonic; 0 = none */
  uint32_t flags;
  int abort_reason;
  int status;
  uint8_t state;
  uint8_t nframes;
  uint8_t njoined;
  uint8_t second_pos; /* progress through the joined in the second phase */
  uint8_t cur_part;   /* the participant being called (pause, pool) */
  uint8_t cur_phase;
  uint8_t nctx_extra;
  uint8_t nstages;
  uint16_t steps;
  uint8_t decision; /* iso_decision */
  uint8_t spill_used; /* bytes of spill taken (request, then values) */
  bool msgs_ready; /* released with both messages in the flow's spec */
  iso__frame frames[ISO__MAX_FRAMES];
  uint8_t joined[ISO_FLOW_MAX_JOINED];
  iso__ctx_value ctx[ISO__CTX_INLINE];
  iso__ctx_value *ctx_extra;
  alignas(8) uint8_t spill[ISO__SPILL]; /* see ISO__SPILL */
  iso_msg request;
  iso_msg response;
};

/* A transaction's clock: precise when its stages are recorded (profiler,
 * journal), coarse otherwise.  One transaction never mixes the two. */
static inline uint64_t iso__tx_now(const struct iso_tx *tx);

static inline uint64_t iso__tx_now(const iso_tx *tx) {
  return (tx->flags & ISO__TX_PRECISE) ? iso__now_ns() : iso__coarse_ns();
}

/* Gives tx the flow's next id, once: when it begins, or earlier, under the
 * idempotency store's lock just before its key is inserted.  Either way
 * only a transaction that runs is numbered, in the order the store (or,
 * without one, the loop) admitted it.  Why earlier: the id is a locked
 * add, which waits for every store before it to complete, and inserting a
 * key writes a line that is often still on its way from memory (the entry
 * pointer; see idempotency.c).  Taken before that write, the add finds
 * the store buffer holding hot lines only, and the insertion has until the
 * next locked instruction to complete; taken after it, the add waited for
 * that line (~7% of a flow.tx transaction, measured). */
static inline void iso__tx_number(iso_tx *tx) {
  if (!tx->id)
    tx->id = atomic_fetch_add_explicit(&tx->flow->next_id, 1, ISO__RELAXED);
}

/* The stage records sit right after the record, when a journal wants them. */
static inline iso__stage *iso__tx_stages(iso_tx *tx) {
  return tx->flow->keep_stages ? (iso__stage *)(tx + 1) : NULL;
}

/* tx.c */
iso_tx *iso__tx_alloc(iso_flow_loop *fl);
void iso__tx_release(iso_tx *tx);
void iso__tx_ctx_clear(iso_tx *tx);
int iso__msg_copy_fields(iso_msg *dst, const iso_msg *src, bool copy);
int iso__tx_prepare_response(iso_tx *tx, const char response_mti[4]);
int iso__tx_echo_request(iso_tx *tx);
int iso__tx_copy_request(iso_tx *tx, const iso_msg *src);

/* ---- the per-loop server --------------------------------------------- */

struct iso_flow_loop {
  iso_flow *flow;
  uv_loop_t *loop;
  uv_async_t async;
  uv_timer_t timer; /* deadlines of paused transactions */
  /* the inbox, a FIFO (serve.c): producers push at `inbox`, the loop
   * takes from `inbox_out`; the stub keeps it from ever being empty */
  _Atomic(struct iso_journal_ticket *) inbox;
  struct iso_journal_ticket *inbox_out, *inbox_held, inbox_stub;
  iso_tx *free_list;
  iso_tx *head, *tail; /* running transactions, in submit order */
  uint32_t records;    /* records handed out (the overload bound) */
  uint32_t paused;
  uint32_t closed_handles;
  bool closing;
  bool timer_armed;
  iso_flow_loop_close_cb close_cb;
  void *close_data;
  iso__loop_stats *stats;
  struct iso__work *free_work;
  void *owner; /* the server attachment that made this loop, if any */
};

/* serve.c */
void iso__loop_push(iso_flow_loop *fl, struct iso_journal_ticket *ev);
void iso__loop_record_done(iso_flow_loop *fl);
void iso__loop_arm_timer(iso_flow_loop *fl);
void iso__loop_list_add(iso_flow_loop *fl, iso_tx *tx);
void iso__loop_list_remove(iso_flow_loop *fl, iso_tx *tx);

/* engine.c */
void iso__tx_run(iso_tx *tx);
void iso__tx_begin(iso_tx *tx); /* journal begin + run */
void iso__tx_event(iso_tx *tx, int kind, int result, uint64_t write_ns);
void iso__tx_expire(iso_tx *tx);
void iso__tx_finish_dup(iso_tx *tx, int status);
void iso__tx_start_lookup(iso_tx *tx);
void iso__tx_decline(iso_tx *tx, int status, const char *code);

/* profiler.c */
void iso__profile_keep_stage(iso_tx *tx, unsigned part, unsigned phase,
                             uint64_t start, uint64_t took);
iso__hist *iso__profile_hist_new(iso__loop_stats *st, size_t index);

/* Files one stage: into the transaction's stage list when a journal (or
 * cfg.record_stages) keeps one, into the loop's histogram for the
 * participant and phase when the transaction is profiled. */
static inline void iso__profile_stage(iso_tx *tx, unsigned part,
                                      unsigned phase, uint64_t start,
                                      uint64_t end) {
  uint64_t took = end - start;
  if (tx->flow->keep_stages)
    iso__profile_keep_stage(tx, part, phase, start, took);
  if (!(tx->flags & ISO__TX_PROFILE)) return;
  size_t row = part == ISO__NO_PART ? tx->flow->nparts : part;
  size_t index = row * ISO_PHASE__COUNT + phase;
  iso__loop_stats *st = tx->fl->stats;
  iso__hist *h = atomic_load_explicit(&st->hists[index], memory_order_acquire);
  if (!h) h = iso__profile_hist_new(st, index);
  if (h) iso__hist_record(h, took);
}
void iso__profile_flow_stage(iso__loop_stats *st, const iso_flow *f,
                             unsigned phase, uint64_t ns);

/* idempotency.c */
typedef enum {
  ISO__IDEM_NEW = 0,      /* unknown: run it (tx now owns an entry) */
  ISO__IDEM_WAIT,         /* in flight: tx waits on the original */
  ISO__IDEM_REPLAYED,     /* completed: tx->response filled from the store */
  ISO__IDEM_MISMATCH,     /* same key, other fingerprint */
  ISO__IDEM_LOOKUP,       /* unknown here: ask the journal */
  ISO__IDEM_HELD          /* completed without a response (journal failed) */
} iso__idem_result;

/* What a transaction's check needs from its request, computed before the
 * store's lock is taken: the key as stored (a long one as its head and a
 * digest), its table hash (the bucket is prefetched) and the fingerprint
 * (into tx->fingerprint). */
#define ISO__KEY_INLINE 40
typedef struct iso__idem_probe {
  uint64_t hash;
  uint8_t key[ISO__KEY_INLINE];
  uint8_t len;
  bool ok;     /* false: no key could be built; run without idempotency */
  bool repeat; /* the MTI is a repeat (0101, 0201, 0401 ...) */
} iso__idem_probe;

int iso__store_new(iso_flow *f, struct iso__store **out);
void iso__store_free(struct iso__store *s);
void iso__idem_probe_make(iso_tx *tx, iso__idem_probe *p);
iso__idem_result iso__idem_check(iso_tx *tx, const iso__idem_probe *p);
void iso__idem_complete(iso_tx *tx);
void iso__idem_key(const iso_tx *tx, const uint8_t **key, size_t *len);
int iso__idem_lookup(iso_tx *tx, bool *found);
void iso__idem_lookup_missed(iso_tx *tx);
void iso__idem_lookup_failed(iso_tx *tx);
void iso__idem_lookup_found(iso_tx *tx);
void iso__store_counts(const struct iso__store *s, uint64_t *evicted_size,
                       uint64_t *evicted_age);
/* SipHash-2-4 (fingerprints) and SipHash-1-3 (the store's table). */
uint64_t iso__siphash(const uint8_t key[16], const void *data, size_t len);
uint64_t iso__siphash13(const uint8_t key[16], const void *data, size_t len);

/* blocking calls on the thread pool (engine.c) */
typedef struct iso__work {
  uv_work_t req;
  struct iso__work *next_free;
  iso_tx *tx;
  int result;
  int kind; /* what runs: prepare, second phase, lookup */
  const char *selected;
  bool found;
} iso__work;

#endif /* ISOFLOW_FLOW_INTERNAL_H */
