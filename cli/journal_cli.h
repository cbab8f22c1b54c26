/*
 * cli/journal_cli.h -- what the `isoflow journal` subcommands share
 * (cli/journal.c): the selection options every query command takes, time
 * parsing, and opening the journal read-only with the errors reported.
 */
#ifndef ISOFLOW_CLI_JOURNAL_H
#define ISOFLOW_CLI_JOURNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "isoflow/journal.h"

/* Options common to the query commands. */
typedef struct jcli_opts {
  const char *db;       /* the journal file */
  const char *key_file; /* --key-file */
  const char *spec;     /* --spec (default: the one named in the journal) */
  iso_journal_selection sel;
  char key_buf[256];
} jcli_opts;

/**
 * jcli_take_option -- if argv[*i] is a selection option (--id --key --stan
 * --rrn --terminal --since --until --rc --pan --limit) or --key-file /
 * --spec, consumes it (and its value) and returns 1; 0 when it is not one;
 * -1 after reporting a bad value on stderr.
 */
int jcli_take_option(const char *cmd, int argc, char **argv, int *i,
                     jcli_opts *o);

/** jcli_parse_time -- epoch seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS[Z]
 *  (UTC) into ns since the epoch; false when malformed. */
bool jcli_parse_time(const char *s, uint64_t *ns);

/** jcli_format_time -- ns since the epoch as YYYY-MM-DDTHH:MM:SS.mmmZ. */
void jcli_format_time(uint64_t ns, char out[32]);

/** jcli_open -- opens o->db read-only (errors reported); exit status or 0. */
int jcli_open(const char *cmd, const jcli_opts *o, bool read_only,
              iso_journal_db **db);

/** jcli_usage -- reports a usage error, returns CLI_USAGE. */
int jcli_usage(const char *cmd, const char *what, const char *arg);

#define JCLI_SELECTION_HELP                                                    \
  "selection (all must hold):\n"                                               \
  "  --id N            transaction id\n"                                       \
  "  --key K           idempotency key (as journaled)\n"                       \
  "  --stan S --rrn R --terminal T   DE 11, DE 37, DE 41\n"                    \
  "  --rc RC           response code\n"                                        \
  "  --pan PAN         card number, found through the keyed hash (needs the\n" \
  "                    journal's --key-file when it was written with one)\n"   \
  "  --since T --until T   start time: epoch seconds, YYYY-MM-DD or\n"         \
  "                    YYYY-MM-DDTHH:MM:SS (UTC)\n"                            \
  "  --limit N         at most N transactions\n"                               \
  "  --key-file F      the journal's key file\n"                               \
  "  --spec NAME|FILE  spec to rebuild messages with (default: the journal's)\n"

int jcli_show(int argc, char **argv);
int jcli_profile(int argc, char **argv);
int jcli_verify(int argc, char **argv);
int jcli_prune(int argc, char **argv);
int jcli_replay(int argc, char **argv);

#endif
