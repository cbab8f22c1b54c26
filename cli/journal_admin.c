/*
 * cli/journal_admin.c -- `isoflow journal verify` (consistency, exit 1
 * naming each problem) and `isoflow journal prune` (removes completed
 * transactions older than a time, never an incomplete one).
 */
#include <string.h>

#include "cli/cli.h"
#include "cli/journal_cli.h"

static const char verify_help[] =
    "usage: isoflow journal verify DB [--key-file F]\n"
    "\n"
    "Checks that every approval has its journaled decision, decisions and\n"
    "completions agree, every transaction without completion can be\n"
    "recovered (its records decode), ids are positive integers, no stored\n"
    "message or identity column holds card data in clear (a 13-19 digit\n"
    "Luhn-valid number, or a protected field), and encrypted envelopes are\n"
    "well-formed (authentic, with --key-file).  Prints each problem and\n"
    "exits 1 when there is one, 0 when the journal is sound.\n";

static const char prune_help[] =
    "usage: isoflow journal prune DB --before T\n"
    "\n"
    "Deletes the completed transactions that finished before T (epoch\n"
    "seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS, UTC).  Transactions without\n"
    "a completion are always kept: recovery still needs them.  The highest\n"
    "id is remembered, so ids stay monotonic.\n";

static void print_problem(uint64_t id, const char *what, void *data) {
  (void)data;
  printf("transaction %llu: %s\n", (unsigned long long)id, what);
}

/* Parses "DB" plus the options a command allows; -1 to go on. */
static int parse(const char *cmd, const char *help, int argc, char **argv,
                 jcli_opts *o, const char **before) {
  memset(o, 0, sizeof *o);
  for (int i = 1; i < argc; i++) {
    bool missing = false;
    const char *v;
    if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
      fputs(help, stdout);
      return CLI_OK;
    } else if ((v = cli_option_value(argc, argv, &i, "--key-file", &missing))) {
      o->key_file = v;
    } else if (before && (v = cli_option_value(argc, argv, &i, "--before", &missing))) {
      *before = v;
    } else if (missing) {
      return jcli_usage(cmd, "option needs a value", argv[i]);
    } else if (argv[i][0] == '-') {
      return jcli_usage(cmd, "unknown option", argv[i]);
    } else if (o->db) {
      return jcli_usage(cmd, "only one journal", argv[i]);
    } else {
      o->db = argv[i];
    }
  }
  return -1;
}

int jcli_verify(int argc, char **argv) {
  jcli_opts o;
  int rc = parse("verify", verify_help, argc, argv, &o, NULL);
  if (rc >= 0) return rc;
  iso_journal_db *db;
  if ((rc = jcli_open("verify", &o, true, &db))) return rc;
  int problems = iso_journal_verify(db, print_problem, NULL);
  iso_journal_close(db);
  if (problems < 0) {
    fprintf(stderr, "isoflow journal verify: %s\n", iso_strerror(problems));
    return CLI_FAIL;
  }
  if (problems) {
    fprintf(stderr, "isoflow journal verify: %d problem%s\n", problems,
            problems == 1 ? "" : "s");
    return 1;
  }
  printf("journal %s: sound\n", o.db);
  return CLI_OK;
}

int jcli_prune(int argc, char **argv) {
  jcli_opts o;
  const char *before = NULL;
  int rc = parse("prune", prune_help, argc, argv, &o, &before);
  if (rc >= 0) return rc;
  uint64_t t;
  if (!before) return jcli_usage("prune", "--before T is required", NULL);
  if (!jcli_parse_time(before, &t)) return jcli_usage("prune", "bad time", before);
  iso_journal_db *db;
  if ((rc = jcli_open("prune", &o, true, &db))) return rc;
  size_t removed = 0;
  rc = iso_journal_prune(db, t, &removed);
  iso_journal_close(db);
  if (rc) {
    fprintf(stderr, "isoflow journal prune: %s\n", iso_strerror(rc));
    return CLI_FAIL;
  }
  printf("removed %zu completed transaction%s\n", removed, removed == 1 ? "" : "s");
  return CLI_OK;
}
