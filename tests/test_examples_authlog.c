/*
 * tests/test_examples_authlog.c -- the example issuer's bounded
 * authorization log (examples/issuer/participants/authlog.c) and the
 * journal lookup of originals it no longer holds (lookup.c): eviction of the
 * oldest at the size limit with every remaining entry still found, the
 * log's footprint (slots, tables) no longer growing once full, an entry
 * held by a reversal surviving its eviction until settled, an
 * authorization committed after a reversal brought it back from the journal
 * entering once; then through a
 * real flow with a journal: a reversal of an evicted original found in the
 * journal and refunded once, a second reversal acknowledged without effect
 * (from the log, and again from the journal once evicted a second time), an
 * original named by DE 37 only, an unknown one, and balances rebuilt from
 * the journal equal to the live ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

#include "examples/common/cards.h"
#include "examples/common/requests.h"
#include "examples/issuer/participants/issuer.h"
#include "isoflow/journal.h"
#include "support/flow_fixture.h"
#include "support/issuer_world.h"
#include "support/journal_support.h"

/* ---- the log alone -------------------------------------------------------- */

static void entry(iso__auth_entry *e, unsigned n) {
  memset(e, 0, sizeof *e);
  snprintf(e->terminal, sizeof e->terminal, "TERM%04u", n % 7);
  snprintf(e->rrn, sizeof e->rrn, "%012u", n);
  snprintf(e->stan, sizeof e->stan, "%06u", n % 1000000);
  snprintf(e->when, sizeof e->when, "1123%06u", n % 100);
  e->card = n % 1000;
  e->amount = n;
  e->state = ISO__AUTH_CAPTURED;
}

static void keys_of(iso__original_keys *k, const iso__auth_entry *e, bool de90, bool rrn) {
  memset(k, 0, sizeof *k);
  if (de90) {
    k->has_de90 = true;
    memcpy(k->by_de90.terminal, e->terminal, sizeof e->terminal);
    memcpy(k->by_de90.stan, e->stan, sizeof e->stan);
    memcpy(k->by_de90.when, e->when, sizeof e->when);
  }
  if (rrn) {
    k->has_rrn = true;
    memcpy(k->by_rrn.terminal, e->terminal, sizeof e->terminal);
    memcpy(k->by_rrn.rrn, e->rrn, sizeof e->rrn);
  }
}

static bool has(iso__auth_log *log, unsigned n, bool de90) {
  iso__auth_entry e;
  iso__original_keys k;
  entry(&e, n);
  keys_of(&k, &e, de90, !de90);
  return iso__auth_log_has(log, &k);
}

static void test_eviction_at_the_cap(void **state) {
  (void)state;
  iso__auth_log log;
  assert_int_equal(iso__auth_log_init(&log, 5000), 0);
  assert_int_equal(log.limit, 5000);
  iso__auth_entry e;
  for (unsigned n = 1; n <= 5000; n++) {
    entry(&e, n);
    assert_int_equal(iso__auth_log_add(&log, &e), 0);
  }
  assert_int_equal(log.count, 5000);
  assert_int_equal(log.evictions, 0);
  assert_true(has(&log, 1, true));
  /* Past the cap, each add evicts the oldest. */
  for (unsigned n = 5001; n <= 5003; n++) {
    entry(&e, n);
    assert_int_equal(iso__auth_log_add(&log, &e), 0);
  }
  assert_int_equal(log.count, 5000);
  assert_int_equal(log.evictions, 3);
  for (unsigned n = 1; n <= 3; n++) {
    assert_false(has(&log, n, true));
    assert_false(has(&log, n, false));
  }
  /* Many rounds of eviction: the newest 5000 are all found by both keys
   * (the tables' deletions keep every probe chain intact), none older. */
  for (unsigned n = 5004; n <= 60000; n++) {
    entry(&e, n);
    assert_int_equal(iso__auth_log_add(&log, &e), 0);
  }
  for (unsigned n = 55001; n <= 60000; n++) {
    assert_true(has(&log, n, true));
    assert_true(has(&log, n, false));
  }
  for (unsigned n = 50001; n <= 55000; n += 7) {
    assert_false(has(&log, n, true));
    assert_false(has(&log, n, false));
  }
  assert_int_equal(log.evictions, 55000);
  iso__auth_log_free(&log);

  /* The default limit. */
  assert_int_equal(iso__auth_log_init(&log, 0), 0);
  assert_int_equal(log.limit, ISO__AUTH_LOG_DEFAULT);
  iso__auth_log_free(&log);
}

