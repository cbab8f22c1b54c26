/*
 * examples/acquirer/load.c -- the load run: authorizations drawn from the
 * card book (card and amount from a seeded generator), sent within a window
 * of `concurrency` in flight and, with --rate, paced by a 1 ms token timer.
 * Each authorization is one record that lives until its last follow-up is
 * answered: the original, then (a --repeat-share of them) the same request
 * as a repeat (0101/0201, same idempotency key), whose answer must be the
 * original's, then (a --reverse-share of the approved) a 0400 naming it.
 * One record has one request in flight at a time, so the record is the
 * response callback's data.  With --log, every answer (or failure) is one
 * line of the log, so that a fault test can check each approval the
 * acquirer received against the issuer's journal.
 */
#include <stdlib.h>
#include <string.h>

#include "examples/acquirer/acquirer.h"
#include "examples/common/requests.h"

enum { STEP_ORIGINAL, STEP_REPEAT, STEP_REVERSAL };

typedef struct run run;

typedef struct auth_rec {
  run *run;
  uint32_t card;
  int64_t amount;
  uint32_t stan;
  char when[11];
  bool repeat, reverse;
  int step;
  uint64_t sent_at;
  char rc[3], auth_code[7];
  char sent_mti[5], sent_stan[7], rrn[13]; /* of the request in flight */
} auth_rec;

struct run {
  const acq_options *o;
  acq_links *links;
  acq_stats *st;
  iso_msg msg;
  uint64_t rng;
  uint64_t started, originals, active;
  uint32_t next_stan;
  char terminal[9];
  double tokens;
  uint64_t last_tick;
  uv_timer_t pacer, progress;
  bool done;
};

static uint64_t next_random(run *r) { /* xorshift64* */
  r->rng ^= r->rng >> 12;
  r->rng ^= r->rng << 25;
  r->rng ^= r->rng >> 27;
  return r->rng * 2685821657736338717ull;
}

static double next_share(run *r) { return (double)(next_random(r) >> 11) / 9007199254740992.0; }

static void send_step(auth_rec *a);

static void finish(auth_rec *a) {
  run *r = a->run;
  r->active--;
  free(a);
}

/* Rebuilds the record's authorization into r->msg (the same bytes every
 * time, so a repeat carries the original's key and fingerprint). */
static int build_original(auth_rec *a, const char *mti) {
  run *r = a->run;
  iso__auth_params p = {.mti = mti, .pan = r->o->book.cards[a->card].pan,
                        .expiry = r->o->book.cards[a->card].expiry, .amount = a->amount,
                        .stan = a->stan, .terminal = r->terminal, .when = a->when};
  return iso__build_authorization(&r->msg, &p);
}

static void read_answer(run *r, const iso_frame *f, char rc[3], char code[7]) {
  iso_msg m;
  size_t len;
  iso_msg_init(&m, r->o->spec);
  rc[0] = code[0] = '\0';
  if (iso_msg_unpack(&m, f->payload, f->len, NULL) == 0) {
    if (iso_msg_get(&m, 39, rc, 3, &len) < 0) rc[0] = '\0';
    if (iso_msg_get(&m, 38, code, 7, &len) < 0) code[0] = '\0';
  }
  iso_msg_cleanup(&m);
}

static void count_rc(acq_stats *st, const char *rc) {
  if (rc[0] >= '0' && rc[0] <= '9' && rc[1] >= '0' && rc[1] <= '9' && !rc[2])
    st->by_rc[(rc[0] - '0') * 10 + (rc[1] - '0')]++;
  else
    st->other_rc++;
}

static const char *const step_names[] = {"original", "repeat", "reversal"};

/* One line of --log: what was sent, and the answer's code ('-' when the
 * request failed).  STAN, RRN and terminal carry no card data. */
static void log_answer(const auth_rec *a, const char *rc) {
  FILE *log = a->run->o->log;
  if (!log) return;
  fprintf(log, "%s %s %s %s %s %s %llu\n", step_names[a->step], a->sent_mti, a->sent_stan,
          a->rrn[0] ? a->rrn : "-", a->run->terminal, rc[0] ? rc : "-",
          (unsigned long long)((uv_hrtime() - a->sent_at) / 1000));
}

/* Remembers what identifies the request just built in r->msg, for --log. */
static void note_sent(auth_rec *a, const iso_msg *m) {
  size_t len;
  const char *mti = iso_msg_mti(m);
  size_t n = strnlen(mti, sizeof a->sent_mti - 1);
  memcpy(a->sent_mti, mti, n);
  a->sent_mti[n] = '\0';
  if (iso_msg_get(m, 11, a->sent_stan, sizeof a->sent_stan, &len) < 0) a->sent_stan[0] = '\0';
  if (iso_msg_get(m, 37, a->rrn, sizeof a->rrn, &len) < 0) a->rrn[0] = '\0';
}

static void on_answer(iso_conn *conn, int status, const iso_frame *f, void *data) {
  (void)conn;
  auth_rec *a = data;
  run *r = a->run;
  acq_stats *st = r->st;
  if (status < 0) {
    log_answer(a, "");
    if (status == ISO_E_TIMEDOUT) st->timeouts++;
    else st->errors++;
    finish(a);
    return;
  }
  st->answered++;
  iso__latencies_add(&st->latencies, uv_hrtime() - a->sent_at);
  char rc[3], code[7];
  read_answer(r, f, rc, code);
  log_answer(a, rc);
  switch (a->step) {
    case STEP_ORIGINAL:
      memcpy(a->rc, rc, 3);
      memcpy(a->auth_code, code, 7);
      count_rc(st, rc);
      if (!strcmp(rc, "00")) st->approved++;
      break;
    case STEP_REPEAT:
      if (!strcmp(rc, a->rc) && !strcmp(code, a->auth_code)) st->repeats_identical++;
      else st->repeats_different++;
      break;
    case STEP_REVERSAL:
      st->reversals_answered++;
      if (!strcmp(rc, "00")) st->reversals_approved++;
      finish(a);
      return;
  }
  /* The next step: the repeat, then the reversal of an approval. */
  if (a->step == STEP_ORIGINAL && a->repeat) {
    a->step = STEP_REPEAT;
  } else if (a->reverse && !strcmp(a->rc, "00")) {
    a->step = STEP_REVERSAL;
  } else {
    finish(a);
    return;
  }
  send_step(a);
}

