/*
 * journal/journal_internal.h -- what the journal's files share: the journal
 * handle, the queued events, the record encodings (record.c), card-data
 * protection (protect.c), the database schema (schema.c) and the writer
 * thread (writer.c).
 */
#ifndef ISOFLOW_JOURNAL_INTERNAL_H
#define ISOFLOW_JOURNAL_INTERNAL_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stddef.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "isoflow/journal.h"

/* ---- growable byte buffer (record.c) ------------------------------------ */

typedef struct iso__jbuf {
  uint8_t *data;
  size_t len, cap;
  bool failed; /* an allocation failed: the content is incomplete */
  uint8_t inline_data[512];
} iso__jbuf;

void iso__jbuf_init(iso__jbuf *b);
/* Frees what the buffer allocated; iso__jbuf_wipe first wipes the content
 * (for buffers that held protected plaintext). */
void iso__jbuf_free(iso__jbuf *b);
void iso__jbuf_wipe(iso__jbuf *b);
/* Appends; on a failed allocation the buffer is marked failed.  The common
 * case (room left) inline, the growth out of line. */
void iso__jbuf_put_slow(iso__jbuf *b, const void *p, size_t n);
static inline void iso__jbuf_put(iso__jbuf *b, const void *p, size_t n) {
  if (n <= b->cap - b->len) {
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
  } else {
    iso__jbuf_put_slow(b, p, n);
  }
}
static inline void iso__jbuf_varint(iso__jbuf *b, uint64_t v) {
  uint8_t tmp[10], *d = b->cap - b->len >= sizeof tmp ? b->data + b->len : tmp;
  size_t n = 0;
  while (v >= 0x80) {
    d[n++] = (uint8_t)(v | 0x80);
    v >>= 7;
  }
  d[n++] = (uint8_t)v;
  if (d == tmp) iso__jbuf_put_slow(b, tmp, n);
  else b->len += n;
}
/* Reads a varint at *pos; false when truncated. */
bool iso__jget_varint(const uint8_t *p, size_t len, size_t *pos, uint64_t *v);

/* ---- record encodings (record.c) ----------------------------------------
 * Message: 'M' MTI(4) then entries field(u8) varint(len) bytes.
 * Field list (protected plaintext): entries only.
 * Names: varint(count) then varint(len) bytes each.
 * Values: varint(count) then name, varint(len) bytes each.
 * Stages: varint(count) then name ("" = flow level), phase(u8),
 *         varint(start), varint(duration) each. */

/* Encodes the message's fields; those in prot[] go to `protected_out`
 * (may be NULL: dropped), the others to `clear`. DE 2 masked goes to clear
 * when mask_pan. Returns 0 or ISO_E_NOMEM / the codec's error. */
int iso__record_message(const iso_msg *m, const bool prot[ISO_MAX_FIELD + 1],
                        bool mask_pan, iso__jbuf *clear,
                        iso__jbuf *protected_out, int *prot_fields,
                        size_t *prot_count);
/* Rebuilds entries (message record when with_mti) into m (copies). */
int iso__record_to_msg(const uint8_t *p, size_t len, bool with_mti,
                       iso_msg *m);
void iso__record_names(iso__jbuf *b, const char *const *names, size_t n);
void iso__record_values(iso__jbuf *b, const iso_tx_value *v, size_t n);
void iso__record_stages(iso__jbuf *b, const iso_stage_timing *s, size_t n);

/* Decoded lists point into the blob; arrays are malloc'ed (free them). */
typedef struct iso__decoded {
  char **names;            /* NUL-terminated copies */
  size_t name_count;
  iso_tx_value *values;
  size_t value_count;
  iso_stage_timing *stages;
  size_t stage_count;
  char *names_str, *values_str, *stages_str; /* string storage */
} iso__decoded;
int iso__decode_names(const uint8_t *p, size_t len, iso__decoded *d);
int iso__decode_values(const uint8_t *p, size_t len, iso__decoded *d);
int iso__decode_stages(const uint8_t *p, size_t len, iso__decoded *d);
void iso__decoded_free(iso__decoded *d);