static void test_footprint_stops_growing(void **state) {
  (void)state;
  iso__auth_log log;
  assert_int_equal(iso__auth_log_init(&log, 3000), 0);
  iso__auth_entry e;
  unsigned n = 1;
  assert_int_equal(log.buckets, 0); /* nothing allocated before the first add */
  entry(&e, n++);
  assert_int_equal(iso__auth_log_add(&log, &e), 0);
  /* The tables are sized for the limit at once: never rehashed. */
  size_t buckets = log.buckets;
  assert_true(buckets >= 2 * 3000);
  assert_int_equal(buckets & (buckets - 1), 0);
  for (; n <= 3000; n++) {
    entry(&e, n);
    assert_int_equal(iso__auth_log_add(&log, &e), 0);
    assert_int_equal(log.buckets, buckets);
  }
  size_t cap = log.cap, chunks = log.chunk_count;
  assert_int_equal(cap, 3000);
  for (; n <= 100000; n++) {
    entry(&e, n);
    assert_int_equal(iso__auth_log_add(&log, &e), 0);
    assert_int_equal(log.count, 3000);
  }
  assert_int_equal(log.cap, cap);
  assert_int_equal(log.buckets, buckets);
  /* Evicted entries go back to the pool and are used again. */
  assert_int_equal(log.chunk_count, chunks);
  /* The tables hold exactly the live entries (no tombstones). */
  size_t r = 0, s = 0;
  for (size_t i = 0; i < log.buckets; i++) {
    r += log.by_rrn[i].slot != 0;
    s += log.by_stan[i].slot != 0;
  }
  assert_int_equal(r, 3000);
  assert_int_equal(s, 3000);
  iso__auth_log_free(&log);
}

/* Hashing (and prefetching) apart from adding, as the account's commit
 * does: the same entries, found the same way, before and after the tables
 * exist; an entry without DE 37 has no RRN hash and is found by DE 90. */
static void test_add_hashed(void **state) {
  (void)state;
  iso__auth_log log, plain;
  assert_int_equal(iso__auth_log_init(&log, 100), 0);
  assert_int_equal(iso__auth_log_init(&plain, 100), 0);
  iso__auth_entry e;
  for (unsigned n = 1; n <= 250; n++) {
    entry(&e, n);
    if (n % 5 == 0) e.rrn[0] = '\0';
    iso__auth_hashes h = iso__auth_log_hashes(&log, &e);
    assert_int_equal(h.rrn == 0, n % 5 == 0);
    assert_int_equal(iso__auth_log_add_hashed(&log, &e, h), 0);
    assert_int_equal(iso__auth_log_add(&plain, &e), 0);
  }
  assert_int_equal(log.count, plain.count);
  for (size_t i = 0; i < log.buckets; i++) {
    assert_int_equal(log.by_stan[i].hash, plain.by_stan[i].hash);
    assert_int_equal(log.by_rrn[i].slot, plain.by_rrn[i].slot);
  }
  for (unsigned n = 151; n <= 250; n++) {
    assert_true(has(&log, n, true));
    assert_int_equal(has(&log, n, false), n % 5 != 0);
  }
  assert_false(has(&log, 150, true));
  iso__auth_log_free(&log);
  iso__auth_log_free(&plain);
}

