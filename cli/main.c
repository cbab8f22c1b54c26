/*
 * cli/main.c -- the `isoflow` command: dispatches to subcommands.
 */
#include <stdio.h>
#include <string.h>

static void usage(FILE *out) {
  fputs("usage: isoflow <command> [options]\n"
        "\n"
        "commands:\n"
        "  decode     wire messages to JSON (masked)\n"
        "  encode     JSON messages to wire form\n"
        "  spec       export a built-in spec as JSON\n"
        "\n"
        "Run `isoflow <command> --help` for a command's options.\n",
        out);
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    usage(stdout);
    return 0;
  }
  fprintf(stderr, "isoflow: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
