/*
 * examples/issuer/history.c -- card balances durable across restarts,
 * always agreeing with the journal.  Nothing but the journal is stored: at
 * start the balances are the opening ones, minus every committed and
 * completed authorization's hold, plus every committed and completed
 * reversal's refund (the persistent values "hold" and "refund", read back
 * with the journal's query API, in id order so that a reversal finds its
 * original in the log).  Then recovery runs commit or abort again for the
 * transactions the journal holds without a completion; the participants'
 * recovery paths apply a commit from its value and ignore an abort (its
 * hold died with the process), so every transaction counts exactly once.
 */
#include <stdio.h>
#include <string.h>

#include "examples/issuer/issuer_app.h"

#ifdef ISOFLOW_HAVE_JOURNAL

static int apply_row(const iso_journal_row *row, void *data) {
  iss_app *app = data;
  if (!row->completed || row->decision != ISO_DECISION_COMMIT) return 0;
  iso_msg empty;
  iso_msg_init(&empty, app->spec);
  const iso_msg *req = row->request ? row->request : &empty;
  for (size_t i = 0; i < row->value_count; i++) {
    const iso_tx_value *v = &row->values[i];
    int rc = 0;
    if (!strcmp(v->name, ISO__CTX_HOLD))
      rc = iso__issuer_apply_capture(&app->issuer, req, v->data, v->len);
    else if (!strcmp(v->name, ISO__CTX_REFUND))
      rc = iso__issuer_apply_refund(&app->issuer, req, v->data, v->len);
    else
      continue;
    if (rc < 0) {
      fprintf(stderr, "isoflow-issuer: transaction %llu: cannot apply its %s (%s)\n",
              (unsigned long long)row->id, v->name, iso_strerror(rc));
      iso_msg_cleanup(&empty);
      return rc;
    }
    app->rebuilt++;
  }
  iso_msg_cleanup(&empty);
  return 0;
}

#ifdef ISOFLOW_HAVE_JOURNAL_RECOVERY
typedef struct recovery_wait {
  int done;
  int status;
  size_t count;
} recovery_wait;

static void on_recovered(iso_journal_db *db, int status, size_t n, void *data) {
  (void)db;
  recovery_wait *w = data;
  w->done = 1;
  w->status = status;
  w->count = n;
}

static void on_fl_closed(iso_flow_loop *fl, void *data) {
  (void)fl;
  *(int *)data = 1;
}

#endif

int iss_history_restore(iss_app *app) {
  if (!app->journal) return 0;
  app->issuer.journal = app->journal; /* reversals of evicted originals */
  iso_journal_selection all;
  memset(&all, 0, sizeof all);
  int rc = iso_journal_query(app->journal, &all, apply_row, app);
  if (rc != 0) return rc < 0 ? rc : ISO_E_JOURNAL_CORRUPT;
#ifndef ISOFLOW_HAVE_JOURNAL_RECOVERY
  size_t pending = 0;
  if (iso_journal_pending(app->journal, &pending) == 0 && pending)
    fprintf(stderr, "isoflow-issuer: %zu in-doubt transactions left: this build's journal "
            "has no recovery yet\n", pending);
  return 0;
#else
  uv_loop_t loop;
  iso_flow_loop *fl;
  if (uv_loop_init(&loop)) return ISO_E_IO;
  rc = iso_flow_loop_new(app->flow, &loop, &fl);
  if (rc == 0) {
    recovery_wait w = {0};
    rc = iso_journal_recover(app->journal, fl, on_recovered, &w);
    while (rc == 0 && !w.done) uv_run(&loop, UV_RUN_ONCE);
    if (rc == 0) rc = w.status;
    app->recovered = w.count;
    int closed = 0;
    iso_flow_loop_close(fl, on_fl_closed, &closed);
    while (!closed) uv_run(&loop, UV_RUN_ONCE);
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  return rc;
#endif
}

#else

int iss_history_restore(iss_app *app) {
  (void)app;
  return 0;
}

#endif
