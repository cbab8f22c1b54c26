/*
 * tests/test_examples_common.c -- the code the example programs share:
 * Luhn and the card book (built-in, files, lookup, expiry), option parsers,
 * latency percentiles, the text buffer, decimal digits and per-thread
 * tallies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <cmocka.h>

#include "examples/common/args.h"
#include "examples/common/cards.h"
#include "examples/common/digits.h"
#include "examples/common/latency.h"
#include "examples/common/tally.h"
#include "examples/common/text.h"
#include "isoflow/error.h"

static void test_luhn(void **state) {
  (void)state;
  assert_true(iso__luhn_ok("4242424242424242", 16));
  assert_true(iso__luhn_ok("79927398713", 11));
  assert_false(iso__luhn_ok("79927398710", 11));
  assert_false(iso__luhn_ok("4242424242424241", 16));
  assert_false(iso__luhn_ok("42424242424242a2", 16));
  assert_false(iso__luhn_ok("4", 1));
  assert_int_equal(iso__luhn_digit("7992739871", 10), '3');
  char pan[ISO__PAN_MAX + 1];
  for (unsigned i = 0; i < 300; i++) {
    iso__card_builtin_pan(i, pan);
    assert_int_equal(strlen(pan), 16);
    assert_true(iso__luhn_ok(pan, 16));
  }
}

static void test_builtin_book(void **state) {
  (void)state;
  iso__card_book b;
  assert_int_equal(iso__card_book_builtin(&b), 0);
  assert_int_equal(b.count, ISO__BUILTIN_CARDS);
  char pan[ISO__PAN_MAX + 1];
  iso__card_builtin_pan(7, pan);
  assert_int_equal(iso__card_book_find(&b, pan, strlen(pan)), 7);
  assert_int_equal(b.cards[7].opening, 500000);
  assert_int_equal(b.cards[98].opening, 5000);
  assert_string_equal(b.cards[99].expiry, "2001");
  assert_string_equal(b.cards[0].expiry, "3012");
  pan[15] = pan[15] == '9' ? '0' : (char)(pan[15] + 1);
  assert_int_equal(iso__card_book_find(&b, pan, strlen(pan)), -1);
  assert_int_equal(iso__card_book_find(&b, pan, 0), -1);
  assert_int_equal(iso__card_book_find(&b, "40000000000000000000000", 23), -1);
  /* Every card is found at its index through the hash index, and a PAN
   * that is a prefix of a card's, or a card's with a digit more, is not. */
  assert_non_null(b.index);
  for (unsigned c = 0; c < ISO__BUILTIN_CARDS; c++) {
    iso__card_builtin_pan(c, pan);
    assert_int_equal(iso__card_book_find(&b, pan, strlen(pan)), c);
    assert_int_equal(iso__card_book_find(&b, pan, strlen(pan) - 1), -1);
    char longer[ISO__PAN_MAX + 2];
    snprintf(longer, sizeof longer, "%s0", pan);
    assert_int_equal(iso__card_book_find(&b, longer, strlen(longer)), -1);
  }
  /* A book without its index (put together by hand) is searched in order:
   * the same answers. */
  uint32_t *index = b.index;
  b.index = NULL;
  iso__card_builtin_pan(513, pan);
  assert_int_equal(iso__card_book_find(&b, pan, strlen(pan)), 513);
  assert_int_equal(iso__card_book_find(&b, pan, strlen(pan) - 1), -1);
  b.index = index;
  iso__card_book_free(&b);
  assert_null(b.cards);
  assert_null(b.index);
}

static char *write_temp(const char *text) {
  static char path[64];
  snprintf(path, sizeof path, "/tmp/isoflow-cards-XXXXXX");
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
  close(fd);
  return path;
}

