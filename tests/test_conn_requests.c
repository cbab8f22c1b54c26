/*
 * tests/test_conn_requests.c -- requests and responses over real loopback
 * sockets: out-of-order matching, duplicate keys, timeouts and late
 * responses, requests from the peer, the in-flight bound, key rules (fields,
 * user function), and the counters.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "support/conn_harness.h"
#include "support/conn_link.h"

static void out_of_order_responses_match(void **state) {
  (void)state;
  th_link l;
  th_link_open(&l, TH_HOLD, NULL, NULL);

  enum { N = 10 };
  th_result r[N];
  char stan[7];
  for (int i = 0; i < N; i++) {
    snprintf(stan, sizeof stan, "%06d", 100 + i);
    assert_int_equal(th_request(l.tc.conn, stan, 0, &r[i]), 0);
  }
  assert_true(th_run_count(&l.loop, &l.ts.nheld, N, 2000));
  for (int i = N - 1; i >= 0; i--) th_server_answer(&l.ts, i); /* reversed */
  for (int i = 0; i < N; i++) {
    assert_true(th_run_until(&l.loop, &r[i].done, 2000));
    snprintf(stan, sizeof stan, "%06d", 100 + i);
    assert_int_equal(r[i].status, 0);
    assert_string_equal(r[i].mti, "0110");
    assert_string_equal(r[i].stan, stan);
  }
  iso_conn_stats st;
  iso_conn_stats_read(l.tc.conn, &st);
  assert_int_equal(st.sent, N);
  assert_int_equal(st.received, N);
  assert_int_equal(st.in_flight, 0);
  assert_true(st.bytes_out > 0 && st.bytes_in > 0);

  th_link_close(&l, ISO_CLOSE_NOW);
}

static void duplicate_key_refused(void **state) {
  (void)state;
  th_link l;
  th_link_open(&l, TH_HOLD, NULL, NULL);

  th_result first, second;
  assert_int_equal(th_request(l.tc.conn, "000777", 0, &first), 0);
  assert_int_equal(th_request(l.tc.conn, "000777", 0, &second), ISO_E_DUPLICATE_KEY);
  /* another terminal with the same STAN is another key */
  uint8_t buf[128];
  size_t n = th_pack(buf, sizeof buf, "0100", "000777", "TERM0002", NULL);
  iso_frame f = {NULL, 0, buf, (uint32_t)n};
  th_result third = {0};
  assert_int_equal(iso_conn_request(l.tc.conn, &f, 0, th_on_response, &third), 0);
  /* a response MTI is not a request */
  n = th_pack(buf, sizeof buf, "0110", "000778", "TERM0001", "00");
  f.len = (uint32_t)n;
  assert_int_equal(iso_conn_request(l.tc.conn, &f, 0, th_on_response, &second),
                   ISO_E_NOT_REQUEST);

  assert_true(th_run_count(&l.loop, &l.ts.nheld, 2, 2000));
  th_server_answer(&l.ts, 0);
  th_server_answer(&l.ts, 1);
  assert_true(th_run_until(&l.loop, &first.done, 2000));
  assert_true(th_run_until(&l.loop, &third.done, 2000));
  assert_int_equal(first.status, 0);
  assert_int_equal(third.status, 0);
  assert_false(second.done); /* refused: its callback never ran */
  iso_conn_stats st;
  iso_conn_stats_read(l.tc.conn, &st);
  assert_int_equal(st.refused, 2);

  th_link_close(&l, ISO_CLOSE_NOW);
}

static void timeout_then_late_response_goes_inbound(void **state) {
  (void)state;
  th_link l;
  th_link_open(&l, TH_HOLD, NULL, NULL);

  th_result r;
  uint64_t t0 = uv_now(&l.loop);
  assert_int_equal(th_request(l.tc.conn, "000001", 50, &r), 0);
  assert_true(th_run_until(&l.loop, &r.done, 2000));
  assert_int_equal(r.status, ISO_E_TIMEDOUT);
  assert_true(uv_now(&l.loop) - t0 >= 50);
  assert_int_equal(l.ts.nheld, 1);
  th_server_answer(&l.ts, 0);
  assert_true(th_run_count(&l.loop, &l.tc.inbound_late, 1, 2000));
  /* a response nobody asked for is unmatched */
  assert_int_equal(th_request(l.tc.conn, "000002", 0, &r), 0);
  assert_true(th_run_count(&l.loop, &l.ts.nheld, 2, 2000));
  uint8_t buf[128];
  size_t n = th_pack(buf, sizeof buf, "0110", "999999", "TERM0001", "00");
  iso_frame f = {NULL, 0, buf, (uint32_t)n};
  assert_int_equal(iso_conn_send(l.ts.held[1].conn, &f), 0);
  assert_true(th_run_count(&l.loop, &l.tc.inbound_unmatched, 1, 2000));
  iso_conn_stats st;
  iso_conn_stats_read(l.tc.conn, &st);
  assert_int_equal(st.timed_out, 1);
  assert_int_equal(st.late, 1);
  assert_int_equal(st.unmatched, 1);
  assert_int_equal(st.in_flight, 1);

  th_client_close(&l.tc, &l.loop, ISO_CLOSE_NOW);
  assert_true(r.done);
  assert_int_equal(r.status, ISO_E_CANCELED);
  th_server_close(&l.ts, &l.loop);
  th_loop_close(&l.loop);
}

