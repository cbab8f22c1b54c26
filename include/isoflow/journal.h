/*
 * isoflow/journal.h -- the SQLite journal: every transaction's identity,
 * request, decision, joined participants, persistent values, response and
 * stage timings, written by one writer thread in group commits; recovery
 * after a restart; idempotency lookup; queries, profiles, verification,
 * pruning and in-process replay.
 *
 * A journal (iso_journal_db) implements the flow's journal interface
 * (iso_journal in isoflow/flow.h): fill one with iso_journal_interface and
 * give it to iso_flow_set_journal.  The flow then calls begin, decision and
 * completion on its loop threads; they serialize the event (protecting card
 * data on the caller's thread) and put it on a bounded queue.  The writer
 * thread drains the queue, writes everything it found in one SQLite
 * transaction (prepared statements reused), commits, and only then reports
 * each decision as durable (iso_journal_ticket_done) -- with
 * ISO_JOURNAL_SYNC_FULL, after a second thread has synced the WAL, while
 * the writer writes the next group.  A failed write or sync is never
 * ignored: every decision of the group gets the error, the failure is
 * counted and the configured callback hears of it.
 *
 * Card data.  The protected fields (DE 2, 14, 35, 36, 45, 52, 55 by default)
 * are never written in clear.  With a key file they are encrypted with
 * AES-256-GCM (one envelope per message, random 12-byte nonce, tag stored,
 * additional data = transaction id, direction and field numbers).  Without
 * one, DE 2 is stored masked (first 6, last 4) and the others are left out.
 * A keyed hash (HMAC-SHA256) of the PAN lets a card be found without storing
 * it.  docs/journal.md gives the schema column by column.
 *
 * Errors: functions return 0 or a negative ISO_E_* code; when a function that
 * takes a callback returns an error, the callback is never called.
 */
#ifndef ISOFLOW_JOURNAL_H
#define ISOFLOW_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "isoflow/error.h"
#include "isoflow/flow.h"
#include "isoflow/iso8583.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct iso_journal_db iso_journal_db;

#define ISO_JOURNAL_MAX_PROTECTED 16

/** SQLite's synchronous setting for the journal's writes. */
typedef enum iso_journal_sync {
  ISO_JOURNAL_SYNC_FULL = 0, /* durable: the WAL is synced after every
                                commit, before its decisions are reported */
  ISO_JOURNAL_SYNC_NORMAL,   /* survives a crash of the process, not of the
                                machine (synced at checkpoints only) */
  ISO_JOURNAL_SYNC_OFF       /* never synced: tests and benchmarks */
} iso_journal_sync;

/** Called on the writer thread (with ISO_JOURNAL_SYNC_FULL: the syncer
 *  thread), one group at a time, when a write or its sync fails: `count`
 *  events of one group were lost (their decisions declined), status the
 *  ISO_E_* code. */
typedef void (*iso_journal_failed_cb)(iso_journal_db *db, int status,
                                      size_t count, void *data);

/**
 * Journal configuration.  Fill with iso_journal_config_init, then change what
 * you need.  Strings are copied by iso_journal_open.
 */
typedef struct iso_journal_config {
  const char *path;        /* the database file (required) */
  const iso_spec *spec;    /* rebuilds messages (recovery, lookup, replay);
                              borrowed; NULL: the spec named in the journal
                              (a built-in) */
  const char *key_file;    /* 32 raw bytes or 64 hex characters; NULL: no
                              encryption, protected fields masked/removed */
  iso_journal_sync sync;   /* default ISO_JOURNAL_SYNC_FULL */
  uint32_t queue_capacity; /* events waiting for the writer; default 65536.
                              begin fails with ISO_JOURNAL_FULL past it;
                              decision and completion may use as much again,
                              so a begun transaction can always finish */
  uint32_t busy_timeout_ms;/* wait for another process' lock; default 2000 */
  int protected_fields[ISO_JOURNAL_MAX_PROTECTED]; /* default 2 14 35 36 45
                              52 55 */
  size_t protected_count;
  uint64_t lookup_window_ms; /* idempotency lookup: completed within this
                              window; default 86400000 (one day) */
  bool read_only;          /* tools: no writer thread, no writes except
                              iso_journal_prune */
  const char *vfs;         /* SQLite VFS name (tests inject faults); NULL */
  iso_journal_failed_cb failed; /* may be NULL */
  void *failed_data;
} iso_journal_config;

