/*
 * tests/support/conn_link.c -- a loop, a peer (test server or raw) and one
 * client connected to it (see conn_link.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "support/conn_link.h"

void th_link_serve(th_link *l, th_mode mode, const iso_conn_opts *server_opts) {
  assert_int_equal(uv_loop_init(&l->loop), 0);
  th_server_start(&l->ts, &l->loop, server_opts, mode);
  memset(&l->tc, 0, sizeof l->tc);
}

void th_link_open(th_link *l, th_mode mode, const iso_conn_opts *server_opts,
                  iso_conn_opts *client_opts) {
  th_link_serve(l, mode, server_opts);
  assert_int_equal(th_client_connect(&l->tc, &l->loop, client_opts, l->ts.port), 0);
}

void th_link_close(th_link *l, iso_close_how how) {
  if (l->tc.conn) th_client_close(&l->tc, &l->loop, how);
  th_server_close(&l->ts, &l->loop);
  th_loop_close(&l->loop);
}

void th_raw_link_init(th_raw_link *l, const void *bytes, size_t len) {
  memset(l, 0, sizeof *l);
  assert_true(len <= sizeof l->raw.bytes);
  if (len) memcpy(l->raw.bytes, bytes, len);
  l->raw.len = len;
}

void th_raw_link_open(th_raw_link *l, iso_conn_opts *client_opts) {
  assert_int_equal(uv_loop_init(&l->loop), 0);
  th_raw_start(&l->raw, &l->loop);
  assert_int_equal(th_client_connect(&l->tc, &l->loop, client_opts, l->raw.port), 0);
}

void th_raw_link_close(th_raw_link *l) {
  th_client_close(&l->tc, &l->loop, ISO_CLOSE_NOW);
  th_raw_close(&l->raw, &l->loop);
  th_loop_close(&l->loop);
}
