/*
 * isoflow/flow.h -- the transaction manager: participants, groups, the
 * transaction and its context, serving on libuv loops, overload control,
 * idempotent retransmission, profiling, and the interface a journal
 * implements.
 *
 * A flow is an ordered list of participants plus named groups that selectors
 * add in place.  A transaction (iso_tx) runs in two phases:
 *
 *   prepare   each participant in turn returns ISO_PREPARED or ISO_ABORTED,
 *             optionally | ISO_NO_JOIN (needs no commit/abort call) and
 *             | ISO_READONLY (nothing of its own to persist); or ISO_PAUSE
 *             (the participant calls iso_tx_resume later, from any thread).
 *             A participant that returns ISO_ABORTED without ISO_NO_JOIN
 *             still joins: its abort runs.  Once the transaction is aborting,
 *             later participants are skipped, except those that have a
 *             prepare_for_abort function (e.g. one that fills a decline).
 *             A participant with a `select` function is a selector: after it
 *             prepared, it names groups whose participants run next, in place.
 *   decision  commit when every participant prepared, abort otherwise.  With
 *             a journal, the decision is written (and, by default, made
 *             durable) before the second phase.
 *   commit    runs over the joined participants in join order;
 *   abort     runs over them in reverse.
 *   respond   the response (prepared from the request: response MTI and the
 *             echoed fields) is handed over after the second phase and, by
 *             default, only once the decision is durable.  An abort with no
 *             response code (DE 39) gets the configured default ("96").
 *
 * Threads.  A flow definition (iso_flow) is built, then started, and is
 * immutable afterwards: every libuv loop shares it.  A loop serves
 * transactions through its own iso_flow_loop; a transaction belongs to the
 * loop it was submitted on and every participant call, except those of a
 * blocking participant (run on libuv's thread pool), happens on that loop's
 * thread.  Statistics and profiles are kept per loop and merged when read.
 *
 * Errors: functions return 0 or a negative ISO_E_* code; when a function that
 * takes a callback returns an error, the callback is never called.
 */
#ifndef ISOFLOW_FLOW_H
#define ISOFLOW_FLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "isoflow/conn.h"
#include "isoflow/error.h"
#include "isoflow/iso8583.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct iso_flow iso_flow;           /* a flow definition */
typedef struct iso_flow_loop iso_flow_loop; /* a flow serving on one uv loop */
typedef struct iso_tx iso_tx;               /* one transaction */

/* ------------------------------------------------------------------------ */
/* Participants                                                              */
/* ------------------------------------------------------------------------ */

/** What prepare (and prepare_for_abort) return: one of the first three,
 *  PREPARED or ABORTED optionally or-ed with NO_JOIN and READONLY. */
enum {
  ISO_PREPARED = 0x01, /* vote to commit */
  ISO_ABORTED = 0x02,  /* vote to abort; still joins unless ISO_NO_JOIN */
  ISO_PAUSE = 0x04,    /* the participant calls iso_tx_resume later */
  ISO_NO_JOIN = 0x10,  /* needs no commit or abort call */
  ISO_READONLY = 0x20  /* has nothing of its own to persist */
};

/** Participant flags. */
enum {
  /* Every call (prepare, prepare_for_abort, select, commit, abort) runs on
   * libuv's thread pool (uv_queue_work); the transaction resumes on its own
   * loop afterwards.  For participants that block: a database, an HSM. */
  ISO_PARTICIPANT_BLOCKING = 0x01
};

/**
 * A participant.  The flow copies this struct when it is added; `name` and
 * `data` are borrowed and must outlive the flow.  Every function is optional
 * except that a participant needs at least one of prepare, select.
 *
 * prepare           first phase.  Returns ISO_PREPARED / ISO_ABORTED
 *                   (| ISO_NO_JOIN, | ISO_READONLY) or ISO_PAUSE.  Any other
 *                   value (including a negative error) is taken as
 *                   ISO_ABORTED.  A NULL prepare counts as
 *                   ISO_PREPARED | ISO_NO_JOIN | ISO_READONLY.
 * prepare_for_abort called instead of prepare when the transaction is
 *                   already aborting (NULL: the participant is skipped then).
 *                   Same results as prepare; PREPARED and ABORTED both leave
 *                   the transaction aborting; unless NO_JOIN the participant
 *                   joins and its abort runs.
 * select            a selector: called after prepare returned ISO_PREPARED
 *                   (not when aborting).  Returns the names of the groups to
 *                   run next, in place, separated by spaces or commas ("" or
 *                   NULL for none).  The string is read before the next call
 *                   and may be static.  An unknown name aborts the
 *                   transaction with ISO_E_UNKNOWN_GROUP; nesting deeper than
 *                   ISO_FLOW_MAX_DEPTH (or more than ISO_FLOW_MAX_STEPS
 *                   participant calls) aborts it with ISO_E_GROUP_LOOP.
 * commit, abort     second phase; called once for a joined participant.
 *                   iso_tx_is_recovery says whether this is a re-run after a
 *                   restart (participants must be idempotent).
 * timeout_ms        0 = none.  Checked when the participant's call returns
 *                   (or resumes): a prepare that took longer aborts the
 *                   transaction with ISO_E_PARTICIPANT_TIMEOUT.
 */
