/*
 * examples/issuer/metrics.c -- what the issuer's admin endpoint shows.
 * Runs on the endpoint's thread and reads only what is safe from any
 * thread: the answer and issuer counters (per-thread tallies, summed), the flow's merged
 * statistics and profile, the server's and the journal's counters.  The
 * server is closed only after the endpoint has stopped.
 */
#include <stdio.h>
#include <stdlib.h>

#include "examples/common/admin.h"
#include "examples/issuer/issuer_app.h"

bool iss_ready(void *data) {
  iss_app *app = data;
  return atomic_load(&app->ready);
}

/* A metric with one unlabelled sample: its # HELP and # TYPE lines, then
 * the sample. */
static void single_metric(iso__text *out, const char *name, const char *type,
                          const char *help, double value) {
  iso__metric_help(out, name, type, help);
  iso__metric(out, name, NULL, value);
}

static void answers(iss_app *app, iso__text *out) {
  iso__metric_help(out, "isoflow_transactions_total", "counter",
                   "Responses sent, by response MTI and response code (DE 39).");
  uint64_t sums[ISS_MTI_SLOTS][ISS_RC_SLOTS];
  for (int m = 0; m < ISS_MTI_SLOTS; m++)
    for (int r = 0; r < ISS_RC_SLOTS; r++)
      sums[m][r] = iso__tally_sum(&app->answers, (size_t)(m * ISS_RC_SLOTS + r));
  uint64_t malformed = 0, dropped = 0, unsendable = 0;
  if (app->server) {
    malformed = iso_flow_server_unreadable(app->server);
    dropped = iso_flow_server_dropped(app->server);
    unsendable = iso_flow_server_send_failures(app->server);
  }
  for (int m = 0; m < ISS_MTI_SLOTS; m++)
    for (int r = 0; r < ISS_RC_SLOTS; r++) {
      if (!sums[m][r]) continue;
      char labels[64], rc[8];
      if (r == ISS_RC_SLOTS - 1) snprintf(rc, sizeof rc, "other");
      else snprintf(rc, sizeof rc, "%02d", r);
      snprintf(labels, sizeof labels, "mti=\"%s\",rc=\"%s\"", iss_mti_names[m], rc);
      iso__metric(out, "isoflow_transactions_total", labels, (double)sums[m][r]);
    }
  single_metric(out, "isoflow_requests_malformed_total", "counter",
                "Requests that could not be unpacked (not answered).", (double)malformed);
  single_metric(out, "isoflow_requests_dropped_total", "counter",
                "Requests not taken (shutting down, or refused by the flow).", (double)dropped);
  single_metric(out, "isoflow_responses_unsendable_total", "counter",
                "Responses that could not be packed (not sent).", (double)unsendable);
}

static void flow_stats(iss_app *app, iso__text *out) {
  iso_flow_stats s;
  iso_flow_stats_get(app->flow, &s);
  single_metric(out, "isoflow_in_flight", "gauge",
                "Transactions running now.", (double)s.in_flight);
  iso__metric_help(out, "isoflow_outcomes_total", "counter", "Transactions by outcome.");
  iso__metric(out, "isoflow_outcomes_total", "outcome=\"committed\"", (double)s.committed);
  iso__metric(out, "isoflow_outcomes_total", "outcome=\"aborted\"", (double)s.aborted);
  single_metric(out, "isoflow_overload_declined_total", "counter",
                "Requests declined at once for overload.", (double)s.overload_declined);
  iso__metric_help(out, "isoflow_duplicates_total", "counter",
                   "Retransmissions answered without running, by kind.");
  iso__metric(out, "isoflow_duplicates_total", "kind=\"in_flight\"", (double)s.dup_in_flight);
  iso__metric(out, "isoflow_duplicates_total", "kind=\"completed\"",
              (double)(s.dup_completed - s.dup_from_journal));
  iso__metric(out, "isoflow_duplicates_total", "kind=\"journal\"", (double)s.dup_from_journal);
  iso__metric(out, "isoflow_duplicates_total", "kind=\"fingerprint_mismatch\"",
              (double)s.fingerprint_mismatch);
  single_metric(out, "isoflow_repeats_as_original_total", "counter",
                "Repeats of unknown transactions, run as originals.", (double)s.repeat_as_original);
  single_metric(out, "isoflow_deadline_expired_total", "counter",
                "Transactions aborted at their deadline.", (double)s.deadline_expired);
  single_metric(out, "isoflow_journal_failures_total", "counter",
                "Journal writes that failed (their transactions declined).",
                (double)s.journal_failures);
  single_metric(out, "isoflow_recovered_total", "counter",
                "In-doubt transactions finished by recovery at start.", (double)s.recovered);
}

