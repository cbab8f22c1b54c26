/*
 * tests/support/flow_fixture.c -- see flow_fixture.h.
 */
#include "support/flow_fixture.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "support/conn_harness.h"

char fx_log[4096];

void fx_log_reset(void) { fx_log[0] = '\0'; }

void fx_log_add(const char *name, const char *what) {
  size_t len = strlen(fx_log);
  snprintf(fx_log + len, sizeof fx_log - len, "%s%s.%s", len ? " " : "", name,
           what);
}

static void nap(unsigned ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static int fx_prepare(iso_tx *tx, void *data) {
  fx_part *p = data;
  p->prepares++;
  p->prepare_thread = (unsigned long)pthread_self();
  fx_log_add(p->name, "prepare");
  if (p->sleep_ms) nap(p->sleep_ms);
  /* Published to the resuming thread: release, paired with its acquire. */
  if (p->result == ISO_PAUSE) __atomic_store_n(&p->paused, tx, __ATOMIC_RELEASE);
  return p->result;
}

static int fx_pfa(iso_tx *tx, void *data) {
  fx_part *p = data;
  p->pfas++;
  fx_log_add(p->name, "pfa");
  if (p->pfa_code) iso_tx_set_response_code(tx, p->pfa_code);
  return p->pfa_result;
}

static const char *fx_select(iso_tx *tx, void *data) {
  (void)tx;
  fx_part *p = data;
  p->selects_called++;
  fx_log_add(p->name, "select");
  return p->selects;
}

static void fx_commit(iso_tx *tx, void *data) {
  fx_part *p = data;
  p->commits++;
  p->second_thread = (unsigned long)pthread_self();
  p->recovery_seen = iso_tx_is_recovery(tx);
  fx_log_add(p->name, "commit");
}

static void fx_abort(iso_tx *tx, void *data) {
  fx_part *p = data;
  p->aborts++;
  p->second_thread = (unsigned long)pthread_self();
  p->recovery_seen = iso_tx_is_recovery(tx);
  fx_log_add(p->name, "abort");
}

iso_participant fx_participant(fx_part *p) {
  iso_participant ip = {
      .name = p->name,
      .prepare = fx_prepare,
      .prepare_for_abort = p->pfa ? fx_pfa : NULL,
      .select = p->selects ? fx_select : NULL,
      .commit = p->no_second ? NULL : fx_commit,
      .abort = p->no_second ? NULL : fx_abort,
      .data = p,
      .flags = p->blocking ? ISO_PARTICIPANT_BLOCKING : 0,
      .timeout_ms = p->timeout_ms,
  };
  return ip;
}

void fx_request(iso_msg *m, const char *mti, const char *stan,
                const char *amount) {
  assert_int_equal(iso_msg_set_mti(m, mti), 0);
  assert_int_equal(iso_msg_set_str(m, 2, "4242424242424242"), 0);
  assert_int_equal(iso_msg_set_str(m, 3, "000000"), 0);
  assert_int_equal(iso_msg_set_str(m, 4, amount), 0);
  assert_int_equal(iso_msg_set_str(m, 7, "1123131415"), 0);
  assert_int_equal(iso_msg_set_str(m, 11, stan), 0);
  assert_int_equal(iso_msg_set_str(m, 32, "123456"), 0);
  assert_int_equal(iso_msg_set_str(m, 41, "TERM0001"), 0);
  assert_int_equal(iso_msg_set_str(m, 49, "840"), 0);
}

void fx_on_done(iso_tx *tx, int status, const iso_msg *response, void *data) {
  fx_done *d = data;
  d->calls++;
  d->status = status;
  d->tx_id = iso_tx_id(tx);
  d->had_response = response != NULL;
  d->mti[0] = d->rc[0] = '\0';
  if (response) {
    snprintf(d->mti, sizeof d->mti, "%s", iso_msg_mti(response));
    size_t len;
    if (iso_msg_get(response, 39, d->rc, sizeof d->rc, &len) != 0)
      d->rc[0] = '\0';
  }
}

void fx_submit(iso_flow_loop *fl, const char *mti, const char *stan,
               const char *amount, fx_done *d) {
  iso_msg m;
  iso_msg_init(&m, iso_spec_builtin("iso87a"));
  fx_request(&m, mti, stan, amount);
  memset(d, 0, sizeof *d);
  assert_int_equal(iso_flow_submit(fl, &m, 0, fx_on_done, d), 0);
  iso_msg_cleanup(&m);
}

bool fx_run_until(uv_loop_t *loop, const int *flag, unsigned timeout_ms) {
  uint64_t start = uv_hrtime();
  while (!*flag) {
    if (uv_hrtime() - start > (uint64_t)timeout_ms * 1000000u) return false;
    uv_run(loop, UV_RUN_NOWAIT);
    if (!*flag) nap(1);
  }
  return true;
}

static void on_closed(iso_flow_loop *fl, void *data) {
  (void)fl;
  *(int *)data = 1;
}

static void on_server_closed(void *data) { *(int *)data = 1; }

void fx_server_close(uv_loop_t *loop, iso_flow_server *fs) {
  int closed = 0;
  iso_flow_server_close(fs, on_server_closed, &closed);
  assert_true(fx_run_until(loop, &closed, 3000));
}

void fx_close(uv_loop_t *loop, iso_flow_loop *fl) {
  int closed = 0;
  assert_int_equal(iso_flow_loop_close(fl, on_closed, &closed), 0);
  assert_true(fx_run_until(loop, &closed, 5000));
  assert_int_equal(uv_run(loop, UV_RUN_DEFAULT), 0);
  assert_int_equal(uv_loop_close(loop), 0);
}

void fx_flow_start(iso_flow *flow, uv_loop_t *loop, iso_flow_loop **fl) {
  assert_int_equal(iso_flow_start(flow), 0);
  assert_int_equal(iso_flow_loop_new(flow, loop, fl), 0);
}

void fx_flow_end(uv_loop_t *loop, iso_flow_loop *fl, iso_flow *flow) {
  fx_close(loop, fl);
  iso_flow_free(flow);
}

void fx_config(iso_flow_config *cfg) {
  iso_flow_config_init(cfg);
  cfg->spec = iso_spec_builtin("iso87a");
  assert_non_null(cfg->spec);
}

iso_flow_serve_opts fx_serve_opts(uv_loop_t *loop) {
  iso_flow_serve_opts so;
  memset(&so, 0, sizeof so);
  so.server.conn = th_conn_opts();
  so.server.loop = loop;
  return so;
}

iso_flow_server *fx_serve(iso_flow *flow, const iso_flow_serve_opts *so) {
  struct sockaddr_in a = th_addr(0);
  iso_flow_server *fs = NULL;
  assert_int_equal(iso_flow_serve(flow, so, (struct sockaddr *)&a, &fs), 0);
  return fs;
}
