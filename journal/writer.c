/*
 * journal/writer.c -- the bounded queue and the writer thread.
 *
 * Producers (flow loop threads) copy serialized events into chunks under a
 * mutex; the writer takes the whole chunk list at once, so the lock is held
 * for a pointer swap.  Everything taken is written in one SQLite
 * transaction (group commit): a decision queued right after its own begin
 * (paired as it is queued) becomes one row with it; any other decision an
 * upsert; completions go to tx_done.  Begins and completions are written
 * up to ISO__MAX_ROWS rows per statement (schema.c says why and how a
 * conflicting row is handled).  The group's decisions are reported durable
 * only after COMMIT returned and, with synchronous=FULL, the syncer thread
 * has synced the WAL (sync.c), while this thread writes the next group.  A
 * failed group is rolled back and every decision in it gets the error:
 * nothing is reported durable that is not.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "journal/journal_internal.h"

uint64_t iso__now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t iso__mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the queue ------------------------------------------------------------
 * Producers copy each event into the tail chunk under the lock (a few
 * hundred bytes); the writer takes the whole chunk list with a pointer swap
 * and gives the chunks back once the group is reported.  Spare chunks are
 * kept so that a steady load allocates nothing. */

/* Spares: enough for a busy queue (fresh chunks cost page faults on the
 * producer: the profile showed them at a fifth of the loop's time with 16
 * spares), trimmed whenever the writer finds the queue empty. */
enum { CHUNK_BYTES = 256 * 1024, SPARE_CHUNKS = 64, SPARE_IDLE = 4,
       PREFETCH_BYTES = 512 };

static const iso__blob NO_BLOB = {UINT32_MAX, 0};

/* The last begin each producer thread queued, to pair its decision with it
 * without a pass over the group on the writer.  `generation` says whether
 * the writer has taken it since (then it may be gone). */
static _Thread_local struct {
  iso_journal_db *db;
  uint64_t generation;
  iso__event *begin;
} last_begin;

static _Atomic uint64_t generations = 1; /* unique across journals */

/* Room for `size` bytes at the tail; NULL when out of memory. */
static iso__event *reserve(iso_journal_db *db, size_t size) {
  iso__chunk *c = db->tail;
  if (!c || c->cap - c->used < size) {
    if (db->spare && size <= db->spare->cap) {
      c = db->spare;
      db->spare = c->next;
      db->spare_count--;
    } else {
      size_t cap = size > CHUNK_BYTES ? size : CHUNK_BYTES;
      c = malloc(sizeof *c + cap);
      if (!c) return NULL;
      c->cap = cap;
    }
    c->next = NULL;
    c->used = 0;
    if (db->tail) db->tail->next = c;
    else db->head = c;
    db->tail = c;
  }
  iso__event *ev = (iso__event *)(c->data + c->used);
  c->used += size;
  /* The lines the next events will go to: the chunk was last read by the
   * writer's core, so each store there waits for its line; asking for
   * them now overlaps those waits with the caller's work until then. */
  if (c->cap - c->used >= PREFETCH_BYTES)
    for (size_t off = 0; off < PREFETCH_BYTES; off += 64)
      __builtin_prefetch(c->data + c->used + off, 1, 3);
  return ev;
}

int iso__enqueue(iso_journal_db *db, iso__event *ev, iso__jbuf *const *bufs,
                 iso__blob *const *blobs, size_t n, size_t limit) {
  size_t head = iso__event_head_size(ev->kind), total = head;
  for (size_t i = 0; i < n; i++) {
    if (!bufs[i]) {
      *blobs[i] = NO_BLOB;
      continue;
    }
    *blobs[i] = (iso__blob){(uint32_t)total, (uint32_t)bufs[i]->len};
    total += bufs[i]->len;
  }
  total = (total + 15) & ~(size_t)15;
  ev->size = (uint32_t)total;
  ev->paired = NULL;
  pthread_mutex_lock(&db->mu);
  if (db->stopping || !db->started) {
    pthread_mutex_unlock(&db->mu);
    return ISO_E_STATE;
  }
  if (db->queued >= limit) {
    pthread_mutex_unlock(&db->mu);
    atomic_fetch_add(&db->n_full, 1);
    return ISO_E_JOURNAL_FULL;
  }
  iso__event *q = reserve(db, total);
  if (!q) {
    pthread_mutex_unlock(&db->mu);
    return ISO_E_NOMEM;
  }
  memcpy(q, ev, head);
  for (size_t i = 0; i < n; i++)
    if (bufs[i]) memcpy((uint8_t *)q + blobs[i]->off, bufs[i]->data, bufs[i]->len);
  if (q->kind == ISO__EV_BEGIN) {
    last_begin.db = db;
    last_begin.generation = db->generation;
    last_begin.begin = q;
  } else if (q->kind == ISO__EV_DECISION && last_begin.db == db &&
             last_begin.generation == db->generation &&
             last_begin.begin->tx_id == q->tx_id && !last_begin.begin->paired) {
    last_begin.begin->paired = q;
    q->paired = last_begin.begin;
  }
  db->queued++;
  bool wake = db->writer_sleeping;
  db->writer_sleeping = false;
  pthread_mutex_unlock(&db->mu);
  if (wake) pthread_cond_signal(&db->cv);
  return 0;
}

