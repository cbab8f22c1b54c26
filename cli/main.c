/*
 * cli/main.c -- the `isoflow` command: dispatches to subcommands.  Adding a
 * subcommand is one line in `commands` and one entry point in cli.h.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct command {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} commands[] = {
    {"decode", cli_decode, "wire messages to JSON (masked)"},
    {"encode", cli_encode, "JSON messages to wire form"},
    {"spec", cli_spec, "list the built-in specs, export or check a JSON spec"},
    {"send", cli_send, "send JSON messages as requests, print the responses"},
    {"journal", cli_journal, "show, profile, verify or prune a journal"},
};

static void usage(FILE *out) {
  fputs("usage: isoflow <command> [options]\n\ncommands:\n", out);
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
  fputs("\nRun `isoflow <command> --help` for a command's options.\n", out);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return CLI_USAGE;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    usage(stdout);
    return CLI_OK;
  }
  for (size_t i = 0; i < sizeof commands / sizeof *commands; i++)
    if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
  fprintf(stderr, "isoflow: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return CLI_USAGE;
}