/* The client answers requests that come from the server. */
static int client_answered;
static void answer_inbound(iso_conn *conn, iso_inbound_kind kind, const iso_frame *f) {
  assert_int_equal(kind, ISO_INBOUND_REQUEST);
  uint8_t out[256];
  size_t n = th_answer_payload(f->payload, f->len, out, sizeof out);
  iso_frame r = {NULL, 0, out, (uint32_t)n};
  assert_int_equal(iso_conn_send(conn, &r), 0);
  client_answered++;
}

static void server_sends_request_to_client(void **state) {
  (void)state;
  iso_conn_opts o = th_conn_opts();
  o.on_inbound = answer_inbound;
  client_answered = 0;
  th_link l;
  th_link_open(&l, TH_ECHO, NULL, &o);
  assert_true(th_run_count(&l.loop, &l.ts.connections, 1, 2000));

  /* the server side sends a network request (0800) on the accepted link */
  uint8_t buf[128];
  size_t n = th_pack(buf, sizeof buf, "0800", "123456", NULL, NULL);
  iso_frame f = {NULL, 0, buf, (uint32_t)n};
  th_result r = {0};
  assert_int_equal(iso_conn_request(l.ts.last_conn, &f, 0, th_on_response, &r), 0);
  assert_true(th_run_until(&l.loop, &r.done, 2000));
  assert_int_equal(r.status, 0);
  assert_string_equal(r.mti, "0810");
  assert_string_equal(r.stan, "123456");
  assert_int_equal(client_answered, 1);
  /* and the client's own requests still work both ways at once */
  th_request_answered(&l.loop, l.tc.conn, "000100", 2000);
  iso_conn_stats st;
  iso_server_stats_read(l.ts.server, &st);
  assert_int_equal(st.sent, 1);
  assert_int_equal(st.received, 1);
  assert_int_equal(st.inbound, 1);
  assert_int_equal(st.connections, 1);

  th_link_close(&l, ISO_CLOSE_NOW);
}

static void in_flight_bound_refuses_at_once(void **state) {
  (void)state;
  iso_conn_opts o = th_conn_opts();
  o.max_in_flight = 3;
  th_link l;
  th_link_open(&l, TH_HOLD, NULL, &o);
  th_result r[4];
  assert_int_equal(th_request(l.tc.conn, "000001", 0, &r[0]), 0);
  assert_int_equal(th_request(l.tc.conn, "000002", 0, &r[1]), 0);
  assert_int_equal(th_request(l.tc.conn, "000003", 0, &r[2]), 0);
  assert_int_equal(th_request(l.tc.conn, "000004", 0, &r[3]), ISO_E_BUSY);
  assert_true(th_run_count(&l.loop, &l.ts.nheld, 3, 2000));
  th_server_answer(&l.ts, 1);
  assert_true(th_run_until(&l.loop, &r[1].done, 2000));
  /* room again */
  assert_int_equal(th_request(l.tc.conn, "000004", 0, &r[3]), 0);
  iso_conn_stats st;
  iso_conn_stats_read(l.tc.conn, &st);
  assert_int_equal(st.in_flight, 3);
  assert_int_equal(st.refused, 1);
  th_client_close(&l.tc, &l.loop, ISO_CLOSE_NOW);
  for (int i = 0; i < 4; i++) assert_true(r[i].done);
  assert_int_equal(r[0].status, ISO_E_CANCELED);
  th_server_close(&l.ts, &l.loop);
  th_loop_close(&l.loop);
}

