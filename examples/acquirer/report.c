/*
 * examples/acquirer/report.c -- the acquirer's summary (text or JSON) and
 * its progress bar.  Latencies are exact percentiles over every answered
 * request (examples/common/latency.h).
 */
#include <stdio.h>
#include <string.h>

#include "examples/acquirer/acquirer.h"

void acq_progress(uint64_t done, uint64_t total, double elapsed_s) {
  int width = 40, filled = total ? (int)((double)done / (double)total * width) : width;
  char bar[41];
  memset(bar, '#', (size_t)filled);
  memset(bar + filled, '.', (size_t)(width - filled));
  bar[width] = '\0';
  fprintf(stderr, "\r[%s] %llu/%llu  %.0f tx/s ", bar, (unsigned long long)done,
          (unsigned long long)total, elapsed_s > 0 ? (double)done / elapsed_s : 0.0);
  fflush(stderr);
}

static double ms(uint64_t ns) { return (double)ns / 1e6; }

void acq_report(const acq_options *o, acq_stats *st, FILE *out) {
  iso__latency_summary l;
  iso__latencies_summarize(&st->latencies, &l);
  uint64_t declined = 0;
  for (int i = 1; i < ACQ_RC_SLOTS; i++) declined += st->by_rc[i];
  declined += st->other_rc;
  double tps = st->elapsed_s > 0 ? (double)st->answered / st->elapsed_s : 0;
  if (o->json) {
    fprintf(out,
            "{\"sent\":%llu,\"answered\":%llu,\"approved\":%llu,\"declined\":%llu,"
            "\"by_response_code\":{",
            (unsigned long long)st->sent, (unsigned long long)st->answered,
            (unsigned long long)st->approved, (unsigned long long)declined);
    const char *sep = "";
    for (int i = 0; i < ACQ_RC_SLOTS; i++)
      if (st->by_rc[i]) {
        fprintf(out, "%s\"%02d\":%llu", sep, i, (unsigned long long)st->by_rc[i]);
        sep = ",";
      }
    if (st->other_rc) fprintf(out, "%s\"other\":%llu", sep, (unsigned long long)st->other_rc);
    fprintf(out,
            "},\"timeouts\":%llu,\"errors\":%llu,\"refused\":%llu,\"disconnects\":%llu,"
            "\"repeats\":{\"sent\":%llu,\"identical\":%llu,\"different\":%llu},"
            "\"reversals\":{\"sent\":%llu,\"answered\":%llu,\"approved\":%llu},"
            "\"latency_ms\":{\"p50\":%.3f,\"p90\":%.3f,\"p99\":%.3f,\"max\":%.3f},"
            "\"elapsed_s\":%.3f,\"tx_per_s\":%.1f}\n",
            (unsigned long long)st->timeouts, (unsigned long long)st->errors,
            (unsigned long long)st->refused, (unsigned long long)st->disconnects,
            (unsigned long long)st->repeats_sent, (unsigned long long)st->repeats_identical,
            (unsigned long long)st->repeats_different, (unsigned long long)st->reversals_sent,
            (unsigned long long)st->reversals_answered,
            (unsigned long long)st->reversals_approved, ms(l.p50), ms(l.p90), ms(l.p99),
            ms(l.max), st->elapsed_s, tps);
    return;
  }
  fprintf(out, "requests     %llu sent, %llu answered, %llu timed out, %llu failed\n",
          (unsigned long long)st->sent, (unsigned long long)st->answered,
          (unsigned long long)st->timeouts,
          (unsigned long long)(st->errors + st->refused));
  fprintf(out, "authorized   %llu approved, %llu declined", (unsigned long long)st->approved,
          (unsigned long long)declined);
  const char *sep = " (";
  for (int i = 1; i < ACQ_RC_SLOTS; i++)
    if (st->by_rc[i]) {
      fprintf(out, "%s%02d: %llu", sep, i, (unsigned long long)st->by_rc[i]);
      sep = ", ";
    }
  if (st->other_rc) fprintf(out, "%sother: %llu", sep, (unsigned long long)st->other_rc);
  fprintf(out, "%s\n", strcmp(sep, " (") ? ")" : "");
  fprintf(out, "repeats      %llu sent, %llu answered as the original, %llu differently\n",
          (unsigned long long)st->repeats_sent, (unsigned long long)st->repeats_identical,
          (unsigned long long)st->repeats_different);
  fprintf(out, "reversals    %llu sent, %llu answered (%llu approved)\n",
          (unsigned long long)st->reversals_sent, (unsigned long long)st->reversals_answered,
          (unsigned long long)st->reversals_approved);
  fprintf(out, "latency      p50 %.3f ms, p90 %.3f ms, p99 %.3f ms, max %.3f ms\n", ms(l.p50),
          ms(l.p90), ms(l.p99), ms(l.max));
  fprintf(out, "throughput   %.0f tx/s over %.2f s\n", tps, st->elapsed_s);
  if (st->disconnects) fprintf(out, "connections  %llu lost\n", (unsigned long long)st->disconnects);
}