static void test_held_entry_survives_eviction(void **state) {
  (void)state;
  iso__auth_log log;
  assert_int_equal(iso__auth_log_init(&log, 4), 0);
  iso__auth_entry e, *held, *other;
  iso__original_keys k;
  entry(&e, 1);
  assert_int_equal(iso__auth_log_add(&log, &e), 0);
  keys_of(&k, &e, true, true);
  assert_int_equal(iso__auth_log_claim(&log, &k, &held), ISO__CLAIM_TAKEN);
  assert_int_equal(held->state, ISO__AUTH_REVERSING);
  assert_int_equal(iso__auth_log_claim(&log, &k, &other), ISO__CLAIM_ALREADY);
  assert_null(other);
  for (unsigned n = 2; n <= 6; n++) {
    entry(&e, n);
    assert_int_equal(iso__auth_log_add(&log, &e), 0);
  }
  /* Evicted while held, it is still found: a second reversal of it sees
   * the claim however many approvals passed, and cannot refund it too. */
  assert_int_equal(log.held_count, 1);
  assert_true(iso__auth_log_has(&log, &k));
  assert_int_equal(iso__auth_log_claim(&log, &k, &other), ISO__CLAIM_ALREADY);
  assert_null(other);
  e = *held;
  e.state = ISO__AUTH_CAPTURED;
  assert_int_equal(iso__auth_log_admit(&log, &e), 0); /* a racing journal lookup */
  assert_int_equal(log.held_count, 1);
  assert_int_equal(iso__auth_log_claim(&log, &k, &other), ISO__CLAIM_ALREADY);
  assert_int_equal(held->amount, 1); /* still valid (ASan would object) */
  iso__auth_log_settle(&log, held, true); /* gives it back to the pool */
#if defined(__SANITIZE_ADDRESS__)
  /* ... where a pointer kept past the settle is caught as a use after free. */
  assert_true(__asan_address_is_poisoned(held));
#endif
  /* Settled, it has left the log: the journal answers for it now. */
  assert_int_equal(log.held_count, 0);
  assert_false(iso__auth_log_has(&log, &k));
  assert_int_equal(iso__auth_log_claim(&log, &k, &other), ISO__CLAIM_UNKNOWN);
  /* A claim given back makes the entry claimable again. */
  entry(&e, 6);
  keys_of(&k, &e, false, true);
  assert_int_equal(iso__auth_log_claim(&log, &k, &held), ISO__CLAIM_TAKEN);
  iso__auth_log_settle(&log, held, false);
  assert_int_equal(iso__auth_log_claim(&log, &k, &held), ISO__CLAIM_TAKEN);
  iso__auth_log_settle(&log, held, true);
  assert_int_equal(iso__auth_log_claim(&log, &k, &held), ISO__CLAIM_ALREADY);
  /* admit keeps the entry already there. */
  e.state = ISO__AUTH_CAPTURED;
  assert_int_equal(iso__auth_log_admit(&log, &e), 0);
  assert_int_equal(log.count, 4);
  assert_int_equal(iso__auth_log_claim(&log, &k, &held), ISO__CLAIM_ALREADY);
  /* The same authorization added (its commit running after a reversal
   * admitted it from the journal) leaves the reversed entry alone; another
   * one with the same DE 90 identity but another RRN enters. */
  uint64_t evictions = log.evictions;
  assert_int_equal(iso__auth_log_add(&log, &e), 0);
  assert_int_equal(log.evictions, evictions);
  assert_int_equal(iso__auth_log_claim(&log, &k, &held), ISO__CLAIM_ALREADY);
  snprintf(e.rrn, sizeof e.rrn, "%s", "999999999999");
  assert_int_equal(iso__auth_log_add(&log, &e), 0);
  assert_int_equal(log.evictions, evictions + 1);
  keys_of(&k, &e, false, true);
  assert_int_equal(iso__auth_log_claim(&log, &k, &held), ISO__CLAIM_TAKEN);
  iso__auth_log_settle(&log, held, true);
  iso__auth_log_free(&log);
}

/* ---- through a flow with a journal ---------------------------------------- */

