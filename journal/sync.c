/*
 * journal/sync.c -- pipelined durability, and how a group is reported.
 *
 * With synchronous=FULL, SQLite would sync the WAL inside every COMMIT, and
 * the writer would sit idle in fdatasync while decisions queue behind it
 * (a sync is 0.3 to 4 ms on this project's VM; with sync OFF the bench ran
 * about a quarter faster).  Instead the writer's connection commits with
 * synchronous=NORMAL (no sync at COMMIT) and hands the group here; this
 * thread syncs the WAL through SQLite's own file object (the VFS's xSync,
 * as SQLite's commit would) and only then reports the group's decisions
 * durable, while the writer writes the next group.  One sync covers every
 * group committed before it began: the groups waiting here are reported
 * together, in the order they were written.
 *
 * Why nothing is reported durable that is not:
 * - a group is reported after an xSync of the WAL that began after its
 *   COMMIT returned, that is after its frames were written: they are on
 *   disk;
 * - a checkpoint (the checkpointer's or the writer's tail copy) syncs the
 *   WAL before it copies frames into the database, and the database before
 *   it counts them copied (SQLite does both at synchronous=NORMAL as at
 *   FULL), so the database never holds a page whose frame could be lost;
 * - the WAL starts over only once every frame is copied and the database
 *   synced (SQLite's rule), so no frame is overwritten whose copy is not
 *   on disk;
 * - after a crash, SQLite's recovery keeps the WAL's frames up to the last
 *   commit whose frames all check out (checksums chained from the header's
 *   salt): a group that was never synced is lost whole or kept whole, and
 *   none of its decisions was reported.
 *
 * A failed sync leaves committed rows (other connections see them) whose
 * decisions are then reported failed: the flow declines those transactions
 * and aborts them.  The rows' COMMIT decisions are "undone" -- set to ABORT
 * (reason ISO_E_JOURNAL, as the flow records it) in the next group the
 * writer writes, kept and written again until a sync covers them -- so the
 * journal agrees with what was done.  A crash before that undo is synced
 * may leave such a decision as the disk kept it; the synchronous commit
 * has the same window (the frames of a COMMIT whose sync failed may survive
 * a crash), and a failed sync leaves the disk's state unknown either way.
 *
 * Not pipelined (NORMAL, OFF, or a WAL SQLite does not expose) the writer
 * reports each group itself right after COMMIT.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "journal/journal_internal.h"

/* ---- reporting ----------------------------------------------------------- */

static void release_barrier(const iso__event *e) {
  pthread_mutex_lock(e->barrier_mu);
  *e->barrier_done = true;
  pthread_cond_broadcast(e->barrier_cv);
  pthread_mutex_unlock(e->barrier_mu);
}

