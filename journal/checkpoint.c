/*
 * journal/checkpoint.c -- WAL checkpoints: the bulk on their own thread and
 * connection, the last few pages on the writer's, so that the WAL starts
 * over.
 *
 * Left to SQLite, a checkpoint runs inside the writer's COMMIT once the WAL
 * passes 1000 pages: the profile showed it at about 10% of the writer's
 * time, plus a sync of the database file that every decision of the next
 * group waits behind.  Here the writer only watches the WAL (a WAL hook, run
 * after each COMMIT) and wakes this thread once CHECKPOINT_BYTES have been
 * added since its last copy; the thread runs a PASSIVE checkpoint, which
 * copies what is committed without blocking the writer.
 *
 * A WAL only starts over (is written again from its first frame) when the
 * writer begins a transaction while every frame has been copied -- and a
 * busy writer has always added frames by the time a background copy ends.
 * So once the WAL holds RESTART_BYTES, the thread is asked for another copy
 * (two more at most, while over TAIL_BYTES are left behind), and then the
 * writer copies what was added meanwhile itself, right after its COMMIT; its
 * next transaction starts the WAL over.  That matters on disks where writing
 * blocks a file already has is much cheaper than growing it (this project's
 * VM: 1 GB/s against 250 MB/s, and a 64 KiB synced write 1.2 ms against
 * 3.4 ms).  Before, the WAL grew by every COMMIT for as long as traffic
 * lasted (55 MB in 5 s at 30,000 tx/s with 4 KiB pages), and the thread,
 * woken by every COMMIT once past 1000 pages, ran some 600 checkpoints a
 * second, each with its syncs: 3.7 us of CPU per transaction, and every
 * COMMIT that overlapped one took twice as long.  The thresholds are bytes:
 * a new journal has 16 KiB pages, an old one may have 4 KiB.
 *
 * TAIL_BYTES was 1 MiB; at 256 KiB the writer's own copy (which its next
 * group waits behind) is smaller more often, and e2e.p99_at_50k measured
 * 4.48 ms against 4.71 (median of 10 alternated runs each; worst 5.4
 * against 7.3 ms) -- a small gain, near the disk's own variance.
 *
 * iso__checkpoint_decide is the policy, apart from the threads, for tests.
 */
#include <time.h>

#include "journal/journal_internal.h"

/* The policy's defaults in bytes of WAL, turned into pages of the journal's
 * page size at start; tests set their own. */
#define CHECKPOINT_BYTES (4u << 20) /* added since the last copy: wake the thread */
#define RESTART_BYTES (32u << 20)   /* WAL size at which it should start over */
#define TAIL_BYTES (256u << 10)     /* the writer copies the rest itself when no more */
#define TAIL_ROUNDS 2               /* ... or after this many more rounds of the thread */

static void wake(iso_journal_db *j) {
  pthread_mutex_lock(&j->ck_mu);
  j->ck_wanted = true;
  pthread_cond_signal(&j->ck_cv);
  pthread_mutex_unlock(&j->ck_mu);
}

static bool copying(iso_journal_db *j) {
  pthread_mutex_lock(&j->ck_mu);
  bool busy = j->ck_busy;
  pthread_mutex_unlock(&j->ck_mu);
  return busy;
}

/* Takes the copying over from the thread (false when it is copying): a
 * request it has not started on is dropped, and it starts none until
 * release(). */
static bool claim(iso_journal_db *j) {
  pthread_mutex_lock(&j->ck_mu);
  bool free = !j->ck_busy;
  if (free) {
    j->ck_wanted = false;
    j->ck_busy = true;
  }
  pthread_mutex_unlock(&j->ck_mu);
  return free;
}

static void release(iso_journal_db *j) {
  pthread_mutex_lock(&j->ck_mu);
  j->ck_busy = false;
  pthread_mutex_unlock(&j->ck_mu);
}

/* The writer copies what the thread has not: after it, every frame is in
 * the database, and the writer's next transaction starts the WAL over
 * (unless a reader still holds an older snapshot: then the next COMMIT
 * tries again). */
static void copy_tail(iso_journal_db *j, sqlite3 *db) {
  if (!claim(j)) return; /* the thread just started: decided again next COMMIT */
  int log = 0, done = 0;
  if (sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done) == SQLITE_OK)
    atomic_store(&j->ck_copied, (uint64_t)done);
  else
    atomic_fetch_add(&j->n_ck_failures, 1);
  atomic_fetch_add(&j->n_ck_tails, 1);
  release(j);
}

