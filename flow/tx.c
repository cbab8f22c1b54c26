/*
 * flow/tx.c -- the transaction record: its pooled allocation (a per-loop
 * free list, so a steady load allocates nothing), the request and the
 * response prepared from it, the context of named values, and the accessors
 * participants use.
 */
#include <stdlib.h>
#include <string.h>

#include "flow/flow_internal.h"
#include "iso8583/message_internal.h"

#define RECYCLED_CLEAR (offsetof(iso_tx, frames) - offsetof(iso_tx, prev))
_Static_assert(RECYCLED_CLEAR > 64 && RECYCLED_CLEAR <= 128,
               "iso__tx_alloc clears a recycled record in two halves");

iso_tx *iso__tx_alloc(iso_flow_loop *fl) {
  iso_flow *f = fl->flow;
  iso_tx *tx = fl->free_list;
  bool fresh = tx == NULL;
  if (tx) {
    fl->free_list = tx->next;
    /* The next record out is the one released last; under load (thousands
     * in flight) it may be out of the cache by then: start loading what
     * the next alloc writes (the head it clears).  Its messages are only
     * written later, while the transaction is set up. */
    if (fl->free_list) {
      char *next = (char *)&fl->free_list->prev;
      __builtin_prefetch(next, 1);
      __builtin_prefetch(next + RECYCLED_CLEAR - 1, 1);
    }
  } else {
    tx = malloc(f->tx_size);
    if (!tx) return NULL;
  }
  /* Clear the bookkeeping only.  A recycled record's messages were emptied
   * by iso_msg_cleanup when it was released, which leaves a message as
   * iso_msg_init makes it: only a new record (or one whose request took
   * another spec, in recovery) needs them initialised, which release noted
   * in msgs_ready, in the head (the messages' own lines are not read here).
   * Release also left its context empty; the events are filled when they
   * are sent, frames and joined as they are pushed, the spill as it is
   * used, fl and flow just below.  So a recycled record clears only the
   * fields from prev to the frames, in two memsets of at most 64 bytes,
   * which the compiler turns into a few vector stores (one of 120 bytes,
   * or the whole head's 400, is a string instruction with its start-up
   * cost). */
  bool ready = !fresh && tx->msgs_ready;
  if (fresh) {
    memset(tx, 0, offsetof(iso_tx, request));
  } else {
    char *head = (char *)&tx->prev;
    memset(head, 0, 64);
    memset(head + 64, 0, RECYCLED_CLEAR - 64);
  }
  tx->fl = fl;
  tx->flow = f;
  if (!ready) {
    iso_msg_init(&tx->request, f->cfg.spec);
    iso_msg_init(&tx->response, f->cfg.spec);
  }
  tx->req = &tx->request;
  fl->records++;
  return tx;
}

void iso__tx_ctx_clear(iso_tx *tx) {
  for (unsigned i = 0; i < ISO__CTX_INLINE; i++) {
    iso__ctx_value *v = &tx->ctx[i];
    if (v->name && v->destroy) v->destroy(v->value);
    v->name = NULL;
  }
  for (unsigned i = 0; i < tx->nctx_extra; i++) {
    iso__ctx_value *v = &tx->ctx_extra[i];
    if (v->name && v->destroy) v->destroy(v->value);
  }
  free(tx->ctx_extra);
  tx->ctx_extra = NULL;
  tx->nctx_extra = 0;
}

void iso__tx_release(iso_tx *tx) {
  iso_flow_loop *fl = tx->fl;
  iso__tx_ctx_clear(tx);
  iso_msg_cleanup(&tx->request);
  iso_msg_cleanup(&tx->response);
  const iso_spec *spec = tx->flow->cfg.spec;
  tx->msgs_ready = tx->request.spec == spec && tx->response.spec == spec;
  tx->next = fl->free_list;
  fl->free_list = tx;
  iso__loop_record_done(fl);
}