void iso__group_report(iso_journal_db *db, iso__group *g, int rc, uint64_t write_ns) {
  if (g->all_noted) {
    for (size_t i = 0; i < g->noted; i++) {
      const iso__notice *x = &g->notices[i];
      /* each callback's first touch of its ticket is a cache miss */
      if (i + 8 < g->noted) __builtin_prefetch(g->notices[i + 8].arg);
      if (x->cb) x->cb(x->arg, rc, write_ns);
      else release_barrier(x->arg);
    }
  } else {
    iso__event *e;
    FOR_EACH_EVENT(e, g->list) {
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

/* ---- groups, recycled ---------------------------------------------------- */

static void group_free(iso__group *g) {
  free(g->notices);
  free(g->undo);
  free(g);
}

iso__group *iso__group_get(iso_journal_db *db) {
  pthread_mutex_lock(&db->sync_mu);
  iso__group *g;
  while (!(g = db->group_free)) {
    pthread_mutex_unlock(&db->sync_mu);
    g = calloc(1, sizeof *g);
    pthread_mutex_lock(&db->sync_mu);
    if (g) break;
    /* Out of memory: two groups were made at start and the writer holds
     * none now, so the syncer has one to give back. */
    if (!db->group_free) pthread_cond_wait(&db->sync_free_cv, &db->sync_mu);
  }
  if (g == db->group_free) db->group_free = g->next;
  pthread_mutex_unlock(&db->sync_mu);
  g->next = NULL;
  g->list = NULL;
  g->noted = g->events = g->lost = g->undo_n = 0;
  g->all_noted = true;
  g->rc = 0;
  g->wal = NULL;
  return g;
}

void iso__group_put(iso_journal_db *db, iso__group *g) {
  pthread_mutex_lock(&db->sync_mu);
  g->next = db->group_free;
  db->group_free = g;
  pthread_cond_signal(&db->sync_free_cv);
  pthread_mutex_unlock(&db->sync_mu);
}

/* ---- undos ---------------------------------------------------------------- */

/* Under sync_mu.  An undo that cannot be kept (out of memory) is dropped:
 * the row keeps COMMIT while its completion says ABORT (verify names it). */
static void undo_add(iso_journal_db *db, uint64_t tx_id, int reason) {
  if (db->undo_n == db->undo_cap) {
    size_t cap = db->undo_cap ? 2 * db->undo_cap : 256;
    iso__undo *p = realloc(db->undo, cap * sizeof *p);
    if (!p) return;
    db->undo = p;
    db->undo_cap = cap;
  }
  db->undo[db->undo_n++] = (iso__undo){tx_id, reason};
}

void iso__undo_return(iso_journal_db *db, iso__group *g) {
  pthread_mutex_lock(&db->sync_mu);
  for (size_t i = 0; i < g->undo_n; i++) undo_add(db, g->undo[i].tx_id, g->undo[i].reason);
  g->undo_n = 0;
  pthread_mutex_unlock(&db->sync_mu);
}

/* A committed group whose sync failed: its undos and its COMMIT decisions
 * are to be (re)written. */
static void undo_failed(iso_journal_db *db, iso__group *g) {
  iso__undo_return(db, g);
  pthread_mutex_lock(&db->sync_mu);
  iso__event *e;
  FOR_EACH_EVENT(e, g->list)
    if (e->kind == ISO__EV_DECISION && e->decision == ISO_DECISION_COMMIT)
      undo_add(db, e->tx_id, ISO_E_JOURNAL);
  pthread_mutex_unlock(&db->sync_mu);
}

int iso__undo_write(iso_journal_db *db, iso__group *g) {
  pthread_mutex_lock(&db->sync_mu);
  if (db->undo_n) { /* swap the arrays: both keep their capacity */
    iso__undo *mine = g->undo;
    size_t cap = g->undo_cap;
    g->undo = db->undo;
    g->undo_cap = db->undo_cap;
    g->undo_n = db->undo_n;
    db->undo = mine;
    db->undo_cap = cap;
    db->undo_n = 0;
  }
  pthread_mutex_unlock(&db->sync_mu);
  for (size_t i = 0; i < g->undo_n; i++) {
    sqlite3_stmt *st = db->st_undo;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)g->undo[i].tx_id);
    sqlite3_bind_int(st, 2, g->undo[i].reason);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    if (rc != SQLITE_DONE) return iso__sqlite_status(rc);
  }
  return 0;
}

/* ---- the syncer ------------------------------------------------------------ */

void iso__sync_push(iso_journal_db *db, iso__group *g) {
  pthread_mutex_lock(&db->sync_mu);
  if (db->sync_tail) db->sync_tail->next = g;
  else db->sync_head = g;
  db->sync_tail = g;
  pthread_cond_signal(&db->sync_cv);
  pthread_mutex_unlock(&db->sync_mu);
}

/* Committing another group before the syncer has taken the last one gains
 * nothing (its next sync covers both) and makes groups small: each COMMIT
 * writes the tables' last pages again, and the writer's CPU per
 * transaction went up a fifth with groups of 40.  So the writer waits
 * until the syncer has taken what it handed over, and what is queued
 * meanwhile makes a bigger group: written while the syncer syncs. */
void iso__sync_wait_taken(iso_journal_db *db) {
  pthread_mutex_lock(&db->sync_mu);
  while (db->sync_head) pthread_cond_wait(&db->sync_taken_cv, &db->sync_mu);
  pthread_mutex_unlock(&db->sync_mu);
}

/* One sync for every committed group of the batch, then the reports in
 * order (a group whose write failed reports its own error). */
static void sync_and_report(iso_journal_db *db, iso__group *batch) {
  struct timespec c0, c1;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
  sqlite3_file *wal = NULL;
  bool committed = false;
  for (iso__group *g = batch; g; g = g->next)
    if (!g->rc) {
      committed = true;
      if (g->wal) wal = g->wal;
    }
  int status = 0;
  if (committed)
    status = wal && wal->pMethods ? iso__sqlite_status(wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL))
                                  : ISO_E_JOURNAL;
  uint64_t now = iso__mono_ns();
  for (iso__group *g = batch, *next; g; g = next) {
    next = g->next;
    if (!g->rc && status) undo_failed(db, g);
    iso__group_report(db, g, g->rc ? g->rc : status, now - g->t0);
    iso__recycle(db, g->list);
    iso__group_put(db, g);
  }
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
  atomic_fetch_add(&db->n_cpu_ns, (uint64_t)((c1.tv_sec - c0.tv_sec) * 1000000000ll +
                                             (c1.tv_nsec - c0.tv_nsec)));
}

