/*
 * cli/dispatch.c -- what every level of the `isoflow` command shares: the
 * dispatch of a command word to its entry point (with the usage listing),
 * the reading of an option's value and the report of a usage error.  The
 * top level (cli/main.c) and `isoflow journal` (cli/journal.c) are both a
 * table handed to cli_dispatch.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static void usage(const cli_command_set *set, FILE *out) {
  fprintf(out, "usage: %s %s\n\n%ss:\n", set->prog, set->synopsis, set->noun);
  for (size_t i = 0; i < set->count; i++)
    fprintf(out, "  %-*s %s\n", set->name_width, set->commands[i].name,
            set->commands[i].summary);
  fprintf(out, "\n%s\n", set->footer);
}

int cli_dispatch(const cli_command_set *set, int argc, char **argv) {
  if (argc < 2) {
    usage(set, stderr);
    return CLI_USAGE;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    usage(set, stdout);
    return CLI_OK;
  }
  for (size_t i = 0; i < set->count; i++)
    if (!strcmp(argv[1], set->commands[i].name))
      return set->commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "%s: unknown %s '%s'\n", set->prog, set->noun, argv[1]);
  usage(set, stderr);
  return CLI_USAGE;
}

const char *cli_option_value(int argc, char **argv, int *i, const char *opt,
                             bool *missing) {
  size_t n = strlen(opt);
  if (strncmp(argv[*i], opt, n)) return NULL;
  if (argv[*i][n] == '=') return argv[*i] + n + 1;
  if (argv[*i][n] != '\0') return NULL;
  if (*i + 1 >= argc) {
    *missing = true;
    return NULL;
  }
  return argv[++*i];
}

int cli_usage_error(const char *prog, const char *cmd, const char *what,
                    const char *arg) {
  fprintf(stderr, "%s %s: %s%s%s (see %s %s --help)\n", prog, cmd, what,
          arg ? ": " : "", arg ? arg : "", prog, cmd);
  return CLI_USAGE;
}
