/*
 * examples/common/args.c -- the option parsers of args.h.
 */
#include "examples/common/args.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "isoflow/error.h"

int iso__parse_hostport(const char *text, struct sockaddr_storage *out) {
  char host[64];
  const char *colon, *hs = text;
  size_t hl;
  if (text[0] == '[') {
    const char *end = strchr(text, ']');
    if (!end || end[1] != ':') return ISO_E_INVAL;
    hs = text + 1;
    hl = (size_t)(end - hs);
    colon = end + 1;
  } else {
    colon = strrchr(text, ':');
    if (!colon) return ISO_E_INVAL;
    hl = (size_t)(colon - text);
  }
  if (hl == 0 || hl >= sizeof host) return ISO_E_INVAL;
  memcpy(host, hs, hl);
  host[hl] = '\0';
  uint64_t port;
  if (iso__parse_u64(colon + 1, 0, 65535, &port) < 0) return ISO_E_INVAL;
  if (!strcmp(host, "localhost")) strcpy(host, "127.0.0.1");
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
  } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
  } else {
    return ISO_E_INVAL;
  }
  *out = ss;
  return 0;
}

int iso__parse_hostport_list(const char *text, struct sockaddr_storage *out,
                             size_t cap, size_t *count) {
  size_t n = 0;
  const char *p = text;
  while (*p) {
    const char *comma = strchr(p, ',');
    size_t len = comma ? (size_t)(comma - p) : strlen(p);
    char one[96];
    if (len == 0 || len >= sizeof one || n == cap) return ISO_E_INVAL;
    memcpy(one, p, len);
    one[len] = '\0';
    if (iso__parse_hostport(one, &out[n]) < 0) return ISO_E_INVAL;
    n++;
    p += len + (comma ? 1 : 0);
    if (comma && !*p) return ISO_E_INVAL;
  }
  if (n == 0) return ISO_E_INVAL;
  *count = n;
  return 0;
}

int iso__parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out) {
  if (!text || text[0] < '0' || text[0] > '9') return ISO_E_INVAL;
  char *end;
  errno = 0;
  unsigned long long v = strtoull(text, &end, 10);
  if (errno || *end || v < min || v > max) return ISO_E_INVAL;
  *out = v;
  return 0;
}

int iso__parse_share(const char *text, double *out) {
  if (!text || !*text) return ISO_E_INVAL;
  char *end;
  errno = 0;
  double v = strtod(text, &end);
  if (errno || end == text) return ISO_E_INVAL;
  if (*end == '%' && end[1] == '\0') {
    v /= 100.0;
  } else if (*end) {
    return ISO_E_INVAL;
  }
  if (!(v >= 0.0 && v <= 1.0)) return ISO_E_INVAL;
  *out = v;
  return 0;
}

void iso__format_addr(const struct sockaddr *addr, char *buf, size_t cap) {
  char host[INET6_ADDRSTRLEN] = "?";
  unsigned port = 0;
  if (addr->sa_family == AF_INET) {
    const struct sockaddr_in *v4 = (const struct sockaddr_in *)addr;
    inet_ntop(AF_INET, &v4->sin_addr, host, sizeof host);
    port = ntohs(v4->sin_port);
    snprintf(buf, cap, "%s:%u", host, port);
  } else if (addr->sa_family == AF_INET6) {
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)addr;
    inet_ntop(AF_INET6, &v6->sin6_addr, host, sizeof host);
    port = ntohs(v6->sin6_port);
    snprintf(buf, cap, "[%s]:%u", host, port);
  } else {
    snprintf(buf, cap, "?");
  }
}

int iso__bad_arg(const char *prog, const char *what, const char *value) {
  fprintf(stderr, "%s: invalid %s '%s' (see --help)\n", prog, what, value ? value : "");
  return 2;
}
