/*
 * cli/options.c -- option parsing and the shared error report for the
 * `isoflow` commands that work on messages (decode, encode).
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static int usage_error(const char *cmd, const char *what, const char *arg) {
  return cli_usage_error("isoflow", cmd, what, arg);
}

int cli_parse_opts(int argc, char **argv, bool allow_unmasked, const char *help,
                   cli_opts *o) {
  const char *cmd = argv[0];
  memset(o, 0, sizeof *o);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    bool missing = false;
    const char *v;
    if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
      fputs(help, stdout);
      return CLI_OK;
    } else if (!strcmp(a, "--hex")) {
      o->hex = true;
    } else if (allow_unmasked && !strcmp(a, "--unmasked")) {
      o->unmasked = true;
    } else if ((v = cli_option_value(argc, argv, &i, "--spec", &missing))) {
      o->spec = v;
    } else if ((v = cli_option_value(argc, argv, &i, "--frame", &missing))) {
      if (cli_frame_parse(v, &o->frame) < 0)
        return usage_error(cmd, "unknown frame (none len2 len4 ascii4 bcd2)", v);
    } else if (missing) {
      return usage_error(cmd, "option needs a value", a);
    } else if (a[0] == '-' && a[1] != '\0') {
      return usage_error(cmd, "unknown option", a);
    } else if (o->input) {
      return usage_error(cmd, "only one input file", a);
    } else {
      o->input = a;
    }
  }
  if (!o->spec) return usage_error(cmd, "--spec NAME|FILE is required", NULL);
  return -1;
}

int cli_open_spec(const char *cmd, const char *name, const iso_spec **spec) {
  iso_error err = {0};
  int rc = iso_spec_open(name, spec, &err);
  if (rc == 0) return CLI_OK;
  char why[256];
  fprintf(stderr, "isoflow %s: spec %s: %s\n", cmd, name,
          iso_error_format(&err, why, sizeof why));
  return rc == ISO_E_NOMEM ? CLI_FAIL : CLI_USAGE;
}

FILE *cli_open_input(const char *cmd, const char *path) {
  if (!path || !strcmp(path, "-")) return stdin;
  FILE *f = fopen(path, "rb");
  if (!f) fprintf(stderr, "isoflow %s: cannot open %s\n", cmd, path);
  return f;
}

int cli_bad_input(const char *cmd, const char *unit, size_t n,
                  const iso_error *err) {
  char why[256];
  fprintf(stderr, "isoflow %s: %s %zu: %s\n", cmd, unit, n,
          iso_error_format(err, why, sizeof why));
  return CLI_BAD_INPUT;
}
