/*
 * examples/common/lifecycle.h -- start-up and shutdown steps the example
 * servers (isoflow-issuer, isoflow-simulator) share: announcing where they
 * listen, and waiting for SIGINT or SIGTERM.
 */
#ifndef ISOFLOW_EXAMPLES_COMMON_LIFECYCLE_H
#define ISOFLOW_EXAMPLES_COMMON_LIFECYCLE_H

#include <sys/socket.h>
#include <uv.h>

#include "examples/common/admin.h"

/** iso__announce_listening -- prints "listening on HOST:PORT" (listen with
 *  its port replaced by the bound one), ", admin on port N" when admin is
 *  not NULL, then suffix (may be "") and a newline, and flushes stdout:
 *  the line scripts wait for. */
void iso__announce_listening(const struct sockaddr_storage *listen, int port,
                             const iso__admin *admin, const char *suffix);

/** The signal watch of a program's main thread. */
typedef struct iso__signals {
  uv_loop_t loop;
  uv_signal_t sigint, sigterm;
} iso__signals;

/** iso__signals_wait -- ignores SIGPIPE and blocks until SIGINT or SIGTERM.
 *  The handlers stay installed (a second signal during shutdown is caught,
 *  not fatal) until iso__signals_close. */
void iso__signals_wait(iso__signals *s);

/** iso__signals_close -- removes the handlers and closes the loop. */
void iso__signals_close(iso__signals *s);

#endif