typedef struct iso_participant {
  const char *name;
  int (*prepare)(iso_tx *tx, void *data);
  int (*prepare_for_abort)(iso_tx *tx, void *data);
  const char *(*select)(iso_tx *tx, void *data);
  void (*commit)(iso_tx *tx, void *data);
  void (*abort)(iso_tx *tx, void *data);
  void *data;
  unsigned flags;      /* ISO_PARTICIPANT_* */
  uint32_t timeout_ms; /* 0 = no per-participant timeout */
} iso_participant;

#define ISO_FLOW_MAX_DEPTH 8        /* nested groups */
#define ISO_FLOW_MAX_STEPS 256      /* participant calls in one prepare phase */
#define ISO_FLOW_MAX_PARTICIPANTS 250 /* in the flow and all its groups */
#define ISO_FLOW_MAX_JOINED 32      /* joined participants per transaction */

/* ------------------------------------------------------------------------ */
/* The journal interface                                                     */
/* ------------------------------------------------------------------------ */

/** A transaction's decision. */
typedef enum iso_decision {
  ISO_DECISION_NONE = 0, /* not decided (recovery: abort everywhere) */
  ISO_DECISION_COMMIT = 1,
  ISO_DECISION_ABORT = 2
} iso_decision;

/** A persistent context value, serialized: name and bytes. */
typedef struct iso_tx_value {
  const char *name;
  const uint8_t *data;
  size_t len;
} iso_tx_value;

/** Profiled phases and flow-level stages. */
typedef enum iso_phase {
  ISO_PHASE_PREPARE = 0,
  ISO_PHASE_PREPARE_FOR_ABORT,
  ISO_PHASE_COMMIT,
  ISO_PHASE_ABORT,
  ISO_PHASE_JOURNAL_WAIT,  /* flow-level: decision handed over -> durable */
  ISO_PHASE_JOURNAL_WRITE, /* flow-level: the writer's own time, as reported */
  ISO_PHASE_TOTAL,         /* flow-level: submit -> response handed over */
  ISO_PHASE__COUNT
} iso_phase;

/** iso_phase_name -- "prepare", "prepare_for_abort", "commit", "abort",
 *  "journal_wait", "journal_write", "total"; "?" for anything else. */
const char *iso_phase_name(int phase);

/** One recorded stage of one transaction.  `participant` is NULL for the
 *  flow-level stages.  Times are nanoseconds; start is counted from the
 *  moment the transaction was submitted. */
typedef struct iso_stage_timing {
  const char *participant;
  iso_phase phase;
  uint64_t start_ns;
  uint64_t duration_ns;
} iso_stage_timing;

/**
 * Events handed to the journal.  Every pointer is valid only during the call:
 * the journal copies (serializes) what it keeps before returning.  The
 * messages carry card data in clear; protecting it is the journal's job.
 */
typedef struct iso_journal_begin {
  uint64_t tx_id;
  const uint8_t *idempotency_key; /* NULL when idempotency is off */
  size_t idempotency_key_len;
  uint64_t fingerprint;   /* keyed hash of DE 2, 3, 4, 49 (never the PAN) */
  const iso_msg *request; /* the request as received */
  uint64_t started_at;    /* wall clock, ns since the epoch */
} iso_journal_begin;

typedef struct iso_journal_decision {
  uint64_t tx_id;
  iso_decision decision; /* COMMIT or ABORT */
  int reason;            /* 0, or the ISO_E_* that made the flow abort
                            (deadline, unknown group, timeout...) */
  bool readonly;         /* every joined participant returned ISO_READONLY
                            and no value is persistent: nothing to redo in
                            recovery */
  bool recovery;         /* written by iso_flow_recover (undecided case) */
  const char *const *participants; /* joined, by name, in join order */
  size_t participant_count;
  const iso_tx_value *values; /* the persistent context values */
  size_t value_count;
} iso_journal_decision;

