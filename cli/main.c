/*
 * cli/main.c -- the `isoflow` command: dispatches to subcommands.  Adding a
 * subcommand is one line in `commands` and one entry point in cli.h.
 */
#include "cli/cli.h"

static const cli_command commands[] = {
    {"decode", cli_decode, "wire messages to JSON (masked)"},
    {"encode", cli_encode, "JSON messages to wire form"},
    {"spec", cli_spec, "list the built-in specs, export or check a JSON spec"},
    {"send", cli_send, "send JSON messages as requests, print the responses"},
    {"journal", cli_journal, "show, profile, verify or prune a journal"},
};

int main(int argc, char **argv) {
  static const cli_command_set set = {
      .prog = "isoflow",
      .noun = "command",
      .synopsis = "<command> [options]",
      .footer = "Run `isoflow <command> --help` for a command's options.",
      .name_width = 10,
      .commands = commands,
      .count = sizeof commands / sizeof *commands};
  return cli_dispatch(&set, argc, argv);
}