static void test_card_file(void **state) {
  (void)state;
  iso__card_book b;
  int line = -1;
  char *path = write_temp("# test cards\n\n4242424242424242 2712 100000\n"
                          "  5555555555554444 2501 0\n");
  assert_int_equal(iso__card_book_load(path, &b, &line), 0);
  assert_int_equal(b.count, 2);
  long i = iso__card_book_find(&b, "4242424242424242", 16);
  assert_true(i >= 0);
  assert_int_equal(b.cards[i].opening, 100000);
  assert_string_equal(b.cards[i].expiry, "2712");
  assert_true(iso__card_book_find(&b, "5555555555554444", 16) >= 0);
  iso__card_book_free(&b);
  unlink(path);

  /* Bad Luhn on line 2: named by its number. */
  path = write_temp("4242424242424242 2712 1\n4242424242424241 2712 1\n");
  assert_int_equal(iso__card_book_load(path, &b, &line), ISO_E_INVAL);
  assert_int_equal(line, 2);
  assert_null(b.cards);
  unlink(path);
  path = write_temp("4242424242424242 27 1\n");
  assert_int_equal(iso__card_book_load(path, &b, &line), ISO_E_INVAL);
  unlink(path);
  path = write_temp("4242424242424242 2712 -5\n");
  assert_int_equal(iso__card_book_load(path, &b, &line), ISO_E_INVAL);
  unlink(path);
  path = write_temp("4242424242424242 2712 5 extra\n");
  assert_int_equal(iso__card_book_load(path, &b, &line), ISO_E_INVAL);
  unlink(path);
  path = write_temp("4242424242424242 2712 5\n4242424242424242 2801 7\n");
  assert_int_equal(iso__card_book_load(path, &b, &line), ISO_E_INVAL);
  unlink(path);
  path = write_temp("# nothing\n");
  assert_int_equal(iso__card_book_load(path, &b, &line), ISO_E_INVAL);
  unlink(path);
  assert_int_equal(iso__card_book_load("/nonexistent/cards", &b, &line), ISO_E_IO);
}

static void test_expiry(void **state) {
  (void)state;
  assert_false(iso__card_expired("2712", 4, "2611"));
  assert_false(iso__card_expired("2611", 4, "2611")); /* valid through its month */
  assert_true(iso__card_expired("2610", 4, "2611"));
  assert_true(iso__card_expired("2001", 4, "2611"));
  assert_true(iso__card_expired("2713", 4, "2611"));
  assert_true(iso__card_expired("2700", 4, "2611"));
  assert_true(iso__card_expired("27a1", 4, "2611"));
  assert_true(iso__card_expired("271", 3, "2611"));
}

static void test_hostport(void **state) {
  (void)state;
  struct sockaddr_storage ss;
  assert_int_equal(iso__parse_hostport("127.0.0.1:8583", &ss), 0);
  assert_int_equal(ss.ss_family, AF_INET);
  assert_int_equal(ntohs(((struct sockaddr_in *)&ss)->sin_port), 8583);
  char buf[64];
  iso__format_addr((struct sockaddr *)&ss, buf, sizeof buf);
  assert_string_equal(buf, "127.0.0.1:8583");
  assert_int_equal(iso__parse_hostport("[::1]:0", &ss), 0);
  assert_int_equal(ss.ss_family, AF_INET6);
  iso__format_addr((struct sockaddr *)&ss, buf, sizeof buf);
  assert_string_equal(buf, "[::1]:0");
  assert_int_equal(iso__parse_hostport("localhost:1", &ss), 0);
  assert_int_equal(ss.ss_family, AF_INET);
  assert_int_equal(iso__parse_hostport("127.0.0.1", &ss), ISO_E_INVAL);
  assert_int_equal(iso__parse_hostport("127.0.0.1:65536", &ss), ISO_E_INVAL);
  assert_int_equal(iso__parse_hostport("127.0.0.1:-1", &ss), ISO_E_INVAL);
  assert_int_equal(iso__parse_hostport("host.example:80", &ss), ISO_E_INVAL);
  assert_int_equal(iso__parse_hostport(":80", &ss), ISO_E_INVAL);
  assert_int_equal(iso__parse_hostport("[::1]80", &ss), ISO_E_INVAL);

  struct sockaddr_storage list[3];
  size_t n = 0;
  assert_int_equal(iso__parse_hostport_list("127.0.0.1:1,127.0.0.1:2", list, 3, &n), 0);
  assert_int_equal(n, 2);
  assert_int_equal(ntohs(((struct sockaddr_in *)&list[1])->sin_port), 2);
  assert_int_equal(iso__parse_hostport_list("127.0.0.1:1,", list, 3, &n), ISO_E_INVAL);
  assert_int_equal(iso__parse_hostport_list("", list, 3, &n), ISO_E_INVAL);
  assert_int_equal(iso__parse_hostport_list("1.1.1.1:1,1.1.1.1:2", list, 1, &n), ISO_E_INVAL);
}