/** iso_journal_config_init -- fills cfg with the defaults above. */
void iso_journal_config_init(iso_journal_config *cfg);

/**
 * iso_journal_open -- opens (creating when absent, unless read_only) the
 * journal at cfg->path: WAL mode, the schema, the key check, and the writer
 * thread.  On success *out is a journal the caller closes with
 * iso_journal_close.  Errors: ISO_E_INVAL (no path, bad field list, no spec
 * and none named), ISO_E_KEY_FILE (the key file cannot be read, has the
 * wrong size or format, or is not the key this journal was written with;
 * iso_journal_open_error names the file),
 * ISO_E_JOURNAL_LOCKED (another connection holds the write lock past the
 * busy timeout), ISO_E_JOURNAL_CORRUPT (not an isoflow journal), ISO_E_IO,
 * ISO_E_NOMEM.
 */
int iso_journal_open(const iso_journal_config *cfg, iso_journal_db **out);

/**
 * iso_journal_open_error -- the detail of the last iso_journal_open failure
 * on this thread, e.g. "key file /etc/k: 31 bytes, expected 32 raw bytes or
 * 64 hex characters".  Static per thread; never carries card data.
 */
const char *iso_journal_open_error(void);

/**
 * iso_journal_close -- writes what is queued, stops the writer thread and
 * frees the journal.  Every flow using it must be finished.  NULL ignored.
 */
void iso_journal_close(iso_journal_db *db);

/**
 * iso_journal_interface -- fills *out with the flow's journal interface for
 * this journal (out->self = db, first_tx_id one past the highest id ever
 * written, even after pruning).  ISO_E_STATE for a read-only journal.
 */
int iso_journal_interface(iso_journal_db *db, iso_journal *out);

/** iso_journal_first_tx_id -- one past the highest id the journal holds or
 *  ever held (1 for an empty journal). */
uint64_t iso_journal_first_tx_id(const iso_journal_db *db);

/** iso_journal_has_key -- whether protected fields are encrypted. */
bool iso_journal_has_key(const iso_journal_db *db);

/* ---- the events, without a flow ------------------------------------------ */

/** Called once, on the writer thread, when a decision write is over:
 *  status 0 durable, or an ISO_E_* code. */
typedef void (*iso_journal_durable_cb)(void *arg, int status,
                                       uint64_t write_ns);

/**
 * iso_journal_log_begin, _log_decision, _log_completion -- what the flow
 * interface does, callable directly (tests, custom engines).  Each copies
 * what it keeps before returning and never blocks.  begin: ISO_E_JOURNAL_FULL
 * when the queue is full.  decision: on 0, cb runs exactly once later; on
 * error it never runs.  Errors: ISO_E_JOURNAL_FULL, ISO_E_STATE (closing or
 * read-only), ISO_E_NOMEM, ISO_E_CRYPTO.
 */
int iso_journal_log_begin(iso_journal_db *db, const iso_journal_begin *ev);
int iso_journal_log_decision(iso_journal_db *db,
                             const iso_journal_decision *ev,
                             iso_journal_durable_cb cb, void *arg);
int iso_journal_log_completion(iso_journal_db *db,
                               const iso_journal_completion *ev);

/**
 * iso_journal_lookup -- the completed transaction with this idempotency key,
 * finished within the lookup window: its fingerprint, and its response
 * rebuilt into out->response (initialised by the caller; protected fields
 * restored with the key; without one DE 2 comes back masked and the other
 * protected fields are left out).  ISO_E_NOT_FOUND, ISO_E_IO.
 * Thread-safe; blocks on SQLite.
 */
int iso_journal_lookup(iso_journal_db *db, const uint8_t *key, size_t key_len,
                       iso_journal_stored *out);

/** iso_journal_sync_wait -- blocks until everything queued before the call
 *  has been written (or failed).  For tests and tools. */
void iso_journal_sync_wait(iso_journal_db *db);

/** Writer statistics. */
typedef struct iso_journal_stats {
  uint64_t events;      /* events written */
  uint64_t groups;      /* SQLite transactions committed */
  uint64_t failures;    /* events lost to failed writes */
  uint64_t failed_groups;
  uint64_t full;        /* events refused: queue full */
  uint64_t max_group;   /* most events in one group */
  uint64_t writer_cpu_ns; /* CPU time the writer thread (and, with
                             ISO_JOURNAL_SYNC_FULL, the syncer thread)
                             spent writing, syncing and reporting */
} iso_journal_stats;

