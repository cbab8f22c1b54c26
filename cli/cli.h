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

#include "isoflow/iso8583.h"

enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2, CLI_BAD_INPUT = 2 };

/* Subcommands: argv[0] is the subcommand's name. */
int cli_decode(int argc, char **argv);
int cli_encode(int argc, char **argv);
int cli_spec(int argc, char **argv);
int cli_send(int argc, char **argv);
int cli_journal(int argc, char **argv); /* cli/journal.c */

struct sockaddr_storage;
/** cli_resolve -- HOST:PORT or [HOST]:PORT to an address (cli/address.c);
 *  host receives the host part.  0, or the exit status after reporting on
 *  stderr as `isoflow CMD: ...`. */
int cli_resolve(const char *cmd, const char *to, struct sockaddr_storage *out,
                char *host, size_t cap);

/* ---- framing (frame_io.c) ---------------------------------------------- */

/** How messages are delimited in a byte stream. */
typedef enum cli_frame {
  CLI_FRAME_NONE = 0, /* no header */
  CLI_FRAME_LEN2,     /* 2-byte big-endian length */
  CLI_FRAME_LEN4,     /* 4-byte big-endian length */
  CLI_FRAME_ASCII4,   /* 4 ASCII digits */
  CLI_FRAME_BCD2      /* 2 bytes of BCD: 4 digits */
} cli_frame;

/** cli_frame_from_name -- "none" "len2" "len4" "ascii4" "bcd2"; -1 when unknown. */
int cli_frame_from_name(const char *name);

/** cli_frame_header_len -- bytes of the header: 0, 2, 4, 4 or 2. */
size_t cli_frame_header_len(cli_frame f);

/** cli_frame_max -- the largest message the header can count. */
size_t cli_frame_max(cli_frame f);

/** cli_frame_write_header -- writes the header for a message of len bytes
 *  (len <= cli_frame_max). */
void cli_frame_write_header(cli_frame f, size_t len, uint8_t *hdr);

/** cli_frame_read_header -- the length a header announces, or -1 when the
 *  header is not valid in its encoding (non-digits). */
long cli_frame_read_header(cli_frame f, const uint8_t *hdr);

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
 * frame where it went wrong).  CLI_FRAME_NONE reads the whole input as one.
 */
int cli_frame_read(FILE *in, cli_frame f, cli_buf *b, const char **why,
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
