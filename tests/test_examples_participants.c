/*
 * tests/test_examples_participants.c -- the example issuer's participants,
 * run through a real flow in process (iso_flow_submit on a private loop, no
 * network, no journal): approval with an authorization code, every decline
 * reason (14, 51, 54, 30, 12), holds released on abort, reversals found by
 * DE 90 and by DE 37 + DE 41 (once only; unknown ones acknowledged), a
 * duplicate answered from the original without touching the balance,
 * network messages, and recovery re-runs of commit and abort.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pthread.h>
#include <cmocka.h>

#include "examples/common/cards.h"
#include "examples/common/requests.h"
#include "examples/issuer/participants/issuer.h"
#include "support/flow_fixture.h"
#include "support/issuer_world.h"

typedef iw_world world;
typedef iw_answer answer;

static int setup(void **state) {
  *state = iw_world_new(NULL);
  return 0;
}

static int teardown(void **state) {
  iw_world_free(*state);
  return 0;
}

static void test_approval(void **state) {
  world *w = *state;
  iso_msg m;
  iso_msg_init(&m, w->spec);
  iw_auth_request(&m, 3, 12345, 1);
  answer a;
  iw_submit(w, &m, &a);
  assert_int_equal(a.status, 0);
  assert_string_equal(a.mti, "0110");
  assert_string_equal(a.rc, "00");
  assert_int_equal(strlen(a.auth_code), 6);
  assert_int_equal(iso__issuer_available(&w->issuer, 3), 500000 - 12345);
  assert_int_equal(iso__issuer_count(&w->issuer, ISO__COUNT_CAPTURES), 1);

  /* A financial request (0200) is handled the same way. */
  assert_int_equal(iso_msg_set_mti(&m, "0200"), 0);
  assert_int_equal(iso_msg_set_str(&m, 11, "000002"), 0);
  iw_submit(w, &m, &a);
  assert_string_equal(a.mti, "0210");
  assert_string_equal(a.rc, "00");
  assert_int_equal(iso__issuer_available(&w->issuer, 3), 500000 - 2 * 12345);
  iso_msg_cleanup(&m);
}

static void test_declines(void **state) {
  world *w = *state;
  iso_msg m;
  iso_msg_init(&m, w->spec);
  answer a;

  /* 14: a PAN failing Luhn, and a valid one not on file. */
  iw_auth_request(&m, 5, 100, 10);
  assert_int_equal(iso_msg_set_str(&m, 2, "4000000000000052"), 0);
  iw_submit(w, &m, &a);
  assert_int_equal(a.status, ISO_E_ABORTED);
  assert_string_equal(a.rc, "14");
  assert_string_equal(a.auth_code, "");
  assert_int_equal(iso_msg_set_str(&m, 2, "4242424242424242"), 0);
  assert_int_equal(iso_msg_set_str(&m, 11, "000011"), 0);
  iw_submit(w, &m, &a);
  assert_string_equal(a.rc, "14");

  /* 54: expired on file (card 99), and an expiry in the past in DE 14. */
  iw_auth_request(&m, 99, 100, 12);
  iw_submit(w, &m, &a);
  assert_string_equal(a.rc, "54");
  iw_auth_request(&m, 5, 100, 13);
  assert_int_equal(iso_msg_set_str(&m, 14, "1901"), 0);
  iw_submit(w, &m, &a);
  assert_string_equal(a.rc, "54");

  /* 51: card 98 holds 50.00. */
  iw_auth_request(&m, 98, 5001, 14);
  iw_submit(w, &m, &a);
  assert_string_equal(a.rc, "51");
  assert_string_equal(a.auth_code, "");
  assert_int_equal(iso__issuer_available(&w->issuer, 98), 5000);
  iw_auth_request(&m, 98, 5000, 15);
  iw_submit(w, &m, &a);
  assert_string_equal(a.rc, "00");
  assert_int_equal(iso__issuer_available(&w->issuer, 98), 0);

  /* 30: a required field missing (DE 41), or too short a PAN. */
  iw_auth_request(&m, 5, 100, 16);
  iso_msg_unset(&m, 41);
  iw_submit(w, &m, &a);
  assert_string_equal(a.rc, "30");
  iw_auth_request(&m, 5, 100, 17);
  assert_int_equal(iso_msg_set_str(&m, 2, "42"), 0);
  iw_submit(w, &m, &a);
  assert_string_equal(a.rc, "30");
  assert_int_equal(iso__issuer_available(&w->issuer, 5), 500000);

  /* 12: a request the issuer does not handle. */
  iw_auth_request(&m, 5, 100, 18);
  assert_int_equal(iso_msg_set_mti(&m, "0300"), 0);
  iw_submit(w, &m, &a);
  assert_string_equal(a.rc, "12");
  iso_msg_cleanup(&m);
}