static void free_chunks(iso__chunk *list) {
  while (list) {
    iso__chunk *c = list;
    list = c->next;
    free(c);
  }
}

/* Gives a written group's chunks back: kept as spares up to a few, freed
 * beyond. */
void iso__recycle(iso_journal_db *db, iso__chunk *list) {
  iso__chunk *drop = NULL;
  pthread_mutex_lock(&db->mu);
  while (list) {
    iso__chunk *c = list;
    list = c->next;
    if (c->cap == CHUNK_BYTES && db->spare_count < SPARE_CHUNKS) {
      c->next = db->spare;
      db->spare = c;
      db->spare_count++;
    } else {
      c->next = drop;
      drop = c;
    }
  }
  pthread_mutex_unlock(&db->mu);
  free_chunks(drop);
}

/* Under the lock: the spares beyond SPARE_IDLE, to free once unlocked. */
static iso__chunk *trim_spares(iso_journal_db *db) {
  iso__chunk *drop = NULL;
  while (db->spare_count > SPARE_IDLE) {
    iso__chunk *c = db->spare;
    db->spare = c->next;
    db->spare_count--;
    c->next = drop;
    drop = c;
  }
  return drop;
}

void iso__queue_free(iso_journal_db *db) {
  free_chunks(db->head);
  free_chunks(db->spare);
  db->head = db->tail = db->spare = NULL;
  db->spare_count = 0;
}

enum { PREFETCH_AHEAD = 2048 }; /* bytes: four or five events */

/* Walks a taken chunk list event by event: *c and *off are the cursor. */
iso__event *iso__next_event(iso__chunk **c, size_t *off) {
  while (*c && *off >= (*c)->used) {
    *c = (*c)->next;
    *off = 0;
  }
  if (!*c) return NULL;
  iso__event *ev = (iso__event *)((*c)->data + *off);
  *off += ev->size;
  /* The walk waits on cache misses (memory the producer's core wrote; perf
   * put most of the writer's own time on the load of each event's first
   * line): ask for the bytes a few events ahead, as many as this one has.
   * A prefetch past the chunk's end is harmless. */
  const uint8_t *ahead = (const uint8_t *)ev + PREFETCH_AHEAD;
  for (uint32_t i = 0; i < ev->size; i += 64) __builtin_prefetch(ahead + i);
  return ev;
}


/* ---- binding ------------------------------------------------------------- */

static void bind_blob(sqlite3_stmt *st, int i, const iso__event *ev,
                      iso__blob b) {
  if (b.off == UINT32_MAX) sqlite3_bind_null(st, i);
  else sqlite3_bind_blob(st, i, iso__blob_data(ev, b), (int)b.len, SQLITE_STATIC);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s) {
  if (*s) sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
  else sqlite3_bind_null(st, i);
}

/* Every statement has all its parameters bound on every use (NULL where a
 * value is absent), so none is cleared between rows; the bound blobs and
 * texts are SQLITE_STATIC: they live in the group's chunks until after
 * the step. */
static int step(sqlite3_stmt *st) {
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : iso__sqlite_status(rc);
}

/* A begin (+ its decision when paired) as row parameters o+1 .. o+19. */
static void bind_begin(sqlite3_stmt *st, int o, const iso__event *b) {
  const iso__event *d = b->paired;
  sqlite3_bind_int64(st, o + 1, (sqlite3_int64)b->tx_id);
  sqlite3_bind_int64(st, o + 2, (sqlite3_int64)b->at);
  bind_blob(st, o + 3, b, b->key);
  sqlite3_bind_int64(st, o + 4, (sqlite3_int64)b->fingerprint);
  bind_text(st, o + 5, b->mti);
  bind_text(st, o + 6, b->stan);
  bind_text(st, o + 7, b->rrn);
  bind_text(st, o + 8, b->terminal);
  bind_text(st, o + 9, b->amount);
  bind_text(st, o + 10, b->currency);
  bind_text(st, o + 11, b->pan_masked);
  if (b->has_pan) sqlite3_bind_blob(st, o + 12, b->pan_hash, 32, SQLITE_STATIC);
  else sqlite3_bind_null(st, o + 12);
  bind_blob(st, o + 13, b, b->request);
  bind_blob(st, o + 14, b, b->request_prot);
  if (d) {
    sqlite3_bind_int(st, o + 15, d->decision);
    sqlite3_bind_int(st, o + 16, d->reason);
    sqlite3_bind_int64(st, o + 17, (sqlite3_int64)d->at);
    bind_blob(st, o + 18, d, d->participants);
    bind_blob(st, o + 19, d, d->values);
  } else {
    for (int i = 15; i <= 19; i++) sqlite3_bind_null(st, o + i);
  }
}

