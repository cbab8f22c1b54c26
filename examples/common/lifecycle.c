/*
 * examples/common/lifecycle.c -- the example servers' start-up line and
 * their wait for a shutdown signal (lifecycle.h).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>

#include "examples/common/args.h"
#include "examples/common/lifecycle.h"

void iso__announce_listening(const struct sockaddr_storage *listen, int port,
                             const iso__admin *admin, const char *suffix) {
  struct sockaddr_storage bound = *listen;
  if (bound.ss_family == AF_INET)
    ((struct sockaddr_in *)&bound)->sin_port = htons((uint16_t)port);
  else
    ((struct sockaddr_in6 *)&bound)->sin6_port = htons((uint16_t)port);
  char where[64];
  iso__format_addr((struct sockaddr *)&bound, where, sizeof where);
  printf("listening on %s", where);
  if (admin) printf(", admin on port %d", iso__admin_port(admin));
  printf("%s\n", suffix);
  fflush(stdout);
}

static void on_signal(uv_signal_t *h, int signum) {
  (void)signum;
  uv_stop(h->loop);
}

static void on_handle_closed(uv_handle_t *h) { (void)h; }

void iso__signals_wait(iso__signals *s) {
  uv_loop_init(&s->loop);
  uv_signal_init(&s->loop, &s->sigint);
  uv_signal_init(&s->loop, &s->sigterm);
  uv_signal_start(&s->sigint, on_signal, SIGINT);
  uv_signal_start(&s->sigterm, on_signal, SIGTERM);
  signal(SIGPIPE, SIG_IGN);
  uv_run(&s->loop, UV_RUN_DEFAULT);
}

void iso__signals_close(iso__signals *s) {
  uv_close((uv_handle_t *)&s->sigint, on_handle_closed);
  uv_close((uv_handle_t *)&s->sigterm, on_handle_closed);
  uv_run(&s->loop, UV_RUN_DEFAULT);
  uv_loop_close(&s->loop);
}