static void test_numbers(void **state) {
  (void)state;
  uint64_t v = 99;
  assert_int_equal(iso__parse_u64("42", 1, 100, &v), 0);
  assert_int_equal(v, 42);
  assert_int_equal(iso__parse_u64("0", 1, 100, &v), ISO_E_INVAL);
  assert_int_equal(iso__parse_u64("101", 1, 100, &v), ISO_E_INVAL);
  assert_int_equal(iso__parse_u64("4x", 1, 100, &v), ISO_E_INVAL);
  assert_int_equal(iso__parse_u64("-4", 0, 100, &v), ISO_E_INVAL);
  assert_int_equal(iso__parse_u64("", 0, 100, &v), ISO_E_INVAL);
  assert_int_equal(v, 42);
  double d = -1;
  assert_int_equal(iso__parse_share("0.25", &d), 0);
  assert_true(d == 0.25);
  assert_int_equal(iso__parse_share("10%", &d), 0);
  assert_true(d > 0.0999 && d < 0.1001);
  assert_int_equal(iso__parse_share("1.5", &d), ISO_E_INVAL);
  assert_int_equal(iso__parse_share("-0.1", &d), ISO_E_INVAL);
  assert_int_equal(iso__parse_share("nan", &d), ISO_E_INVAL);
  assert_int_equal(iso__parse_share("0.1x", &d), ISO_E_INVAL);
}

static void test_latency(void **state) {
  (void)state;
  iso__latencies l = {0};
  iso__latency_summary s;
  iso__latencies_summarize(&l, &s);
  assert_int_equal(s.count, 0);
  assert_int_equal(s.max, 0);
  for (uint64_t i = 1000; i >= 1; i--) assert_int_equal(iso__latencies_add(&l, i), 0);
  iso__latencies_summarize(&l, &s);
  assert_int_equal(s.count, 1000);
  assert_int_equal(s.p50, 500);
  assert_int_equal(s.p90, 900);
  assert_int_equal(s.p99, 990);
  assert_int_equal(s.max, 1000);
  iso__latencies_free(&l);
  assert_int_equal(iso__latencies_add(&l, 7), 0);
  iso__latencies_summarize(&l, &s);
  assert_int_equal(s.p50, 7);
  assert_int_equal(s.p99, 7);
  iso__latencies_free(&l);
}

static void test_text(void **state) {
  (void)state;
  iso__text t;
  iso__text_init(&t);
  assert_string_equal(iso__text_str(&t), "");
  for (int i = 0; i < 1000; i++) assert_int_equal(iso__text_printf(&t, "%d,", i % 10), 0);
  assert_int_equal(t.len, 2000);
  assert_int_equal(iso__text_append(&t, "end", 3), 0);
  assert_memory_equal(iso__text_str(&t) + 1998, "9,end", 6);
  iso__text_free(&t);
  assert_int_equal(t.len, 0);
}

static void test_digits(void **state) {
  (void)state;
  char out[21];
  iso__digits_fixed(out, 42, 6);
  assert_string_equal(out, "000042");
  iso__digits_fixed(out, 1234567, 6); /* modulo 10^6 */
  assert_string_equal(out, "234567");
  iso__digits_fixed(out, 999999999999ull, 12);
  assert_string_equal(out, "999999999999");
  assert_int_equal(iso__digits_u64(out, 0), 1);
  assert_string_equal(out, "0");
  assert_int_equal(iso__digits_u64(out, UINT64_MAX), 20);
  assert_string_equal(out, "18446744073709551615");
  uint64_t v = 7;
  assert_true(iso__digits_parse("0042", 4, 100, &v));
  assert_int_equal(v, 42);
  assert_true(iso__digits_parse("18446744073709551615", 20, UINT64_MAX, &v));
  assert_true(v == UINT64_MAX);
  v = 7;
  assert_false(iso__digits_parse("18446744073709551616", 20, UINT64_MAX, &v));
  assert_false(iso__digits_parse("101", 3, 100, &v)); /* over max */
  assert_false(iso__digits_parse("", 0, 100, &v));
  assert_false(iso__digits_parse("4 2", 3, 100, &v));
  assert_false(iso__digits_parse("+4", 2, 100, &v));
  assert_false(iso__digits_parse("-4", 2, 100, &v));
  assert_int_equal(v, 7); /* untouched by every refusal */
}