typedef struct iso_journal_completion {
  uint64_t tx_id;
  iso_decision decision;
  const iso_msg *response;  /* NULL when the transaction has no response */
  char response_code[3];    /* DE 39, NUL-terminated; "" when none */
  const iso_stage_timing *stages; /* in the order they ran */
  size_t stage_count;
  uint64_t finished_at;     /* wall clock, ns since the epoch */
} iso_journal_completion;

/** What the journal's idempotency lookup returns. */
typedef struct iso_journal_stored {
  uint64_t fingerprint;
  iso_msg *response; /* initialised by the flow with its spec; the journal
                        fills it with owned copies (iso_msg_set_copy) */
} iso_journal_stored;

/**
 * A ticket for one decision write.  The flow embeds it in the transaction;
 * the journal keeps the pointer and, when the write is over, calls
 * iso_journal_ticket_done exactly once, from any thread (typically its writer
 * thread).  The flow then carries on with the transaction on its own loop.
 */
typedef struct iso_journal_ticket iso_journal_ticket;

/**
 * iso_journal_ticket_done -- reports the end of a decision write.  status is
 * 0 when the decision is durable, or a negative ISO_E_* code (ISO_E_JOURNAL,
 * ISO_E_IO...) when it failed.  write_ns is the writer's own time for the
 * write (0 if unknown), recorded as the journal_write stage.  Thread-safe;
 * never blocks; must be called exactly once per ticket handed out.
 */
void iso_journal_ticket_done(iso_journal_ticket *ticket, int status,
                             uint64_t write_ns);

/**
 * The interface a journal implements (journal/ does; a test may too).  The
 * flow calls begin, decision and completion on the transaction's loop thread;
 * they must not block (enqueue, and write on another thread).  lookup is
 * called on libuv's thread pool and may block; it must be thread-safe.
 *
 * begin       a transaction starts running (after the overload and
 *             idempotency checks).  0, or an error (e.g. ISO_E_JOURNAL_FULL):
 *             the transaction is then declined at once with the journal
 *             failure response code and the failure reported.
 * decision    the decision, the joined participants and the persistent
 *             values.  On 0 the journal owns `ticket` and must call
 *             iso_journal_ticket_done for it.  On error the ticket is not
 *             used and the flow treats the write as failed.
 *             A failed write (either way) never commits: the flow runs abort
 *             over the joined participants, declines the transaction with the
 *             journal failure response code, counts and reports the failure.
 *             (With commit_before_durable set, commit may already have run:
 *             the response is then held back, never sent, and the failure
 *             reported; recovery at the next start finishes the job.)
 * completion  the response, its code and the stage timings, after the second
 *             phase.  Not acknowledged; an error is counted and reported.
 * lookup      idempotency fallback when the in-memory store misses (see
 *             iso_flow_config.journal_lookup): find the completed transaction
 *             with this key.  0 and *out filled when found, ISO_E_NOT_FOUND
 *             when not, another negative code on failure (the transaction is
 *             then declined with the journal failure code rather than risk
 *             running twice).  May be NULL.
 *
 * first_tx_id: transaction ids start here (journal: one past the highest id
 * it holds, so ids stay monotonic across restarts).  0 means 1.
 */
typedef struct iso_journal {
  void *self;
  uint64_t first_tx_id;
  int (*begin)(void *self, const iso_journal_begin *ev);
  int (*decision)(void *self, const iso_journal_decision *ev,
                  iso_journal_ticket *ticket);
  int (*completion)(void *self, const iso_journal_completion *ev);
  int (*lookup)(void *self, const uint8_t *key, size_t key_len,
                iso_journal_stored *out);
} iso_journal;

/* ------------------------------------------------------------------------ */
/* Flow definition                                                           */
/* ------------------------------------------------------------------------ */

/** When the journal is consulted for idempotency after an in-memory miss. */
typedef enum iso_lookup_policy {
  ISO_LOOKUP_REPEATS = 0, /* only for repeat MTIs (0101, 0201, 0401, ...) */
  ISO_LOOKUP_ALWAYS,      /* for every transaction the store does not know */
  ISO_LOOKUP_NEVER
} iso_lookup_policy;