static void send_step(auth_rec *a) {
  run *r = a->run;
  acq_stats *st = r->st;
  int rc;
  if (a->step == STEP_REVERSAL) {
    rc = build_original(a, r->o->mti);
    iso_msg original;
    iso_msg_init(&original, r->o->spec);
    if (rc == 0) rc = iso_msg_copy(&original, &r->msg);
    if (rc == 0) rc = iso__build_reversal(&r->msg, &original, "0400", r->next_stan++);
    iso_msg_cleanup(&original);
  } else {
    char mti[5];
    memcpy(mti, r->o->mti, 5);
    if (a->step == STEP_REPEAT) mti[3] = '1';
    rc = build_original(a, mti);
  }
  a->sent_at = uv_hrtime();
  if (rc == 0 && r->o->log) note_sent(a, &r->msg);
  if (rc == 0) rc = acq_links_request(r->links, &r->msg, 0, on_answer, a);
  if (rc < 0) {
    if (rc == ISO_E_BUSY || rc == ISO_E_NO_CONNECTION) st->refused++;
    else st->errors++;
    finish(a);
    return;
  }
  st->sent++;
  if (a->step == STEP_REPEAT) st->repeats_sent++;
  if (a->step == STEP_REVERSAL) st->reversals_sent++;
}

static void start_one(run *r) {
  auth_rec *a = calloc(1, sizeof *a);
  r->originals++;
  if (!a) {
    r->st->errors++;
    return;
  }
  a->run = r;
  a->card = (uint32_t)(next_random(r) % r->o->book.count);
  a->amount = r->o->amount_min +
              (int64_t)(next_random(r) % (uint64_t)(r->o->amount_max - r->o->amount_min + 1));
  a->stan = r->next_stan++;
  iso__now_de7(a->when);
  a->repeat = next_share(r) < r->o->repeat_share;
  a->reverse = next_share(r) < r->o->reverse_share;
  a->step = STEP_ORIGINAL;
  r->active++;
  send_step(a);
}

/* Starts originals while the window, the count and the tokens allow. */
static void pump(run *r) {
  while (r->originals < r->o->count && r->active < r->o->concurrency) {
    if (r->o->rate) {
      if (r->tokens < 1.0) break;
      r->tokens -= 1.0;
    }
    start_one(r);
  }
}

static void on_pace(uv_timer_t *t) {
  run *r = t->data;
  uint64_t now = uv_hrtime();
  if (r->o->rate) {
    r->tokens += (double)r->o->rate * (double)(now - r->last_tick) / 1e9;
    double burst = (double)r->o->rate / 100.0 + 1.0; /* at most 10 ms worth */
    if (r->tokens > burst) r->tokens = burst;
  }
  r->last_tick = now;
  pump(r);
  if (r->originals >= r->o->count && r->active == 0) {
    uv_timer_stop(&r->pacer);
    uv_timer_stop(&r->progress);
    r->done = true;
  }
}

static void on_progress(uv_timer_t *t) {
  run *r = t->data;
  acq_progress(r->originals - r->active, r->o->count, (double)(uv_hrtime() - r->started) / 1e9);
}

static void on_timer_closed(uv_handle_t *h) { (void)h; }

int acq_run_load(const acq_options *o, acq_links *links, acq_stats *st) {
  run r;
  memset(&r, 0, sizeof r);
  r.o = o;
  r.links = links;
  r.st = st;
  r.rng = o->seed ? o->seed : 88172645463325252ull;
  iso_msg_init(&r.msg, o->spec);
  /* A terminal id and STANs of this run, so that runs against one issuer
   * do not share idempotency keys. */
  snprintf(r.terminal, sizeof r.terminal, "A%07u", (unsigned)(next_random(&r) % 10000000u));
  r.next_stan = (uint32_t)(next_random(&r) % 1000000u);
  uv_timer_init(links->loop, &r.pacer);
  uv_timer_init(links->loop, &r.progress);
  r.pacer.data = r.progress.data = &r;
  r.started = r.last_tick = uv_hrtime();
  uv_timer_start(&r.pacer, on_pace, 0, 1);
  if (o->progress) uv_timer_start(&r.progress, on_progress, 200, 200);
  while (!r.done) {
    pump(&r); /* answers free window slots: refill at once, not at the tick */
    uv_run(links->loop, UV_RUN_ONCE);
    if (r.originals >= o->count && r.active == 0) r.done = true;
  }
  st->elapsed_s = (double)(uv_hrtime() - r.started) / 1e9;
  if (o->progress) {
    acq_progress(o->count, o->count, st->elapsed_s);
    fputc('\n', stderr);
  }
  uv_close((uv_handle_t *)&r.pacer, on_timer_closed);
  uv_close((uv_handle_t *)&r.progress, on_timer_closed);
  uv_run(links->loop, UV_RUN_NOWAIT);
  iso_msg_cleanup(&r.msg);
  return st->timeouts || st->errors || st->refused ? 1 : 0;
}
