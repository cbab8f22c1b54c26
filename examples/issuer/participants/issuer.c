/*
 * examples/issuer/participants/issuer.c -- the issuer's shared state
 * (balances, counters, the current month), the small helpers every
 * participant file uses, the replay of committed history used to rebuild
 * balances at start, and the assembly of the flow (see issuer.h).
 */
#include "examples/issuer/participants/issuer.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "examples/common/digits.h"
#include "isoflow/error.h"

iso__request_kind iso__request_kind_of(const char *mti) {
  if (strlen(mti) != 4) return 0;
  /* The repeat digit (the last one: 0101, 0201, 0401, 0421) does not
   * change the kind. */
  char m[4] = {mti[0], mti[1], mti[2], mti[3] == '1' ? '0' : mti[3]};
  if (!memcmp(m, "0100", 4) || !memcmp(m, "0200", 4)) return ISO__KIND_AUTHORIZATION;
  if (!memcmp(m, "0400", 4) || !memcmp(m, "0420", 4)) return ISO__KIND_REVERSAL;
  if (!memcmp(m, "0800", 4)) return ISO__KIND_NETWORK;
  return 0;
}

int iso__issuer_init(iso__issuer *is, const iso__card_book *book) {
  memset(is, 0, sizeof *is);
  is->book = book;
  is->available = calloc(book->count ? book->count : 1, sizeof *is->available);
  if (!is->available) return ISO_E_NOMEM;
  for (size_t i = 0; i < book->count; i++)
    atomic_init(&is->available[i], book->cards[i].opening);
  int rc = iso__auth_log_init(&is->log, 0);
  if (rc < 0) {
    free(is->available);
    return rc;
  }
  if ((rc = iso__tally_init(&is->tally, ISO__TALLY_SLOTS)) < 0) {
    iso__auth_log_free(&is->log);
    free(is->available);
    return rc;
  }
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  strftime(is->yymm_now, sizeof is->yymm_now, "%y%m", &tm);
  atomic_init(&is->next_auth_code, (uint32_t)(now % 1000000));
  return 0;
}

void iso__issuer_free(iso__issuer *is) {
  free(is->available);
  is->available = NULL;
  iso__auth_log_free(&is->log);
  iso__tally_free(&is->tally);
}

uint64_t iso__issuer_count(iso__issuer *is, iso__issuer_counter which) {
  return iso__tally_sum(&is->tally, which);
}

void iso__issuer_count_add(iso__issuer *is, iso__issuer_counter which) {
  iso__tally_add(&is->tally, which, 1);
}

uint32_t iso__issuer_next_auth_code(iso__issuer *is) {
  _Atomic uint64_t *mine = iso__tally_mine(&is->tally);
  if (!mine) return atomic_fetch_add(&is->next_auth_code, 1);
  uint64_t next = atomic_load_explicit(&mine[ISO__TALLY_CODE_NEXT], memory_order_relaxed);
  uint64_t left = atomic_load_explicit(&mine[ISO__TALLY_CODE_LEFT], memory_order_relaxed);
  if (!left) {
    next = atomic_fetch_add(&is->next_auth_code, ISO__AUTH_CODE_BATCH);
    left = ISO__AUTH_CODE_BATCH;
  }
  atomic_store_explicit(&mine[ISO__TALLY_CODE_NEXT], next + 1, memory_order_relaxed);
  atomic_store_explicit(&mine[ISO__TALLY_CODE_LEFT], left - 1, memory_order_relaxed);
  return (uint32_t)next;
}

int64_t iso__issuer_available(const iso__issuer *is, uint32_t card) {
  if (card >= is->book->count) return 0;
  return atomic_load(&is->available[card]);
}

bool iso__field_view(const iso_msg *m, int field, char *buf, size_t cap, const char **value,
                     size_t *len) {
  const uint8_t *v;
  if (iso_msg_peek(m, field, &v, len) == 0) { /* stored as characters */
    if (*len >= cap) return false;
    *value = (const char *)v;
    return true;
  }
  if (!iso_msg_has(m, field)) return false;
  if (iso_msg_get(m, field, buf, cap, len) < 0 || *len >= cap) return false;
  buf[*len] = '\0';
  *value = buf;
  return true;
}

