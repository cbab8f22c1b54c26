/*
 * cli/journal.c -- `isoflow journal`: dispatches to show, profile, verify,
 * prune, replay (journal_show.c, journal_profile.c, journal_admin.c,
 * journal_replay.c) and holds what
 * they share: selection options, times, opening the journal.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/journal_cli.h"

static const cli_command subcommands[] = {
    {"show", jcli_show, "list journaled transactions (masked)"},
    {"profile", jcli_profile, "stage latencies: table, json, csv or svg"},
    {"verify", jcli_verify, "check the journal's consistency; exit 1 on a problem"},
    {"prune", jcli_prune, "remove completed transactions older than a time"},
    {"replay", jcli_replay, "send journaled requests to a live host, compare answers"},
};

int cli_journal(int argc, char **argv) {
  static const cli_command_set set = {
      .prog = "isoflow journal",
      .noun = "subcommand",
      .synopsis = "<subcommand> DB [options]",
      .footer = "Run `isoflow journal <subcommand> --help` for its options.",
      .name_width = 8,
      .commands = subcommands,
      .count = sizeof subcommands / sizeof *subcommands};
  return cli_dispatch(&set, argc, argv);
}

int jcli_usage(const char *cmd, const char *what, const char *arg) {
  return cli_usage_error("isoflow journal", cmd, what, arg);
}

bool jcli_parse_time(const char *s, uint64_t *ns) {
  char *end;
  struct tm tm;
  memset(&tm, 0, sizeof tm);
  const char *p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
  if (!p) {
    memset(&tm, 0, sizeof tm);
    p = strptime(s, "%Y-%m-%d", &tm);
  }
  if (p && (*p == 0 || (p[0] == 'Z' && p[1] == 0))) {
    time_t t = timegm(&tm);
    if (t < 0) return false;
    *ns = (uint64_t)t * 1000000000u;
    return true;
  }
  unsigned long long v = strtoull(s, &end, 10);
  if (!*s || *end || v > 10000000000ull) return false;
  *ns = (uint64_t)v * 1000000000u;
  return true;
}

void jcli_format_time(uint64_t ns, char out[32]) {
  if (!ns) {
    strcpy(out, "-");
    return;
  }
  time_t t = (time_t)(ns / 1000000000u);
  struct tm tm;
  gmtime_r(&t, &tm);
  size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, 32 - n, ".%03uZ", (unsigned)(ns / 1000000u % 1000u));
}

int jcli_take_option(const char *cmd, int argc, char **argv, int *i,
                     jcli_opts *o) {
  bool missing = false;
  const char *v;
  iso_journal_selection *s = &o->sel;
  char *end;
  if ((v = cli_option_value(argc, argv, i, "--id", &missing))) {
    s->id = strtoull(v, &end, 10);
    if (!*v || *end || !s->id) return jcli_usage(cmd, "bad --id", v), -1;
  } else if ((v = cli_option_value(argc, argv, i, "--key-file", &missing))) {
    o->key_file = v;
  } else if ((v = cli_option_value(argc, argv, i, "--key", &missing))) {
    s->key = (const uint8_t *)v;
    s->key_len = strlen(v);
  } else if ((v = cli_option_value(argc, argv, i, "--stan", &missing))) {
    s->stan = v;
  } else if ((v = cli_option_value(argc, argv, i, "--rrn", &missing))) {
    s->rrn = v;
  } else if ((v = cli_option_value(argc, argv, i, "--terminal", &missing))) {
    s->terminal = v;
  } else if ((v = cli_option_value(argc, argv, i, "--rc", &missing))) {
    s->response_code = v;
  } else if ((v = cli_option_value(argc, argv, i, "--pan", &missing))) {
    s->pan = v;
  } else if ((v = cli_option_value(argc, argv, i, "--spec", &missing))) {
    o->spec = v;
  } else if ((v = cli_option_value(argc, argv, i, "--limit", &missing))) {
    s->limit = strtoull(v, &end, 10);
    if (!*v || *end) return jcli_usage(cmd, "bad --limit", v), -1;
  } else if ((v = cli_option_value(argc, argv, i, "--since", &missing))) {
    if (!jcli_parse_time(v, &s->since)) return jcli_usage(cmd, "bad time", v), -1;
  } else if ((v = cli_option_value(argc, argv, i, "--until", &missing))) {
    if (!jcli_parse_time(v, &s->until)) return jcli_usage(cmd, "bad time", v), -1;
  } else if (missing) {
    return jcli_usage(cmd, "option needs a value", argv[*i]), -1;
  } else {
    return 0;
  }
  return 1;
}

int jcli_open(const char *cmd, const jcli_opts *o, bool read_only,
              iso_journal_db **db) {
  if (!o->db) return jcli_usage(cmd, "the journal file is required", NULL);
  if (access(o->db, F_OK) != 0) {
    fprintf(stderr, "isoflow journal %s: %s: no such file\n", cmd, o->db);
    return CLI_FAIL;
  }
  iso_journal_config cfg;
  iso_journal_config_init(&cfg);
  cfg.path = o->db;
  cfg.key_file = o->key_file;
  cfg.read_only = read_only;
  if (o->spec) {
    int rc = cli_open_spec(cmd, o->spec, &cfg.spec);
    if (rc) return rc;
  }
  int rc = iso_journal_open(&cfg, db);
  if (rc) {
    fprintf(stderr, "isoflow journal %s: %s\n", cmd, iso_journal_open_error());
    return rc == ISO_E_KEY_FILE || rc == ISO_E_INVAL ? CLI_USAGE : CLI_FAIL;
  }
  return 0;
}