static void issuer_counters(iss_app *app, iso__text *out) {
  iso__issuer *is = &app->issuer;
  iso__metric_help(out, "isoflow_issuer_account_total", "counter",
                   "Account operations: holds, captures, releases, refunds.");
  static const struct {
    const char *labels;
    iso__issuer_counter which;
  } account[] = {{"op=\"hold\"", ISO__COUNT_HOLDS},
                 {"op=\"capture\"", ISO__COUNT_CAPTURES},
                 {"op=\"release\"", ISO__COUNT_RELEASES},
                 {"op=\"refund\"", ISO__COUNT_REFUNDS}};
  for (size_t i = 0; i < sizeof account / sizeof account[0]; i++)
    iso__metric(out, "isoflow_issuer_account_total", account[i].labels,
                (double)iso__issuer_count(is, account[i].which));
  iso__metric_help(out, "isoflow_issuer_reversals_without_effect_total", "counter",
                   "Reversals acknowledged with no effect, by why.");
  iso__metric(out, "isoflow_issuer_reversals_without_effect_total", "why=\"unknown\"",
              (double)iso__issuer_count(is, ISO__COUNT_REVERSAL_UNKNOWN));
  iso__metric(out, "isoflow_issuer_reversals_without_effect_total", "why=\"already\"",
              (double)iso__issuer_count(is, ISO__COUNT_REVERSAL_REPEATED));
}

/* The sum of every card's available balance, and of the opening ones: a
 * check that the balances agree with the journal (tests compare it with
 * what `isoflow journal show` says was committed). */
static void balances(iss_app *app, iso__text *out) {
  int64_t available = 0, opening = 0;
  for (size_t i = 0; i < app->book.count; i++) {
    available += iso__issuer_available(&app->issuer, (uint32_t)i);
    opening += app->book.cards[i].opening;
  }
  iso__metric_help(out, "isoflow_issuer_balance_total", "gauge",
                   "Sum over the card book, minor units: available now, and opening.");
  iso__metric(out, "isoflow_issuer_balance_total", "kind=\"available\"", (double)available);
  iso__metric(out, "isoflow_issuer_balance_total", "kind=\"opening\"", (double)opening);
}

static void connections(iss_app *app, iso__text *out) {
  if (!app->server) return;
  iso_conn_stats s;
  iso_server_stats_read(iso_flow_server_handle(app->server), &s);
  iso__metric_server(out, &s);
}

static void journal(iss_app *app, iso__text *out) {
#ifdef ISOFLOW_HAVE_JOURNAL
  if (!app->journal) return;
  iso_journal_stats s;
  iso_journal_stats_get(app->journal, &s);
  single_metric(out, "isoflow_journal_events_total", "counter",
                "Events written.", (double)s.events);
  single_metric(out, "isoflow_journal_groups_total", "counter",
                "SQLite transactions committed (group commits).", (double)s.groups);
  iso__metric_help(out, "isoflow_journal_group_size", "gauge",
                   "Events per group: mean since start, and the largest.");
  /* two decimals: a mean printed to 17 digits is a digit run that a card
   * scanner (scripts/cardscan) may find Luhn-valid, one time in ten */
  iso__text_printf(out, "isoflow_journal_group_size{stat=\"mean\"} %.2f\n",
                   s.groups ? (double)s.events / (double)s.groups : 0.0);
  iso__metric(out, "isoflow_journal_group_size", "stat=\"max\"", (double)s.max_group);
  single_metric(out, "isoflow_journal_queue_full_total", "counter",
                "Events refused because the writer's queue was full.", (double)s.full);
  single_metric(out, "isoflow_journal_lost_total", "counter",
                "Events lost to failed writes.", (double)s.failures);
#else
  (void)app;
  (void)out;
#endif
}

/* The flow's stage histograms, in its own Prometheus rendering. */
static void stages(iss_app *app, iso__text *out, iso_profile_format format) {
  size_t need = 0;
  if (iso_flow_profile(app->flow, format, NULL, 0, &need) != ISO_E_NOSPC) return;
  char *buf = malloc(need + 1);
  if (buf && iso_flow_profile(app->flow, format, buf, need + 1, &need) == 0)
    iso__text_append(out, buf, need);
  free(buf);
}

void iss_metrics(void *data, iso__text *out) {
  iss_app *app = data;
  answers(app, out);
  flow_stats(app, out);
  issuer_counters(app, out);
  balances(app, out);
  connections(app, out);
  journal(app, out);
  stages(app, out, ISO_PROFILE_PROMETHEUS);
}

void iss_profile(void *data, iso__text *out) {
  stages(data, out, ISO_PROFILE_TEXT);
}