static void *syncer_main(void *arg) {
  iso_journal_db *db = arg;
  pthread_mutex_lock(&db->sync_mu);
  for (;;) {
    while (!db->sync_head && !db->sync_stop) pthread_cond_wait(&db->sync_cv, &db->sync_mu);
    iso__group *batch = db->sync_head;
    if (!batch) break; /* stopping, and every group reported */
    db->sync_head = db->sync_tail = NULL;
    pthread_cond_signal(&db->sync_taken_cv);
    pthread_mutex_unlock(&db->sync_mu);
    sync_and_report(db, batch);
    pthread_mutex_lock(&db->sync_mu);
  }
  pthread_mutex_unlock(&db->sync_mu);
  return NULL;
}

/* Pipelining needs SQLite's file object of the WAL; its first sync (which
 * also syncs the directory of a new WAL, once) runs here, before the
 * threads, so that the syncer and the writer's own checkpoints never share
 * that one-time step. */
static bool pipeline(iso_journal_db *db) {
  sqlite3_file *wal = NULL;
  if (sqlite3_file_control(db->wdb, "main", SQLITE_FCNTL_JOURNAL_POINTER, &wal) != SQLITE_OK ||
      !wal || !wal->pMethods)
    return false;
  if (wal->pMethods->xSync(wal, SQLITE_SYNC_NORMAL) != SQLITE_OK) return false;
  return sqlite3_exec(db->wdb, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) == SQLITE_OK;
}

int iso__sync_start(iso_journal_db *db) {
  pthread_mutex_init(&db->sync_mu, NULL);
  pthread_cond_init(&db->sync_cv, NULL);
  pthread_cond_init(&db->sync_free_cv, NULL);
  pthread_cond_init(&db->sync_taken_cv, NULL);
  db->sync_started = true;
  for (int i = 0; i < 2; i++) {
    iso__group *g = calloc(1, sizeof *g);
    if (!g) return ISO_E_NOMEM; /* iso__sync_stop frees */
    g->next = db->group_free;
    db->group_free = g;
  }
  /* ISO_DECISION_ABORT and _COMMIT are 2 and 1 */
  int rc = sqlite3_prepare_v3(db->wdb, "UPDATE tx SET decision = 2, reason = ?2"
                              " WHERE id = ?1 AND decision = 1",
                              -1, SQLITE_PREPARE_PERSISTENT, &db->st_undo, NULL);
  if (rc) return iso__sqlite_status(rc);
  if (db->cfg.sync != ISO_JOURNAL_SYNC_FULL || !pipeline(db)) return 0;
  if (pthread_create(&db->sync_thread, NULL, syncer_main, db)) {
    sqlite3_exec(db->wdb, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
    return 0; /* synchronous commits, as before */
  }
  db->pipelined = true;
  return 0;
}

void iso__sync_stop(iso_journal_db *db) {
  if (!db->sync_started) return;
  if (db->pipelined) {
    pthread_mutex_lock(&db->sync_mu);
    db->sync_stop = true;
    pthread_cond_signal(&db->sync_cv);
    pthread_mutex_unlock(&db->sync_mu);
    pthread_join(db->sync_thread, NULL);
    db->pipelined = false;
  }
  sqlite3_finalize(db->st_undo);
  db->st_undo = NULL;
  while (db->group_free) {
    iso__group *g = db->group_free;
    db->group_free = g->next;
    group_free(g);
  }
  free(db->undo);
  db->undo = NULL;
  db->undo_n = db->undo_cap = 0;
  pthread_mutex_destroy(&db->sync_mu);
  pthread_cond_destroy(&db->sync_cv);
  pthread_cond_destroy(&db->sync_free_cv);
  pthread_cond_destroy(&db->sync_taken_cv);
  db->sync_started = false;
}