#define ISO_FLOW_MAX_KEY_FIELDS 8
#define ISO_FLOW_MAX_ECHO_FIELDS 32
#define ISO_FLOW_MAX_KEY_LEN 128 /* kept for source compatibility: keys of
                                    any length now get idempotency */

/** Called (on the loop thread) when a journal write fails; may be NULL. */
typedef void (*iso_flow_journal_failed_cb)(iso_flow *flow, uint64_t tx_id,
                                           int status, void *data);

/**
 * Flow configuration.  Fill with iso_flow_config_init, then change what you
 * need.  Copied by iso_flow_new; arrays are copied too.
 */
typedef struct iso_flow_config {
  const char *name;         /* for profiles and metrics; copied */
  const iso_spec *spec;     /* messages' spec; borrowed, must outlive */
  uint32_t max_in_flight;   /* per loop; default 10000 */
  uint32_t deadline_ms;     /* per transaction; 0 = none; default 30000 */
  char overload_code[3];    /* default "91" */
  char abort_code[3];       /* default "96": aborts without DE 39 */
  char journal_fail_code[3];/* default "96": journal write failed */
  int echo_fields[ISO_FLOW_MAX_ECHO_FIELDS]; /* copied request -> response;
                               default 2,3,4,7,11,12,13,32,37,41,42,49,
                               70 (network management), 90 (original data) */
  size_t echo_count;
  bool profiler;            /* default true */
  bool record_stages;       /* keep each transaction's stage timings for
                               iso_tx_stages (always kept with a journal);
                               default false: 1 KB more per record */
  /* durability (only with a journal) */
  bool respond_before_durable; /* default false: hold the response until the
                                  decision is durable */
  bool commit_before_durable;  /* default false: the second phase waits for
                                  the decision to be durable */
  /* idempotency */
  bool idempotency;         /* default true.  A key longer than 40 bytes
                               is kept and journaled as its first 32 bytes
                               and a SipHash-2-4 digest of the whole (under
                               fingerprint_key); a key field's value may be
                               up to 254 bytes */
  int key_fields[ISO_FLOW_MAX_KEY_FIELDS]; /* default 32, 11, 7, 41 (the MTI,
                               repeat digit ignored, always comes first) */
  size_t key_count;
  int fingerprint_fields[ISO_FLOW_MAX_KEY_FIELDS]; /* default 2, 3, 4, 49 */
  size_t fingerprint_count;
  uint8_t fingerprint_key[16]; /* SipHash key for fingerprints; default all
                               zero.  Set a secret one so fingerprints cannot
                               be brute-forced back to PANs. */
  uint32_t store_capacity;  /* completed keys kept; default 100000 */
  uint32_t store_retention_ms; /* default 600000 (10 minutes) */
  iso_lookup_policy journal_lookup; /* default ISO_LOOKUP_REPEATS */
  iso_flow_journal_failed_cb journal_failed;
  void *journal_failed_data;
} iso_flow_config;

/** iso_flow_config_init -- fills cfg with the defaults above (spec NULL). */
void iso_flow_config_init(iso_flow_config *cfg);

/**
 * iso_flow_new -- a new, empty flow.  cfg->spec is required.  On success
 * *out is a flow the caller frees with iso_flow_free.  ISO_E_INVAL for a bad
 * configuration, ISO_E_NOMEM.
 */
int iso_flow_new(const iso_flow_config *cfg, iso_flow **out);

/**
 * iso_flow_add -- appends a participant to the flow's main list.  ISO_E_STATE
 * once started, ISO_E_INVAL when p has no name or neither prepare nor select,
 * ISO_E_NOSPC past ISO_FLOW_MAX_PARTICIPANTS.
 */
int iso_flow_add(iso_flow *flow, const iso_participant *p);

/**
 * iso_flow_group_add -- appends a participant to the named group (created on
 * first use; name copied).  Same errors as iso_flow_add.
 */
int iso_flow_group_add(iso_flow *flow, const char *group,
                       const iso_participant *p);

/**
 * iso_flow_set_journal -- attaches a journal (copied; j->self borrowed).
 * Without one, flows work in memory.  ISO_E_STATE once started.
 */
int iso_flow_set_journal(iso_flow *flow, const iso_journal *j);

/**
 * iso_flow_start -- freezes the definition.  From here on it is immutable and
 * may be shared by every loop.  ISO_E_INVAL when the main list is empty.
 */