typedef iw_world world;
typedef iw_answer answer;

static int setup(void **state) {
  char path[300];
  jt_path(path, sizeof path, "authlog.db");
  world *w = iw_world_new(path);
  w->issuer.log.limit = 3;
  *state = w;
  return 0;
}

static int teardown(void **state) {
  iw_world_free(*state);
  jt_cleanup();
  return 0;
}

/* Builds an authorization into m and asserts that it is approved. */
static void auth(world *w, iso_msg *m, unsigned card, int64_t amount, uint32_t stan) {
  iw_auth_request(m, card, amount, stan);
  answer a;
  iw_submit(w, m, &a);
  assert_string_equal(a.rc, "00");
}

/* Approves three more authorizations on card 900: the log (limit 3) then
 * holds none of the earlier ones. */
static void push_out(world *w, uint32_t *stan) {
  iso_msg m;
  iso_msg_init(&m, w->spec);
  for (int i = 0; i < 3; i++) auth(w, &m, 900, 1, (*stan)++);
  iso_msg_cleanup(&m);
}

static int rebuild_row(const iso_journal_row *row, void *data) {
  iso__issuer *is = data;
  if (!row->completed || row->decision != ISO_DECISION_COMMIT || !row->request) return 0;
  for (size_t i = 0; i < row->value_count; i++) {
    const iso_tx_value *v = &row->values[i];
    if (!strcmp(v->name, ISO__CTX_HOLD))
      assert_int_equal(iso__issuer_apply_capture(is, row->request, v->data, v->len), 0);
    else if (!strcmp(v->name, ISO__CTX_REFUND))
      assert_int_equal(iso__issuer_apply_refund(is, row->request, v->data, v->len), 0);
  }
  return 0;
}

