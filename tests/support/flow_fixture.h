/*
 * tests/support/flow_fixture.h -- helpers for the flow suites: requests in
 * the iso87a spec, a scripted participant that logs every call, a flow on a
 * private uv loop (started, submitted to, ended), and a way to run that loop
 * until a condition holds.
 */
#ifndef ISOFLOW_TESTS_FLOW_FIXTURE_H
#define ISOFLOW_TESTS_FLOW_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "isoflow/flow.h"

/* The call log shared by scripted participants: "a.prepare b.commit ...". */
extern char fx_log[4096];
void fx_log_reset(void);
void fx_log_add(const char *name, const char *what);

/* A scripted participant: prepare returns `result` (after sleeping sleep_ms
 * when set); prepare_for_abort is installed when pfa is true and returns
 * pfa_result, filling DE 39 with pfa_code when set; select returns
 * `selects` when not NULL.  Every call is logged. */
typedef struct fx_part {
  const char *name;
  int result;
  bool pfa;
  int pfa_result;
  const char *pfa_code;
  const char *selects;
  unsigned sleep_ms;
  bool blocking;
  uint32_t timeout_ms;
  bool no_second; /* no commit/abort functions */
  /* filled by the calls */
  int prepares, commits, aborts, pfas, selects_called;
  bool recovery_seen;
  iso_tx *paused; /* set when result is ISO_PAUSE */
  unsigned long prepare_thread; /* thread id seen by prepare */
  unsigned long second_thread;  /* ... and by commit or abort */
} fx_part;

/* An iso_participant view of p. */
iso_participant fx_participant(fx_part *p);

/* Fills m (initialised with iso87a) as a request: mti, STAN, amount, PAN. */
void fx_request(iso_msg *m, const char *mti, const char *stan,
                const char *amount);

/* A completion record. */
typedef struct fx_done {
  int calls;
  int status;
  bool had_response;
  char mti[5];
  char rc[3];
  uint64_t tx_id;
} fx_done;

/* An iso_tx_done_cb filling the fx_done passed as data. */
void fx_on_done(iso_tx *tx, int status, const iso_msg *response, void *data);

/* Submits an iso87a request (fx_request: mti, stan, amount) on fl, with
 * fx_on_done filling d (zeroed first); asserts that the flow took it.  The
 * flow copies the request. */
void fx_submit(iso_flow_loop *fl, const char *mti, const char *stan,
               const char *amount, fx_done *d);

/* Runs loop until *flag becomes nonzero or timeout_ms passes; returns
 * whether the flag was set. */
bool fx_run_until(uv_loop_t *loop, const int *flag, unsigned timeout_ms);

/* Closes fl, runs the loop to completion, closes the loop (asserting that
 * nothing is left open). */
void fx_close(uv_loop_t *loop, iso_flow_loop *fl);

/* Starts flow (its definition is final from here) and attaches it to loop,
 * which the caller initialised, as *fl; asserts both steps. */
void fx_flow_start(iso_flow *flow, uv_loop_t *loop, iso_flow_loop **fl);

/* The end of a flow a test ran: fx_close(loop, fl), then frees flow. */
void fx_flow_end(uv_loop_t *loop, iso_flow_loop *fl, iso_flow *flow);

/* Serving options for the tests: the test connection options
 * (th_conn_opts), on loop (NULL: the server's own worker loops); the rest
 * zero for the caller to set. */
iso_flow_serve_opts fx_serve_opts(uv_loop_t *loop);

/* Serves flow with so on 127.0.0.1, an ephemeral port; asserts that it
 * started. */
iso_flow_server *fx_serve(iso_flow *flow, const iso_flow_serve_opts *so);

/* Closes fs (a flow server on loop) and runs loop until its close callback
 * ran; asserts that it did within 3 s. */
void fx_server_close(uv_loop_t *loop, iso_flow_server *fs);

/* A config with the iso87a spec and the defaults. */
void fx_config(iso_flow_config *cfg);

#endif
