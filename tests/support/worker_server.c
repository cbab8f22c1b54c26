/*
 * tests/support/worker_server.c -- a server on its own worker threads that
 * answers every request (see worker_server.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "support/conn_harness.h"
#include "support/worker_server.h"

void th_answer_inbound(iso_conn *conn, iso_inbound_kind kind, const iso_frame *f) {
  if (kind != ISO_INBOUND_REQUEST) return;
  char mti[5], stan[7];
  th_read(f->payload, f->len, mti, stan);
  if (!strcmp(stan, TH_UNANSWERED_STAN)) return;
  uint8_t out[256];
  size_t n = th_answer_payload(f->payload, f->len, out, sizeof out);
  iso_frame r = {NULL, 0, out, (uint32_t)n};
  iso_conn_send(conn, &r);
}

iso_server *th_worker_server_start(int workers, iso_tls *tls) {
  iso_server_opts so = {0};
  so.conn = th_conn_opts();
  so.conn.on_inbound = th_answer_inbound;
  so.conn.tls = tls;
  so.workers = workers;
  struct sockaddr_in a = th_addr(0);
  iso_server *s;
  assert_int_equal(iso_server_start(&so, (struct sockaddr *)&a, &s), 0);
  return s;
}