int iso_flow_start(iso_flow *flow);

/** iso_flow_name -- the configured name ("flow" when none). */
const char *iso_flow_name(const iso_flow *flow);

/**
 * iso_flow_free -- frees the flow.  Every iso_flow_loop must be closed (its
 * close callback run) first.  NULL is ignored.
 */
void iso_flow_free(iso_flow *flow);

/* ------------------------------------------------------------------------ */
/* Serving on a loop                                                         */
/* ------------------------------------------------------------------------ */

/**
 * iso_flow_loop_new -- lets a started flow serve on `loop`.  Everything done
 * with the returned handle happens on that loop's thread, except
 * iso_tx_resume and iso_journal_ticket_done which are thread-safe.
 * ISO_E_STATE when the flow is not started.
 */
int iso_flow_loop_new(iso_flow *flow, uv_loop_t *loop, iso_flow_loop **out);

typedef void (*iso_flow_loop_close_cb)(iso_flow_loop *fl, void *data);

/**
 * iso_flow_loop_close -- stops taking transactions (submit then fails with
 * ISO_E_STATE), lets those in flight finish (a paused one finishes at its
 * deadline at the latest, and its record waits for the owed iso_tx_resume;
 * a record whose ticket the journal holds waits for it), then closes the
 * loop's handles; cb (may be NULL) runs on the loop once they are closed,
 * and fl is freed when cb returns.  The loop must keep running meanwhile.
 * Its statistics and profiles stay in the flow; the next loop that opens
 * counts on in the same memory, so a flow whose loops come and go holds as
 * many sets as it has loops open at once.  ISO_E_STATE when already
 * closing.
 */
int iso_flow_loop_close(iso_flow_loop *fl, iso_flow_loop_close_cb cb,
                        void *data);

/** Submission flags. */
enum {
  /* The request's values are borrowed, not copied: they must stay valid
   * until the completion callback has run.  Saves a copy per transaction. */
  ISO_SUBMIT_BORROW = 0x01,
  /* No response is wanted: the callback gets response NULL. */
  ISO_SUBMIT_NO_RESPONSE = 0x02
};

/**
 * Completion of a submitted transaction, on its loop.  status: 0 committed;
 * ISO_E_ABORTED aborted (the response carries the decline); ISO_E_OVERLOAD
 * declined at once; ISO_E_DUPLICATE answered from the original (in flight or
 * stored); ISO_E_FINGERPRINT declined 94; ISO_E_JOURNAL the journal failed.
 * response is valid only during the call (NULL when none is wanted); the
 * callback may copy it.  tx is valid only during the call; it lets the
 * callback read the id, the request and the context.
 */
typedef void (*iso_tx_done_cb)(iso_tx *tx, int status,
                               const iso_msg *response, void *data);

/**
 * iso_flow_submit -- runs `request` through the flow on fl's loop.  The
 * request is copied unless ISO_SUBMIT_BORROW.  Returns 0 and cb runs exactly
 * once -- possibly before this call returns: a transaction whose
 * participants are all synchronous, with no journal to wait for, completes
 * inside the call, and so do an overload decline, a completed duplicate and
 * a fingerprint mismatch.  Errors (cb not called):
 * ISO_E_STATE when fl is closing, ISO_E_NOT_REQUEST when the MTI is not a
 * request, ISO_E_BAD_MTI, ISO_E_NOMEM.
 */
int iso_flow_submit(iso_flow_loop *fl, const iso_msg *request, unsigned flags,
                    iso_tx_done_cb cb, void *data);

/** Recovery input: a transaction the journal holds without completion. */
typedef struct iso_flow_recovery {
  uint64_t tx_id;
  iso_decision decision; /* COMMIT/ABORT: re-run it over `participants`;
                            NONE: abort on every participant that has abort */
  const char *const *participants; /* the joined ones by name, join order */
  size_t participant_count;
  const iso_tx_value *values; /* persistent values, restored in the context */
  size_t value_count;
  const iso_msg *request;  /* may be NULL; copied */
  const iso_msg *response; /* may be NULL; copied */
} iso_flow_recovery;

typedef void (*iso_flow_recover_cb)(iso_flow_loop *fl, uint64_t tx_id,
                                    int status, void *data);

