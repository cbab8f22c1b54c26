/*
 * journal/checkpoint.c -- WAL checkpoints on their own thread and
 * connection.  Left to SQLite, a checkpoint runs inside the writer's COMMIT
 * once the WAL passes 1000 pages: the profile showed it at about 10% of the
 * writer's time, plus a sync of the database file that every decision of the
 * next group waits behind.  Here the writer only counts WAL pages (a WAL hook)
 * and wakes this thread, which runs PASSIVE checkpoints: they copy what is
 * committed without ever blocking the writer.
 */
#include <time.h>

#include "journal/journal_internal.h"

#define CHECKPOINT_PAGES 1000

static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages) {
  (void)db;
  (void)name;
  iso_journal_db *j = arg;
  if (pages >= CHECKPOINT_PAGES) {
    pthread_mutex_lock(&j->ck_mu);
    j->ck_wanted = true;
    pthread_cond_signal(&j->ck_cv);
    pthread_mutex_unlock(&j->ck_mu);
  }
  return SQLITE_OK;
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
    pthread_mutex_unlock(&j->ck_mu);
    int log = 0, done = 0;
    if (sqlite3_wal_checkpoint_v2(j->cdb, NULL, SQLITE_CHECKPOINT_PASSIVE, &log,
                                  &done) != SQLITE_OK)
      atomic_fetch_add(&j->n_ck_failures, 1); /* retried at the next wake */
    pthread_mutex_lock(&j->ck_mu);
  }
  pthread_mutex_unlock(&j->ck_mu);
  return NULL;
}

int iso__checkpointer_start(iso_journal_db *j) {
  char why[256] = "";
  int rc = iso__schema_open(j, &j->cdb, false, why, sizeof why);
  if (rc) return rc;
  pthread_mutex_init(&j->ck_mu, NULL);
  pthread_cond_init(&j->ck_cv, NULL);
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