static void test_duplicate_runs_once(void **state) {
  world *w = *state;
  iso_msg m;
  iso_msg_init(&m, w->spec);
  iw_auth_request(&m, 7, 1000, 20);
  answer a, b;
  iw_submit(w, &m, &a);
  assert_string_equal(a.rc, "00");
  /* The same again, and as a repeat (0101): answered from the original. */
  iw_submit(w, &m, &b);
  assert_int_equal(b.status, ISO_E_DUPLICATE);
  assert_string_equal(b.rc, "00");
  assert_string_equal(b.auth_code, a.auth_code);
  assert_int_equal(iso_msg_set_mti(&m, "0101"), 0);
  iw_submit(w, &m, &b);
  assert_int_equal(b.status, ISO_E_DUPLICATE);
  assert_string_equal(b.mti, "0110");
  assert_int_equal(iso__issuer_available(&w->issuer, 7), 500000 - 1000);
  assert_int_equal(iso__issuer_count(&w->issuer, ISO__COUNT_HOLDS), 1);
  iso_msg_cleanup(&m);
}

static void test_reversals(void **state) {
  world *w = *state;
  iso_msg orig, rev;
  iso_msg_init(&orig, w->spec);
  iso_msg_init(&rev, w->spec);
  answer a;

  /* By DE 90. */
  iw_auth_request(&orig, 8, 2500, 30);
  iw_submit(w, &orig, &a);
  assert_string_equal(a.rc, "00");
  assert_int_equal(iso__issuer_available(&w->issuer, 8), 500000 - 2500);
  assert_int_equal(iso__build_reversal(&rev, &orig, "0400", 31), 0);
  iw_submit(w, &rev, &a);
  assert_int_equal(a.status, 0);
  assert_string_equal(a.mti, "0410");
  assert_string_equal(a.rc, "00");
  assert_string_equal(a.auth_code, "");
  assert_int_equal(iso__issuer_available(&w->issuer, 8), 500000);

  /* A second reversal (an advice, another STAN) refunds nothing more. */
  assert_int_equal(iso__build_reversal(&rev, &orig, "0420", 32), 0);
  iw_submit(w, &rev, &a);
  assert_string_equal(a.mti, "0430");
  assert_string_equal(a.rc, "00");
  assert_int_equal(iso__issuer_available(&w->issuer, 8), 500000);
  assert_int_equal(iso__issuer_count(&w->issuer, ISO__COUNT_REVERSAL_REPEATED), 1);

  /* By DE 37 + DE 41 when DE 90 names nothing known. */
  iw_auth_request(&orig, 9, 700, 33);
  iw_submit(w, &orig, &a);
  assert_int_equal(iso__build_reversal(&rev, &orig, "0400", 34), 0);
  assert_int_equal(iso_msg_set_str(&rev, 90, "010099999911231010100000012345600000000000"), 0);
  iw_submit(w, &rev, &a);
  assert_string_equal(a.rc, "00");
  assert_int_equal(iso__issuer_available(&w->issuer, 9), 500000);
  assert_int_equal(iso__issuer_count(&w->issuer, ISO__COUNT_REFUNDS), 2);

  /* Unknown original: acknowledged, nothing changes. */
  iw_auth_request(&orig, 10, 700, 35);
  assert_int_equal(iso__build_reversal(&rev, &orig, "0400", 36), 0);
  iw_submit(w, &rev, &a);
  assert_string_equal(a.rc, "00");
  assert_int_equal(iso__issuer_available(&w->issuer, 10), 500000);
  assert_int_equal(iso__issuer_count(&w->issuer, ISO__COUNT_REVERSAL_UNKNOWN), 1);

  /* A reversal advice and its repeat (0421, same key): the repeat is
   * answered from the advice, nothing is refunded twice. */
  iw_auth_request(&orig, 12, 900, 38);
  iw_submit(w, &orig, &a);
  assert_string_equal(a.rc, "00");
  assert_int_equal(iso__build_reversal(&rev, &orig, "0420", 39), 0);
  iw_submit(w, &rev, &a);
  assert_string_equal(a.mti, "0430");
  assert_int_equal(iso__issuer_available(&w->issuer, 12), 500000);
  uint64_t refunds = iso__issuer_count(&w->issuer, ISO__COUNT_REFUNDS);
  assert_int_equal(iso_msg_set_mti(&rev, "0421"), 0);
  iw_submit(w, &rev, &a);
  assert_int_equal(a.status, ISO_E_DUPLICATE);
  assert_string_equal(a.mti, "0430");
  assert_string_equal(a.rc, "00");
  assert_int_equal(iso__issuer_count(&w->issuer, ISO__COUNT_REFUNDS), refunds);
  assert_int_equal(iso__issuer_available(&w->issuer, 12), 500000);

  /* A reversal without DE 90 or DE 37 is a format error. */
  iso_msg_unset(&rev, 90);
  iso_msg_unset(&rev, 37);
  assert_int_equal(iso_msg_set_str(&rev, 11, "000037"), 0);
  iw_submit(w, &rev, &a);
  assert_string_equal(a.rc, "30");
  iso_msg_cleanup(&orig);
  iso_msg_cleanup(&rev);
}

