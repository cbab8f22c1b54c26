/*
 * examples/flowdemo/main.c -- the transaction manager in one process, no
 * network, no journal: the example issuer's flow (fields, route, card,
 * account, approval, decline) with an "audit" participant in front that
 * prints every call it gets.  It runs an approval (prepare, then commit), a
 * decline for insufficient funds (prepare, then abort: the hold is never
 * taken), a duplicate answered from the original without running anything,
 * a reversal that gives the amount back, and prints the flow's stage-latency
 * profile.  PANs are printed masked.
 *
 *   flowdemo [--quiet]     (--quiet: only the final profile and counters)
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "examples/common/cards.h"
#include "examples/common/requests.h"
#include "examples/issuer/participants/issuer.h"

static bool quiet;

static int audit_prepare(iso_tx *tx, void *data) {
  (void)data;
  if (!quiet)
    printf("    audit    prepare  tx %llu %s\n", (unsigned long long)iso_tx_id(tx),
           iso_msg_mti(iso_tx_request(tx)));
  return ISO_PREPARED | ISO_READONLY; /* joins: its commit or abort runs */
}

static void audit_commit(iso_tx *tx, void *data) {
  (void)data;
  if (!quiet) printf("    audit    commit   tx %llu\n", (unsigned long long)iso_tx_id(tx));
}

static void audit_abort(iso_tx *tx, void *data) {
  (void)data;
  if (!quiet) printf("    audit    abort    tx %llu\n", (unsigned long long)iso_tx_id(tx));
}

typedef struct outcome {
  int done;
  int status;
  char rc[3];
  char auth_code[7];
} outcome;

static void on_done(iso_tx *tx, int status, const iso_msg *rsp, void *data) {
  (void)tx;
  outcome *o = data;
  size_t len;
  o->done = 1;
  o->status = status;
  if (!rsp || iso_msg_get(rsp, 39, o->rc, sizeof o->rc, &len) < 0) o->rc[0] = '\0';
  if (!rsp || iso_msg_get(rsp, 38, o->auth_code, sizeof o->auth_code, &len) < 0)
    o->auth_code[0] = '\0';
}

static int run(iso_flow_loop *fl, uv_loop_t *loop, const char *title, const iso_msg *req,
               outcome *o) {
  char masked[32];
  const uint8_t *pan = NULL;
  size_t len = 0;
  masked[0] = '\0';
  if (iso_msg_peek(req, 2, &pan, &len) == 0) masked[iso_mask_pan((const char *)pan, len, masked)] = '\0';
  if (!quiet) printf("\n== %s: %s %s\n", title, iso_msg_mti(req), masked);
  memset(o, 0, sizeof *o);
  int rc = iso_flow_submit(fl, req, 0, on_done, o);
  if (rc < 0) {
    fprintf(stderr, "flowdemo: submit: %s\n", iso_strerror(rc));
    return rc;
  }
  while (!o->done) uv_run(loop, UV_RUN_ONCE);
  if (!quiet)
    printf("   -> %s, response code %s%s%s\n",
           o->status == ISO_E_DUPLICATE ? "answered from the original"
           : o->status == 0             ? "committed"
                                        : "aborted",
           o->rc, o->auth_code[0] ? ", authorization code " : "", o->auth_code);
  return 0;
}

static void on_loop_closed(iso_flow_loop *fl, void *data) {
  (void)fl;
  *(int *)data = 1;
}

