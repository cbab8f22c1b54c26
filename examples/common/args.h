/*
 * examples/common/args.h -- option values shared by the example programs:
 * HOST:PORT addresses (one, or a comma-separated list), counts, rates and
 * shares.  Each parser returns 0 or ISO_E_INVAL and leaves its output alone
 * on error, so a program can print one clear usage line.
 */
#ifndef ISOFLOW_EXAMPLES_ARGS_H
#define ISOFLOW_EXAMPLES_ARGS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/** iso__parse_hostport -- "HOST:PORT" or "[V6]:PORT" (numeric hosts, or
 *  "localhost") into *out.  Port 0..65535. */
int iso__parse_hostport(const char *text, struct sockaddr_storage *out);

/** iso__parse_hostport_list -- "A:1,B:2" into up to cap addresses; *count
 *  receives how many.  ISO_E_INVAL for an empty list or more than cap. */
int iso__parse_hostport_list(const char *text, struct sockaddr_storage *out,
                             size_t cap, size_t *count);

/** iso__parse_u64 -- a decimal count in [min, max]. */
int iso__parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out);

/** iso__parse_share -- a fraction in [0, 1] ("0.1", or "10%"). */
int iso__parse_share(const char *text, double *out);

/** iso__bad_arg -- "PROG: invalid WHAT 'VALUE' (see --help)" on stderr
 *  (value may be NULL); returns 2, the usage exit status. */
int iso__bad_arg(const char *prog, const char *what, const char *value);

/** iso__format_addr -- "HOST:PORT" of addr into buf (cap bytes). */
void iso__format_addr(const struct sockaddr *addr, char *buf, size_t cap);

#endif