/* ---- protection (protect.c) ---------------------------------------------- */

#define ISO__NONCE_LEN 12
#define ISO__TAG_LEN 16

typedef struct iso__protect {
  bool has_key;
  uint64_t id;           /* unique per process: which key a context holds */
  uint8_t enc_key[32];   /* AES-256-GCM key, derived from the key file */
  uint8_t hash_key[32];  /* HMAC key for PAN hashes: derived, or the salt */
  uint8_t check[16];     /* key check value stored in meta */
  bool prot[ISO_MAX_FIELD + 1];
  /* ready for use (iso__protect_ready) */
  SHA256_CTX hmac_inner, hmac_outer; /* HMAC pads absorbed (protect.c) */
  EVP_CIPHER *aes; /* fetched once; each thread keys its own context */
} iso__protect;

/* Prepares the HMAC states and the cipher once the keys are known; frees
 * and wipes them. */
int iso__protect_ready(iso__protect *p);
void iso__protect_free(iso__protect *p);

/* Reads and derives from the key file; *why gets a static-free message
 * into why_buf. ISO_E_KEY_FILE. */
int iso__protect_load_key(iso__protect *p, const char *path, char *why,
                          size_t why_cap);
/* HMAC-SHA256 of the PAN with hash_key. */
int iso__pan_hash(const iso__protect *p, const uint8_t *pan, size_t len,
                  uint8_t out[32]);
/* Envelope: version(1) nonce(12) tag(16) ciphertext. aad built from
 * tx id, direction ('Q' request, 'R' response) and the field numbers. */
int iso__seal(const iso__protect *p, uint64_t tx_id, char dir,
              const int *fields, size_t nfields, const uint8_t *plain,
              size_t len, iso__jbuf *out);
/* Opens an envelope into plain (len = envelope len - 29).  ISO_E_CRYPTO on
 * a bad tag, ISO_E_JOURNAL_CORRUPT on a malformed envelope. */
int iso__open(const iso__protect *p, uint64_t tx_id, char dir,
              const uint8_t *env, size_t env_len, uint8_t *plain,
              size_t *plain_len);
/* The field numbers an envelope's plaintext holds, for the aad. */
size_t iso__fields_of(const uint8_t *plain, size_t len, int *fields,
                      size_t cap);
/* Luhn-valid run of 13..19 digits anywhere in p? */
bool iso__has_clear_pan(const uint8_t *p, size_t len);

/* ---- events ------------------------------------------------------------- */

enum { ISO__EV_BEGIN = 1, ISO__EV_DECISION, ISO__EV_COMPLETION,
       ISO__EV_BARRIER };

typedef struct iso__blob {
  uint32_t off, len; /* from the event's start; len 0 with off UINT32_MAX = NULL */
} iso__blob;

/* An event as queued: the common head, then only its own kind's part of
 * the union (iso__event_head_size), then its blobs.  A decision is ~100
 * bytes instead of the ~300 of the largest kind: the loop writes, and the
 * writer reads, every byte of every event through memory the other core
 * touched last.  Only the fields of an event's own kind may be read. */
typedef struct iso__event {
  uint32_t size; /* head and blobs, rounded to 16: the next event follows */
  uint8_t kind;
  int decision;              /* decision, completion */
  struct iso__event *paired; /* begin <-> decision in one group */
  uint64_t tx_id;
  uint64_t at; /* started_at / decided_at / finished_at */
  union {
    struct { /* begin */
      uint64_t fingerprint;
      char mti[5], stan[13], rrn[13], terminal[17], amount[20], currency[4],
          pan_masked[20];
      bool has_pan;
      uint8_t pan_hash[32];
      iso__blob key, request, request_prot;
    };
    struct { /* decision */
      int reason;
      iso__blob participants, values;
      iso_journal_durable_cb cb;
      void *cb_arg;
    };
    struct { /* completion */
      char rc[3];
      iso__blob response, response_prot, stages;
    };
    struct { /* barrier */
      pthread_mutex_t *barrier_mu;
      pthread_cond_t *barrier_cv;
      bool *barrier_done;
    };
  };
} iso__event;