/* A completion as row parameters o+1 .. o+7. */
static void bind_completion(sqlite3_stmt *st, int o, const iso__event *c) {
  sqlite3_bind_int64(st, o + 1, (sqlite3_int64)c->tx_id);
  sqlite3_bind_int64(st, o + 2, (sqlite3_int64)c->at);
  sqlite3_bind_int(st, o + 3, c->decision);
  bind_text(st, o + 4, c->rc);
  bind_blob(st, o + 5, c, c->response);
  bind_blob(st, o + 6, c, c->response_prot);
  bind_blob(st, o + 7, c, c->stages);
}

/* Rows waiting for a multi-row statement: begins (tx) or completions
 * (tx_done), in queue order. */
typedef struct iso__rows {
  const iso__event *ev[ISO__MAX_ROWS];
  int n;
  sqlite3_stmt **st; /* one per ISO__ROWS size */
  void (*bind)(sqlite3_stmt *st, int o, const iso__event *e);
  int cols;
} iso__rows;

/* Writes r->ev[at ..] with the statement of size ISO__ROWS[i].  A
 * statement of several rows that fails on a constraint (schema.c: an id
 * already there) wrote the rows before the failing one; all of them are
 * written again one at a time, with the one-row statement's handling of an
 * existing row. */
static int write_rows(iso__rows *r, int i, int at) {
  int size = ISO__ROWS[i];
  sqlite3_stmt *st = r->st[i];
  for (int k = 0; k < size; k++) r->bind(st, k * r->cols, r->ev[at + k]);
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc == SQLITE_DONE) return 0;
  if ((rc & 0xff) != SQLITE_CONSTRAINT || size == 1) return iso__sqlite_status(rc);
  st = r->st[ISO__ROW_SIZES - 1];
  for (int k = 0; k < size; k++) {
    r->bind(st, 0, r->ev[at + k]);
    if ((rc = step(st))) return rc;
  }
  return 0;
}

/* Writes the waiting rows: every one when `all`, else only full statements
 * of the largest size. */
static int flush_rows(iso__rows *r, bool all) {
  int at = 0, rc = 0;
  for (int i = 0; i < ISO__ROW_SIZES && !rc; i++) {
    while (!rc && r->n - at >= ISO__ROWS[i]) {
      rc = write_rows(r, i, at);
      at += ISO__ROWS[i];
    }
    if (!all) break;
  }
  memmove(r->ev, r->ev + at, (size_t)(r->n - at) * sizeof r->ev[0]);
  r->n -= at;
  return rc;
}

static int add_row(iso__rows *r, const iso__event *e) {
  r->ev[r->n++] = e;
  return r->n == ISO__ROWS[0] ? flush_rows(r, false) : 0;
}

static int write_decision(iso_journal_db *db, const iso__event *d) {
  sqlite3_stmt *st = db->st_decide;
  sqlite3_bind_int64(st, 1, (sqlite3_int64)d->tx_id);
  sqlite3_bind_int(st, 2, d->decision);
  sqlite3_bind_int(st, 3, d->reason);
  bind_blob(st, 4, d, d->participants);
  sqlite3_bind_int64(st, 5, (sqlite3_int64)d->at);
  bind_blob(st, 6, d, d->values);
  return step(st);
}

/* ---- one group ------------------------------------------------------------
 * The write pass also notes what the group must report (each decision's
 * callback, each barrier) in the group's array: reading the events again
 * after COMMIT, the profile showed, was a cache miss per event. */

static void note(iso__group *g, iso_journal_durable_cb cb, void *arg) {
  if (!g->all_noted) return;
  if (g->noted == g->notice_cap) {
    size_t cap = g->notice_cap ? 2 * g->notice_cap : 1024;
    iso__notice *p = realloc(g->notices, cap * sizeof *p);
    if (!p) {
      g->all_noted = false;
      return;
    }
    g->notices = p;
    g->notice_cap = cap;
  }
  g->notices[g->noted++] = (iso__notice){cb, arg};
}