/** iso_journal_stats_get -- reads the counters (any thread). */
void iso_journal_stats_get(iso_journal_db *db, iso_journal_stats *out);

/* ---- recovery ------------------------------------------------------------- */

/** Called on the flow loop's thread when recovery is over: status 0 and the
 *  number of transactions finished, or the first error. */
typedef void (*iso_journal_recover_cb)(iso_journal_db *db, int status,
                                       size_t recovered, void *data);

/**
 * iso_journal_recover -- finishes every transaction of the journal that has
 * no completion, through iso_flow_recover on fl (whose flow must use this
 * journal, so that the completions land here): decided ones with their
 * decision, joined participants, persistent values, request and response;
 * undecided ones with ISO_DECISION_NONE.  One at a time, in id order; cb
 * runs when all are done (during this call when none is pending).  Interrupted, it can simply run again: a
 * transaction is finished only once its completion is written.  Call from
 * fl's loop thread before submitting.  Errors (cb not called): ISO_E_STATE,
 * ISO_E_IO, ISO_E_NOMEM.
 */
int iso_journal_recover(iso_journal_db *db, iso_flow_loop *fl,
                        iso_journal_recover_cb cb, void *data);

/** iso_journal_pending -- how many transactions have no completion. */
int iso_journal_pending(iso_journal_db *db, size_t *count);

/* ---- queries ------------------------------------------------------------- */

/** Which transactions: every set criterion must hold (all zero/NULL = all). */
typedef struct iso_journal_selection {
  uint64_t id;                /* 0 = any */
  const uint8_t *key;         /* idempotency key; NULL = any */
  size_t key_len;
  const char *stan, *rrn, *terminal; /* NULL = any */
  const char *response_code;  /* NULL = any */
  const char *pan;            /* found through the keyed hash; NULL = any */
  uint64_t since, until;      /* started_at, ns since the epoch; 0 = open */
  size_t limit;               /* 0 = no limit */
  bool reversals;             /* only reversals (MTI x4xx); with terminal
                                 (and since), found through an index of
                                 their own */
} iso_journal_selection;

/** One journaled transaction, as a query returns it.  Everything is valid
 *  during the callback only.  Messages are rebuilt with protected fields
 *  masked (never decrypted for display). */
typedef struct iso_journal_row {
  uint64_t id;
  uint64_t started_at, decided_at, finished_at; /* ns; 0 = not yet */
  const uint8_t *key;
  size_t key_len;
  uint64_t fingerprint;
  const char *mti, *stan, *rrn, *terminal, *amount, *currency, *pan_masked;
  iso_decision decision;
  bool decided, completed;
  int reason;
  const char *response_code; /* "" when none */
  const char *const *participants;
  size_t participant_count;
  const iso_tx_value *values;
  size_t value_count;
  const iso_stage_timing *stages;
  size_t stage_count;
  const iso_msg *request;  /* NULL when not stored */
  const iso_msg *response; /* NULL when none */
  /* The request's protected fields are sealed (AES-256-GCM): only the
   * journal's key file restores them.  False when the journal had no key
   * when writing (then they were masked or left out for good). */
  bool request_sealed;
} iso_journal_row;

/** Return non-zero from the callback to stop (that value is returned). */
typedef int (*iso_journal_row_cb)(const iso_journal_row *row, void *data);

/**
 * iso_journal_query -- calls cb for each selected transaction in id order.
 * Returns 0, cb's non-zero value, ISO_E_INVAL (bad selection), ISO_E_IO,
 * ISO_E_JOURNAL_CORRUPT (a record that does not decode).
 */
int iso_journal_query(iso_journal_db *db, const iso_journal_selection *sel,
                      iso_journal_row_cb cb, void *data);

/**
 * iso_journal_load_request -- rebuilds transaction id's request into msg
 * (initialised by the caller with the journal's spec), protected fields
 * decrypted when the journal has the key (*restored true), masked PAN and
 * other protected fields left out otherwise.  ISO_E_NOT_FOUND,
 * ISO_E_CRYPTO (tag mismatch: wrong key or tampered), ISO_E_JOURNAL_CORRUPT.
 */
int iso_journal_load_request(iso_journal_db *db, uint64_t id, iso_msg *msg,
                             bool *restored);

/**
 * iso_journal_card_data_hidden -- whether a request rebuilt by
 * iso_journal_load_request without restoring its card data (restored false)
 * carries a masked PAN in DE 2: the hidden digits are gone, so sending or
 * running it again would not be the journaled transaction.  Replays skip
 * such requests.
 */