int main(int argc, char **argv) {
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--quiet")) {
      quiet = true;
    } else {
      fprintf(stderr, "usage: flowdemo [--quiet]\n");
      return strcmp(argv[i], "--help") ? 2 : 0;
    }
  }
  const iso_spec *spec = iso_spec_builtin("iso87a-bbitmap");
  iso__card_book book;
  iso__issuer issuer;
  iso_flow *flow = NULL;
  iso_flow_loop *fl = NULL;
  uv_loop_t loop;
  if (iso__card_book_builtin(&book) < 0 || iso__issuer_init(&issuer, &book) < 0) {
    fprintf(stderr, "flowdemo: out of memory\n");
    return 1;
  }
  iso_flow_config cfg;
  iso_flow_config_init(&cfg);
  cfg.spec = spec;
  cfg.name = "issuer";
  iso_participant audit = {.name = "audit", .prepare = audit_prepare,
                           .commit = audit_commit, .abort = audit_abort};
  int rc = iso_flow_new(&cfg, &flow);
  if (rc == 0) rc = iso_flow_add(flow, &audit);
  if (rc == 0) rc = iso__issuer_flow_build(flow, &issuer);
  if (rc == 0) rc = iso_flow_start(flow);
  if (rc == 0) rc = uv_loop_init(&loop) ? ISO_E_IO : 0;
  if (rc == 0) rc = iso_flow_loop_new(flow, &loop, &fl);
  if (rc < 0) {
    fprintf(stderr, "flowdemo: %s\n", iso_strerror(rc));
    return 1;
  }

  char pan[ISO__PAN_MAX + 1], low[ISO__PAN_MAX + 1];
  iso__card_builtin_pan(1, pan);
  iso__card_builtin_pan(98, low);
  iso_msg req, rev;
  iso_msg_init(&req, spec);
  iso_msg_init(&rev, spec);
  outcome o;
  iso__auth_params ok = {.pan = pan, .expiry = "3012", .amount = 4200, .stan = 1};
  iso__auth_params short_of_funds = {.pan = low, .expiry = "3012", .amount = 9900, .stan = 2};

  printf("card 1 available: %lld.%02lld\n", (long long)iso__issuer_available(&issuer, 1) / 100,
         (long long)iso__issuer_available(&issuer, 1) % 100);
  iso__build_authorization(&req, &short_of_funds);
  run(fl, &loop, "a decline: card 98 holds 50.00, asks 99.00", &req, &o);
  iso__build_authorization(&req, &ok);
  run(fl, &loop, "an approval: 42.00 on card 1", &req, &o);
  run(fl, &loop, "the same request again (a retransmission)", &req, &o);
  iso_msg_set_mti(&req, "0101");
  run(fl, &loop, "its repeat (0101): same key, same answer", &req, &o);
  printf("\ncard 1 available: %lld.%02lld\n", (long long)iso__issuer_available(&issuer, 1) / 100,
         (long long)iso__issuer_available(&issuer, 1) % 100);
  iso_msg_set_mti(&req, "0100");
  iso__build_reversal(&rev, &req, "0400", 3);
  run(fl, &loop, "a reversal of the approval", &rev, &o);
  printf("\ncard 1 available: %lld.%02lld\n", (long long)iso__issuer_available(&issuer, 1) / 100,
         (long long)iso__issuer_available(&issuer, 1) % 100);

  iso_flow_stats st;
  iso_flow_stats_get(flow, &st);
  printf("\n== counters: %llu committed, %llu aborted, %llu duplicates answered from the "
         "original\n",
         (unsigned long long)st.committed, (unsigned long long)st.aborted,
         (unsigned long long)(st.dup_completed + st.dup_in_flight));
  char *profile = NULL;
  size_t need = 0;
  if (iso_flow_profile(flow, ISO_PROFILE_TEXT, NULL, 0, &need) == ISO_E_NOSPC &&
      (profile = malloc(need + 1)) &&
      iso_flow_profile(flow, ISO_PROFILE_TEXT, profile, need + 1, &need) == 0)
    printf("\n== stage-latency profile\n%s", profile);
  free(profile);

  int closed = 0;
  iso_flow_loop_close(fl, on_loop_closed, &closed);
  while (!closed) uv_run(&loop, UV_RUN_ONCE);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  iso_msg_cleanup(&req);
  iso_msg_cleanup(&rev);
  iso_flow_free(flow);
  iso__issuer_free(&issuer);
  iso__card_book_free(&book);
  return st.committed >= 2 && st.aborted >= 1 ? 0 : 1;
}
