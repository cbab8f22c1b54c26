/*
 * tests/support/journal_support.c -- see journal_support.h.  The fault VFS
 * wraps the default unix VFS and fails xWrite / xSync on demand, or reports
 * SQLITE_FULL, the way SQLite's own *fault.test suites inject I/O errors.
 */
#define _GNU_SOURCE
#include "support/journal_support.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void set(iso_msg *m, int f, const char *v) {
  iso_msg_set_copy(m, f, v, strlen(v));
}

void jt_request(iso_msg *m, const iso_spec *spec, unsigned stan) {
  char buf[16];
  iso_msg_init(m, spec);
  iso_msg_set_mti(m, "0200");
  set(m, 2, JT_PAN);
  set(m, 3, "000000");
  set(m, 4, "000000012345");
  set(m, 7, "1123101500");
  snprintf(buf, sizeof buf, "%06u", stan % 1000000);
  set(m, 11, buf);
  set(m, 35, JT_TRACK2);
  snprintf(buf, sizeof buf, "RRN%09u", stan);
  set(m, 37, buf);
  set(m, 41, "TERM0001");
  set(m, 49, "840");
  iso_msg_set_copy(m, 52, JT_PIN, 8);
}

void jt_response(iso_msg *m, const iso_spec *spec, unsigned stan,
                 const char *rc) {
  char buf[16];
  iso_msg_init(m, spec);
  iso_msg_set_mti(m, "0210");
  set(m, 2, JT_PAN);
  set(m, 4, "000000012345");
  snprintf(buf, sizeof buf, "%06u", stan % 1000000);
  set(m, 11, buf);
  set(m, 39, rc);
  set(m, 41, "TERM0001");
}

static char dir[256];

const char *jt_dir(void) {
  if (!dir[0]) {
    snprintf(dir, sizeof dir, "/tmp/isoflow-journal-XXXXXX");
    if (!mkdtemp(dir)) abort();
  }
  return dir;
}

void jt_path(char *out, size_t cap, const char *name) {
  snprintf(out, cap, "%s/%s", jt_dir(), name);
}

void jt_cleanup(void) {
  if (!dir[0]) return;
  char cmd[300];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
  if (system(cmd) != 0) fprintf(stderr, "cleanup of %s failed\n", dir);
  dir[0] = 0;
}

const char *jt_key_file(bool hex) {
  static char path[300];
  jt_path(path, sizeof path, hex ? "key.hex" : "key.bin");
  FILE *f = fopen(path, "wb");
  if (!f) abort();
  for (int i = 0; i < 32; i++) {
    if (hex) fprintf(f, "%02x", i * 7 + 1);
    else fputc(i * 7 + 1, f);
  }
  if (hex) fputc('\n', f);
  fclose(f);
  return path;
}

bool jt_file_contains(const char *path, const void *needle, size_t len) {
  FILE *f = fopen(path, "rb");
  if (!f) return false;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
  size_t got = fread(buf, 1, n > 0 ? (size_t)n : 0, f);
  fclose(f);
  bool found = got >= len && memmem(buf, got, needle, len) != NULL;
  free(buf);
  return found;
}

void jt_config(iso_journal_config *cfg, char *path, size_t cap, const char *name) {
  jt_path(path, cap, name);
  iso_journal_config_init(cfg);
  cfg->path = path;
  cfg->spec = iso_spec_builtin("iso87a");
}

int jt_open(const char *name, const char *key_file, bool durable,
            iso_journal_db **out) {
  char path[300];
  iso_journal_config cfg;
  jt_config(&cfg, path, sizeof path, name);
  cfg.key_file = key_file;
  cfg.sync = durable ? ISO_JOURNAL_SYNC_FULL : ISO_JOURNAL_SYNC_OFF;
  return iso_journal_open(&cfg, out);
}

uint64_t jt_base_ns = 1700000000000000000ull;

typedef struct waiter {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  bool done;
  int status;
} waiter;

static void durable(void *arg, int status, uint64_t write_ns) {
  (void)write_ns;
  waiter *w = arg;
  pthread_mutex_lock(&w->mu);
  w->done = true;
  w->status = status;
  pthread_cond_signal(&w->cv);
  pthread_mutex_unlock(&w->mu);
}