/* Key by DE 11 only (fields), so a response without DE 41 still matches. */
static void key_by_fields(void **state) {
  (void)state;
  iso_match m = {.no_mti_class = true, .nfields = 1, .fields = {11}};
  uint8_t a[128], b[128];
  size_t na = th_pack(a, sizeof a, "0100", "000042", "TERM0001", NULL);
  size_t nb = th_pack(b, sizeof b, "0210", "000042", NULL, "00");
  iso_match_key ka, kb;
  const iso_spec *spec = iso_spec_builtin("iso87a");
  assert_int_equal(iso_match_compute(&m, spec, a, na, &ka), 0);
  assert_int_equal(iso_match_compute(&m, spec, b, nb, &kb), 0);
  assert_int_equal(ka.len, kb.len);
  assert_memory_equal(ka.bytes, kb.bytes, ka.len);
  assert_memory_equal(kb.mti, "0210", 4);
  /* the default (MTI class + 11 + 41) tells them apart */
  iso_match def = {0};
  assert_int_equal(iso_match_compute(&def, spec, a, na, &ka), 0);
  assert_int_equal(iso_match_compute(&def, spec, b, nb, &kb), 0);
  assert_true(ka.len != kb.len || memcmp(ka.bytes, kb.bytes, ka.len) != 0);
  /* a truncated message is an error, not a key */
  assert_true(iso_match_compute(&def, spec, a, 6, &ka) < 0);
}

static int user_key(void *data, const uint8_t *p, size_t len, iso_match_key *key) {
  (*(int *)data)++;
  char mti[5], stan[7];
  th_read(p, len, mti, stan);
  memcpy(key->mti, mti, 4);
  memcpy(key->bytes, stan, 6);
  key->len = 6;
  return 0;
}

static void key_by_user_function(void **state) {
  (void)state;
  int calls = 0;
  iso_conn_opts o = th_conn_opts();
  o.match.fn = user_key;
  o.match.fn_data = &calls;
  th_link l;
  th_link_open(&l, TH_ECHO, NULL, &o);
  th_request_answered(&l.loop, l.tc.conn, "000321", 2000);
  assert_int_equal(calls, 2); /* the request, then the response */
  th_link_close(&l, ISO_CLOSE_GRACEFUL);
}

static void request_msg_packs(void **state) {
  (void)state;
  th_link l;
  th_link_open(&l, TH_ECHO, NULL, NULL);
  iso_msg m;
  iso_msg_init(&m, iso_spec_builtin("iso87a"));
  iso_msg_set_mti(&m, "0200");
  iso_msg_set_str(&m, 11, "000555");
  iso_msg_set_str(&m, 41, "TERM0009");
  th_result r = {0};
  assert_int_equal(iso_conn_request_msg(l.tc.conn, &m, 0, th_on_response, &r), 0);
  iso_msg_cleanup(&m); /* copied at submission */
  assert_true(th_run_until(&l.loop, &r.done, 2000));
  assert_int_equal(r.status, 0);
  assert_string_equal(r.mti, "0210");
  th_link_close(&l, ISO_CLOSE_NOW);
}

/* Every framing over a real link, with a 5-byte TPDU carried through: the
 * server swaps the TPDU's addresses in its reply, as acquirers do. */
static uint8_t seen_tpdu[5];
static void tpdu_inbound(iso_conn *conn, iso_inbound_kind kind, const iso_frame *f) {
  assert_int_equal(kind, ISO_INBOUND_REQUEST);
  assert_int_equal(f->header_len, 5);
  memcpy(seen_tpdu, f->header, 5);
  uint8_t hdr[5] = {f->header[0], f->header[3], f->header[4], f->header[1], f->header[2]};
  uint8_t out[256];
  size_t n = th_answer_payload(f->payload, f->len, out, sizeof out);
  iso_frame r = {hdr, 5, out, (uint32_t)n};
  assert_int_equal(iso_conn_send(conn, &r), 0);
}

static uint8_t reply_tpdu[5];
static void on_tpdu_response(iso_conn *conn, int status, const iso_frame *resp, void *data) {
  if (status == 0) {
    assert_int_equal(resp->header_len, 5);
    memcpy(reply_tpdu, resp->header, 5);
  }
  th_on_response(conn, status, resp, data);
}