/**
 * iso_flow_recover -- finishes a journaled transaction after a restart.
 * Decided: its commit or abort runs again over the named participants, in
 * order (commit) or reverse (abort), with iso_tx_is_recovery true and the
 * persistent values in the context.  Undecided: the decision ABORT is
 * journaled first, then abort runs on every participant of the flow and its
 * groups that has one, in reverse definition order.  Either way the journal
 * then gets a completion event for tx_id.  cb runs on fl's loop when done
 * -- possibly before this call returns (synchronous participants, nothing to
 * wait for) -- with status 0 after a commit, ISO_E_ABORTED after an abort,
 * ISO_E_JOURNAL when the journal failed the decision of an undecided one.
 * Errors (cb not called): ISO_E_NOT_FOUND when a named
 * participant is not in the flow, ISO_E_INVAL, ISO_E_NOMEM, ISO_E_STATE.
 * Recovery transactions bypass overload and idempotency.
 */
int iso_flow_recover(iso_flow_loop *fl, const iso_flow_recovery *rec,
                     iso_flow_recover_cb cb, void *data);

/* ------------------------------------------------------------------------ */
/* Serving on a conn server                                                  */
/* ------------------------------------------------------------------------ */

typedef struct iso_flow_server iso_flow_server;

/**
 * iso_flow_response_cb -- called once per request a served flow took, on the
 * loop thread of the connection it came on, after its response was handed
 * to the connection: request_mti is the request's MTI, response the
 * response (NULL when the flow gave none), response_code its DE 39 ("" when
 * absent).  Everything is borrowed for the call.  For counting answers by
 * MTI and response code; it must not block.
 */
typedef void (*iso_flow_response_cb)(const char *request_mti,
                                     const iso_msg *response,
                                     const char *response_code, void *data);

/** How iso_flow_serve serves (zero-initialise, then set what you need). */
typedef struct iso_flow_serve_opts {
  iso_server_opts server;    /* the conn server's options (see below) */
  uint32_t drain_timeout_ms; /* how long iso_flow_server_close waits for the
                                transactions in flight; 0 = 5000 */
  iso_flow_response_cb on_response; /* may be NULL */
  void *response_data;              /* passed to on_response */
} iso_flow_serve_opts;

/**
 * iso_flow_serve -- starts a conn server (iso_server_start with
 * opts->server, copied) whose every inbound request, on every connection
 * and every worker loop, runs as a transaction of `flow`; the response goes
 * back on the connection the request came on (with the connection's default
 * header), then opts->on_response, if set, is called.  Each server loop gets
 * its own iso_flow_loop while it has connections.  The flow takes over
 * server.conn.on_inbound, the connections' user data (iso_conn_data) and
 * server.data; server.on_connection and server.conn.on_closed / on_failed
 * are still called.  server.conn.spec defaults to the flow's spec.  Requests
 * that cannot be unpacked are dropped and counted
 * (iso_flow_server_unreadable).  Returns 0 and *out; ISO_E_STATE when the
 * flow is not started or already served; the server's own errors (ISO_E_IO,
 * ISO_E_INVAL, ISO_E_NOMEM).
 */
int iso_flow_serve(iso_flow *flow, const iso_flow_serve_opts *opts,
                   const struct sockaddr *addr, iso_flow_server **out);

/** iso_flow_server_port -- the bound port. */
int iso_flow_server_port(const iso_flow_server *fs);

/** iso_flow_server_handle -- the underlying conn server (for its stats). */
iso_server *iso_flow_server_handle(iso_flow_server *fs);

/** iso_flow_server_unreadable -- inbound frames dropped as unreadable. */
uint64_t iso_flow_server_unreadable(const iso_flow_server *fs);

/**
 * iso_flow_server_send_failures -- responses that could not be sent on a
 * connection that was up (for example, a response that does not pack).
 */
uint64_t iso_flow_server_send_failures(const iso_flow_server *fs);

/**
 * iso_flow_server_dropped -- requests not taken: arrived while closing, or
 * refused by the flow (iso_flow_submit failed).
 */
uint64_t iso_flow_server_dropped(const iso_flow_server *fs);

/**
 * iso_flow_server_close -- drains, then closes.  From the call on, new
 * connections are closed at once and new requests dropped (counted,
 * iso_flow_server_dropped); the transactions in flight finish and their
 * responses go out on their connections, which stay up meanwhile.  Once
 * none is left, or drain_timeout_ms has passed, the server and its
 * connections are closed (iso_server_close; a transaction still running
 * then finishes with its response dropped), the flow loops close and fs is
 * freed; cb(data) (may be NULL) runs when all that is done.  With worker
 * threads it blocks (the drain, then the join) and calls cb before
 * returning; on the caller's loop it returns at once and cb runs later on
 * that loop, which must keep running.  The flow itself stays usable
 * (iso_flow_free it after).
 */
