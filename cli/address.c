/*
 * cli/address.c -- HOST:PORT (or [HOST]:PORT) to a socket address, for the
 * commands that connect to a host (send, journal replay).  Moved here from
 * send.c so both use one function.
 */
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "cli/cli.h"

int cli_resolve(const char *cmd, const char *to, struct sockaddr_storage *out,
                char *host, size_t cap) {
  const char *colon = strrchr(to, ':');
  if (!colon || colon == to || !colon[1]) {
    fprintf(stderr, "isoflow %s: --to wants HOST:PORT: %s (see isoflow %s --help)\n",
            cmd, to, cmd);
    return CLI_USAGE;
  }
  size_t hl = (size_t)(colon - to);
  const char *h = to;
  if (h[0] == '[' && hl >= 2 && h[hl - 1] == ']') {
    h++;
    hl -= 2;
  }
  if (hl >= cap) {
    fprintf(stderr, "isoflow %s: host name too long: %s\n", cmd, to);
    return CLI_USAGE;
  }
  memcpy(host, h, hl);
  host[hl] = 0;
  struct addrinfo hints = {0}, *res = NULL;
  hints.ai_socktype = SOCK_STREAM;
  int rc = getaddrinfo(host, colon + 1, &hints, &res);
  if (rc) {
    fprintf(stderr, "isoflow %s: %s: %s\n", cmd, to, gai_strerror(rc));
    return CLI_FAIL;
  }
  memcpy(out, res->ai_addr, res->ai_addrlen);
  freeaddrinfo(res);
  return CLI_OK;
}
