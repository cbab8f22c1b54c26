/*
 * cli/spec.c -- `isoflow spec`: list the built-in specs, export a spec as
 * JSON (the format of docs/specs.md, which --spec FILE reads back), or check
 * a JSON spec file.
 */
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"

static const char help[] =
    "usage: isoflow spec list\n"
    "       isoflow spec export NAME|FILE\n"
    "       isoflow spec check FILE\n"
    "\n"
    "  list    the built-in spec names, one a line\n"
    "  export  a spec as JSON (docs/specs.md); edit it and pass it to --spec\n"
    "  check   load a JSON spec and report the first problem (exit status 2)\n";

static int usage_error(const char *what) {
  return cli_usage_error("isoflow", "spec", what, NULL);
}

int cli_spec(int argc, char **argv) {
  if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
    fputs(help, stdout);
    return CLI_OK;
  }
  if (argc < 2) return usage_error("missing action: list, export or check");
  const char *action = argv[1];
  if (!strcmp(action, "list")) {
    if (argc != 2) return usage_error("list takes no arguments");
    for (const char *const *name = iso_spec_builtin_names(); *name; name++)
      puts(*name);
    return CLI_OK;
  }
  if (strcmp(action, "export") && strcmp(action, "check"))
    return usage_error("unknown action (list, export, check)");
  if (argc != 3) return usage_error("export and check take one spec");
  const iso_spec *spec = NULL;
  int status = cli_open_spec("spec", argv[2], &spec);
  if (status) return status;
  if (!strcmp(action, "export")) {
    char *json = iso_spec_to_json(spec);
    if (json) fputs(json, stdout);
    status = json ? CLI_OK : CLI_FAIL;
    free(json);
  } else {
    printf("%s: ok\n", iso_spec_name(spec));
  }
  iso_spec_free(spec);
  return status;
}
