/*
 * examples/common/cards.c -- the card book: Luhn, the built-in cards, card
 * files and lookup by PAN (see cards.h).  The book is sorted by PAN once and
 * indexed by a hash table of card numbers (at most half full), so a lookup
 * is one hash of the PAN and, nearly always, one compare.
 */
#include "examples/common/cards.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isoflow/error.h"

bool iso__luhn_ok(const char *digits, size_t len) {
  if (len < 2) return false;
  unsigned sum = 0;
  for (size_t i = 0; i < len; i++) {
    char c = digits[len - 1 - i];
    if (c < '0' || c > '9') return false;
    unsigned d = (unsigned)(c - '0');
    if (i % 2 == 1) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return sum % 10 == 0;
}

char iso__luhn_digit(const char *digits, size_t len) {
  unsigned sum = 0;
  for (size_t i = 0; i < len; i++) {
    unsigned d = (unsigned)(digits[len - 1 - i] - '0');
    if (i % 2 == 0) d = d * 2 > 9 ? d * 2 - 9 : d * 2;
    sum += d;
  }
  return (char)('0' + (10 - sum % 10) % 10);
}

void iso__card_builtin_pan(unsigned index, char *pan) {
  snprintf(pan, ISO__PAN_MAX + 1, "400000%09u", index % 1000000000u);
  pan[15] = iso__luhn_digit(pan, 15);
  pan[16] = '\0';
}

static int by_pan(const void *a, const void *b) {
  return strcmp(((const iso__card *)a)->pan, ((const iso__card *)b)->pan);
}

int iso__card_book_builtin(iso__card_book *book) {
  memset(book, 0, sizeof *book);
  book->cards = calloc(ISO__BUILTIN_CARDS, sizeof *book->cards);
  if (!book->cards) return ISO_E_NOMEM;
  book->count = ISO__BUILTIN_CARDS;
  for (unsigned i = 0; i < ISO__BUILTIN_CARDS; i++) {
    iso__card *c = &book->cards[i];
    iso__card_builtin_pan(i, c->pan);
    memcpy(c->expiry, i % 100 == 99 ? "2001" : "3012", 5);
    c->opening = i % 100 == 98 ? 5000 : 500000;
  }
  /* Built in ascending order already: the index is the PAN's middle. */
  iso__card_book_index(book);
  return 0;
}

/* Parses "PAN YYMM BALANCE" into c; false when the line is malformed. */
static bool parse_card(const char *line, iso__card *c) {
  char pan[32], expiry[8];
  long long balance;
  char extra;
  if (sscanf(line, "%31s %7s %lld %c", pan, expiry, &balance, &extra) != 3) return false;
  size_t n = strlen(pan);
  if (n < 12 || n > ISO__PAN_MAX || !iso__luhn_ok(pan, n)) return false;
  if (strlen(expiry) != 4 || balance < 0) return false;
  for (int i = 0; i < 4; i++)
    if (!isdigit((unsigned char)expiry[i])) return false;
  memcpy(c->pan, pan, n + 1);
  memcpy(c->expiry, expiry, 5);
  c->opening = balance;
  return true;
}

int iso__card_book_load(const char *path, iso__card_book *book, int *bad_line) {
  memset(book, 0, sizeof *book);
  FILE *f = fopen(path, "r");
  if (!f) return ISO_E_IO;
  char line[256];
  int lineno = 0, rc = 0;
  size_t cap = 0;
  while (fgets(line, sizeof line, f)) {
    lineno++;
    const char *p = line;
    while (isspace((unsigned char)*p)) p++;
    if (*p == '\0' || *p == '#') continue;
    if (book->count == cap) {
      size_t ncap = cap ? cap * 2 : 64;
      iso__card *n = realloc(book->cards, ncap * sizeof *n);
      if (!n) {
        rc = ISO_E_NOMEM;
        break;
      }
      book->cards = n;
      cap = ncap;
    }
    if (!parse_card(p, &book->cards[book->count])) {
      rc = ISO_E_INVAL;
      break;
    }
    book->count++;
  }
  if (rc == 0 && ferror(f)) rc = ISO_E_IO;
  fclose(f);
  if (rc == 0 && book->count == 0) rc = ISO_E_INVAL;
  if (rc == 0) {
    qsort(book->cards, book->count, sizeof *book->cards, by_pan);
    for (size_t i = 1; i < book->count; i++)
      if (!strcmp(book->cards[i - 1].pan, book->cards[i].pan)) {
        rc = ISO_E_INVAL;
        lineno = 0;
        break;
      }
  }
  if (rc == 0) iso__card_book_index(book);
  if (rc < 0) {
    if (bad_line) *bad_line = rc == ISO_E_INVAL ? lineno : 0;
    iso__card_book_free(book);
  }
  return rc;
}

/* FNV-1a over the PAN's digits, then murmur3's final mix: the table index
 * is the low bits, which FNV alone spreads poorly. */
static uint64_t pan_hash(const char *pan, size_t len) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < len; i++) {
    h ^= (uint8_t)pan[i];
    h *= 1099511628211ull;
  }
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

int iso__card_book_index(iso__card_book *book) {
  free(book->index);
  book->index = NULL;
  size_t buckets = 16;
  while (buckets < 2 * book->count) buckets *= 2;
  uint32_t *index = calloc(buckets, sizeof *index);
  if (!index) return ISO_E_NOMEM;
  for (size_t c = 0; c < book->count; c++) {
    const char *pan = book->cards[c].pan;
    size_t i = pan_hash(pan, strlen(pan)) & (buckets - 1);
    while (index[i]) i = (i + 1) & (buckets - 1);
    index[i] = (uint32_t)c + 1;
  }
  book->index = index;
  book->index_mask = buckets - 1;
  return 0;
}

void iso__card_book_free(iso__card_book *book) {
  free(book->cards);
  free(book->index);
  book->cards = NULL;
  book->index = NULL;
  book->count = 0;
}

long iso__card_book_find(const iso__card_book *book, const char *pan, size_t len) {
  if (len == 0 || len > ISO__PAN_MAX) return -1;
  if (book->index) {
    for (size_t i = pan_hash(pan, len) & book->index_mask; book->index[i];
         i = (i + 1) & book->index_mask) {
      const iso__card *c = &book->cards[book->index[i] - 1];
      if (!memcmp(c->pan, pan, len) && c->pan[len] == '\0') return (long)(book->index[i] - 1);
    }
    return -1;
  }
  iso__card key;
  memcpy(key.pan, pan, len);
  key.pan[len] = '\0';
  const iso__card *c = bsearch(&key, book->cards, book->count, sizeof key, by_pan);
  return c ? (long)(c - book->cards) : -1;
}

bool iso__card_expired(const char *expiry, size_t len, const char *yymm_now) {
  if (len != 4) return true;
  for (size_t i = 0; i < 4; i++)
    if (expiry[i] < '0' || expiry[i] > '9') return true;
  if (expiry[2] == '0' && expiry[3] == '0') return true;
  if ((expiry[2] - '0') * 10 + (expiry[3] - '0') > 12) return true;
  return memcmp(expiry, yymm_now, 4) < 0;
}