/* Copies field f of src, held in a wire encoding, decoded into dst. */
static int copy_decoded(iso_msg *dst, const iso_msg *src, int f) {
  uint8_t small[512];
  size_t len;
  int rc = iso_msg_get(src, f, small, sizeof small, &len);
  if (rc == 0) return iso_msg_set_copy(dst, f, small, len);
  if (rc != ISO_E_NOSPC) return rc;
  uint8_t *big = malloc(len + 1);
  if (!big) return ISO_E_NOMEM;
  rc = iso_msg_get(src, f, big, len + 1, &len);
  if (rc == 0) rc = iso_msg_set_copy(dst, f, big, len);
  free(big);
  return rc;
}

/* Copies every field of src into dst, borrowing src's values (copy false:
 * they must outlive dst) or copying them (copy true).  Values held in a wire
 * encoding are decoded and copied either way. */
int iso__msg_copy_fields(iso_msg *dst, const iso_msg *src, bool copy) {
  int rc = 0;
  for (int f = iso_msg_next_field(src, 0); f > 0 && rc == 0;
       f = iso_msg_next_field(src, f)) {
    const uint8_t *data;
    size_t len;
    if (iso_msg_peek(src, f, &data, &len) == 0) {
      rc = copy ? iso_msg_set_copy(dst, f, data, len)
                : iso_msg_set(dst, f, data, len);
      continue;
    }
    rc = copy_decoded(dst, src, f);
  }
  return rc;
}

/* Copies the request into the record: values go to the message's inline
 * storage while it has room, then to the record's spill area, and only past
 * both to the codec's own (allocated) storage.  A typical authorization
 * request thus costs no allocation and no 1 KB overflow block. */
int iso__tx_copy_request(iso_tx *tx, const iso_msg *src) {
  iso_msg *dst = &tx->request;
  int rc = iso_msg_set_mti(dst, iso_msg_mti(src));
  size_t arena = 0, spill = tx->spill_used;
  for (int f = iso_msg_next_field(src, 0); f > 0 && rc == 0;
       f = iso_msg_next_field(src, f)) {
    const uint8_t *data;
    size_t len;
    if (iso_msg_peek(src, f, &data, &len) != 0) {
      rc = copy_decoded(dst, src, f);
      continue;
    }
    size_t cost = len ? len : 1;
    if (arena + cost <= ISO_MSG_INLINE_ARENA) {
      arena += cost;
      rc = iso_msg_set_copy(dst, f, data, len);
    } else if (spill + len <= ISO__SPILL) {
      memcpy(tx->spill + spill, data, len);
      rc = iso_msg_set(dst, f, tx->spill + spill, len);
      spill += len;
    } else {
      rc = iso_msg_set_copy(dst, f, data, len);
    }
  }
  tx->spill_used = (uint8_t)spill;
  return rc;
}

/* Copies the configured echo fields from tx's request into its response,
 * over whatever the response holds there.  Echoed values are borrowed from
 * the request, which lives as long as the record (or, when the caller lent
 * it, until the completion callback).  When both messages share a spec (the
 * usual case) the request's slot is taken as it is, wire form included:
 * the value already passed the checks iso_msg_set would repeat, and this
 * runs for every transaction.  Otherwise values are decoded and copied.
 * Only the echo fields the request holds are visited (its presence bitmap
 * against the flow's echo bitmap). */