static void test_reversal_of_evicted_original(void **state) {
  world *w = *state;
  iso_msg orig, rev;
  iso_msg_init(&orig, w->spec);
  iso_msg_init(&rev, w->spec);
  answer a;
  uint32_t stan = 100;
  const int64_t opening = 500000;

  auth(w, &orig, 8, 2500, stan++);
  assert_int_equal(iso__issuer_available(&w->issuer, 8), opening - 2500);
  push_out(w, &stan);
  iso__original_keys k;
  iso__auth_entry e;
  iso__auth_entry_from(&e, &orig);
  keys_of(&k, &e, true, true);
  assert_false(iso__auth_log_has(&w->issuer.log, &k));

  /* Found in the journal (by DE 90; the reversal carries no DE 37),
   * refunded once. */
  assert_int_equal(iso__build_reversal(&rev, &orig, "0400", stan++), 0);
  iso_msg_unset(&rev, 37);
  iw_submit(w, &rev, &a);
  assert_int_equal(a.status, 0);
  assert_string_equal(a.rc, "00");
  assert_int_equal(iso__issuer_available(&w->issuer, 8), opening);
  assert_int_equal(atomic_load(&w->issuer.counters.journal_found), 1);
  assert_int_equal(iso__issuer_count(&w->issuer, ISO__COUNT_REFUNDS), 1);

  /* A second reversal: the original is back in the log, reversed. */
  assert_int_equal(iso__build_reversal(&rev, &orig, "0420", stan++), 0);
  iw_submit(w, &rev, &a);
  assert_string_equal(a.rc, "00");
  assert_int_equal(iso__issuer_available(&w->issuer, 8), opening);
  assert_int_equal(iso__issuer_count(&w->issuer, ISO__COUNT_REVERSAL_REPEATED), 1);

  /* Evicted again: the journal holds the committed reversal (found among
   * the terminal's transactions since the original: it has no DE 37); no
   * second refund. */
  push_out(w, &stan);
  assert_false(iso__auth_log_has(&w->issuer.log, &k));
  assert_int_equal(iso__build_reversal(&rev, &orig, "0420", stan++), 0);
  iw_submit(w, &rev, &a);
  assert_string_equal(a.rc, "00");
  assert_int_equal(iso__issuer_available(&w->issuer, 8), opening);
  assert_int_equal(atomic_load(&w->issuer.counters.journal_found), 2);
  assert_int_equal(iso__issuer_count(&w->issuer, ISO__COUNT_REVERSAL_REPEATED), 2);
  assert_int_equal(iso__issuer_count(&w->issuer, ISO__COUNT_REFUNDS), 1);

  /* Named by DE 37 + DE 41 only (no DE 90). */
  auth(w, &orig, 9, 700, stan++);
  push_out(w, &stan);
  assert_int_equal(iso__build_reversal(&rev, &orig, "0400", stan++), 0);
  iso_msg_unset(&rev, 90);
  iw_submit(w, &rev, &a);
  assert_string_equal(a.rc, "00");
  assert_int_equal(iso__issuer_available(&w->issuer, 9), opening);
  assert_int_equal(atomic_load(&w->issuer.counters.journal_found), 3);
  assert_int_equal(iso__issuer_count(&w->issuer, ISO__COUNT_REFUNDS), 2);
  /* ... and its repeat by DE 90, once evicted again, finds the DE 37
   * reversal in the journal. */
  push_out(w, &stan);
  assert_int_equal(iso__build_reversal(&rev, &orig, "0420", stan++), 0);
  iw_submit(w, &rev, &a);
  assert_string_equal(a.rc, "00");
  assert_int_equal(iso__issuer_available(&w->issuer, 9), opening);
  assert_int_equal(iso__issuer_count(&w->issuer, ISO__COUNT_REFUNDS), 2);

  /* Never authorized (declined 51, so journaled without a hold): the
   * journal has no original; acknowledged without effect. */
  char pan[ISO__PAN_MAX + 1];
  iso__card_builtin_pan(10, pan);
  iso__auth_params p = {.pan = pan, .expiry = "3012", .amount = 900000, .stan = stan++,
                        .when = "1123101010"};
  assert_int_equal(iso__build_authorization(&orig, &p), 0);
  iw_submit(w, &orig, &a);
  assert_string_equal(a.rc, "51");
  assert_int_equal(iso__build_reversal(&rev, &orig, "0400", stan++), 0);
  iw_submit(w, &rev, &a);
  assert_string_equal(a.rc, "00");
  assert_int_equal(iso__issuer_available(&w->issuer, 10), opening);
  assert_int_equal(atomic_load(&w->issuer.counters.journal_missed), 1);
  assert_int_equal(iso__issuer_count(&w->issuer, ISO__COUNT_REVERSAL_UNKNOWN), 1);

  /* Balances rebuilt from the journal agree with the live ones. */
  iso__issuer re;
  assert_int_equal(iso__issuer_init(&re, &w->book), 0);
  re.log.limit = 3;
  iso_journal_selection all;
  memset(&all, 0, sizeof all);
  assert_int_equal(iso_journal_query(w->db, &all, rebuild_row, &re), 0);
  for (uint32_t c = 0; c < w->book.count; c++)
    assert_int_equal(iso__issuer_available(&re, c), iso__issuer_available(&w->issuer, c));
  assert_int_equal(iso__issuer_available(&re, 900), opening - 12);
  iso__issuer_free(&re);

  iso_msg_cleanup(&orig);
  iso_msg_cleanup(&rev);
}

/* DE 32 is LLVAR and may keep leading zeros; DE 90 zero-fills the
 * acquirer to 11 digits.  An evicted original whose DE 32 had leading
 * zeros, reversed by DE 90 alone through an acquirer whose own DE 32
 * differs, is still found in the journal and refunded once. */