void iso_flow_server_close(iso_flow_server *fs, void (*cb)(void *data),
                           void *data);

/* ------------------------------------------------------------------------ */
/* The transaction, seen from participants                                   */
/* ------------------------------------------------------------------------ */

/** iso_tx_id -- the transaction id (monotonic, see iso_journal). */
uint64_t iso_tx_id(const iso_tx *tx);

/** iso_tx_request -- the request (read-only).  Empty (no MTI) in recovery
 *  without a journaled request. */
const iso_msg *iso_tx_request(const iso_tx *tx);

/** iso_tx_response -- the response being prepared: the response MTI and the
 *  echoed fields are already set; participants add to it (values set with
 *  iso_msg_set must outlive the transaction; prefer iso_msg_set_copy). */
iso_msg *iso_tx_response(iso_tx *tx);

/** iso_tx_set_response_code -- sets DE 39 ("00", "05"...); copied. */
int iso_tx_set_response_code(iso_tx *tx, const char *code);

/** iso_tx_loop -- the loop the transaction belongs to. */
uv_loop_t *iso_tx_loop(const iso_tx *tx);

/** iso_tx_flow -- the flow running the transaction. */
iso_flow *iso_tx_flow(const iso_tx *tx);

/** The longest idempotency key the flow keeps and journals, in bytes. */
#define ISO_FLOW_KEY_MAX 40

/**
 * iso_flow_idempotency_key -- the idempotency key the flow gives `msg`, as
 * it keeps and journals it (iso_journal_begin.idempotency_key): the MTI
 * with its repeat digit ignored, then each of the flow's key_fields as a
 * length byte and the value (0xFF for an absent field); a key longer than
 * ISO_FLOW_KEY_MAX as its first 32 bytes and a digest of the whole.  Lets
 * a participant find a transaction in the journal from what another
 * message says of it (a reversal's DE 90 names its original's MTI, STAN,
 * DE 7 and DE 32).  msg is only read.  Writes *len bytes (at most
 * ISO_FLOW_KEY_MAX) into key; returns 0, ISO_E_STATE when the flow's
 * idempotency is off (its transactions have no key), ISO_E_INVAL when msg
 * has no MTI or a key field longer than 254 bytes (the flow gives such a
 * request no key either).  Thread-safe once the flow is started.
 */
int iso_flow_idempotency_key(const iso_flow *flow, const iso_msg *msg,
                             uint8_t key[ISO_FLOW_KEY_MAX], size_t *len);

/** iso_tx_is_recovery -- true during a recovery re-run (iso_flow_recover). */
bool iso_tx_is_recovery(const iso_tx *tx);

/** iso_tx_is_aborting -- true once the transaction is going to abort. */
bool iso_tx_is_aborting(const iso_tx *tx);

/**
 * iso_tx_stages -- the stages this transaction has run so far, in order:
 * each participant's phase (and the journal wait and write) with its start
 * (from submit) and duration, in ns.  Copies up to cap into out and returns
 * how many there are (up to 48 are kept).  Kept only when the flow has a
 * journal or cfg.record_stages; otherwise returns 0.  Callable from
 * participants and from the completion callback.
 */
size_t iso_tx_stages(const iso_tx *tx, iso_stage_timing *out, size_t cap);

/** iso_tx_abort_reason -- the ISO_E_* the flow aborted for (deadline,
 *  timeout, unknown group, journal...), or 0 when a participant voted. */
int iso_tx_abort_reason(const iso_tx *tx);

/**
 * iso_tx_resume -- resumes a transaction whose participant returned
 * ISO_PAUSE, with what prepare would have returned.  Thread-safe, never
 * blocks; must be called exactly once per pause.  If the deadline passed
 * meanwhile the transaction has already aborted (the paused participant did
 * not join: neither its commit nor its abort runs); the call is then
 * absorbed (the record is kept until it comes, so the pointer stays valid).
 * A result that is not PREPARED/ABORTED counts as ISO_ABORTED; with PREPARED
 * the participant's select, if any, runs on the loop after the resume.
 */
void iso_tx_resume(iso_tx *tx, int result);

