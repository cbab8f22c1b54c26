/*
 * tests/support/issuer_world.c -- the example issuer run in process (see
 * issuer_world.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "examples/common/requests.h"
#include "support/flow_fixture.h"
#include "support/issuer_world.h"

static void open_journal(iw_world *w, const char *path) {
  iso_journal_config jc;
  iso_journal_config_init(&jc);
  jc.path = path;
  jc.spec = w->spec;
  jc.sync = ISO_JOURNAL_SYNC_OFF;
  assert_int_equal(iso_journal_open(&jc, &w->db), 0);
  w->issuer.journal = w->db;
}

iw_world *iw_world_new(const char *journal_path) { return iw_world_new_with(journal_path, NULL); }

iw_world *iw_world_new_with(const char *journal_path, const iso_participant *last) {
  return iw_world_new_keyed(journal_path, last, true);
}

iw_world *iw_world_new_keyed(const char *journal_path, const iso_participant *last,
                             bool idempotency) {
  iw_world *w = calloc(1, sizeof *w);
  assert_non_null(w);
  assert_int_equal(uv_loop_init(&w->loop), 0);
  assert_int_equal(iso__card_book_builtin(&w->book), 0);
  assert_int_equal(iso__issuer_init(&w->issuer, &w->book), 0);
  w->spec = iso_spec_builtin("iso87a-bbitmap");
  if (journal_path) open_journal(w, journal_path);
  iso_flow_config cfg;
  iso_flow_config_init(&cfg);
  cfg.spec = w->spec;
  cfg.name = "issuer";
  cfg.idempotency = idempotency;
  assert_int_equal(iso_flow_new(&cfg, &w->flow), 0);
  assert_int_equal(iso__issuer_flow_build(w->flow, &w->issuer), 0);
  if (last) assert_int_equal(iso_flow_add(w->flow, last), 0);
  if (w->db) {
    iso_journal j;
    assert_int_equal(iso_journal_interface(w->db, &j), 0);
    assert_int_equal(iso_flow_set_journal(w->flow, &j), 0);
  }
  fx_flow_start(w->flow, &w->loop, &w->fl);
  return w;
}

void iw_world_free(iw_world *w) {
  fx_flow_end(&w->loop, w->fl, w->flow);
  if (w->db) iso_journal_close(w->db);
  iso__issuer_free(&w->issuer);
  iso__card_book_free(&w->book);
  free(w);
}

static void on_done(iso_tx *tx, int status, const iso_msg *rsp, void *data) {
  (void)tx;
  iw_answer *a = data;
  a->done = 1;
  a->status = status;
  a->rc[0] = a->auth_code[0] = '\0';
  snprintf(a->mti, sizeof a->mti, "%s", rsp ? iso_msg_mti(rsp) : "");
  size_t len;
  if (rsp && iso_msg_get(rsp, 39, a->rc, sizeof a->rc, &len) < 0) a->rc[0] = '\0';
  if (rsp && iso_msg_get(rsp, 38, a->auth_code, sizeof a->auth_code, &len) < 0)
    a->auth_code[0] = '\0';
}

void iw_submit(iw_world *w, const iso_msg *req, iw_answer *a) {
  memset(a, 0, sizeof *a);
  assert_int_equal(iso_flow_submit(w->fl, req, 0, on_done, a), 0);
  assert_true(fx_run_until(&w->loop, &a->done, 5000));
}

void iw_auth_request(iso_msg *m, unsigned card, int64_t amount, uint32_t stan) {
  char pan[ISO__PAN_MAX + 1];
  iso__card_builtin_pan(card, pan);
  iso__auth_params p = {.pan = pan, .expiry = "3012", .amount = amount, .stan = stan,
                        .when = "1123101010"};
  assert_int_equal(iso__build_authorization(m, &p), 0);
}