int jt_log_tx(iso_journal_db *db, uint64_t id, unsigned stan,
              iso_decision decision, bool complete) {
  const iso_spec *spec = iso_spec_builtin("iso87a");
  iso_msg req, resp;
  jt_request(&req, spec, stan);
  char key[32];
  int kn = snprintf(key, sizeof key, "0200|%06u|TERM0001", stan);
  iso_journal_begin b = {.tx_id = id,
                         .idempotency_key = (const uint8_t *)key,
                         .idempotency_key_len = (size_t)kn,
                         .fingerprint = 0x1234 + id,
                         .request = &req,
                         .started_at = jt_base_ns + id * 1000};
  int rc = iso_journal_log_begin(db, &b);
  iso_msg_cleanup(&req);
  if (rc) return rc;
  if (decision == ISO_DECISION_NONE) return 0;
  const char *parts[] = {"auth", "ledger"};
  iso_tx_value vals[] = {{"hold", (const uint8_t *)"H-1", 3}};
  iso_journal_decision d = {.tx_id = id, .decision = decision,
                            .participants = parts, .participant_count = 2,
                            .values = vals, .value_count = 1};
  waiter w = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0};
  rc = iso_journal_log_decision(db, &d, durable, &w);
  if (rc) return rc;
  pthread_mutex_lock(&w.mu);
  while (!w.done) pthread_cond_wait(&w.cv, &w.mu);
  pthread_mutex_unlock(&w.mu);
  if (w.status || !complete) return w.status;
  const char *code = decision == ISO_DECISION_COMMIT ? "00" : "05";
  jt_response(&resp, spec, stan, code);
  iso_stage_timing st[] = {{"auth", ISO_PHASE_PREPARE, 0, 1000 * (id % 10 + 1)},
                           {"ledger", ISO_PHASE_PREPARE, 2000, 500},
                           {NULL, ISO_PHASE_TOTAL, 0, 10000}};
  iso_journal_completion c = {.tx_id = id, .decision = decision,
                              .response = &resp, .stages = st,
                              .stage_count = 3,
                              .finished_at = b.started_at + 10000};
  memcpy(c.response_code, code, 3);
  rc = iso_journal_log_completion(db, &c);
  iso_msg_cleanup(&resp);
  return rc;
}

/* ---- fault VFS ------------------------------------------------------------ */

static sqlite3_vfs fault_vfs;
static sqlite3_vfs *base_vfs;
static struct sqlite3_io_methods fault_methods;
static const struct sqlite3_io_methods *base_methods;
static _Atomic int fault_kind, fault_after, fault_hits;

typedef struct fault_file {
  sqlite3_file base;
  sqlite3_file *real; /* follows this struct */
} fault_file;

static int take(int kind) {
  if (atomic_load(&fault_kind) != kind &&
      !(kind == JT_FAULT_WRITE && atomic_load(&fault_kind) == JT_FAULT_FULL))
    return 0;
  if (atomic_fetch_sub(&fault_after, 1) > 0) return 0;
  atomic_fetch_add(&fault_hits, 1);
  return 1;
}

static int f_close(sqlite3_file *f) { return ((fault_file *)f)->real->pMethods->xClose(((fault_file *)f)->real); }
static int f_read(sqlite3_file *f, void *b, int n, sqlite3_int64 o) { return ((fault_file *)f)->real->pMethods->xRead(((fault_file *)f)->real, b, n, o); }
static int f_write(sqlite3_file *f, const void *b, int n, sqlite3_int64 o) {
  if (take(JT_FAULT_WRITE))
    return atomic_load(&fault_kind) == JT_FAULT_FULL ? SQLITE_FULL : SQLITE_IOERR_WRITE;
  return ((fault_file *)f)->real->pMethods->xWrite(((fault_file *)f)->real, b, n, o);
}
static int f_truncate(sqlite3_file *f, sqlite3_int64 s) { return ((fault_file *)f)->real->pMethods->xTruncate(((fault_file *)f)->real, s); }
static int f_sync(sqlite3_file *f, int flags) {
  if (take(JT_FAULT_SYNC)) return SQLITE_IOERR_FSYNC;
  return ((fault_file *)f)->real->pMethods->xSync(((fault_file *)f)->real, flags);
}
static int f_size(sqlite3_file *f, sqlite3_int64 *s) { return ((fault_file *)f)->real->pMethods->xFileSize(((fault_file *)f)->real, s); }
static int f_lock(sqlite3_file *f, int l) { return ((fault_file *)f)->real->pMethods->xLock(((fault_file *)f)->real, l); }
static int f_unlock(sqlite3_file *f, int l) { return ((fault_file *)f)->real->pMethods->xUnlock(((fault_file *)f)->real, l); }
static int f_check(sqlite3_file *f, int *r) { return ((fault_file *)f)->real->pMethods->xCheckReservedLock(((fault_file *)f)->real, r); }
static int f_fctl(sqlite3_file *f, int op, void *a) { return ((fault_file *)f)->real->pMethods->xFileControl(((fault_file *)f)->real, op, a); }
static int f_sector(sqlite3_file *f) { return ((fault_file *)f)->real->pMethods->xSectorSize(((fault_file *)f)->real); }
static int f_dev(sqlite3_file *f) { return ((fault_file *)f)->real->pMethods->xDeviceCharacteristics(((fault_file *)f)->real); }
static int f_shmmap(sqlite3_file *f, int i, int sz, int e, void volatile **p) { return ((fault_file *)f)->real->pMethods->xShmMap(((fault_file *)f)->real, i, sz, e, p); }
static int f_shmlock(sqlite3_file *f, int o, int n, int fl) { return ((fault_file *)f)->real->pMethods->xShmLock(((fault_file *)f)->real, o, n, fl); }
static void f_shmbarrier(sqlite3_file *f) { ((fault_file *)f)->real->pMethods->xShmBarrier(((fault_file *)f)->real); }
static int f_shmunmap(sqlite3_file *f, int d) { return ((fault_file *)f)->real->pMethods->xShmUnmap(((fault_file *)f)->real, d); }

