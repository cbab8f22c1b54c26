/*
 * conn/requests.c -- the requests a connection has in flight.
 *
 * Built so that a request costs no allocation and no timer of its own:
 *   - records live in one array that grows (doubling) up to max_in_flight and
 *     are recycled through a free list; they are named by index;
 *   - an open-addressed table (linear probing, backward-shift deletion, at
 *     most half full) maps a match key to its record;
 *   - records also sit on a list ordered by deadline.  Timeouts are nearly
 *     always the connection's default, so a new request goes at the tail in
 *     O(1); one uv_timer is armed for the head.
 *   - a small ring remembers keys that timed out, so a response that comes
 *     afterwards is told apart as "late" rather than "unmatched".
 */
#include <stdlib.h>
#include <string.h>

#include "conn/conn_internal.h"

static uint32_t key_hash(const uint8_t *k, size_t n) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (size_t i = 0; i < n; i++) h = (h ^ k[i]) * 16777619u;
  return h ^ (h >> 15);
}

int iso__reqtab_init(iso__reqtab *t, uint32_t max) {
  memset(t, 0, sizeof *t);
  uint32_t size = 8;
  while (size < 2 * max) size <<= 1;
  t->slots = calloc(size, sizeof *t->slots);
  if (t->slots == NULL) return ISO_E_NOMEM;
  t->mask = size - 1;
  t->max = max;
  t->free_head = t->dl_head = t->dl_tail = ISO__NONE;
  return 0;
}

void iso__reqtab_free(iso__reqtab *t) {
  free(t->slots);
  free(t->recs);
  t->slots = NULL;
  t->recs = NULL;
}

static uint32_t table_find(const iso__reqtab *t, uint32_t hash,
                           const uint8_t *key, size_t len) {
  for (uint32_t i = hash & t->mask;; i = (i + 1) & t->mask) {
    uint32_t s = t->slots[i];
    if (s == 0) return ISO__NONE;
    const iso__req *r = &t->recs[s - 1];
    if (r->hash == hash && r->key_len == len && !memcmp(r->key, key, len))
      return i;
  }
}

static void table_insert(iso__reqtab *t, uint32_t idx) {
  uint32_t i = t->recs[idx].hash & t->mask;
  while (t->slots[i]) i = (i + 1) & t->mask;
  t->slots[i] = idx + 1;
}

/* Backward-shift deletion keeps probe chains intact without tombstones. */
static void table_delete(iso__reqtab *t, uint32_t i) {
  uint32_t j = i;
  for (;;) {
    t->slots[i] = 0;
    for (;;) {
      j = (j + 1) & t->mask;
      if (t->slots[j] == 0) return;
      uint32_t home = t->recs[t->slots[j] - 1].hash & t->mask;
      /* move j back to i unless its home lies cyclically in (i, j] */
      bool stays = i <= j ? (i < home && home <= j) : (i < home || home <= j);
      if (!stays) break;
    }
    t->slots[i] = t->slots[j];
    i = j;
  }
}

static int rec_alloc(iso__reqtab *t, uint32_t *out) {
  if (t->free_head != ISO__NONE) {
    *out = t->free_head;
    t->free_head = t->recs[*out].next;
    return 0;
  }
  if (t->nrecs == t->cap_recs) {
    uint32_t cap = t->cap_recs ? t->cap_recs * 2 : 16;
    if (cap > t->max) cap = t->max;
    iso__req *r = realloc(t->recs, (size_t)cap * sizeof *r);
    if (r == NULL) return ISO_E_NOMEM;
    t->recs = r;
    t->cap_recs = cap;
  }
  *out = t->nrecs++;
  return 0;
}

static void rec_release(iso__reqtab *t, uint32_t idx) {
  t->recs[idx].next = t->free_head;
  t->free_head = idx;
}

static void dl_insert(iso__reqtab *t, uint32_t idx) {
  iso__req *r = &t->recs[idx];
  uint32_t after = t->dl_tail;
  while (after != ISO__NONE && t->recs[after].deadline > r->deadline)
    after = t->recs[after].prev;
  r->prev = after;
  r->next = after == ISO__NONE ? t->dl_head : t->recs[after].next;
  if (r->next != ISO__NONE) t->recs[r->next].prev = idx;
  else t->dl_tail = idx;
  if (after != ISO__NONE) t->recs[after].next = idx;
  else t->dl_head = idx;
}

static void dl_remove(iso__reqtab *t, uint32_t idx) {
  iso__req *r = &t->recs[idx];
  if (r->prev != ISO__NONE) t->recs[r->prev].next = r->next;
  else t->dl_head = r->next;
  if (r->next != ISO__NONE) t->recs[r->next].prev = r->prev;
  else t->dl_tail = r->prev;
}

static void arm_timer(iso_conn *conn) {
  iso__reqtab *t = &conn->reqs;
  if (t->dl_head == ISO__NONE) {
    uv_timer_stop(&conn->req_timer);
    return;
  }
  uint64_t now = uv_now(conn->loop), when = t->recs[t->dl_head].deadline;
  uv_timer_start(&conn->req_timer, iso__req_expire, when > now ? when - now : 0,
                 0);
}

/* Takes a record out of the table and the deadline list, into the free list.
 * The caller copied what it needs (cb, data) beforehand. */