/* The bytes of an event's head that its kind uses. */
static inline size_t iso__event_head_size(int kind) {
  switch (kind) {
  case ISO__EV_BEGIN: return offsetof(iso__event, request_prot) + sizeof(iso__blob);
  case ISO__EV_DECISION: return offsetof(iso__event, cb_arg) + sizeof(void *);
  case ISO__EV_COMPLETION: return offsetof(iso__event, stages) + sizeof(iso__blob);
  default: return sizeof(iso__event);
  }
}

/* Where a blob of `ev` lies (not for a NULL blob). */
static inline const uint8_t *iso__blob_data(const iso__event *ev, iso__blob b) {
  return (const uint8_t *)ev + b.off;
}

/* The queue is a list of chunks with events packed back to back
 * (writer.c): no allocation per event on the producer, no free on the
 * writer, and the writer reads each group front to back. */
typedef struct iso__chunk {
  struct iso__chunk *next;
  size_t used, cap;
  _Alignas(16) uint8_t data[];
} iso__chunk;

/* What a written group reports: a decision's callback, or (cb NULL) the
 * barrier event `arg` to release. */
typedef struct iso__notice {
  iso_journal_durable_cb cb;
  void *arg;
} iso__notice;

/* A decision set back to ABORT after the sync that was to make it durable
 * failed (sync.c): its row was committed, the flow was told it failed. */
typedef struct iso__undo {
  uint64_t tx_id;
  int reason;
} iso__undo;

/* One group commit, from the writer taking the queue to its report
 * (writer.c writes it, sync.c syncs and reports it; recycled). */
typedef struct iso__group {
  struct iso__group *next;
  iso__chunk *list;     /* its events, given back once reported */
  iso__notice *notices; /* each decision's callback, each barrier */
  size_t noted, notice_cap;
  bool all_noted;       /* false: the array could not grow, walk the events */
  size_t events, lost;  /* lost: what a failure loses (barriers are not) */
  int rc;               /* the write's outcome */
  uint64_t t0;          /* monotonic ns when the writer took it */
  sqlite3_file *wal;    /* the WAL to sync before reporting it */
  iso__undo *undo;      /* undos this group wrote: kept until synced */
  size_t undo_n, undo_cap;
} iso__group;

/* ---- the checkpoint policy (checkpoint.c) -------------------------------- */

/* Thresholds in WAL pages, and where a restart of the WAL stands. */
typedef struct iso__ck_policy {
  uint64_t pages;         /* added since the last copy: wake the thread */
  uint64_t restart_pages; /* WAL size at which it should start over */
  uint64_t tail_pages;    /* what the writer copies itself at most, unless
                             the thread has not got there in two rounds */
  uint64_t restart_from;  /* the thread's round count when the WAL reached
                             restart_pages; UINT64_MAX below it */
} iso__ck_policy;

typedef enum { ISO__CK_NONE, ISO__CK_WAKE, ISO__CK_TAIL } iso__ck_action;

/* After a COMMIT that left the WAL at wal_pages, `copied` of them known in
 * the database, the thread copying or not and having finished `rounds`
 * copies: nothing, wake the thread, or copy the rest on the writer's
 * connection (after which the WAL starts over). */
iso__ck_action iso__checkpoint_decide(iso__ck_policy *p, uint64_t wal_pages,
                                      uint64_t copied, bool copying, uint64_t rounds);