/**
 * Context: named values carried by the transaction.  Names are borrowed (use
 * string literals or strings that outlive the transaction); a name is found
 * by pointer first, then by strcmp.  A few values live inline; more
 * allocate.
 *
 * iso_tx_set -- sets `name` to value; destroy (may be NULL) is called on the
 * value when it is replaced, removed, or the transaction ends.  Setting NULL
 * removes the name.  ISO_E_NOMEM.
 */
int iso_tx_set(iso_tx *tx, const char *name, void *value,
               void (*destroy)(void *value));

/** iso_tx_get -- the value set under name, or NULL. */
void *iso_tx_get(const iso_tx *tx, const char *name);

/**
 * iso_tx_set_persistent -- sets `name` to a copy of len bytes, marked
 * persistent: handed to the journal with the decision and given back in
 * recovery.  Read it with iso_tx_get_persistent.  Short values are kept in
 * the transaction's record (what its request left of a 64-byte area, 8
 * bytes a value besides its own); longer ones allocate.  ISO_E_INVAL (no
 * name, or len without bytes), ISO_E_NOMEM.
 */
int iso_tx_set_persistent(iso_tx *tx, const char *name, const void *bytes,
                          size_t len);

/** iso_tx_get_persistent -- the bytes of a persistent value; ISO_E_NOT_FOUND
 *  when name is absent or not persistent. */
int iso_tx_get_persistent(const iso_tx *tx, const char *name,
                          const void **bytes, size_t *len);

/* ------------------------------------------------------------------------ */
/* Statistics and profiles                                                   */
/* ------------------------------------------------------------------------ */

/** Counters, merged over every loop of a flow. */
typedef struct iso_flow_stats {
  uint64_t submitted;        /* iso_flow_submit calls accepted */
  uint64_t started;          /* transactions that ran participants */
  uint64_t committed;
  uint64_t aborted;
  uint64_t in_flight;        /* running now (started, not finished) */
  uint64_t paused;           /* paused now */
  uint64_t overload_declined;
  uint64_t deadline_expired;
  uint64_t participant_timeouts;
  uint64_t dup_in_flight;    /* duplicates answered when the original ended */
  uint64_t dup_completed;    /* duplicates answered from the store */
  uint64_t dup_from_journal; /* ... of which found by the journal lookup */
  uint64_t repeat_as_original; /* repeat MTIs of unknown transactions */
  uint64_t fingerprint_mismatch; /* declined 94 */
  uint64_t store_evicted_size;
  uint64_t store_evicted_age;
  uint64_t journal_failures; /* begin/decision/completion/lookup failures */
  uint64_t recovered;
} iso_flow_stats;

/** iso_flow_stats_get -- reads the counters (from any thread; figures of
 *  running loops may be a moment old). */
void iso_flow_stats_get(const iso_flow *flow, iso_flow_stats *out);

/** A latency summary, in nanoseconds. */
typedef struct iso_latency {
  uint64_t count;
  uint64_t p50, p90, p99, p999, p9999, max;
} iso_latency;

/**
 * iso_flow_latency -- the merged histogram of one participant (by name) and
 * phase, or of a flow-level stage (participant NULL with
 * ISO_PHASE_JOURNAL_WAIT, _WRITE or _TOTAL).  Values up to 60 s at two
 * significant digits.  ISO_E_NOT_FOUND for an unknown participant.
 */
int iso_flow_latency(const iso_flow *flow, const char *participant,
                     iso_phase phase, iso_latency *out);

/** Profile output formats. */
typedef enum iso_profile_format {
  ISO_PROFILE_TEXT = 0,  /* an aligned table, one row per participant/phase */
  ISO_PROFILE_JSON,      /* {"flow":..,"stages":[{"participant":..,...}]} */
  ISO_PROFILE_PROMETHEUS /* text exposition format, summaries in seconds */
} iso_profile_format;

/**
 * iso_flow_profile -- renders every non-empty histogram of the flow in the
 * given format into buf, NUL-terminated.  ISO_E_NOSPC when cap is short,
 * with *out_len set to the size needed (without the NUL).
 */
int iso_flow_profile(const iso_flow *flow, iso_profile_format format,
                     char *buf, size_t cap, size_t *out_len);

/** iso_flow_profiler_enable -- switches the profiler on or off for
 *  transactions started from now on (any thread). */
void iso_flow_profiler_enable(iso_flow *flow, bool on);

#ifdef __cplusplus
}
#endif

#endif /* ISOFLOW_FLOW_H */