bool iso__field_str(const iso_msg *m, int field, char *buf, size_t cap) {
  const char *v;
  size_t len;
  if (!iso__field_view(m, field, buf, cap, &v, &len)) return false;
  if (v != buf) memcpy(buf, v, len);
  buf[len] = '\0';
  return true;
}

int64_t iso__amount_of(const iso_msg *m) {
  char buf[16];
  const char *a;
  size_t len;
  if (!iso__field_view(m, 4, buf, sizeof buf, &a, &len) || len != 12) return -1;
  int64_t v = 0;
  for (int i = 0; i < 12; i++) {
    if (a[i] < '0' || a[i] > '9') return -1;
    v = v * 10 + (a[i] - '0');
  }
  return v;
}

int iso__value_format(char *buf, size_t cap, uint32_t card, int64_t amount) {
  if (amount < 0) return ISO_E_INVAL;
  char c[21], a[21];
  size_t nc = iso__digits_u64(c, card), na = iso__digits_u64(a, (uint64_t)amount);
  if (nc + 1 + na >= cap) return ISO_E_NOSPC;
  memcpy(buf, c, nc);
  buf[nc] = ':';
  memcpy(buf + nc + 1, a, na + 1);
  return (int)(nc + 1 + na);
}

int iso__value_parse(const void *bytes, size_t len, uint32_t *card, int64_t *amount) {
  const char *s = bytes;
  const char *colon = memchr(s, ':', len);
  uint64_t c, a;
  if (!colon || !iso__digits_parse(s, (size_t)(colon - s), UINT32_MAX, &c) ||
      !iso__digits_parse(colon + 1, len - (size_t)(colon - s) - 1, INT64_MAX, &a))
    return ISO_E_INVAL;
  *card = (uint32_t)c;
  *amount = (int64_t)a;
  return 0;
}

bool iso__account_hold(iso__issuer *is, uint32_t card, int64_t amount) {
  int64_t have = atomic_load(&is->available[card]);
  do {
    if (have < amount) return false;
  } while (!atomic_compare_exchange_weak(&is->available[card], &have, have - amount));
  return true;
}

void iso__account_credit(iso__issuer *is, uint32_t card, int64_t amount) {
  atomic_fetch_add(&is->available[card], amount);
}

int iso__issuer_card_value(const iso__issuer *is, const void *value, size_t len,
                           uint32_t *card, int64_t *amount) {
  if (iso__value_parse(value, len, card, amount) < 0 || *card >= is->book->count)
    return ISO_E_INVAL;
  return 0;
}

int iso__issuer_apply_capture(iso__issuer *is, const iso_msg *request,
                              const void *hold, size_t len) {
  uint32_t card;
  int64_t amount;
  if (iso__issuer_card_value(is, hold, len, &card, &amount)) return ISO_E_INVAL;
  iso__auth_entry e;
  iso__auth_entry_from(&e, request);
  e.card = card;
  e.amount = amount;
  int rc = iso__auth_log_add(&is->log, &e);
  if (rc < 0) return rc;
  atomic_fetch_sub(&is->available[card], amount);
  return 0;
}

int iso__issuer_apply_refund(iso__issuer *is, const iso_msg *request,
                             const void *refund, size_t len) {
  uint32_t card;
  int64_t amount;
  if (iso__issuer_card_value(is, refund, len, &card, &amount)) return ISO_E_INVAL;
  iso__original_keys k;
  iso__original_keys_from(&k, request);
  iso__auth_log_mark_reversed(&is->log, &k);
  iso__account_credit(is, card, amount);
  return 0;
}

int iso__issuer_flow_build(iso_flow *flow, iso__issuer *is) {
  struct {
    const char *group; /* NULL: the main list */
    const iso_participant *p;
  } plan[] = {
      {NULL, &iso__p_fields},          {NULL, &iso__p_route},
      {"authorization", &iso__p_card}, {"authorization", &iso__p_account},
      {"reversal", &iso__p_lookup},    {"reversal", &iso__p_reversal},  {NULL, &iso__p_approval},
      {NULL, &iso__p_decline},
  };
  for (size_t i = 0; i < sizeof plan / sizeof plan[0]; i++) {
    iso_participant p = *plan[i].p;
    p.data = is;
    int rc = plan[i].group ? iso_flow_group_add(flow, plan[i].group, &p)
                           : iso_flow_add(flow, &p);
    if (rc < 0) return rc;
  }
  return 0;
}
