/*
 * tests/support/conn_link.h -- a loop, a peer (a test server, or a raw peer
 * that writes chosen bytes) and one client connected to it: the set-up most
 * conn suites start from, and its orderly end.  Built on conn_harness
 * (th_server, th_raw, th_client); everything runs on the link's own loop in
 * the test's thread.
 */
#ifndef ISOFLOW_TESTS_CONN_LINK_H
#define ISOFLOW_TESTS_CONN_LINK_H

#include <uv.h>

#include "isoflow/conn.h"
#include "support/conn_harness.h"

typedef struct th_link {
  uv_loop_t loop;
  th_server ts; /* the server, answering by its th_mode */
  th_client tc; /* the client connected to it */
} th_link;

/* Initialises l->loop and starts a server on it that answers by `mode`,
 * with server_opts (NULL: th_conn_opts()); no client yet (l->tc.conn is
 * NULL: the test connects its own, or uses th_link_open). */
void th_link_serve(th_link *l, th_mode mode, const iso_conn_opts *server_opts);

/* th_link_serve, then connects l->tc to the server with client_opts (NULL:
 * th_conn_opts()).  Asserts that the client connected (status 0); a test
 * that expects a connect to fail uses th_link_serve and th_client_connect.
 * l must not move until th_link_close. */
void th_link_open(th_link *l, th_mode mode, const iso_conn_opts *server_opts,
                  iso_conn_opts *client_opts);

/* Closes the client with `how` (unless there is none, or the test already
 * closed it with th_client_close), then the server, then the loop,
 * asserting that no handle was left open. */
void th_link_close(th_link *l, iso_close_how how);

/* ---- against a raw peer (framing faults) ------------------------------ */
typedef struct th_raw_link {
  uv_loop_t loop;
  th_raw raw;   /* writes raw.bytes once the client connects */
  th_client tc; /* the client connected to it */
} th_raw_link;

/* Zeroes l and gives its raw peer the len bytes to write (copied).  The
 * test may then set l->raw's options (close_after, wait_for_request,
 * one_at_a_time, no_read) before th_raw_link_open. */
void th_raw_link_init(th_raw_link *l, const void *bytes, size_t len);

/* Initialises l->loop, starts the raw peer and connects l->tc to it with
 * client_opts (NULL: th_conn_opts()); asserts that the client connected. */
void th_raw_link_open(th_raw_link *l, iso_conn_opts *client_opts);

/* Closes the client (at once), the raw peer and the loop, asserting that no
 * handle was left open. */
void th_raw_link_close(th_raw_link *l);

#endif
