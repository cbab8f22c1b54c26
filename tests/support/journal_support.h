/*
 * tests/support/journal_support.h -- helpers the journal suites share: test
 * messages with known card data, temporary journal paths, scanning files for
 * clear card data, and a fault-injecting SQLite VFS.
 */
#ifndef ISOFLOW_TESTS_JOURNAL_SUPPORT_H
#define ISOFLOW_TESTS_JOURNAL_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "isoflow/journal.h"

#define JT_PAN "4111111111111111"
#define JT_TRACK2 "4111111111111111=25121010000012300000"
#define JT_PIN "\x12\x34\x56\x78\x9a\xbc\xde\xf0"

/* A 0200 with PAN, track 2, PIN block and the identity fields. */
void jt_request(iso_msg *m, const iso_spec *spec, unsigned stan);
/* Its 0210 response with DE 39 rc (echoes DE 2). */
void jt_response(iso_msg *m, const iso_spec *spec, unsigned stan,
                 const char *rc);

/* A fresh directory under /tmp; paths inside it. Removed by jt_cleanup. */
const char *jt_dir(void);
void jt_path(char *out, size_t cap, const char *name);
void jt_cleanup(void);
/* Writes a 32-byte key file (hex when hex) and returns its path. */
const char *jt_key_file(bool hex);

/* Whether the file holds the bytes anywhere. */
bool jt_file_contains(const char *path, const void *needle, size_t len);

/* A journal config with the defaults for dir/name, spec iso87a; the path is
 * written into path (cap bytes), which must outlive cfg. */
void jt_config(iso_journal_config *cfg, char *path, size_t cap, const char *name);

/* Opens a journal at dir/name (spec iso87a, sync OFF unless durable). */
int jt_open(const char *name, const char *key_file, bool durable,
            iso_journal_db **out);

/* started_at of transaction id is jt_base_ns + id * 1000, finished_at
 * 10000 later (default base 1700000000000000000). */
extern uint64_t jt_base_ns;

/* Logs begin + decision (waits until durable) + completion for one
 * transaction; returns the durable status. */
int jt_log_tx(iso_journal_db *db, uint64_t id, unsigned stan,
              iso_decision decision, bool complete);

/* Decisions reported durable and failed, and the last failure's status:
 * pass jt_on_decision with a jt_outcome to iso_journal_log_decision (the
 * report comes on the writer's or the syncer's thread). */
typedef struct jt_outcome {
  _Atomic int durable, failed, last_error;
} jt_outcome;
void jt_on_decision(void *arg, int status, uint64_t write_ns);

/* ---- the fault VFS ("jtfault") -------------------------------------------- */
enum { JT_FAULT_NONE = 0, JT_FAULT_WRITE, JT_FAULT_SYNC, JT_FAULT_FULL };
/* Registers the VFS (once). */
void jt_fault_register(void);
/* Arms a fault: after `after` more successful calls of that kind, every call
 * fails until disarmed with JT_FAULT_NONE. */
void jt_fault_arm(int kind, int after);
int jt_fault_hits(void);

#endif