static void test_network(void **state) {
  world *w = *state;
  iso_msg m;
  iso_msg_init(&m, w->spec);
  answer a;
  assert_int_equal(iso__build_network(&m, "301", 40), 0);
  iw_submit(w, &m, &a);
  assert_string_equal(a.mti, "0810");
  assert_string_equal(a.rc, "00");
  assert_string_equal(a.auth_code, "");
  assert_int_equal(iso__build_network(&m, "001", 41), 0);
  iw_submit(w, &m, &a);
  assert_string_equal(a.rc, "00");
  assert_int_equal(iso__build_network(&m, "999", 42), 0);
  iw_submit(w, &m, &a);
  assert_string_equal(a.rc, "30");
  iso_msg_cleanup(&m);
}

typedef struct recovered {
  int done;
  int status;
} recovered;

static void on_recovered(iso_flow_loop *fl, uint64_t id, int status, void *data) {
  (void)fl;
  (void)id;
  recovered *r = data;
  r->done = 1;
  r->status = status;
}

static void test_recovery(void **state) {
  world *w = *state;
  iso_msg m;
  iso_msg_init(&m, w->spec);
  iw_auth_request(&m, 11, 4000, 50);
  const char *joined[] = {"account"};
  iso_tx_value hold = {ISO__CTX_HOLD, (const uint8_t *)"11:4000", 7};
  iso_flow_recovery rec = {.tx_id = 900, .decision = ISO_DECISION_COMMIT,
                           .participants = joined, .participant_count = 1,
                           .values = &hold, .value_count = 1, .request = &m};
  recovered r = {0};
  assert_int_equal(iso_flow_recover(w->fl, &rec, on_recovered, &r), 0);
  assert_true(fx_run_until(&w->loop, &r.done, 5000));
  assert_int_equal(r.status, 0);
  /* The capture is applied: balance down, and reversible by RRN. */
  assert_int_equal(iso__issuer_available(&w->issuer, 11), 500000 - 4000);
  iso__original_keys k;
  memset(&k, 0, sizeof k);
  assert_true(iso__field_str(&m, 41, k.by_rrn.terminal, sizeof k.by_rrn.terminal));
  assert_true(iso__field_str(&m, 37, k.by_rrn.rrn, sizeof k.by_rrn.rrn));
  k.has_rrn = true;
  assert_true(iso__auth_log_has(&w->issuer.log, &k));

  /* An abort re-run has nothing to give back. */
  rec.tx_id = 901;
  rec.decision = ISO_DECISION_ABORT;
  memset(&r, 0, sizeof r);
  assert_int_equal(iso_flow_recover(w->fl, &rec, on_recovered, &r), 0);
  assert_true(fx_run_until(&w->loop, &r.done, 5000));
  assert_int_equal(iso__issuer_available(&w->issuer, 11), 500000 - 4000);

  /* A reversal decided commit before the crash refunds on recovery, once:
   * the original is marked reversed, so the acquirer's next reversal of it
   * has no effect. */
  iso_msg rev;
  iso_msg_init(&rev, w->spec);
  assert_int_equal(iso__build_reversal(&rev, &m, "0400", 51), 0);
  const char *reverser[] = {"reversal"};
  iso_tx_value refund = {ISO__CTX_REFUND, (const uint8_t *)"11:4000", 7};
  iso_flow_recovery rrec = {.tx_id = 902, .decision = ISO_DECISION_COMMIT,
                            .participants = reverser, .participant_count = 1,
                            .values = &refund, .value_count = 1, .request = &rev};
  memset(&r, 0, sizeof r);
  assert_int_equal(iso_flow_recover(w->fl, &rrec, on_recovered, &r), 0);
  assert_true(fx_run_until(&w->loop, &r.done, 5000));
  assert_int_equal(r.status, 0);
  assert_int_equal(iso__issuer_available(&w->issuer, 11), 500000);
  assert_int_equal(iso__issuer_count(&w->issuer, ISO__COUNT_REFUNDS), 1);
  assert_int_equal(iso__build_reversal(&rev, &m, "0400", 52), 0);
  iw_answer a;
  iw_submit(w, &rev, &a);
  assert_string_equal(a.rc, "00");
  assert_int_equal(iso__issuer_available(&w->issuer, 11), 500000);
  assert_int_equal(iso__issuer_count(&w->issuer, ISO__COUNT_REFUNDS), 1);
  assert_int_equal(iso__issuer_count(&w->issuer, ISO__COUNT_REVERSAL_REPEATED), 1);
  /* A refund value naming no card of the book refunds nothing. */
  assert_int_equal(iso__issuer_apply_refund(&w->issuer, &rev, "x", 1), ISO_E_INVAL);
  assert_int_equal(iso__issuer_available(&w->issuer, 11), 500000);
  iso_msg_cleanup(&rev);

  /* A bad value changes nothing. */
  assert_int_equal(iso__issuer_apply_capture(&w->issuer, &m, "x", 1), ISO_E_INVAL);
  assert_int_equal(iso__issuer_apply_capture(&w->issuer, &m, "5000:1", 6), ISO_E_INVAL);
  assert_int_equal(iso__issuer_available(&w->issuer, 11), 500000);
  iso_msg_cleanup(&m);
}

