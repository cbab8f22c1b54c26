/*
 * journal/replay.c -- running journaled requests again through a flow in
 * process: each selected request is rebuilt (card data restored with the
 * key), submitted with iso_flow_submit, and its new outcome handed to the
 * caller beside the journaled response code.  A request whose card data
 * cannot be restored is reported to the caller, not run: a masked PAN would
 * only test the card checks against a number nobody sent.
 */
#include <stdlib.h>
#include <string.h>

#include "journal/journal_internal.h"

typedef struct replay_item {
  uint64_t id;
  char rc[3];
  bool sealed; /* its card data needs the journal's key */
} replay_item;

typedef struct replay {
  iso_journal_db *db;
  iso_flow_loop *fl;
  unsigned window;
  iso_journal_replay_cb each;
  iso_journal_replay_done_cb done;
  void *data;
  replay_item *items;
  size_t count, next, finished, differed, in_flight;
  int status;
  bool pumping, ended;
} replay;

typedef struct replay_tx {
  replay *r;
  size_t index;
} replay_tx;

static int collect(const iso_journal_row *row, void *data) {
  replay *r = data;
  if (!row->request) return 0; /* nothing to replay */
  if (r->count % 256 == 0) {
    replay_item *v = realloc(r->items, (r->count + 256) * sizeof *v);
    if (!v) return ISO_E_NOMEM;
    r->items = v;
  }
  replay_item *it = &r->items[r->count++];
  it->id = row->id;
  it->sealed = row->request_sealed;
  memcpy(it->rc, row->response_code, 2);
  it->rc[2] = 0;
  if (!row->response_code[0]) it->rc[0] = 0;
  return 0;
}

static void pump(replay *r);

static void end_if_done(replay *r) {
  if (r->pumping || r->ended || r->in_flight ||
      (r->next < r->count && !r->status))
    return; /* a pump under way finishes the job itself */
  r->ended = true;
  r->done(r->status, r->finished, r->differed, r->data);
  free(r->items);
  free(r);
}

static void on_done(iso_tx *tx, int status, const iso_msg *response, void *data) {
  (void)tx;
  replay_tx *t = data;
  replay *r = t->r;
  replay_item *it = &r->items[t->index];
  free(t);
  char rc[3] = "";
  size_t len = 0;
  if (response && (iso_msg_get(response, 39, rc, sizeof rc, &len) || len != 2))
    rc[0] = 0;
  if (strcmp(rc, it->rc)) r->differed++;
  r->finished++;
  r->in_flight--;
  r->each(it->id, it->rc, status, response, r->data);
  pump(r);
  end_if_done(r);
}

/* Submits up to the window; re-entry (a callback during submit) only
 * counts, the outer call carries on. */
static void pump(replay *r) {
  if (r->pumping) return;
  r->pumping = true;
  while (!r->status && r->next < r->count && r->in_flight < r->window) {
    size_t i = r->next++;
    iso_msg m;
    iso_msg_init(&m, r->db->spec);
    bool restored = false;
    int rc = iso_journal_load_request(r->db, r->items[i].id, &m, &restored);
    if (!rc && !restored &&
        (r->items[i].sealed || iso_journal_card_data_hidden(&m))) {
      iso_msg_cleanup(&m);
      r->each(r->items[i].id, r->items[i].rc, ISO_E_KEY_FILE, NULL, r->data);
      continue;
    }
    replay_tx *t = rc ? NULL : malloc(sizeof *t);
    if (!rc && !t) rc = ISO_E_NOMEM;
    if (!rc) {
      *t = (replay_tx){r, i};
      r->in_flight++;
      rc = iso_flow_submit(r->fl, &m, 0, on_done, t);
      if (rc) {
        r->in_flight--;
        free(t);
      }
    }
    iso_msg_cleanup(&m);
    if (rc) r->status = rc;
  }
  r->pumping = false;
}
/* (pump never frees r; its callers call end_if_done afterwards.) */

int iso_journal_replay(iso_journal_db *db, const iso_journal_selection *sel,
                       iso_flow_loop *fl, unsigned concurrency,
                       iso_journal_replay_cb each_cb,
                       iso_journal_replay_done_cb done_cb, void *data) {
  if (!db || !fl || !each_cb || !done_cb) return ISO_E_INVAL;
  replay *r = calloc(1, sizeof *r);
  if (!r) return ISO_E_NOMEM;
  *r = (replay){.db = db, .fl = fl, .window = concurrency ? concurrency : 1,
                .each = each_cb, .done = done_cb, .data = data};
  int rc = iso__query(db, sel, false, true, collect, r);
  if (rc) {
    free(r->items);
    free(r);
    return rc;
  }
  pump(r);
  if (r->status && r->finished == 0 && r->in_flight == 0) {
    rc = r->status; /* nothing ran: report it here, callbacks never called */
    free(r->items);
    free(r);
    return rc;
  }
  end_if_done(r);
  return 0;
}