static void every_framing_with_tpdu(void **state) {
  (void)state;
  static const iso_frame_kind kinds[] = {ISO_FRAME_LEN2, ISO_FRAME_LEN4, ISO_FRAME_ASCII4,
                                         ISO_FRAME_BCD2};
  for (size_t k = 0; k < 4; k++)
    for (int self = 0; self < 2; self++) {
      iso_conn_opts o = th_conn_opts();
      o.framing.kind = (uint8_t)kinds[k];
      o.framing.length_includes_self = self;
      o.framing.header_len = 5;
      static const uint8_t tpdu[5] = {0x60, 0x00, 0x03, 0x00, 0x07};
      o.header = tpdu;
      iso_conn_opts so = o;
      so.on_inbound = tpdu_inbound;
      th_link l;
      th_link_open(&l, TH_ECHO, &so, &o);
      uint8_t buf[128];
      size_t n = th_pack(buf, sizeof buf, "0200", "000031", "TERM0001", NULL);
      iso_frame f = {NULL, 0, buf, (uint32_t)n}; /* default header */
      th_result r = {0};
      assert_int_equal(iso_conn_request(l.tc.conn, &f, 0, on_tpdu_response, &r), 0);
      assert_true(th_run_until(&l.loop, &r.done, 2000));
      assert_int_equal(r.status, 0);
      assert_string_equal(r.mti, "0210");
      assert_memory_equal(reply_tpdu, "\x60\x00\x07\x00\x03", 5);
      /* a frame over the maximum is refused at submission */
      static uint8_t big[70000];
      memcpy(big, buf, n);
      iso_frame huge = {NULL, 0, big, sizeof big};
      assert_int_equal(iso_conn_send(l.tc.conn, &huge), ISO_E_FRAME_TOO_LARGE);
      th_link_close(&l, ISO_CLOSE_GRACEFUL);
    }
}

/* 500 requests answered in a shuffled order: the match table's deletions
 * (backward shift) keep every other key findable. */
static void many_answered_in_shuffled_order(void **state) {
  (void)state;
  iso_conn_opts o = th_conn_opts();
  o.max_in_flight = 512;
  static th_link l;
  th_link_open(&l, TH_HOLD, NULL, &o);
  enum { N = 500 };
  static th_result r[N];
  char stan[7];
  for (int i = 0; i < N; i++) {
    snprintf(stan, sizeof stan, "%06d", i * 7919 % 1000000);
    assert_int_equal(th_request(l.tc.conn, stan, 0, &r[i]), 0);
  }
  assert_true(th_run_count(&l.loop, &l.ts.nheld, N, 5000));
  int order[N];
  for (int i = 0; i < N; i++) order[i] = i;
  uint32_t x = 12345;
  for (int i = N - 1; i > 0; i--) {
    x = x * 1103515245u + 12345u;
    int j = (int)(x % (uint32_t)(i + 1)), t = order[i];
    order[i] = order[j];
    order[j] = t;
  }
  for (int i = 0; i < N; i++) {
    th_server_answer(&l.ts, order[i]);
    if (i % 50 == 49) th_run_for(&l.loop, 5);
  }
  for (int i = 0; i < N; i++) {
    assert_true(th_run_until(&l.loop, &r[i].done, 3000));
    assert_int_equal(r[i].status, 0);
    snprintf(stan, sizeof stan, "%06d", i * 7919 % 1000000);
    assert_string_equal(r[i].stan, stan);
  }
  iso_conn_stats st;
  iso_conn_stats_read(l.tc.conn, &st);
  assert_int_equal(st.received, N);
  assert_int_equal(st.unmatched, 0);
  th_link_close(&l, ISO_CLOSE_NOW);
}

/* Timeouts that differ per request expire in deadline order, not in
 * submission order. */
static void per_request_timeouts_in_deadline_order(void **state) {
  (void)state;
  th_link l;
  th_link_open(&l, TH_SILENT, NULL, NULL);
  th_result slow, fast, mid;
  assert_int_equal(th_request(l.tc.conn, "000001", 300, &slow), 0);
  assert_int_equal(th_request(l.tc.conn, "000002", 40, &fast), 0);
  assert_int_equal(th_request(l.tc.conn, "000003", 150, &mid), 0);
  assert_true(th_run_until(&l.loop, &fast.done, 2000));
  assert_false(mid.done);
  assert_false(slow.done);
  assert_true(th_run_until(&l.loop, &mid.done, 2000));
  assert_false(slow.done);
  assert_true(th_run_until(&l.loop, &slow.done, 2000));
  assert_int_equal(fast.status, ISO_E_TIMEDOUT);
  assert_int_equal(mid.status, ISO_E_TIMEDOUT);
  assert_int_equal(slow.status, ISO_E_TIMEDOUT);
  th_link_close(&l, ISO_CLOSE_NOW);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(out_of_order_responses_match),
      cmocka_unit_test(duplicate_key_refused),
      cmocka_unit_test(timeout_then_late_response_goes_inbound),
      cmocka_unit_test(server_sends_request_to_client),
      cmocka_unit_test(in_flight_bound_refuses_at_once),
      cmocka_unit_test(key_by_fields),
      cmocka_unit_test(key_by_user_function),
      cmocka_unit_test(request_msg_packs),
      cmocka_unit_test(every_framing_with_tpdu),
      cmocka_unit_test(many_answered_in_shuffled_order),
      cmocka_unit_test(per_request_timeouts_in_deadline_order),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