static void test_reversal_by_de90_with_padded_acquirer(void **state) {
  world *w = *state;
  iso_msg orig, rev;
  iso_msg_init(&orig, w->spec);
  iso_msg_init(&rev, w->spec);
  answer a;
  uint32_t stan = 500;
  iw_auth_request(&orig, 11, 1500, stan++);
  assert_int_equal(iso_msg_set_str(&orig, 32, "0012345"), 0);
  iw_submit(w, &orig, &a);
  assert_string_equal(a.rc, "00");
  assert_int_equal(iso__issuer_available(&w->issuer, 11), 500000 - 1500);
  push_out(w, &stan);
  assert_int_equal(iso__build_reversal(&rev, &orig, "0400", stan++), 0);
  iso_msg_unset(&rev, 37);
  char own[16];
  assert_true(iso__field_str(&rev, 32, own, sizeof own));
  assert_string_not_equal(own, "0012345"); /* the reversal's own acquirer */
  iw_submit(w, &rev, &a);
  assert_string_equal(a.rc, "00");
  assert_int_equal(iso__issuer_available(&w->issuer, 11), 500000);
  assert_int_equal(atomic_load(&w->issuer.counters.journal_found), 1);
  assert_int_equal(iso__issuer_count(&w->issuer, ISO__COUNT_REFUNDS), 1);
  iso_msg_cleanup(&orig);
  iso_msg_cleanup(&rev);
}

/* A flow that keys no transaction journals no idempotency keys: a DE 90
 * original is then found among the rows of its DE 41 and DE 11 (read in
 * full), and refunded once. */
static void test_reversal_by_de90_without_keys(void **state) {
  (void)state;
  char path[300];
  jt_path(path, sizeof path, "keyless.db");
  world *w = iw_world_new_keyed(path, NULL, false);
  w->issuer.log.limit = 3;
  iso_msg orig, rev;
  iso_msg_init(&orig, w->spec);
  iso_msg_init(&rev, w->spec);
  answer a;
  uint32_t stan = 700;
  auth(w, &orig, 12, 800, stan++);
  push_out(w, &stan);
  assert_int_equal(iso__build_reversal(&rev, &orig, "0400", stan++), 0);
  iso_msg_unset(&rev, 37);
  iw_submit(w, &rev, &a);
  assert_string_equal(a.rc, "00");
  assert_int_equal(iso__issuer_available(&w->issuer, 12), 500000);
  assert_int_equal(atomic_load(&w->issuer.counters.journal_found), 1);
  assert_int_equal(iso__issuer_count(&w->issuer, ISO__COUNT_REFUNDS), 1);
  iso_msg_cleanup(&orig);
  iso_msg_cleanup(&rev);
  iw_world_free(w);
  jt_cleanup();
}

static void test_without_journal_evicted_is_unknown(void **state) {
  world *w = *state;
  w->issuer.journal = NULL;
  iso_msg orig, rev;
  iso_msg_init(&orig, w->spec);
  iso_msg_init(&rev, w->spec);
  answer a;
  uint32_t stan = 300;
  auth(w, &orig, 11, 1000, stan++);
  push_out(w, &stan);
  assert_int_equal(iso__build_reversal(&rev, &orig, "0400", stan++), 0);
  iw_submit(w, &rev, &a);
  assert_string_equal(a.rc, "00");
  assert_int_equal(iso__issuer_available(&w->issuer, 11), 500000 - 1000);
  assert_int_equal(iso__issuer_count(&w->issuer, ISO__COUNT_REVERSAL_UNKNOWN), 1);
  assert_int_equal(atomic_load(&w->issuer.counters.journal_found), 0);
  iso_msg_cleanup(&orig);
  iso_msg_cleanup(&rev);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_eviction_at_the_cap),
      cmocka_unit_test(test_footprint_stops_growing),
      cmocka_unit_test(test_add_hashed),
      cmocka_unit_test(test_held_entry_survives_eviction),
      cmocka_unit_test_setup_teardown(test_reversal_of_evicted_original, setup, teardown),
      cmocka_unit_test_setup_teardown(test_reversal_by_de90_with_padded_acquirer, setup,
                                      teardown),
      cmocka_unit_test(test_reversal_by_de90_without_keys),
      cmocka_unit_test_setup_teardown(test_without_journal_evicted_is_unknown, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