/* ---- per-thread tallies ---------------------------------------------------- */

typedef struct tally_job {
  iso__tally *t;
  unsigned rounds;
} tally_job;

static void *tally_worker(void *data) {
  tally_job *j = data;
  for (unsigned i = 0; i < j->rounds; i++) {
    iso__tally_add(j->t, 0, 1);
    iso__tally_add(j->t, 2, 3);
  }
  return NULL;
}

static void test_tally(void **state) {
  (void)state;
  iso__tally t;
  assert_int_equal(iso__tally_init(&t, 3), 0);
  assert_int_equal(iso__tally_sum(&t, 0), 0);
  assert_int_equal(iso__tally_threads(&t), 0); /* no block before a thread counts */
  iso__tally_add(&t, 1, 5);
  iso__tally_add(&t, 1, 2);
  assert_int_equal(iso__tally_sum(&t, 1), 7);
  assert_int_equal(iso__tally_threads(&t), 1);
  /* Two threads counting at once: each writes its own block, the sums are
   * exact once they are done. */
  enum { THREADS = 2, ROUNDS = 100000 };
  pthread_t th[THREADS];
  tally_job job = {&t, ROUNDS};
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(pthread_create(&th[i], NULL, tally_worker, &job), 0);
  for (int i = 0; i < THREADS; i++) pthread_join(th[i], NULL);
  assert_int_equal(iso__tally_sum(&t, 0), THREADS * ROUNDS);
  assert_int_equal(iso__tally_sum(&t, 1), 7);
  assert_int_equal(iso__tally_sum(&t, 2), 3 * THREADS * ROUNDS);
  assert_int_equal(iso__tally_threads(&t), 1 + THREADS);
  /* More tallies than the per-thread cache holds, used in turn: each
   * thread keeps finding the one block it made in each. */
  iso__tally many[11];
  for (int i = 0; i < 11; i++) assert_int_equal(iso__tally_init(&many[i], 1), 0);
  for (int round = 0; round < 3; round++)
    for (int i = 0; i < 11; i++) iso__tally_add(&many[i], 0, (uint64_t)i);
  for (int i = 0; i < 11; i++) {
    assert_int_equal(iso__tally_sum(&many[i], 0), 3 * (uint64_t)i);
    assert_int_equal(iso__tally_threads(&many[i]), 1);
    iso__tally_free(&many[i]);
  }
  iso__tally_add(&t, 1, 1); /* t's block, found again after the others */
  assert_int_equal(iso__tally_sum(&t, 1), 8);
  assert_int_equal(iso__tally_threads(&t), 1 + THREADS);
  iso__tally_free(&t);
  /* A new tally (perhaps at the same address) starts from zero: a thread's
   * cache never hands it a freed tally's block. */
  assert_int_equal(iso__tally_init(&t, 3), 0);
  iso__tally_add(&t, 1, 1);
  assert_int_equal(iso__tally_sum(&t, 1), 1);
  assert_int_equal(iso__tally_threads(&t), 1);
  assert_non_null(iso__tally_mine(&t));
  iso__tally_free(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_luhn),     cmocka_unit_test(test_builtin_book),
      cmocka_unit_test(test_card_file), cmocka_unit_test(test_expiry),
      cmocka_unit_test(test_hostport), cmocka_unit_test(test_numbers),
      cmocka_unit_test(test_latency),  cmocka_unit_test(test_text),
      cmocka_unit_test(test_digits),   cmocka_unit_test(test_tally),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
