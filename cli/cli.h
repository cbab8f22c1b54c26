/*
 * cli/cli.h -- what the `isoflow` subcommands share: their entry points (one
 * line each in main.c's table), option parsing for the codec commands
 * (options.c), frame reading and writing (frame_io.c), and the one-line error
 * report every subcommand prints on bad input.
 *
 * Exit statuses: 0 success, 1 the environment failed (a file that cannot be
 * opened, out of memory), 2 a usage error or bad input.
 */
#ifndef ISOFLOW_CLI_H
#define ISOFLOW_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "isoflow/conn.h"
#include "isoflow/iso8583.h"

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2, CLI_BAD_INPUT = 2 };

/* Subcommands: argv[0] is the subcommand's name. */
int cli_decode(int argc, char **argv);
int cli_encode(int argc, char **argv);
int cli_spec(int argc, char **argv);
int cli_send(int argc, char **argv);
int cli_journal(int argc, char **argv); /* cli/journal.c */

/* ---- dispatch and options (cli/dispatch.c) ------------------------------ */

/** A command word, its entry point (argv[0] is the word) and its summary. */
typedef struct cli_command {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} cli_command;

/** A level of the command: "isoflow" or "isoflow journal". */
typedef struct cli_command_set {
  const char *prog;     /* "isoflow journal" */
  const char *noun;     /* "subcommand" */
  const char *synopsis; /* after prog on the usage line */
  const char *footer;   /* the usage text's last line */
  int name_width;       /* column of the summaries */
  const cli_command *commands;
  size_t count;
} cli_command_set;

/**
 * cli_dispatch -- runs the command named by argv[1] with argv + 1; with no
 * word, --help or an unknown word, prints the usage (stdout for --help,
 * stderr otherwise).  Returns the command's status, CLI_OK or CLI_USAGE.
 */
int cli_dispatch(const cli_command_set *set, int argc, char **argv);

/**
 * cli_option_value -- the value of an option given as "--opt VALUE" or
 * "--opt=VALUE" at argv[*i] (advancing *i past a separate value); NULL when
 * argv[*i] is not that option, with *missing set when the value is absent.
 */
const char *cli_option_value(int argc, char **argv, int *i, const char *opt,
                             bool *missing);

/**
 * cli_usage_error -- "PROG CMD: WHAT[: ARG] (see PROG CMD --help)" on
 * stderr; returns CLI_USAGE.
 */
int cli_usage_error(const char *prog, const char *cmd, const char *what,
                    const char *arg);

struct sockaddr_storage;
/** cli_resolve -- HOST:PORT or [HOST]:PORT to an address (cli/address.c);
 *  host receives the host part.  0, or the exit status after reporting on
 *  stderr as `isoflow CMD: ...`. */
int cli_resolve(const char *cmd, const char *to, struct sockaddr_storage *out,
                char *host, size_t cap);

/* ---- framing (frame_io.c) ---------------------------------------------- */

/** The largest message (without its length prefix) any subcommand reads or
 *  writes in a frame; ascii4 and bcd2 stop at 9999 anyway. */
#define CLI_MAX_FRAME 65535u

/** How messages are delimited in a byte stream: `--frame none` (zero
 *  initialised: no prefix) or one of conn's length prefixes. */
typedef struct cli_frame {
  bool framed;         /* false: --frame none */
  iso_framing framing; /* when framed: the kind, max_frame CLI_MAX_FRAME */
} cli_frame;

/** cli_frame_parse -- "none", or a name iso_frame_kind_parse knows ("len2"
 *  "len4" "ascii4" "bcd2"), into *out; -1 when unknown. */
int cli_frame_parse(const char *name, cli_frame *out);

/** cli_frame_prefix_size -- bytes of the length prefix: 0 for none. */
size_t cli_frame_prefix_size(const cli_frame *f);

/** cli_frame_reason -- the words for a framer error (ISO_E_BAD_FRAME,
 *  ISO_E_FRAME_TOO_LARGE) in a bad-input report; static text. */
const char *cli_frame_reason(int rc);

/** A growable byte buffer. */
typedef struct cli_buf {
  uint8_t *data;
  size_t len, cap;
} cli_buf;

/** cli_buf_reserve -- room for n bytes; false when out of memory. */
bool cli_buf_reserve(cli_buf *b, size_t n);

/**
 * cli_frame_read -- reads the next frame's message (header stripped) from a
 * binary stream into b.  Returns 1 for a frame, 0 at a clean end of input,
 * -1 with *why set for a bad or truncated frame (*offset: bytes into the
 * frame where it went wrong, when known).  A length over CLI_MAX_FRAME is
 * refused before anything is read past the prefix.  --frame none reads the
 * whole input as one message.
 */
int cli_frame_read(FILE *in, const cli_frame *f, cli_buf *b, const char **why,
                   size_t *offset);

/* ---- options (options.c) ---------------------------------------------- */

/** Options of the commands that work on messages (decode, encode). */
typedef struct cli_opts {
  const char *spec;  /* --spec NAME|FILE (required) */
  bool hex;          /* --hex: hex text, one message a line */
  cli_frame frame;   /* --frame */
  bool unmasked;     /* --unmasked (decode only) */
  const char *input; /* FILE, or NULL / "-" for standard input */
} cli_opts;

/**
 * cli_parse_opts -- parses argv[1..argc) of a message command.  Returns -1
 * to go on, or the exit status: 0 after printing `help` for --help, 2 after
 * a usage error (reported on stderr, with `help` hinted).
 */
int cli_parse_opts(int argc, char **argv, bool allow_unmasked, const char *help,
                   cli_opts *o);

/** cli_open_spec -- iso_spec_open with the error reported on stderr;
 *  returns 0 or the exit status. */
int cli_open_spec(const char *cmd, const char *name, const iso_spec **spec);

/** cli_open_input -- the input file or stdin; NULL (reported) on failure. */
FILE *cli_open_input(const char *cmd, const char *path);

/**
 * cli_bad_input -- reports bad input as one line on stderr:
 *   isoflow decode: line 3: field 4 at offset 23: non-digit in a numeric field
 * `unit` is "line" or "frame", `n` 1-based.  Never echoes input contents.
 * Returns CLI_BAD_INPUT.
 */
int cli_bad_input(const char *cmd, const char *unit, size_t n,
                  const iso_error *err);

#endif /* ISOFLOW_CLI_H */