/* The hold value ("card:amount") as journaled: written, read back, and
 * anything else refused -- recovery and the restart replay read these. */
static void test_hold_values(void **state) {
  (void)state;
  char v[48];
  uint32_t card = 0;
  int64_t amount = 0;
  assert_int_equal(iso__value_format(v, sizeof v, 11, 4000), 7);
  assert_string_equal(v, "11:4000");
  assert_int_equal(iso__value_parse(v, 7, &card, &amount), 0);
  assert_int_equal(card, 11);
  assert_int_equal(amount, 4000);
  assert_int_equal(iso__value_format(v, sizeof v, UINT32_MAX, INT64_MAX), 30);
  assert_int_equal(iso__value_parse(v, 30, &card, &amount), 0);
  assert_true(card == UINT32_MAX && amount == INT64_MAX);
  assert_int_equal(iso__value_format(v, sizeof v, 0, 0), 3);
  assert_string_equal(v, "0:0");
  assert_int_equal(iso__value_format(v, 7, 11, 4000), ISO_E_NOSPC); /* no room for the NUL */
  assert_int_equal(iso__value_format(v, sizeof v, 1, -1), ISO_E_INVAL);
  static const char *const bad[] = {"", ":", "11:", ":4000", "11-4000", "11:40x0",
                                    "11:4000:", " 11:4000", "11:-4000", "4294967296:1",
                                    "1:9223372036854775808"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal(iso__value_parse(bad[i], strlen(bad[i]), &card, &amount), ISO_E_INVAL);
}

/* A hold or refund value must name a card of the issuer's book: recovery
 * and replay feed values back from the journal, and a value past the book
 * (a journal from another card book) must not index past the balances. */
static void test_card_values(void **state) {
  world *w = *state;
  iso__issuer *is = &w->issuer;
  uint32_t card = 0;
  int64_t amount = 0;
  char v[48];
  int n = iso__value_format(v, sizeof v, (uint32_t)w->book.count - 1, 250);
  assert_true(n > 0);
  assert_int_equal(iso__issuer_card_value(is, v, (size_t)n, &card, &amount), 0);
  assert_int_equal(card, w->book.count - 1);
  assert_int_equal(amount, 250);
  n = iso__value_format(v, sizeof v, (uint32_t)w->book.count, 250);
  assert_int_equal(iso__issuer_card_value(is, v, (size_t)n, &card, &amount), ISO_E_INVAL);
  assert_int_equal(iso__issuer_card_value(is, "7:", 2, &card, &amount), ISO_E_INVAL);
  /* capture and refund refuse it before touching a balance or the log */
  iso_msg m;
  iso_msg_init(&m, w->spec);
  iw_auth_request(&m, 0, 250, 77);
  int64_t before = atomic_load(&is->available[0]);
  assert_int_equal(iso__issuer_apply_capture(is, &m, v, (size_t)n), ISO_E_INVAL);
  assert_int_equal(iso__issuer_apply_refund(is, &m, v, (size_t)n), ISO_E_INVAL);
  assert_int_equal(atomic_load(&is->available[0]), before);
  assert_int_equal(is->log.count, 0);
  iso_msg_cleanup(&m);
}

/* Fields read in place (iso__field_view) or copied (iso__field_str): the
 * same characters, the same refusals (absent, or too long for the buffer
 * the caller gave); DE 4 read as an amount. */
static void test_field_views(void **state) {
  world *w = *state;
  iso_msg m;
  iso_msg_init(&m, w->spec);
  iw_auth_request(&m, 3, 12345, 42);
  char buf[16], copy[16];
  const char *v;
  size_t len = 0;
  assert_true(iso__field_view(&m, 11, buf, sizeof buf, &v, &len));
  assert_int_equal(len, 6);
  assert_memory_equal(v, "000042", 6);
  assert_true(iso__field_str(&m, 11, copy, sizeof copy));
  assert_string_equal(copy, "000042");
  /* 12 characters need 13 bytes, as with a copy and its NUL */
  assert_true(iso__field_view(&m, 4, buf, 13, &v, &len));
  assert_int_equal(len, 12);
  assert_false(iso__field_view(&m, 4, buf, 12, &v, &len));
  assert_false(iso__field_str(&m, 4, copy, 12));
  assert_false(iso__field_view(&m, 90, buf, sizeof buf, &v, &len)); /* absent */
  assert_false(iso__field_str(&m, 90, copy, sizeof copy));
  assert_int_equal(iso__amount_of(&m), 12345);
  iso_msg_unset(&m, 4);
  assert_int_equal(iso__amount_of(&m), -1);

  /* Unpacked in a spec that keeps numerics in BCD, a field is decoded into
   * buf (no zero-copy view), with the same bounds. */
  const iso_spec *bcd = iso_spec_builtin("iso87b");
  iso_msg b, u;
  iso_msg_init(&b, bcd);
  iso_msg_init(&u, bcd);
  assert_int_equal(iso_msg_set_mti(&b, "0100"), 0);
  assert_int_equal(iso_msg_set_str(&b, 4, "000000012345"), 0);
  assert_int_equal(iso_msg_set_str(&b, 11, "000042"), 0);
  uint8_t wire[128];
  size_t wire_len = 0;
  assert_int_equal(iso_msg_pack(&b, wire, sizeof wire, &wire_len, NULL), 0);
  assert_int_equal(iso_msg_unpack(&u, wire, wire_len, NULL), 0);
  const uint8_t *raw;
  size_t raw_len;
  assert_int_equal(iso_msg_peek(&u, 4, &raw, &raw_len), ISO_E_UNSUPPORTED);
  assert_true(iso__field_view(&u, 4, buf, 13, &v, &len));
  assert_ptr_equal(v, buf);
  assert_int_equal(len, 12);
  assert_string_equal(buf, "000000012345");
  assert_false(iso__field_view(&u, 4, buf, 12, &v, &len)); /* no room for the NUL */
  assert_false(iso__field_view(&u, 4, buf, 6, &v, &len));  /* not even for the value */
  assert_int_equal(iso__amount_of(&u), 12345);
  assert_true(iso__field_str(&u, 11, copy, sizeof copy));
  assert_string_equal(copy, "000042");
  iso_msg_cleanup(&u);
  iso_msg_cleanup(&b);
  iso_msg_cleanup(&m);
}

/* The account's commit adds to the log what its prepare noted from the
 * request (the capture context value); without it (no memory in prepare)
 * commit reads the request instead: the same entry either way, so the
 * authorization is reversed by DE 90 and by DE 37 alike and refunds the
 * same amount to the same card. */
static int drop_capture(iso_tx *tx, void *data) {
  (void)data;
  iso_tx_set(tx, ISO__CTX_CAPTURE, NULL, NULL); /* as if never made */
  return ISO_PREPARED | ISO_NO_JOIN | ISO_READONLY;
}

static void capture_then_reverse(world *w, unsigned card, uint32_t stan, bool by_rrn) {
  iso_msg orig, rev;
  iso_msg_init(&orig, w->spec);
  iso_msg_init(&rev, w->spec);
  int64_t before = iso__issuer_available(&w->issuer, card);
  iw_auth_request(&orig, card, 777, stan);
  answer a;
  iw_submit(w, &orig, &a);
  assert_string_equal(a.rc, "00");
  assert_int_equal(iso__issuer_available(&w->issuer, card), before - 777);
  iso__auth_entry e;
  iso__original_keys k;
  iso__auth_entry_from(&e, &orig);
  memset(&k, 0, sizeof k);
  k.has_de90 = true;
  k.by_de90 = e;
  k.has_rrn = true;
  k.by_rrn = e;
  assert_true(iso__auth_log_has(&w->issuer.log, &k));
  assert_int_equal(iso__build_reversal(&rev, &orig, "0400", stan + 1), 0);
  if (by_rrn) iso_msg_unset(&rev, 90);
  iw_submit(w, &rev, &a);
  assert_string_equal(a.rc, "00");
  assert_int_equal(iso__issuer_available(&w->issuer, card), before);
  iso_msg_cleanup(&orig);
  iso_msg_cleanup(&rev);
}

static void test_capture_with_and_without_note(void **state) {
  world *w = *state;
  capture_then_reverse(w, 21, 500, false);
  capture_then_reverse(w, 22, 510, true);
  assert_int_equal(iso__issuer_count(&w->issuer, ISO__COUNT_REFUNDS), 2);
  static const iso_participant dropper = {.name = "drop-capture", .prepare = drop_capture};
  world *bare = iw_world_new_with(NULL, &dropper);
  capture_then_reverse(bare, 21, 500, false);
  capture_then_reverse(bare, 22, 510, true);
  assert_int_equal(iso__issuer_count(&bare->issuer, ISO__COUNT_CAPTURES), 2);
  assert_int_equal(iso__issuer_count(&bare->issuer, ISO__COUNT_REFUNDS), 2);
  assert_int_equal(bare->issuer.log.count, w->issuer.log.count);
  iw_world_free(bare);
}

/* A hold placed in prepare is given back when a participant after the
 * account refuses: abort credits the card and counts a release, and
 * nothing is captured. */
static int refuse(iso_tx *tx, void *data) {
  (void)data;
  iso_tx_set_response_code(tx, "05");
  return ISO_ABORTED;
}

static void test_hold_released_on_abort(void **state) {
  (void)state;
  static const iso_participant refuser = {.name = "refuse", .prepare = refuse};
  world *w = iw_world_new_with(NULL, &refuser);
  iso_msg m;
  iso_msg_init(&m, w->spec);
  iw_auth_request(&m, 13, 4321, 40);
  iw_answer a;
  iw_submit(w, &m, &a);
  assert_string_equal(a.rc, "05");
  assert_int_equal(iso__issuer_available(&w->issuer, 13), 500000);
  assert_int_equal(iso__issuer_count(&w->issuer, ISO__COUNT_HOLDS), 1);
  assert_int_equal(iso__issuer_count(&w->issuer, ISO__COUNT_RELEASES), 1);
  assert_int_equal(iso__issuer_count(&w->issuer, ISO__COUNT_CAPTURES), 0);
  iso_msg_cleanup(&m);
  iw_world_free(w);
}

/* Authorization codes: each loop takes a batch of the shared sequence at a
 * time; codes handed out on two threads at once never repeat (until the
 * six digits wrap). */
typedef struct code_job {
  iso__issuer *is;
  uint32_t codes[2500];
} code_job;

static void *take_codes(void *data) {
  code_job *j = data;
  for (size_t i = 0; i < sizeof j->codes / sizeof j->codes[0]; i++)
    j->codes[i] = iso__issuer_next_auth_code(j->is);
  return NULL;
}

static int by_value(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return x < y ? -1 : x > y;
}

static void test_auth_codes(void **state) {
  world *w = *state;
  static code_job jobs[2];
  pthread_t th[2];
  for (int i = 0; i < 2; i++) {
    jobs[i].is = &w->issuer;
    assert_int_equal(pthread_create(&th[i], NULL, take_codes, &jobs[i]), 0);
  }
  for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
  /* within a thread: consecutive inside a batch */
  assert_int_equal(jobs[0].codes[1], jobs[0].codes[0] + 1);
  static uint32_t all[5000];
  memcpy(all, jobs[0].codes, sizeof jobs[0].codes);
  memcpy(all + 2500, jobs[1].codes, sizeof jobs[1].codes);
  qsort(all, 5000, sizeof all[0], by_value);
  for (size_t i = 1; i < 5000; i++) assert_true(all[i] != all[i - 1]);
  /* every code came from the shared sequence, which moved past them all */
  assert_true(atomic_load(&w->issuer.next_auth_code) > all[4999]);
}

static void test_request_kinds(void **state) {
  (void)state;
  assert_int_equal(iso__request_kind_of("0100"), ISO__KIND_AUTHORIZATION);
  assert_int_equal(iso__request_kind_of("0201"), ISO__KIND_AUTHORIZATION);
  assert_int_equal(iso__request_kind_of("0421"), ISO__KIND_REVERSAL);
  assert_int_equal(iso__request_kind_of("0401"), ISO__KIND_REVERSAL);
  assert_int_equal(iso__request_kind_of("0800"), ISO__KIND_NETWORK);
  assert_int_equal(iso__request_kind_of("0300"), 0);
  assert_int_equal(iso__request_kind_of("010"), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_hold_values),
      cmocka_unit_test_setup_teardown(test_card_values, setup, teardown),
      cmocka_unit_test_setup_teardown(test_approval, setup, teardown),
      cmocka_unit_test_setup_teardown(test_declines, setup, teardown),
      cmocka_unit_test_setup_teardown(test_duplicate_runs_once, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reversals, setup, teardown),
      cmocka_unit_test_setup_teardown(test_network, setup, teardown),
      cmocka_unit_test_setup_teardown(test_recovery, setup, teardown),
      cmocka_unit_test(test_request_kinds),
      cmocka_unit_test_setup_teardown(test_field_views, setup, teardown),
      cmocka_unit_test_setup_teardown(test_auth_codes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_capture_with_and_without_note, setup, teardown),
      cmocka_unit_test(test_hold_released_on_abort),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