bool iso_journal_card_data_hidden(const iso_msg *request);

/** iso_journal_spec -- the spec the journal rebuilds messages with. */
const iso_spec *iso_journal_spec(const iso_journal_db *db);

/* ---- profiles ------------------------------------------------------------ */

/** One stage of a profile: participant (NULL for flow-level) and phase. */
typedef struct iso_journal_profile_row {
  const char *participant;
  iso_phase phase;
  uint64_t count;
  uint64_t p50, p90, p99, p999, max; /* ns, exact (nearest rank) */
} iso_journal_profile_row;

typedef struct iso_journal_profile {
  iso_journal_profile_row *rows; /* participants in first-seen order, each
                                    with its phases, then flow-level stages */
  size_t count;
} iso_journal_profile;

/**
 * iso_journal_profile_compute -- stage latencies over the selected completed
 * transactions.  *out is freed with iso_journal_profile_free.  ISO_E_IO,
 * ISO_E_NOMEM, ISO_E_JOURNAL_CORRUPT.
 */
int iso_journal_profile_compute(iso_journal_db *db,
                                const iso_journal_selection *sel,
                                iso_journal_profile *out);

/** iso_journal_profile_free -- frees what a profile holds. */
void iso_journal_profile_free(iso_journal_profile *p);

/* ---- verification and pruning --------------------------------------------- */

/** A problem verify found; `what` is static text, `id` the transaction. */
typedef void (*iso_journal_problem_cb)(uint64_t id, const char *what,
                                       void *data);

/**
 * iso_journal_verify -- checks the journal: every approval (a completion
 * that committed) has its transaction and its journaled decision (a decline
 * may lack them: its decision write failed and the flow declined it),
 * decisions and completions agree, every transaction without completion is
 * recoverable (its records decode), ids are positive integers (unique by the
 * schema), decisions are known values and not older than their start, no
 * stored message or identity column holds a clear PAN (a whole run of 13 to
 * 19 digits passing the Luhn check) or a protected field other than DE 2
 * masked, encrypted envelopes are well-formed (and authentic with the key).
 * Calls cb for each problem; returns the number of problems (0 = sound) or
 * a negative ISO_E_* code.
 */
int iso_journal_verify(iso_journal_db *db, iso_journal_problem_cb cb,
                       void *data);

/**
 * iso_journal_prune -- deletes completed transactions that finished before
 * `before` (ns since the epoch); never one without completion.  The id
 * high-water mark is kept, so ids stay monotonic.  *removed (may be NULL)
 * gets the count.  Works on a read-only journal too (its own connection).
 * ISO_E_JOURNAL_LOCKED, ISO_E_IO.
 */
int iso_journal_prune(iso_journal_db *db, uint64_t before, size_t *removed);

/* ---- replay through a flow in process -------------------------------------- */

/** For each replayed transaction: the journaled response code ("" when none)
 *  and the new run's status and response (NULL when none).  On the loop. */
typedef void (*iso_journal_replay_cb)(uint64_t id, const char *journaled_rc,
                                      int status, const iso_msg *response,
                                      void *data);
/** When the replay is over: status 0, or the first error; counts. */
typedef void (*iso_journal_replay_done_cb)(int status, size_t replayed,
                                           size_t differed, void *data);

/**
 * iso_journal_replay -- submits each selected journaled request, in id
 * order, to fl (iso_flow_submit), at most `concurrency` at a time (0 = 1).
 * each_cb hears every outcome; done_cb runs on the loop once all finished
 * (during this call when nothing is selected or every answer came at once).
 * `differed` counts answers whose response code is not the journaled one.
 * A request whose card data the journal cannot restore (sealed and no key
 * given, or masked when it was written: iso_journal_card_data_hidden) is
 * not submitted: each_cb hears it with status ISO_E_KEY_FILE and no
 * response, and it counts in neither `replayed` nor `differed`.  Call on
 * fl's loop thread.  Errors (callbacks not called): ISO_E_INVAL, ISO_E_IO,
 * ISO_E_NOMEM.
 */
int iso_journal_replay(iso_journal_db *db, const iso_journal_selection *sel,
                       iso_flow_loop *fl, unsigned concurrency,
                       iso_journal_replay_cb each_cb,
                       iso_journal_replay_done_cb done_cb, void *data);

#ifdef __cplusplus
}
#endif

#endif /* ISOFLOW_JOURNAL_H */
