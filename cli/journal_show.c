/*
 * cli/journal_show.c -- `isoflow journal show`: journaled transactions as
 * an aligned table or as JSON lines, card data masked (queries never
 * decrypt).
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/journal_cli.h"

static const char help[] =
    "usage: isoflow journal show DB [selection] [--json]\n"
    "\n"
    "Lists journaled transactions in id order: one table row each, or with\n"
    "--json one JSON object a line (identity, decision, participants, stage\n"
    "timings, request and response).  Card data is always masked.\n"
    "\n" JCLI_SELECTION_HELP;

static const char *decision_name(const iso_journal_row *r) {
  if (!r->decided) return "undecided";
  return r->decision == ISO_DECISION_COMMIT ? "commit" : "abort";
}

/* Writes s as a JSON string (the values are masked text and codes). */
static void json_str(FILE *out, const char *s, size_t n) {
  fputc('"', out);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') fprintf(out, "\\%c", c);
    else if (c < 0x20 || c >= 0x7f) fprintf(out, "\\u%04x", c);
    else fputc(c, out);
  }
  fputc('"', out);
}

static void json_msg(FILE *out, const iso_msg *m) {
  if (!m) {
    fputs("null", out);
    return;
  }
  char stack[4096];
  size_t need = 0;
  if (iso_msg_to_json(m, ISO_SHOW_MASKED, stack, sizeof stack, &need) == 0) {
    fputs(stack, out);
    return;
  }
  char *buf = malloc(need + 1);
  if (buf && iso_msg_to_json(m, ISO_SHOW_MASKED, buf, need + 1, &need) == 0)
    fputs(buf, out);
  else
    fputs("null", out);
  free(buf);
}

static int show_json(const iso_journal_row *r, void *data) {
  FILE *out = data;
  char t[3][32];
  jcli_format_time(r->started_at, t[0]);
  jcli_format_time(r->decided_at, t[1]);
  jcli_format_time(r->finished_at, t[2]);
  fprintf(out, "{\"id\":%llu,\"started\":\"%s\",\"decided\":\"%s\",\"finished\":\"%s\",",
          (unsigned long long)r->id, t[0], t[1], t[2]);
  fputs("\"key\":", out);
  json_str(out, (const char *)r->key, r->key ? r->key_len : 0);
  fprintf(out, ",\"fingerprint\":\"%016llx\"", (unsigned long long)r->fingerprint);
  const char *names[] = {"mti", "stan", "rrn", "terminal", "amount", "currency", "pan"};
  const char *vals[] = {r->mti, r->stan, r->rrn, r->terminal, r->amount, r->currency, r->pan_masked};
  for (int i = 0; i < 7; i++) {
    fprintf(out, ",\"%s\":", names[i]);
    json_str(out, vals[i], strlen(vals[i]));
  }
  fprintf(out, ",\"decision\":\"%s\",\"reason\":\"%s\",\"completed\":%s,\"rc\":",
          decision_name(r), r->reason ? iso_err_name(r->reason) : "",
          r->completed ? "true" : "false");
  json_str(out, r->response_code, strlen(r->response_code));
  fputs(",\"participants\":[", out);
  for (size_t i = 0; i < r->participant_count; i++) {
    if (i) fputc(',', out);
    json_str(out, r->participants[i], strlen(r->participants[i]));
  }
  fputs("],\"values\":[", out);
  for (size_t i = 0; i < r->value_count; i++) {
    if (i) fputc(',', out);
    fputs("{\"name\":", out);
    json_str(out, r->values[i].name, strlen(r->values[i].name));
    fprintf(out, ",\"bytes\":%zu}", r->values[i].len);
  }
  fputs("],\"stages\":[", out);
  for (size_t i = 0; i < r->stage_count; i++) {
    const iso_stage_timing *s = &r->stages[i];
    if (i) fputc(',', out);
    fputs("{\"participant\":", out);
    if (s->participant) json_str(out, s->participant, strlen(s->participant));
    else fputs("null", out);
    fprintf(out, ",\"phase\":\"%s\",\"start_ns\":%llu,\"duration_ns\":%llu}",
            iso_phase_name(s->phase), (unsigned long long)s->start_ns,
            (unsigned long long)s->duration_ns);
  }
  fputs("],\"request\":", out);
  json_msg(out, r->request);
  fputs(",\"response\":", out);
  json_msg(out, r->response);
  fputs("}\n", out);
  return 0;
}

static uint64_t total_ns(const iso_journal_row *r) {
  for (size_t i = 0; i < r->stage_count; i++)
    if (!r->stages[i].participant && r->stages[i].phase == ISO_PHASE_TOTAL)
      return r->stages[i].duration_ns;
  return 0;
}

static int show_table(const iso_journal_row *r, void *data) {
  size_t *n = data;
  if ((*n)++ == 0)
    printf("%-8s %-24s %-4s %-6s %-12s %-8s %-12s %-3s %-19s %-9s %-2s %10s\n",
           "id", "started", "mti", "stan", "rrn", "terminal", "amount", "cur",
           "pan", "decision", "rc", "total_us");
  char t[32];
  jcli_format_time(r->started_at, t);
  printf("%-8llu %-24s %-4s %-6s %-12s %-8s %-12s %-3s %-19s %-9s %-2s %10.1f\n",
         (unsigned long long)r->id, t, r->mti, r->stan, r->rrn, r->terminal,
         r->amount, r->currency, r->pan_masked, decision_name(r),
         r->response_code, (double)total_ns(r) / 1000.0);
  return 0;
}

int jcli_show(int argc, char **argv) {
  jcli_opts o;
  memset(&o, 0, sizeof o);
  bool json = false;
  for (int i = 1; i < argc; i++) {
    int t = jcli_take_option("show", argc, argv, &i, &o);
    if (t < 0) return CLI_USAGE;
    if (t) continue;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(help, stdout);
      return CLI_OK;
    } else if (!strcmp(argv[i], "--json")) {
      json = true;
    } else if (argv[i][0] == '-') {
      return jcli_usage("show", "unknown option", argv[i]);
    } else if (o.db) {
      return jcli_usage("show", "only one journal", argv[i]);
    } else {
      o.db = argv[i];
    }
  }
  iso_journal_db *db;
  int rc = jcli_open("show", &o, true, &db);
  if (rc) return rc;
  size_t n = 0;
  rc = json ? iso_journal_query(db, &o.sel, show_json, stdout)
            : iso_journal_query(db, &o.sel, show_table, &n);
  iso_journal_close(db);
  if (rc) {
    fprintf(stderr, "isoflow journal show: %s\n", iso_strerror(rc));
    return CLI_FAIL;
  }
  return CLI_OK;
}
