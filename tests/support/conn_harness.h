/*
 * tests/support/conn_harness.h -- shared pieces of the conn test suites.
 *
 * Loopback addresses, bounded loop running, ISO 8583 test messages (iso87a:
 * MTI, DE 11 STAN, DE 41 terminal id), a test server that answers, holds or
 * ignores requests, and a raw peer that writes chosen bytes (for framing
 * faults).  Everything runs on one loop in the test's thread.
 */
#ifndef ISOFLOW_TESTS_CONN_HARNESS_H
#define ISOFLOW_TESTS_CONN_HARNESS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "isoflow/conn.h"

/* 127.0.0.1:port */
struct sockaddr_in th_addr(int port);

/* A loopback port nobody listens on: one the kernel handed out for a bind,
 * released again.  A connect to it is refused (until something binds it). */
int th_unused_port(void);

/* Runs the loop until *flag is true or ms pass; returns *flag. */
bool th_run_until(uv_loop_t *loop, const bool *flag, unsigned ms);
/* Runs the loop until *count >= want or ms pass. */
bool th_run_count(uv_loop_t *loop, const int *count, int want, unsigned ms);
/* Runs the loop for ms milliseconds. */
void th_run_for(uv_loop_t *loop, unsigned ms);
/* Closes the loop, asserting that no handle is left (nothing leaked). */
void th_loop_close(uv_loop_t *loop);

/* Packs an iso87a message (mti, DE 11 stan, DE 41 tid or NULL, DE 39 or
 * NULL) into buf; returns its length. */
size_t th_pack(uint8_t *buf, size_t cap, const char *mti, const char *stan,
               const char *tid, const char *rc);
/* Reads DE 11 (and the MTI) from a payload: stan needs 7 bytes. */
void th_read(const uint8_t *payload, size_t len, char mti[5], char stan[7]);

/* Client options with the iso87a spec and defaults for tests. */
iso_conn_opts th_conn_opts(void);

/* ---- a test server ---------------------------------------------------- */
typedef enum th_mode { TH_ECHO = 0, TH_HOLD, TH_SILENT } th_mode;

#define TH_HELD_MAX 600
typedef struct th_held {
  iso_conn *conn;
  uint8_t payload[256];
  size_t len;
} th_held;

typedef struct th_server {
  iso_server *server;
  int port;
  th_mode mode;
  int requests; /* inbound requests seen */
  int inbound_other;
  int connections, closed, failed;
  int last_status;
  iso_conn *last_conn;
  th_held held[TH_HELD_MAX];
  int nheld;
  bool closed_done;
} th_server;

/* Starts a test server on loop (port 0) with opts (NULL: th_conn_opts()). */
void th_server_start(th_server *ts, uv_loop_t *loop, const iso_conn_opts *opts,
                     th_mode mode);
/* Answers held request i (0110 etc. with DE 39 "00"). */
void th_server_answer(th_server *ts, int i);
/* Releases held requests unanswered. */
void th_server_drop_held(th_server *ts);
/* Closes the server and runs the loop until it is gone. */
void th_server_close(th_server *ts, uv_loop_t *loop);
/* The response payload for a request payload (into out). */
size_t th_answer_payload(const uint8_t *req, size_t len, uint8_t *out, size_t cap);

/* ---- a client --------------------------------------------------------- */
typedef struct th_client {
  iso_conn *conn;
  bool connected, close_done;
  int connect_status;
  int closed, failed, down_status;
  int inbound, inbound_late, inbound_unmatched;
} th_client;

/* Connects to 127.0.0.1:port; runs the loop until connected or failed. */
int th_client_connect(th_client *tc, uv_loop_t *loop, iso_conn_opts *opts,
                      int port);
/* Closes the client and runs the loop until the close callback. */
void th_client_close(th_client *tc, uv_loop_t *loop, iso_close_how how);

/* ---- response collection ---------------------------------------------- */
typedef struct th_result {
  int status;
  char mti[5];
  char stan[7];
  bool done;
} th_result;

/* An iso_response_cb storing into (th_result *)data. */
void th_on_response(iso_conn *conn, int status, const iso_frame *resp, void *data);

/* Sends a request with STAN stan (tid "TERM0001"), storing into r. */
int th_request(iso_conn *conn, const char *stan, uint32_t timeout_ms, th_result *r);

/* Sends a request with STAN stan on conn, runs loop until its response
 * (wait_ms at most), and asserts that it was answered (status 0).  Returns
 * the result, for checks on the response. */
th_result th_request_answered(uv_loop_t *loop, iso_conn *conn, const char *stan,
                              unsigned wait_ms);

/* ---- a raw peer: a listener that writes chosen bytes ------------------ */
typedef struct th_raw {
  uv_tcp_t listener;
  uv_tcp_t peer;
  uv_timer_t drip;
  bool accepted, peer_closed;
  int port;
  uint8_t bytes[4096];
  size_t len, sent;
  bool one_at_a_time;
  bool close_after;
  bool wait_for_request; /* write only once the peer sent something */
  bool no_read;          /* never read: the peer's output piles up */
  bool written;
  uint8_t received[4096];
  size_t nreceived;
  int handles;
} th_raw;

/* Listens on port 0; on accept writes bytes (all at once, or one a 2 ms),
 * then closes the peer when close_after. */
void th_raw_start(th_raw *raw, uv_loop_t *loop);
void th_raw_close(th_raw *raw, uv_loop_t *loop);

#endif