static int f_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file,
                  int flags, int *out_flags) {
  (void)vfs;
  fault_file *ff = (fault_file *)file;
  ff->real = (sqlite3_file *)(ff + 1);
  int rc = base_vfs->xOpen(base_vfs, name, ff->real, flags, out_flags);
  if (rc) {
    ff->base.pMethods = NULL;
    return rc;
  }
  base_methods = ff->real->pMethods;
  fault_methods = (struct sqlite3_io_methods){
      .iVersion = base_methods->iVersion < 2 ? base_methods->iVersion : 2,
      .xClose = f_close, .xRead = f_read, .xWrite = f_write,
      .xTruncate = f_truncate, .xSync = f_sync, .xFileSize = f_size,
      .xLock = f_lock, .xUnlock = f_unlock, .xCheckReservedLock = f_check,
      .xFileControl = f_fctl, .xSectorSize = f_sector,
      .xDeviceCharacteristics = f_dev, .xShmMap = f_shmmap,
      .xShmLock = f_shmlock, .xShmBarrier = f_shmbarrier,
      .xShmUnmap = f_shmunmap};
  ff->base.pMethods = &fault_methods;
  return 0;
}

static int v_delete(sqlite3_vfs *v, const char *n, int s) { (void)v; return base_vfs->xDelete(base_vfs, n, s); }
static int v_access(sqlite3_vfs *v, const char *n, int f, int *r) { (void)v; return base_vfs->xAccess(base_vfs, n, f, r); }
static int v_full(sqlite3_vfs *v, const char *n, int c, char *o) { (void)v; return base_vfs->xFullPathname(base_vfs, n, c, o); }
static int v_rand(sqlite3_vfs *v, int n, char *o) { (void)v; return base_vfs->xRandomness(base_vfs, n, o); }
static int v_sleep(sqlite3_vfs *v, int us) { (void)v; return base_vfs->xSleep(base_vfs, us); }
static int v_time(sqlite3_vfs *v, double *t) { (void)v; return base_vfs->xCurrentTime(base_vfs, t); }
static int v_err(sqlite3_vfs *v, int n, char *o) { (void)v; return base_vfs->xGetLastError(base_vfs, n, o); }
static int v_time64(sqlite3_vfs *v, sqlite3_int64 *t) { (void)v; return base_vfs->xCurrentTimeInt64(base_vfs, t); }

void jt_fault_register(void) {
  if (base_vfs) return;
  base_vfs = sqlite3_vfs_find(NULL);
  fault_vfs = (sqlite3_vfs){
      .iVersion = 2, .szOsFile = (int)sizeof(fault_file) + base_vfs->szOsFile,
      .mxPathname = base_vfs->mxPathname, .zName = "jtfault",
      .xOpen = f_open, .xDelete = v_delete, .xAccess = v_access,
      .xFullPathname = v_full, .xRandomness = v_rand, .xSleep = v_sleep,
      .xCurrentTime = v_time, .xGetLastError = v_err,
      .xCurrentTimeInt64 = v_time64};
  sqlite3_vfs_register(&fault_vfs, 0);
}

void jt_fault_arm(int kind, int after) {
  atomic_store(&fault_after, after);
  atomic_store(&fault_kind, kind);
}

int jt_fault_hits(void) { return atomic_load(&fault_hits); }

void jt_on_decision(void *arg, int status, uint64_t write_ns) {
  (void)write_ns;
  jt_outcome *o = arg;
  if (status) {
    atomic_fetch_add(&o->failed, 1);
    atomic_store(&o->last_error, status);
  } else {
    atomic_fetch_add(&o->durable, 1);
  }
}