int iso__tx_echo_request(iso_tx *tx) {
  const iso_msg *req = tx->req;
  iso_msg *resp = &tx->response;
  bool same_spec = req->spec == resp->spec;
  for (int w = 0; w < 3; w++) {
    uint64_t bits = req->present[w] & tx->flow->echo_mask[w];
    for (; bits; bits &= bits - 1) {
      int f = w * 64 + __builtin_ctzll(bits) + 1;
      const iso__slot *sl = iso__msg_slot(req, f);
      int rc;
      if (same_spec) {
        rc = iso__msg_put(resp, f, sl->data, sl->len, sl->flags);
      } else if (!(sl->flags & ISO__SLOT_WIRE)) {
        rc = iso_msg_set(resp, f, sl->data, sl->len);
      } else {
        uint8_t buf[512];
        size_t len;
        rc = iso_msg_get(req, f, buf, sizeof buf, &len);
        if (rc == 0) rc = iso_msg_set_copy(resp, f, buf, len);
      }
      if (rc < 0 && rc != ISO_E_UNKNOWN_FIELD) return rc;
    }
  }
  return 0;
}

/* The response starts as the response MTI (from iso_mti_response: four
 * digits, so set as they are) plus the echoed request fields. */
int iso__tx_prepare_response(iso_tx *tx, const char response_mti[4]) {
  memcpy(tx->response.mti, response_mti, 4);
  tx->response.mti[4] = '\0';
  return iso__tx_echo_request(tx);
}

/* ---- accessors ---------------------------------------------------------- */

uint64_t iso_tx_id(const iso_tx *tx) { return tx->id; }
const iso_msg *iso_tx_request(const iso_tx *tx) { return tx->req; }
iso_msg *iso_tx_response(iso_tx *tx) { return &tx->response; }
uv_loop_t *iso_tx_loop(const iso_tx *tx) { return tx->fl->loop; }
iso_flow *iso_tx_flow(const iso_tx *tx) { return tx->flow; }
bool iso_tx_is_recovery(const iso_tx *tx) {
  return (tx->flags & ISO__TX_RECOVERY) != 0;
}
bool iso_tx_is_aborting(const iso_tx *tx) {
  return (tx->flags & ISO__TX_ABORTING) != 0;
}
int iso_tx_abort_reason(const iso_tx *tx) { return tx->abort_reason; }

size_t iso_tx_stages(const iso_tx *tx, iso_stage_timing *out, size_t cap) {
  const iso__stage *st = iso__tx_stages((iso_tx *)tx);
  if (!st) return 0;
  for (size_t i = 0; i < tx->nstages && i < cap; i++) {
    out[i].participant =
        st[i].part == ISO__NO_PART ? NULL : tx->flow->parts[st[i].part].name;
    out[i].phase = (iso_phase)st[i].phase;
    out[i].start_ns = st[i].start_ns;
    out[i].duration_ns = st[i].duration_ns;
  }
  return tx->nstages;
}

int iso_tx_set_response_code(iso_tx *tx, const char *code) {
  if (!code || !code[0] || !code[1] || code[2]) return ISO_E_INVAL; /* 2 */
  return iso_msg_set_copy(&tx->response, 39, code, 2);
}

/* ---- context ------------------------------------------------------------ */

/* Names are usually the same string literal wherever a value is set and
 * read (the linker merges equal literals), so every name is compared by
 * pointer before any is compared by strcmp. */
static iso__ctx_value *ctx_find(const iso_tx *tx, const char *name) {
  if (!name) return NULL; /* (a free slot's name is NULL) */
  unsigned n = ISO__CTX_INLINE + (unsigned)tx->nctx_extra;
  for (unsigned i = 0; i < n; i++) {
    const iso__ctx_value *v =
        i < ISO__CTX_INLINE ? &tx->ctx[i] : &tx->ctx_extra[i - ISO__CTX_INLINE];
    if (v->name == name) return (iso__ctx_value *)v;
  }
  for (unsigned i = 0; i < n; i++) {
    const iso__ctx_value *v =
        i < ISO__CTX_INLINE ? &tx->ctx[i] : &tx->ctx_extra[i - ISO__CTX_INLINE];
    if (v->name && strcmp(v->name, name) == 0) return (iso__ctx_value *)v;
  }
  return NULL;
}

