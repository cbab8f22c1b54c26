/*
 * journal/writer.c -- the bounded queue and the writer thread.
 *
 * Producers (flow loop threads) copy serialized events into chunks under a
 * mutex; the writer takes the whole chunk list at once, so the lock is held
 * for a pointer swap.  Everything taken is written in one SQLite
 * transaction (group commit): a decision queued right after its own begin
 * (paired as it is queued) becomes one INSERT with it; any other decision
 * an upsert; completions go to tx_done.  Only after COMMIT returned
 * (synced, at the configured level) are the group's decisions reported
 * durable.  A failed group is rolled back and every decision in it gets the
 * error: nothing is reported durable that is not.
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
static void recycle(iso_journal_db *db, iso__chunk *list) {
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

/* Walks a taken chunk list event by event: *c and *off are the cursor. */
static iso__event *next_event(iso__chunk **c, size_t *off) {
  while (*c && *off >= (*c)->used) {
    *c = (*c)->next;
    *off = 0;
  }
  if (!*c) return NULL;
  iso__event *ev = (iso__event *)((*c)->data + *off);
  *off += ev->size;
  return ev;
}

/* for (each event e of a taken chunk list): the outer loop only declares
 * the chunk cursor. */
#define FOR_EACH_EVENT(e, list)                                               \
  for (iso__chunk *e##_c = (list); e##_c; e##_c = NULL)                       \
    for (size_t e##_off = 0; ((e) = next_event(&e##_c, &e##_off));)

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

/* begin (+ the decision when it is in the same group) */
static int write_begin(iso_journal_db *db, const iso__event *b,
                       const iso__event *d) {
  sqlite3_stmt *st = db->st_insert;
  sqlite3_bind_int64(st, 1, (sqlite3_int64)b->tx_id);
  sqlite3_bind_int64(st, 2, (sqlite3_int64)b->at);
  bind_blob(st, 3, b, b->key);
  sqlite3_bind_int64(st, 4, (sqlite3_int64)b->fingerprint);
  bind_text(st, 5, b->mti);
  bind_text(st, 6, b->stan);
  bind_text(st, 7, b->rrn);
  bind_text(st, 8, b->terminal);
  bind_text(st, 9, b->amount);
  bind_text(st, 10, b->currency);
  bind_text(st, 11, b->pan_masked);
  if (b->has_pan) sqlite3_bind_blob(st, 12, b->pan_hash, 32, SQLITE_STATIC);
  else sqlite3_bind_null(st, 12);
  bind_blob(st, 13, b, b->request);
  bind_blob(st, 14, b, b->request_prot);
  if (d) {
    sqlite3_bind_int(st, 15, d->decision);
    sqlite3_bind_int(st, 16, d->reason);
    sqlite3_bind_int64(st, 17, (sqlite3_int64)d->at);
    bind_blob(st, 18, d, d->participants);
    bind_blob(st, 19, d, d->values);
  } else {
    for (int i = 15; i <= 19; i++) sqlite3_bind_null(st, i);
  }
  return step(st);
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

static int write_completion(iso_journal_db *db, const iso__event *c) {
  sqlite3_stmt *st = db->st_done;
  sqlite3_bind_int64(st, 1, (sqlite3_int64)c->tx_id);
  sqlite3_bind_int64(st, 2, (sqlite3_int64)c->at);
  sqlite3_bind_int(st, 3, c->decision);
  bind_text(st, 4, c->rc);
  bind_blob(st, 5, c, c->response);
  bind_blob(st, 6, c, c->response_prot);
  bind_blob(st, 7, c, c->stages);
  return step(st);
}

/* ---- one group ------------------------------------------------------------
 * The write pass also notes what the group must report (each decision's
 * callback, each barrier) in a small array: reading the events again after
 * COMMIT, the profile showed, was a cache miss per event. */

typedef struct iso__group {
  size_t events, lost; /* lost: what a failure loses (barriers are not) */
  size_t noted;
  bool all_noted; /* false: the array could not grow, walk the events */
} iso__group;

static void note(iso_journal_db *db, iso__group *g, iso_journal_durable_cb cb,
                 void *arg) {
  if (!g->all_noted) return;
  if (g->noted == db->notice_cap) {
    size_t cap = db->notice_cap ? 2 * db->notice_cap : 1024;
    iso__notice *p = realloc(db->notices, cap * sizeof *p);
    if (!p) {
      g->all_noted = false;
      return;
    }
    db->notices = p;
    db->notice_cap = cap;
  }
  db->notices[g->noted++] = (iso__notice){cb, arg};
}

static int write_group(iso_journal_db *db, iso__chunk *list, iso__group *g) {
  int rc = iso__sqlite_status(
      sqlite3_exec(db->wdb, "BEGIN IMMEDIATE", NULL, NULL, NULL));
  iso__event *e;
  FOR_EACH_EVENT(e, list) {
    g->events++;
    switch (e->kind) {
    case ISO__EV_BEGIN:
      if (!rc) rc = write_begin(db, e, e->paired);
      break;
    case ISO__EV_DECISION:
      if (!rc && !e->paired) rc = write_decision(db, e);
      if (e->cb) note(db, g, e->cb, e->cb_arg);
      break;
    case ISO__EV_COMPLETION:
      if (!rc) rc = write_completion(db, e);
      break;
    default:
      note(db, g, NULL, e);
      continue;
    }
    g->lost++;
  }
  if (!rc) rc = iso__sqlite_status(sqlite3_exec(db->wdb, "COMMIT", NULL, NULL, NULL));
  if (rc) sqlite3_exec(db->wdb, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

static void release_barrier(const iso__event *e) {
  pthread_mutex_lock(e->barrier_mu);
  *e->barrier_done = true;
  pthread_cond_broadcast(e->barrier_cv);
  pthread_mutex_unlock(e->barrier_mu);
}

/* Reports the group's outcome. */
static void finish_group(iso_journal_db *db, iso__chunk *list,
                         const iso__group *g, int rc, uint64_t write_ns) {
  if (g->all_noted) {
    for (size_t i = 0; i < g->noted; i++) {
      const iso__notice *x = &db->notices[i];
      if (x->cb) x->cb(x->arg, rc, write_ns);
      else release_barrier(x->arg);
    }
  } else {
    iso__event *e;
    FOR_EACH_EVENT(e, list) {
      if (e->kind == ISO__EV_DECISION && e->cb) e->cb(e->cb_arg, rc, write_ns);
      else if (e->kind == ISO__EV_BARRIER) release_barrier(e);
    }
  }
  size_t n = g->events;
  if (rc) {
    atomic_fetch_add(&db->n_failures, g->lost);
    atomic_fetch_add(&db->n_failed_groups, 1);
    if (db->cfg.failed) db->cfg.failed(db, rc, g->lost, db->cfg.failed_data);
  } else {
    atomic_fetch_add(&db->n_events, n);
    atomic_fetch_add(&db->n_groups, 1);
    uint64_t max = atomic_load(&db->n_max_group);
    while (n > max && !atomic_compare_exchange_weak(&db->n_max_group, &max, n)) {
    }
  }
}

static void *writer_main(void *arg) {
  iso_journal_db *db = arg;
  for (;;) {
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
      uint64_t t0 = iso__mono_ns();
      iso__group g = {.all_noted = true};
      int rc = write_group(db, list, &g);
      finish_group(db, list, &g, rc, iso__mono_ns() - t0);
      recycle(db, list);
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
  db->started = true;
  db->generation = atomic_fetch_add(&generations, 1);
  if (pthread_create(&db->writer, NULL, writer_main, db)) {
    db->started = false;
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
