/*
 * cli/journal_profile.c -- `isoflow journal profile`: stage latencies of the
 * selected transactions (iso_journal_profile_compute) as a table, JSON, CSV
 * or an SVG chart: one horizontal bar group per stage, percentiles as
 * nested bars on a logarithmic time axis, so a participant of 20 us and a
 * total of 5 ms read on one page.
 */
#include <math.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/journal_cli.h"

static const char help[] =
    "usage: isoflow journal profile DB [selection] [--format table|json|csv|svg]\n"
    "                               [--output FILE]\n"
    "\n"
    "Stage latencies over the selected completed transactions, per\n"
    "participant and phase, then the flow-level stages (journal_wait,\n"
    "journal_write, total): count, p50, p90, p99, p99.9 and max, in\n"
    "microseconds (exact nearest-rank percentiles).  svg draws a bar chart.\n"
    "\n" JCLI_SELECTION_HELP;

static const char *stage_name(const iso_journal_profile_row *r) {
  return r->participant ? r->participant : "(flow)";
}

static double us(uint64_t ns) { return (double)ns / 1000.0; }

static void table(FILE *out, const iso_journal_profile *p) {
  fprintf(out, "%-20s %-18s %8s %10s %10s %10s %10s %10s\n", "participant",
          "phase", "count", "p50_us", "p90_us", "p99_us", "p99.9_us", "max_us");
  for (size_t i = 0; i < p->count; i++) {
    const iso_journal_profile_row *r = &p->rows[i];
    fprintf(out, "%-20s %-18s %8llu %10.1f %10.1f %10.1f %10.1f %10.1f\n",
            stage_name(r), iso_phase_name(r->phase), (unsigned long long)r->count,
            us(r->p50), us(r->p90), us(r->p99), us(r->p999), us(r->max));
  }
}

static void csv(FILE *out, const iso_journal_profile *p) {
  fputs("participant,phase,count,p50_us,p90_us,p99_us,p999_us,max_us\n", out);
  for (size_t i = 0; i < p->count; i++) {
    const iso_journal_profile_row *r = &p->rows[i];
    fprintf(out, "%s,%s,%llu,%.3f,%.3f,%.3f,%.3f,%.3f\n",
            r->participant ? r->participant : "", iso_phase_name(r->phase),
            (unsigned long long)r->count, us(r->p50), us(r->p90), us(r->p99),
            us(r->p999), us(r->max));
  }
}

static void json(FILE *out, const iso_journal_profile *p) {
  fputs("{\"unit\":\"us\",\"stages\":[", out);
  for (size_t i = 0; i < p->count; i++) {
    const iso_journal_profile_row *r = &p->rows[i];
    fprintf(out, "%s{\"participant\":", i ? "," : "");
    if (r->participant) fprintf(out, "\"%s\"", r->participant);
    else fputs("null", out);
    fprintf(out,
            ",\"phase\":\"%s\",\"count\":%llu,\"p50\":%.3f,\"p90\":%.3f,"
            "\"p99\":%.3f,\"p999\":%.3f,\"max\":%.3f}",
            iso_phase_name(r->phase), (unsigned long long)r->count, us(r->p50),
            us(r->p90), us(r->p99), us(r->p999), us(r->max));
  }
  fputs("]}\n", out);
}

/* ---- svg ------------------------------------------------------------------ */

enum { LABEL_W = 230, PLOT_W = 620, ROW_H = 34, TOP = 60, RIGHT = 30 };

static double x_of(double v_us, double lo, double hi) {
  if (v_us < lo) v_us = lo;
  return LABEL_W + PLOT_W * (log10(v_us) - log10(lo)) / (log10(hi) - log10(lo));
}

/* Escapes the few XML specials participant names could hold. */
static void xml_text(FILE *out, const char *s) {
  for (; *s; s++) {
    if (*s == '<') fputs("&lt;", out);
    else if (*s == '>') fputs("&gt;", out);
    else if (*s == '&') fputs("&amp;", out);
    else fputc(*s, out);
  }
}

