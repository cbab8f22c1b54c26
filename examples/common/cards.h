/*
 * examples/common/cards.h -- the card book shared by the example programs:
 * each card's PAN, expiry date and opening balance.  The issuer authorizes
 * against it, the acquirer draws its test cards from it, the demo and the
 * end-to-end tests know which card declines for what.
 *
 * The built-in book (iso__card_book_builtin) has ISO__BUILTIN_CARDS cards,
 * PANs 4000 00 + a 9-digit index + a Luhn check digit, all valid until
 * 12/2030 with an opening balance of 5,000.00, except:
 *   index % 100 == 98   opening balance 50.00  (declines "51" quickly)
 *   index % 100 == 99   expired 01/2020        (declines "54")
 *
 * A card file has one card a line, "PAN YYMM BALANCE" (balance in minor
 * units); blank lines and lines starting with '#' are skipped.
 */
#ifndef ISOFLOW_EXAMPLES_CARDS_H
#define ISOFLOW_EXAMPLES_CARDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ISO__BUILTIN_CARDS 1000
#define ISO__PAN_MAX 19

typedef struct iso__card {
  char pan[ISO__PAN_MAX + 1]; /* digits, NUL-terminated */
  char expiry[5];             /* YYMM, NUL-terminated */
  int64_t opening;            /* opening balance, minor units */
} iso__card;

typedef struct iso__card_book {
  iso__card *cards; /* sorted by PAN */
  size_t count;
  uint32_t *index;  /* hash table of card index + 1 (0: empty), by PAN:
                       one probe per lookup instead of a binary search of
                       string compares; owned, NULL for a book put together
                       by hand (then searched with bsearch) */
  size_t index_mask; /* buckets - 1 */
} iso__card_book;

/** iso__luhn_ok -- whether `len` digits pass the Luhn check (false for a
 *  non-digit or fewer than 2 digits). */
bool iso__luhn_ok(const char *digits, size_t len);

/** iso__luhn_digit -- the check digit to append to `len` digits. */
char iso__luhn_digit(const char *digits, size_t len);

/** iso__card_builtin_pan -- the PAN of built-in card `index` into pan
 *  (ISO__PAN_MAX + 1 bytes): "400000" + 9-digit index + check digit. */
void iso__card_builtin_pan(unsigned index, char *pan);

/** iso__card_book_builtin -- fills *book with the built-in cards.  0 or
 *  ISO_E_NOMEM.  Free with iso__card_book_free. */
int iso__card_book_builtin(iso__card_book *book);

/** iso__card_book_load -- reads a card file.  0; ISO_E_IO when it cannot be
 *  read; ISO_E_INVAL for a bad line (its number in *bad_line, when not NULL;
 *  the line's contents are never echoed), a PAN that fails Luhn or appears
 *  twice, or an empty book; ISO_E_NOMEM. */
int iso__card_book_load(const char *path, iso__card_book *book, int *bad_line);

/** iso__card_book_index -- (re)builds book->index over book->cards (done
 *  by iso__card_book_builtin and iso__card_book_load).  0 or ISO_E_NOMEM
 *  (the book is then searched without it). */
int iso__card_book_index(iso__card_book *book);

/** iso__card_book_free -- releases the book's cards and index. */
void iso__card_book_free(iso__card_book *book);

/** iso__card_book_find -- the index of the card with this PAN, or -1. */
long iso__card_book_find(const iso__card_book *book, const char *pan,
                         size_t len);

/** iso__card_expired -- whether expiry (YYMM) is before the month of
 *  yymm_now (YYMM).  A malformed expiry counts as expired. */
bool iso__card_expired(const char *expiry, size_t len, const char *yymm_now);

#endif