static int write_group(iso_journal_db *db, iso__group *g) {
  int rc = iso__sqlite_status(
      sqlite3_exec(db->wdb, "BEGIN IMMEDIATE", NULL, NULL, NULL));
  if (!rc) rc = iso__undo_write(db, g);
  iso__rows begins = {.st = db->st_insert, .bind = bind_begin, .cols = ISO__BEGIN_COLS};
  iso__rows dones = {.st = db->st_done, .bind = bind_completion, .cols = ISO__DONE_COLS};
  iso__event *e;
  FOR_EACH_EVENT(e, g->list) {
    g->events++;
    switch (e->kind) {
    case ISO__EV_BEGIN:
      if (!rc) rc = add_row(&begins, e);
      break;
    case ISO__EV_DECISION:
      /* after its begin when that waits in `begins` (the upsert would
       * take either order; this keeps the rows' history simple) */
      if (!rc && !e->paired) rc = flush_rows(&begins, true);
      if (!rc && !e->paired) rc = write_decision(db, e);
      if (e->cb) note(g, e->cb, e->cb_arg);
      break;
    case ISO__EV_COMPLETION:
      if (!rc) rc = add_row(&dones, e);
      break;
    default:
      note(g, NULL, e);
      continue;
    }
    g->lost++;
  }
  if (!rc) rc = flush_rows(&begins, true);
  if (!rc) rc = flush_rows(&dones, true);
  if (!rc) rc = iso__sqlite_status(sqlite3_exec(db->wdb, "COMMIT", NULL, NULL, NULL));
  if (rc) sqlite3_exec(db->wdb, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

static void *writer_main(void *arg) {
  iso_journal_db *db = arg;
  for (;;) {
    if (db->pipelined) iso__sync_wait_taken(db);
    pthread_mutex_lock(&db->mu);
    iso__chunk *idle = NULL;
    if (!db->head) idle = trim_spares(db);
    while (!db->head && !db->stopping) {
      db->writer_sleeping = true;
      pthread_cond_wait(&db->cv, &db->mu);
    }
    iso__chunk *list = db->head;
    db->head = db->tail = NULL;
    db->queued = 0;
    db->generation = atomic_fetch_add(&generations, 1);
    bool stop = db->stopping;
    pthread_mutex_unlock(&db->mu);
    free_chunks(idle);
    if (list) {
      struct timespec c0, c1;
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
      iso__group *g = iso__group_get(db);
      g->list = list;
      g->t0 = iso__mono_ns();
      g->rc = write_group(db, g);
      if (g->rc) iso__undo_return(db, g);
      if (db->pipelined) {
        /* the syncer syncs the WAL and reports while this thread writes
         * the next group (sync.c) */
        if (!g->rc)
          sqlite3_file_control(db->wdb, "main", SQLITE_FCNTL_JOURNAL_POINTER, &g->wal);
        iso__sync_push(db, g);
      } else {
        iso__group_report(db, g, g->rc, iso__mono_ns() - g->t0);
        iso__recycle(db, list);
        iso__group_put(db, g);
      }
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
      atomic_fetch_add(&db->n_cpu_ns,
                       (uint64_t)((c1.tv_sec - c0.tv_sec) * 1000000000ll +
                                  (c1.tv_nsec - c0.tv_nsec)));
    } else if (stop) {
      break;
    }
  }
  return NULL;
}

int iso__writer_start(iso_journal_db *db) {
  int rc = iso__sync_start(db);
  if (rc) {
    iso__sync_stop(db);
    return rc;
  }
  db->started = true;
  db->generation = atomic_fetch_add(&generations, 1);
  if (pthread_create(&db->writer, NULL, writer_main, db)) {
    db->started = false;
    iso__sync_stop(db);
    return ISO_E_NOMEM;
  }
  return 0;
}

void iso__writer_stop(iso_journal_db *db) {
  pthread_mutex_lock(&db->mu);
  db->stopping = true;
  pthread_mutex_unlock(&db->mu);
  pthread_cond_signal(&db->cv);
  pthread_join(db->writer, NULL);
  iso__sync_stop(db); /* after the syncer reported every group */
}

void iso_journal_sync_wait(iso_journal_db *db) {
  pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
  pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
  bool done = false;
  iso__event ev = {.kind = ISO__EV_BARRIER, .barrier_mu = &mu,
                   .barrier_cv = &cv, .barrier_done = &done};
  if (iso__enqueue(db, &ev, NULL, NULL, 0, SIZE_MAX)) return;
  pthread_mutex_lock(&mu);
  while (!done) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
}