static void finish(iso_conn *conn, uint32_t slot, uint32_t idx) {
  iso__reqtab *t = &conn->reqs;
  table_delete(t, slot);
  dl_remove(t, idx);
  rec_release(t, idx);
  t->in_flight--;
  ISO__UNCOUNT(conn, in_flight, 1);
  /* the timer is left armed: it may fire early, and expiry re-arms it */
}

int iso__req_submit(iso_conn *conn, const iso_frame *frame,
                    uint32_t timeout_ms, iso_response_cb cb, void *data) {
  iso__reqtab *t = &conn->reqs;
  if (t->in_flight >= t->max) return ISO_E_BUSY;
  iso_match_key key;
  int rc = iso_match_compute(&conn->opts.match, conn->opts.spec, frame->payload,
                             frame->len, &key);
  if (rc < 0) return rc;
  if (iso_mti_is_response(key.mti)) return ISO_E_NOT_REQUEST;
  uint32_t hash = key_hash(key.bytes, key.len);
  if (table_find(t, hash, key.bytes, key.len) != ISO__NONE)
    return ISO_E_DUPLICATE_KEY;
  uint32_t idx;
  if ((rc = rec_alloc(t, &idx)) < 0) return rc;
  if ((rc = iso__conn_enqueue(conn, frame)) < 0) {
    rec_release(t, idx);
    return rc;
  }
  iso__req *r = &t->recs[idx];
  r->cb = cb;
  r->data = data;
  r->hash = hash;
  r->key_len = key.len;
  memcpy(r->key, key.bytes, key.len);
  r->deadline = uv_now(conn->loop) +
                (timeout_ms ? timeout_ms : conn->opts.request_timeout_ms);
  table_insert(t, idx);
  bool was_empty = t->dl_head == ISO__NONE;
  dl_insert(t, idx);
  if (was_empty || t->dl_head == idx) arm_timer(conn);
  t->in_flight++;
  ISO__COUNT(conn, in_flight, 1);
  ISO__COUNT(conn, sent, 1);
  return 0;
}

static bool late_take(iso__reqtab *t, uint32_t hash, const iso_match_key *key) {
  for (size_t i = 0; i < ISO__LATE_RING; i++) {
    iso__late *l = &t->late[i];
    if (l->key_len && l->hash == hash && l->key_len == key->len &&
        !memcmp(l->key, key->bytes, key->len)) {
      l->key_len = 0;
      return true;
    }
  }
  return false;
}

static void late_remember(iso__reqtab *t, const iso__req *r) {
  iso__late *l = &t->late[t->late_next++ % ISO__LATE_RING];
  l->hash = r->hash;
  l->key_len = r->key_len;
  memcpy(l->key, r->key, r->key_len);
}

void iso__req_response(iso_conn *conn, const iso_match_key *key,
                       const iso_frame *frame) {
  iso__reqtab *t = &conn->reqs;
  uint32_t hash = key_hash(key->bytes, key->len);
  uint32_t slot = table_find(t, hash, key->bytes, key->len);
  if (slot == ISO__NONE) {
    bool late = late_take(t, hash, key);
    if (late) ISO__COUNT(conn, late, 1);
    else ISO__COUNT(conn, unmatched, 1);
    if (conn->opts.on_inbound)
      conn->opts.on_inbound(conn, late ? ISO_INBOUND_LATE : ISO_INBOUND_UNMATCHED,
                            frame);
    return;
  }
  uint32_t idx = t->slots[slot] - 1;
  iso_response_cb cb = t->recs[idx].cb;
  void *data = t->recs[idx].data;
  finish(conn, slot, idx);
  ISO__COUNT(conn, received, 1);
  if (cb) cb(conn, 0, frame, data);
}

void iso__req_expire(uv_timer_t *timer) {
  iso_conn *conn = timer->data;
  iso__reqtab *t = &conn->reqs;
  uint64_t now = uv_now(conn->loop);
  while (t->dl_head != ISO__NONE && t->recs[t->dl_head].deadline <= now) {
    uint32_t idx = t->dl_head;
    iso__req *r = &t->recs[idx];
    iso_response_cb cb = r->cb;
    void *data = r->data;
    late_remember(t, r);
    finish(conn, table_find(t, r->hash, r->key, r->key_len), idx);
    ISO__COUNT(conn, timed_out, 1);
    if (cb) cb(conn, ISO_E_TIMEDOUT, NULL, data);
    if (conn->state == ISO__DOWN) return; /* the callback closed it */
  }
  arm_timer(conn);
  iso__conn_check_drained(conn);
}

void iso__req_fail_all(iso_conn *conn, int status) {
  iso__reqtab *t = &conn->reqs;
  while (t->dl_head != ISO__NONE) {
    uint32_t idx = t->dl_head;
    iso__req *r = &t->recs[idx];
    iso_response_cb cb = r->cb;
    void *data = r->data;
    finish(conn, table_find(t, r->hash, r->key, r->key_len), idx);
    if (status == ISO_E_CANCELED) ISO__COUNT(conn, canceled, 1);
    if (cb) cb(conn, status, NULL, data);
  }
  uv_timer_stop(&conn->req_timer);
}