/* ---- reversals ----------------------------------------------------------
 * A reversal is a message of MTI class 4 (x4xx) in ISO 8583:1987, :1993 or
 * :2003.  The partial index tx_reversal (schema.c) holds those rows only,
 * and a selection of reversals (query.c) repeats the very condition, which
 * is what lets SQLite use that index.  Plain comparisons: with a function
 * in the condition, the writer's multi-row statements measured a third
 * dearer (SQLite then keeps a statement journal for them).  t: the table's
 * alias with its dot, or "". */
#define ISO__REVERSAL_SQL(t)                                                  \
  "(" t "mti >= '0400' AND " t "mti < '0500' OR " t "mti >= '1400' AND " t   \
  "mti < '1500' OR " t "mti >= '2400' AND " t "mti < '2500')"

/* ---- the handle --------------------------------------------------------- */

/* The writer's multi-row statements (schema.c prepares one per size,
 * writer.c fills them): SQLite's cost per statement execution -- opening
 * and closing a cursor per table and index, the program's prologue, the
 * bindings' bookkeeping -- is paid once per ISO__ROWS[i] rows. */
enum { ISO__ROW_SIZES = 3, ISO__MAX_ROWS = 32 };
extern const int ISO__ROWS[ISO__ROW_SIZES]; /* descending from ISO__MAX_ROWS to 1 */
enum { ISO__BEGIN_COLS = 19, ISO__DONE_COLS = 7 }; /* parameters per row */

struct iso_journal_db {
  iso_journal_config cfg;
  char *path, *vfs;
  const iso_spec *spec;
  iso_spec *owned_spec;
  iso__protect prot;
  uint64_t first_tx_id;

  sqlite3 *wdb; /* the writer's connection */
  /* st_insert[i] / st_done[i] write ISO__ROWS[i] rows per step */
  sqlite3_stmt *st_insert[ISO__ROW_SIZES], *st_decide, *st_done[ISO__ROW_SIZES];
  sqlite3 *rdb; /* readers: lookup, queries (rd_mu) */
  pthread_mutex_t rd_mu;

  /* the queue */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  iso__chunk *head, *tail, *spare;
  size_t queued, spare_count;
  uint64_t generation; /* changes whenever the writer takes the queue */
  bool writer_sleeping, stopping, started;
  pthread_t writer;

  /* pipelined durability (sync.c): with synchronous=FULL the writer's
   * connection commits without syncing and the syncer thread syncs the
   * WAL and reports, while the writer writes the next group */
  bool pipelined;
  sqlite3_stmt *st_undo;
  pthread_t sync_thread;
  pthread_mutex_t sync_mu;
  pthread_cond_t sync_cv, sync_free_cv, sync_taken_cv;
  iso__group *sync_head, *sync_tail; /* written, to sync and report */
  iso__group *group_free;            /* recycled groups */
  iso__undo *undo;                   /* to write in the next group */
  size_t undo_n, undo_cap;
  bool sync_stop, sync_started;

  /* the checkpointer (checkpoint.c) */
  sqlite3 *cdb;
  pthread_t ck_thread;
  pthread_mutex_t ck_mu;
  pthread_cond_t ck_cv;
  bool ck_wanted, ck_busy, ck_stop, ck_started; /* ck_mu */
  _Atomic uint64_t ck_copied; /* WAL frames known copied into the database */
  iso__ck_policy ck_policy; /* the writer's (in its WAL hook) */
  _Atomic uint64_t n_ck_failures, n_checkpoints, n_ck_tails;

  _Atomic uint64_t n_events, n_groups, n_failures, n_failed_groups, n_full,
      n_max_group, n_cpu_ns;
};

int iso__schema_open(iso_journal_db *db, sqlite3 **out, bool create,
                     char *why, size_t why_cap);
int iso__schema_prepare_writer(iso_journal_db *db);
int iso__sqlite_status(int sqlite_rc);
int iso__writer_start(iso_journal_db *db);
void iso__writer_stop(iso_journal_db *db);

/* sync.c: the syncer thread (started with the writer, running when
 * pipelined; iso__sync_stop also undoes a failed start), a
 * written group handed to it (reported in order, after a sync of the WAL
 * when it committed), a group reported right away (not pipelined), the
 * groups' recycling, and the undos the writer writes first in a group. */
