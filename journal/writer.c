/*
 * journal/writer.c -- the bounded queue and the writer thread.
 *
 * Producers (flow loop threads) append serialized events under a mutex; the
 * writer takes the whole list at once, so the lock is held for a pointer
 * swap.  Everything taken is written in one SQLite transaction (group
 * commit): a begin and its decision found in the same group become one
 * INSERT; a decision whose begin was written earlier an upsert; completions
 * go to tx_done.  Only after COMMIT returned (synced, at the configured
 * level) are the group's decisions reported durable.  A failed group is
 * rolled back and every decision in it gets the error: nothing is reported
 * durable that is not.
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

int iso__enqueue(iso_journal_db *db, iso__event *ev, size_t limit) {
  ev->next = NULL;
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
  if (db->tail) db->tail->next = ev;
  else db->head = ev;
  db->tail = ev;
  db->queued++;
  bool wake = db->writer_sleeping;
  db->writer_sleeping = false;
  pthread_mutex_unlock(&db->mu);
  if (wake) pthread_cond_signal(&db->cv);
  return 0;
}

/* ---- binding ------------------------------------------------------------- */

static void bind_blob(sqlite3_stmt *st, int i, const iso__event *ev,
                      iso__blob b) {
  if (b.off == UINT32_MAX) sqlite3_bind_null(st, i);
  else sqlite3_bind_blob(st, i, ev->data + b.off, (int)b.len, SQLITE_STATIC);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s) {
  if (*s) sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
  else sqlite3_bind_null(st, i);
}

static int step(sqlite3_stmt *st) {
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
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
  bind_blob(st, 13, b, b->request);
  bind_blob(st, 14, b, b->request_prot);
  if (d) {
    sqlite3_bind_int(st, 15, d->decision);
    sqlite3_bind_int(st, 16, d->reason);
    sqlite3_bind_int64(st, 17, (sqlite3_int64)d->at);
    bind_blob(st, 18, d, d->participants);
    bind_blob(st, 19, d, d->values);
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

/* ---- one group ------------------------------------------------------------ */

/* Pairs a begin with the decision that follows it in the same group, so the
 * two become one row write: an open-addressing table keyed by id. */
typedef struct pairing {
  iso__event **slot;
  size_t mask;
} pairing;

static void pair_init(pairing *p, size_t n, iso__event **stack, size_t stack_n) {
  size_t cap = 16;
  while (cap < 2 * n) cap <<= 1;
  p->slot = cap <= stack_n ? stack : calloc(cap, sizeof *p->slot);
  if (p->slot == stack) memset(stack, 0, cap * sizeof *stack);
  p->mask = p->slot ? cap - 1 : 0;
}

static iso__event **pair_find(pairing *p, uint64_t id) {
  size_t i = (size_t)((id * 0x9E3779B97F4A7C15ull) >> 32) & p->mask;
  while (p->slot[i] && p->slot[i]->tx_id != id) i = (i + 1) & p->mask;
  return &p->slot[i];
}

static void pair_decisions(iso__event *list, size_t n) {
  static _Thread_local iso__event *stack[8192];
  pairing pr;
  pair_init(&pr, n, stack, sizeof stack / sizeof *stack);
  if (!pr.slot) return; /* no memory: write them one by one */
  for (iso__event *e = list; e; e = e->next)
    if (e->kind == ISO__EV_BEGIN) *pair_find(&pr, e->tx_id) = e;
  for (iso__event *e = list; e; e = e->next) {
    if (e->kind != ISO__EV_DECISION) continue;
    iso__event *b = *pair_find(&pr, e->tx_id);
    if (b && !b->paired) {
      b->paired = e;
      e->paired = b;
    }
  }
  if (pr.slot != stack) free(pr.slot);
}

static int write_group(iso_journal_db *db, iso__event *list, size_t n) {
  pair_decisions(list, n);
  int rc = iso__sqlite_status(
      sqlite3_exec(db->wdb, "BEGIN IMMEDIATE", NULL, NULL, NULL));
  for (iso__event *e = list; e && !rc; e = e->next) {
    switch (e->kind) {
    case ISO__EV_BEGIN: rc = write_begin(db, e, e->paired); break;
    case ISO__EV_DECISION:
      if (!e->paired) rc = write_decision(db, e);
      break;
    case ISO__EV_COMPLETION: rc = write_completion(db, e); break;
    default: break;
    }
  }
  if (!rc) rc = iso__sqlite_status(sqlite3_exec(db->wdb, "COMMIT", NULL, NULL, NULL));
  if (rc) sqlite3_exec(db->wdb, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

/* Reports the group's outcome and frees its events. */
static void finish_group(iso_journal_db *db, iso__event *list, size_t n,
                         int rc, uint64_t write_ns) {
  size_t lost = 0;
  while (list) {
    iso__event *e = list;
    list = e->next;
    if (e->kind == ISO__EV_DECISION) {
      if (e->cb) e->cb(e->cb_arg, rc, write_ns);
    } else if (e->kind == ISO__EV_BARRIER) {
      pthread_mutex_lock(e->barrier_mu);
      *e->barrier_done = true;
      pthread_cond_broadcast(e->barrier_cv);
      pthread_mutex_unlock(e->barrier_mu);
      free(e);
      continue;
    }
    if (rc) lost++;
    free(e);
  }
  if (rc) {
    atomic_fetch_add(&db->n_failures, lost);
    atomic_fetch_add(&db->n_failed_groups, 1);
    if (db->cfg.failed) db->cfg.failed(db, rc, lost, db->cfg.failed_data);
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
    while (!db->head && !db->stopping) {
      db->writer_sleeping = true;
      pthread_cond_wait(&db->cv, &db->mu);
    }
    iso__event *list = db->head;
    size_t n = db->queued;
    db->head = db->tail = NULL;
    db->queued = 0;
    bool stop = db->stopping;
    pthread_mutex_unlock(&db->mu);
    if (list) {
      struct timespec c0, c1;
      clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
      uint64_t t0 = iso__mono_ns();
      int rc = write_group(db, list, n);
      finish_group(db, list, n, rc, iso__mono_ns() - t0);
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
  iso__event *ev = calloc(1, sizeof *ev);
  if (!ev) return;
  ev->kind = ISO__EV_BARRIER;
  ev->barrier_mu = &mu;
  ev->barrier_cv = &cv;
  ev->barrier_done = &done;
  if (iso__enqueue(db, ev, SIZE_MAX)) {
    free(ev);
    return;
  }
  pthread_mutex_lock(&mu);
  while (!done) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
}
