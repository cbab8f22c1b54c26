/*
 * tests/support/worker_server.h -- a server on its own worker threads (one
 * loop each) that answers every request: the peer for the blocking client,
 * for `isoflow send`, and for the multi-loop server tests.  Unlike th_server
 * (conn_harness.h), it runs on no loop of the test's, and it counts nothing:
 * its handler touches no shared state.
 */
#ifndef ISOFLOW_TESTS_WORKER_SERVER_H
#define ISOFLOW_TESTS_WORKER_SERVER_H

#include "isoflow/conn.h"

/* The STAN of a request th_answer_inbound never answers (for timeouts). */
#define TH_UNANSWERED_STAN "999999"

/* An iso_inbound_handler that answers each request with th_answer_payload
 * (response MTI, same DE 11 and DE 41, DE 39 "00"), except a request with
 * STAN TH_UNANSWERED_STAN; anything else inbound is ignored.  Safe on any
 * loop thread. */
void th_answer_inbound(iso_conn *conn, iso_inbound_kind kind, const iso_frame *f);

/* Starts a server on `workers` worker threads, listening on 127.0.0.1 at an
 * ephemeral port, with th_conn_opts() answering by th_answer_inbound, over
 * TLS when tls is not NULL (the caller keeps tls and frees it after closing
 * the server).  Asserts that it started; returns the server, which the
 * caller closes with iso_server_close. */
iso_server *th_worker_server_start(int workers, iso_tls *tls);

#endif