int iso__sync_start(iso_journal_db *db);
void iso__sync_stop(iso_journal_db *db);
void iso__sync_push(iso_journal_db *db, iso__group *g);
void iso__sync_wait_taken(iso_journal_db *db);
void iso__group_report(iso_journal_db *db, iso__group *g, int rc, uint64_t write_ns);
iso__group *iso__group_get(iso_journal_db *db);
void iso__group_put(iso_journal_db *db, iso__group *g);
/* Writes the pending undos into the writer's open transaction, moving
 * them into g; on failure they stay pending. */
int iso__undo_write(iso_journal_db *db, iso__group *g);
/* A group that did not commit gives its undos back. */
void iso__undo_return(iso_journal_db *db, iso__group *g);
/* The queue's chunks back to the producers (writer.c). */
void iso__recycle(iso_journal_db *db, iso__chunk *list);
/* Walks a taken chunk list (writer.c); for (each event e of a list): the
 * outer loop only declares the chunk cursor. */
iso__event *iso__next_event(iso__chunk **c, size_t *off);
#define FOR_EACH_EVENT(e, list)                                               \
  for (iso__chunk *e##_c = (list); e##_c; e##_c = NULL)                       \
    for (size_t e##_off = 0; ((e) = iso__next_event(&e##_c, &e##_off));)
int iso__checkpointer_start(iso_journal_db *db);
void iso__checkpointer_stop(iso_journal_db *db);
/* The checkpoint policy's thresholds in WAL pages (checkpoint.c explains
 * them); tests set small ones before writing.  And how many copies the
 * thread and the writer (tails) have run. */
void iso__checkpoint_set_pages(iso_journal_db *db, uint32_t pages, uint32_t restart_pages,
                               uint32_t tail_pages);
void iso__checkpoint_stats(iso_journal_db *db, uint64_t *background, uint64_t *tails);
/* Queues a copy of the event `ev` (built on the caller's stack) with the
 * buffers bufs[i] appended; blobs[i] points into ev and receives where
 * bufs[i] lands (NULL bufs[i]: no blob).  A decision that follows its own
 * begin from the same thread is paired with it here.  ISO_E_STATE when the
 * journal is closing, ISO_E_JOURNAL_FULL past `limit`, ISO_E_NOMEM. */
int iso__enqueue(iso_journal_db *db, iso__event *ev, iso__jbuf *const *bufs,
                 iso__blob *const *blobs, size_t n, size_t limit);
/* Frees the queue's chunks (the writer has stopped). */
void iso__queue_free(iso_journal_db *db);
uint64_t iso__now_ns(void);
/* Rebuilds a stored message (clear record + envelope) into m; the envelope is
 * opened when decrypt and the journal has the key (*restored then true). */
int iso__rebuild(iso_journal_db *db, uint64_t id, char dir,
                 const uint8_t *clear, size_t clear_len, const uint8_t *env,
                 size_t env_len, bool decrypt, iso_msg *m, bool *restored);
uint64_t iso__mono_ns(void);

/* query.c: the selection as a prepared statement over connection c; one
 * row decoded (lists: 3 decoded lists the caller frees; req/resp may be
 * NULL); a query that may decrypt (recovery, replay) or skip messages. */
int iso__select(iso_journal_db *db, sqlite3 *c,
                const iso_journal_selection *sel, sqlite3_stmt **out);
int iso__row_decode(iso_journal_db *db, sqlite3_stmt *st, bool decrypt,
                    iso_journal_row *row, iso__decoded *lists, iso_msg *req,
                    iso_msg *resp);
int iso__query(iso_journal_db *db, const iso_journal_selection *sel,
               bool decrypt, bool messages, iso_journal_row_cb cb, void *data);

#endif /* ISOFLOW_JOURNAL_INTERNAL_H */