static void svg(FILE *out, const iso_journal_profile *p) {
  double lo = 1e9, hi = 1;
  for (size_t i = 0; i < p->count; i++) {
    if (us(p->rows[i].p50) > 0 && us(p->rows[i].p50) < lo) lo = us(p->rows[i].p50);
    if (us(p->rows[i].max) > hi) hi = us(p->rows[i].max);
  }
  lo = pow(10, floor(log10(lo > 0.1 ? lo : 0.1)));
  hi = pow(10, ceil(log10(hi)));
  if (hi <= lo) hi = lo * 10;
  int h = TOP + (int)p->count * ROW_H + 70;
  int w = LABEL_W + PLOT_W + RIGHT;
  fprintf(out,
          "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\""
          " font-family=\"sans-serif\" font-size=\"12\">\n"
          "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
          "<text x=\"%d\" y=\"24\" font-size=\"16\" font-weight=\"bold\">"
          "Stage latency per participant and phase</text>\n",
          w, h, LABEL_W);
  /* legend */
  static const char *const colors[] = {"#c6dbef", "#6baed6", "#2171b5", "#08306b"};
  static const char *const names[] = {"p99.9", "p99", "p90", "p50"};
  for (int k = 0; k < 4; k++)
    fprintf(out,
            "<rect x=\"%d\" y=\"34\" width=\"12\" height=\"12\" fill=\"%s\"/>"
            "<text x=\"%d\" y=\"45\">%s</text>\n",
            LABEL_W + k * 80, colors[k], LABEL_W + k * 80 + 16, names[k]);
  fprintf(out, "<text x=\"%d\" y=\"45\">| max</text>\n", LABEL_W + 4 * 80);
  /* grid and x axis: decades */
  int axis_y = TOP + (int)p->count * ROW_H;
  for (double d = lo; d <= hi * 1.0001; d *= 10) {
    double x = x_of(d, lo, hi);
    fprintf(out,
            "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#ddd\"/>\n"
            "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n",
            x, TOP - 6, x, axis_y, x, axis_y + 16, d);
  }
  fprintf(out,
          "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n"
          "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">latency (microseconds,"
          " log scale)</text>\n"
          "<text x=\"12\" y=\"%d\" transform=\"rotate(-90 12 %d)\""
          " text-anchor=\"middle\">participant / phase</text>\n",
          LABEL_W, axis_y, LABEL_W + PLOT_W, axis_y, LABEL_W + PLOT_W / 2,
          axis_y + 40, TOP + (int)p->count * ROW_H / 2,
          TOP + (int)p->count * ROW_H / 2);
  for (size_t i = 0; i < p->count; i++) {
    const iso_journal_profile_row *r = &p->rows[i];
    int y = TOP + (int)i * ROW_H;
    fprintf(out, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", LABEL_W - 8, y + 15);
    xml_text(out, stage_name(r));
    fprintf(out, " %s</text>\n", iso_phase_name(r->phase));
    fprintf(out,
            "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" fill=\"#555\""
            " font-size=\"10\">n=%llu  p50 %.1f  p99 %.1f us</text>\n",
            LABEL_W - 8, y + 28, (unsigned long long)r->count, us(r->p50), us(r->p99));
    uint64_t v[] = {r->p999, r->p99, r->p90, r->p50};
    for (int k = 0; k < 4; k++) {
      double x = x_of(us(v[k]), lo, hi);
      fprintf(out,
              "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"20\" fill=\"%s\">"
              "<title>%s %.1f us</title></rect>\n",
              LABEL_W, y + 4, x - LABEL_W, colors[k], names[k], us(v[k]));
    }
    double xm = x_of(us(r->max), lo, hi);
    fprintf(out,
            "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"#b30000\""
            " stroke-width=\"2\"><title>max %.1f us</title></line>\n",
            xm, y + 2, xm, y + 26, us(r->max));
  }
  fputs("</svg>\n", out);
}

int jcli_profile(int argc, char **argv) {
  jcli_opts o;
  memset(&o, 0, sizeof o);
  const char *format = "table", *output = NULL;
  for (int i = 1; i < argc; i++) {
    int t = jcli_take_option("profile", argc, argv, &i, &o);
    if (t < 0) return CLI_USAGE;
    if (t) continue;
    bool missing = false;
    const char *v;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(help, stdout);
      return CLI_OK;
    } else if ((v = cli_option_value(argc, argv, &i, "--format", &missing))) {
      format = v;
    } else if ((v = cli_option_value(argc, argv, &i, "--output", &missing))) {
      output = v;
    } else if (missing) {
      return jcli_usage("profile", "option needs a value", argv[i]);
    } else if (argv[i][0] == '-') {
      return jcli_usage("profile", "unknown option", argv[i]);
    } else if (o.db) {
      return jcli_usage("profile", "only one journal", argv[i]);
    } else {
      o.db = argv[i];
    }
  }
  void (*render)(FILE *, const iso_journal_profile *) =
      !strcmp(format, "table") ? table
      : !strcmp(format, "json") ? json
      : !strcmp(format, "csv")  ? csv
      : !strcmp(format, "svg")  ? svg
                                : NULL;
  if (!render) return jcli_usage("profile", "unknown format (table json csv svg)", format);
  iso_journal_db *db;
  int rc = jcli_open("profile", &o, true, &db);
  if (rc) return rc;
  iso_journal_profile p;
  rc = iso_journal_profile_compute(db, &o.sel, &p);
  iso_journal_close(db);
  if (rc) {
    fprintf(stderr, "isoflow journal profile: %s\n", iso_strerror(rc));
    return CLI_FAIL;
  }
  FILE *out = output ? fopen(output, "w") : stdout;
  if (!out) {
    fprintf(stderr, "isoflow journal profile: cannot write %s\n", output);
    iso_journal_profile_free(&p);
    return CLI_FAIL;
  }
  render(out, &p);
  if (output) fclose(out);
  iso_journal_profile_free(&p);
  return CLI_OK;
}