iso__ck_action iso__checkpoint_decide(iso__ck_policy *p, uint64_t wal_pages,
                                      uint64_t copied, bool copying, uint64_t rounds) {
  uint64_t behind = wal_pages > copied ? wal_pages - copied : 0;
  if (wal_pages < p->restart_pages) {
    p->restart_from = UINT64_MAX;
    return behind >= p->pages && !copying ? ISO__CK_WAKE : ISO__CK_NONE;
  }
  if (copying) return ISO__CK_NONE; /* look again after the next COMMIT */
  /* Time to start over.  Let the thread copy the bulk first (what the
   * writer copies itself, its next group waits for): the writer finishes
   * once little is left, or once the thread has had TAIL_ROUNDS more
   * copies to get there. */
  if (p->restart_from == UINT64_MAX) p->restart_from = rounds;
  if (behind > p->tail_pages && rounds - p->restart_from < TAIL_ROUNDS) return ISO__CK_WAKE;
  p->restart_from = UINT64_MAX;
  return ISO__CK_TAIL;
}

/* On the writer's thread, after each COMMIT; `pages` is the WAL's size. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages) {
  (void)name;
  iso_journal_db *j = arg;
  uint64_t copied = atomic_load(&j->ck_copied);
  if ((uint64_t)pages < copied) { /* the WAL started over */
    copied = 0;
    atomic_store(&j->ck_copied, 0);
  }
  switch (iso__checkpoint_decide(&j->ck_policy, (uint64_t)pages, copied, copying(j),
                                 atomic_load(&j->n_checkpoints))) {
  case ISO__CK_WAKE: wake(j); break;
  case ISO__CK_TAIL: copy_tail(j, db); break;
  default: break;
  }
  return SQLITE_OK;
}

void iso__checkpoint_set_pages(iso_journal_db *j, uint32_t pages, uint32_t restart_pages,
                               uint32_t tail_pages) {
  j->ck_policy = (iso__ck_policy){pages, restart_pages, tail_pages, UINT64_MAX};
}

void iso__checkpoint_stats(iso_journal_db *j, uint64_t *background, uint64_t *tails) {
  *background = atomic_load(&j->n_checkpoints);
  *tails = atomic_load(&j->n_ck_tails);
}

static void *checkpointer(void *arg) {
  iso_journal_db *j = arg;
  pthread_mutex_lock(&j->ck_mu);
  while (!j->ck_stop) {
    if (!j->ck_wanted) {
      pthread_cond_wait(&j->ck_cv, &j->ck_mu);
      continue;
    }
    j->ck_wanted = false;
    j->ck_busy = true;
    pthread_mutex_unlock(&j->ck_mu);
    int log = 0, done = 0;
    if (sqlite3_wal_checkpoint_v2(j->cdb, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done) ==
        SQLITE_OK)
      atomic_store(&j->ck_copied, (uint64_t)done);
    else
      atomic_fetch_add(&j->n_ck_failures, 1); /* retried at the next wake */
    atomic_fetch_add(&j->n_checkpoints, 1);
    pthread_mutex_lock(&j->ck_mu);
    j->ck_busy = false;
  }
  pthread_mutex_unlock(&j->ck_mu);
  return NULL;
}

/* The database's page size (4096 when it cannot be read). */
static uint32_t page_size(sqlite3 *db) {
  sqlite3_stmt *st;
  uint32_t page = 4096;
  if (sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &st, NULL) != SQLITE_OK) return page;
  if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) >= 512)
    page = (uint32_t)sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  return page;
}

int iso__checkpointer_start(iso_journal_db *j) {
  char why[256] = "";
  int rc = iso__schema_open(j, &j->cdb, false, why, sizeof why);
  if (rc) return rc;
  pthread_mutex_init(&j->ck_mu, NULL);
  pthread_cond_init(&j->ck_cv, NULL);
  uint32_t page = page_size(j->wdb);
  iso__checkpoint_set_pages(j, CHECKPOINT_BYTES / page, RESTART_BYTES / page, TAIL_BYTES / page);
  if (pthread_create(&j->ck_thread, NULL, checkpointer, j)) {
    pthread_mutex_destroy(&j->ck_mu);
    pthread_cond_destroy(&j->ck_cv);
    return ISO_E_NOMEM;
  }
  j->ck_started = true;
  sqlite3_wal_hook(j->wdb, wal_hook, j); /* replaces the automatic one */
  return 0;
}

void iso__checkpointer_stop(iso_journal_db *j) {
  if (!j->ck_started) return;
  sqlite3_wal_hook(j->wdb, NULL, NULL);
  pthread_mutex_lock(&j->ck_mu);
  j->ck_stop = true;
  pthread_cond_signal(&j->ck_cv);
  pthread_mutex_unlock(&j->ck_mu);
  pthread_join(j->ck_thread, NULL);
  pthread_mutex_destroy(&j->ck_mu);
  pthread_cond_destroy(&j->ck_cv);
  j->ck_started = false;
}