static iso__ctx_value *ctx_slot(iso_tx *tx) {
  for (unsigned i = 0; i < ISO__CTX_INLINE; i++)
    if (!tx->ctx[i].name) return &tx->ctx[i];
  for (unsigned i = 0; i < tx->nctx_extra; i++)
    if (!tx->ctx_extra[i].name) return &tx->ctx_extra[i];
  if (tx->nctx_extra >= 250) return NULL;
  unsigned n = tx->nctx_extra + 4u;
  iso__ctx_value *grown = realloc(tx->ctx_extra, n * sizeof *grown);
  if (!grown) return NULL;
  memset(grown + tx->nctx_extra, 0, 4 * sizeof *grown);
  tx->ctx_extra = grown;
  iso__ctx_value *slot = &grown[tx->nctx_extra];
  tx->nctx_extra = (uint8_t)n;
  return slot;
}

static void ctx_drop(iso__ctx_value *v) {
  if (v->destroy) v->destroy(v->value);
  memset(v, 0, sizeof *v);
}

void iso__persistent_free(void *p) { free(p); }
void iso__persistent_kept(void *p) { (void)p; }

static int ctx_put(iso_tx *tx, const char *name, void *value,
                   void (*destroy)(void *)) {
  iso__ctx_value *v = ctx_find(tx, name);
  if (v) {
    ctx_drop(v);
  } else if (!(v = ctx_slot(tx))) {
    return ISO_E_NOMEM;
  }
  v->name = name;
  v->value = value;
  v->destroy = destroy;
  return 0;
}

int iso_tx_set(iso_tx *tx, const char *name, void *value,
               void (*destroy)(void *)) {
  if (!tx || !name) return ISO_E_INVAL;
  if (!value) {
    iso__ctx_value *v = ctx_find(tx, name);
    if (v) ctx_drop(v);
    return 0;
  }
  if (destroy == iso__persistent_free || destroy == iso__persistent_kept)
    return ISO_E_INVAL;
  return ctx_put(tx, name, value, destroy);
}

void *iso_tx_get(const iso_tx *tx, const char *name) {
  iso__ctx_value *v = ctx_find(tx, name);
  if (v && iso__ctx_is_persistent(v))
    return ((iso__persistent *)v->value)->bytes;
  return v ? v->value : NULL;
}

/* A persistent value goes to the record's spill arena, after what the
 * request and earlier values took, when it fits (a short value, as most
 * are: no allocation, and it is read back from the record's own lines,
 * where a block allocated at prepare was cold by commit); otherwise it is
 * allocated.  The arena is not reused when a value is replaced: it is
 * small, and a record's life is short. */
int iso_tx_set_persistent(iso_tx *tx, const char *name, const void *bytes,
                          size_t len) {
  if (!tx || !name || (len && !bytes)) return ISO_E_INVAL;
  size_t at = ((size_t)tx->spill_used + 7) & ~(size_t)7;
  bool kept = len <= ISO__SPILL && at + sizeof(iso__persistent) + len <= ISO__SPILL;
  iso__persistent *copy = kept ? (iso__persistent *)(tx->spill + at)
                               : malloc(sizeof *copy + len);
  if (!copy) return ISO_E_NOMEM;
  int rc = ctx_put(tx, name, copy,
                   kept ? iso__persistent_kept : iso__persistent_free);
  if (rc < 0) {
    if (!kept) free(copy);
    return rc;
  }
  copy->len = len;
  if (len) memcpy(copy->bytes, bytes, len);
  if (kept) tx->spill_used = (uint8_t)(at + sizeof *copy + len);
  return 0;
}

int iso_tx_get_persistent(const iso_tx *tx, const char *name,
                          const void **bytes, size_t *len) {
  iso__ctx_value *v = ctx_find(tx, name);
  if (!v || !iso__ctx_is_persistent(v)) return ISO_E_NOT_FOUND;
  const iso__persistent *pv = v->value;
  *bytes = pv->bytes;
  *len = pv->len;
  return 0;
}
